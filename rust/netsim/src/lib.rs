//! A deterministic simulated network on virtual time, for testing sans-IO protocol cores.
//!
//! Work in progress (issue 20): the network and the test pair land here.

#![forbid(unsafe_code)]
