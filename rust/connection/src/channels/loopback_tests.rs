//! Two data-channel layers wired through a tiny in-test loopback of their commands and events.
