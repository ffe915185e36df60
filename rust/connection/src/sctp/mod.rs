//! The SCTP association that carries data channels (RFC 9260, with what RFC 8831 asks of it:
//! partial reliability by RFC 3758's FORWARD-TSN, stream reset by RFC 6525), over DTLS.
//!
//! [`messages`] holds the vocabulary shared with the data-channel layer above.

mod chunks;
mod config;
mod error;
mod messages;
mod receive;
// Until the association (which drives it) is merged, nothing outside its tests uses the send side.
#[allow(dead_code)]
mod send;
mod wire;

pub use config::SctpConfig;
pub use error::SctpError;
pub use messages::{ppid, Message, Reliability, SctpEvent, SendOptions, StreamId};
