//! WebRTC peer connections and data channels for the webrtc-mesh addon, on the `rtc` crate's
//! sans-IO core.
//!
//! Each connection is an `rtc` core behind one lock, with one UDP socket, moved forward by one
//! pump ([`pump`]) in a fixed order. The handles handed to callers ([`PeerConnection`],
//! [`DataChannel`]) never wait for the network: signaling calls run on the core at once, `poll`
//! pumps the connection if nobody else is, and `send` puts a packet on the wire at once when the
//! channel is idle. A task per connection on the shared runtime ([`runtime`]) pumps it whenever a
//! datagram arrives or a timer is due, so connections live on when the game does not poll.

#![forbid(unsafe_code)]

pub mod channel;
pub mod config;
mod core;
pub mod error;
mod handshake_watch;
mod ice_tally;
mod link;
mod lock;
pub mod peer;
mod pump;
mod remote_candidates;
pub mod remote_channels;
pub mod runtime;
mod sdp_fingerprints;
mod servers;
pub mod states;
pub mod stats;
mod task;
mod turn_stream;
mod udp;
mod wire_repairs;

pub use channel::{ChannelOptions, DataChannel, Packet};
pub use config::{IceServer, IceTransportPolicy, TransportConfig};
pub use error::TransportError;
pub use peer::{PeerConnection, PeerEvent};
pub use remote_candidates::MAX_REMOTE_CANDIDATES;
pub use states::{ChannelState, ConnectionState, GatheringState, SdpKind, SignalingState};
pub use stats::{CandidateStats, CandidateType, PeerStats, SelectedPair};
