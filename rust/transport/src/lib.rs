//! WebRTC peer connections and data channels for the webrtc-mesh addon.
//!
//! Everything network-facing runs on one shared tokio runtime ([`runtime`]). The handles
//! handed to callers ([`PeerConnection`], [`DataChannel`]) never wait for the network: every
//! call checks its input and returns at once (a malformed description, candidate or option is
//! refused right there), and what the network does later comes back as [`PeerEvent`]s that the
//! caller drains with [`PeerConnection::poll`], on its own thread and in order. Channel states
//! and received packets are read from shared memory by the handles' getters, without events,
//! and so are statistics ([`PeerConnection::stats`]), which the connection's task snapshots.

#![forbid(unsafe_code)]

pub mod channel;
pub mod config;
pub mod error;
mod ice_tally;
pub mod peer;
pub mod runtime;
pub mod stats;
mod wire_repairs;

pub use channel::{ChannelOptions, ChannelState, DataChannel, Packet};
pub use config::{IceServer, IceTransportPolicy, TransportConfig};
pub use error::TransportError;
pub use peer::{ConnectionState, GatheringState, PeerConnection, PeerEvent, SdpKind, SignalingState};
pub use stats::{CandidateStats, CandidateType, PeerStats, SelectedPair};
