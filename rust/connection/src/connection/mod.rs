//! The connection: the sans-IO equivalent of an `RTCPeerConnection` carrying data channels,
//! assembled from the parts of this crate. [`Connection`] drives them and holds no rule of its
//! own beyond the order of signaling:
//!
//! - [`sdp`](crate::sdp) writes our offers and answers and reads the other side's;
//! - [`ice_dtls`](crate::ice_dtls) finds the path (ICE) and secures it (DTLS): every datagram
//!   goes in and out there;
//! - [`sctp`](crate::sctp) is the association inside DTLS, made once DTLS is up (the DTLS client
//!   sends the INIT);
//! - [`channels`](crate::channels) is the channel table above the association.
//!
//! Roles follow JSEP and RFC 8842: the offerer is ICE controlling and offers `a=setup:actpass`;
//! the answerer answers `active` and is the DTLS client (and so opens channels on even stream
//! ids and sends the SCTP INIT), unless the offer said `active` itself.
//!
//! Driving it (the pump, or a test's simulated network): pass every datagram to
//! [`Connection::handle_datagram`], send what [`Connection::poll_transmit`] gives until `None`,
//! read [`Connection::poll_event`] until `None`, and call [`Connection::handle_timeout`] once
//! [`Connection::poll_timeout`] has passed; after any call, poll again.
//!
//! A relayed path (issue 21: a mesh member both sides reach carries their DTLS datagrams),
//! when [`ConnectionConfig::relay`] is on and the other side announced it too
//! ([`Connection::remote_relay`]): the pump says a relay exists with
//! [`Connection::set_relay_path`], passes what came by it to
//! [`Connection::handle_relayed_datagram`], and sends what [`Connection::poll_relay_transmit`]
//! gives (after every call, as with [`Connection::poll_transmit`]). Which path records take is
//! reported by [`ConnectionEvent::PathChanged`] and [`ConnectionStats::path`].

mod config;
mod early;
mod error;
mod events;
mod peer_connection;
mod signaling;
mod stats;

pub use config::ConnectionConfig;
pub use early::{MAX_EARLY_DATAGRAMS, MAX_EARLY_DATAGRAM_BYTES, MAX_LOCAL_CANDIDATES};
pub use error::ConnectionError;
pub use events::{ConnectionEvent, ConnectionFailure, ConnectionState};
pub use peer_connection::Connection;
pub use signaling::SignalingState;
pub use stats::ConnectionStats;

pub use crate::ice_dtls::{PathKind, Transmit};
pub use crate::sdp::DescriptionKind;
