//! The SCTP association that carries data channels (RFC 9260, with what RFC 8831 asks of it:
//! partial reliability by RFC 3758's FORWARD-TSN, stream reset by RFC 6525), over DTLS.
//!
//! [`Association`] is the association (sans-IO: packets, the time and calls in; packets, events
//! and its next deadline out); [`Message`], [`SendOptions`] and [`SctpEvent`] are the vocabulary
//! shared with the data-channel layer above; [`SctpConfig`] holds its settings.

mod association;
mod chunks;
mod config;
mod error;
mod messages;
mod receive;
mod send;
mod serial;
mod wire;

pub use crate::DtlsRole;
pub use association::{Association, AssociationStats, MIN_MTU};
pub use config::SctpConfig;
pub use error::SctpError;
pub use messages::{ppid, Message, Reliability, SctpEvent, SendOptions, StreamId};
