//! WebRTC peer connections and data channels for the webrtc-mesh addon, on the sans-IO core of
//! the `connection` crate (ICE, DTLS, SCTP, data channels and descriptions as state machines).
//!
//! Each connection is a core behind one lock, with one UDP socket, driven by one pump ([`pump`])
//! in a fixed order at the time it reads once per pass; the transport keeps what touches the
//! world: sockets, STUN and TURN clients (TURN over UDP, TCP and TLS), mDNS queries, the clock,
//! the runtime, and the handles with their receive queues. The handles handed to callers ([`PeerConnection`],
//! [`DataChannel`]) never wait for the network: signaling calls run on the core at once, `poll`
//! pumps the connection if nobody else is, and `send` puts a packet on the wire at once when the
//! channel is idle. A task per connection on the shared runtime ([`runtime`]) pumps it whenever a
//! datagram arrives or a timer is due, so connections live on when the game does not poll; while
//! the game polls in a tight loop and keeps up with what arrives, the task stops watching the
//! socket and leaves the datagrams and the timers to the game's thread (no wake-up of the
//! runtime's thread, no lock handed between threads), and a pass of `poll` that handed the game
//! messages leaves their acknowledgements for its next call, so that an answer carries them.

#![forbid(unsafe_code)]

pub mod channel;
pub mod config;
mod core;
pub mod error;
mod events;
mod failure;
mod ice_tally;
mod io;
mod link;
mod lock;
mod mdns;
mod nat64;
mod pace;
pub mod peer;
mod pump;
pub mod relay;
pub mod runtime;
mod servers;
pub mod states;
pub mod stats;
mod task;
mod turn_stream;
mod udp;

/// What the remote side may open in-band on one connection (the core's channel table bounds it).
pub mod remote_channels {
    pub use connection::channels::{MAX_REMOTE_CHANNELS, MAX_REMOTE_OPENS};
}

pub use channel::{ChannelOptions, DataChannel, Packet};
pub use config::{IceServer, IceTransportPolicy, TransportConfig};
pub use connection::sdp::limits::MAX_REMOTE_CANDIDATES;
pub use error::TransportError;
pub use peer::{PeerConnection, PeerEvent};
pub use relay::{RelayHub, RelayStats, SourceStats};
pub use states::{ChannelState, ConnectionState, GatheringState, SdpKind, SignalingState};
pub use stats::{CandidateStats, CandidateType, PathKind, PeerStats, SelectedPair};
