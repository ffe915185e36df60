//! WebRTC peer connections and data channels for the webrtc-mesh addon.
//!
//! Everything network-facing runs on one shared tokio runtime ([`runtime`]). The handles
//! handed to callers ([`PeerConnection`], [`DataChannel`]) never wait for the network: every
//! call returns at once, and everything the network does comes back as queued events that the
//! caller drains with [`PeerConnection::poll`], on its own thread and in order.

pub mod channel;
pub mod config;
pub mod error;
pub mod peer;
pub mod runtime;

pub use channel::{ChannelOptions, ChannelState, DataChannel, Packet};
pub use config::{IceServer, TransportConfig};
pub use error::TransportError;
pub use peer::{ConnectionState, GatheringState, PeerConnection, PeerEvent, SdpKind, SignalingState};
