//! The sans-IO core of the WebRTC mesh.
//!
//! [`Mesh`] holds the peer table, the connection status, the signal rules and the packet
//! queues of a `WebRTCMultiplayerPeer`, and knows neither Godot nor sockets: the caller tells it
//! what it observed (a peer's connection died, all of a peer's channels opened, a packet
//! arrived) and reads back what to do (events to emit, channels to create, peers to send to).
//! Every rule is a plain function of its inputs, so it is tested without a network.

mod channels;
mod error;
mod mesh;

pub use channels::{channel_layout, ChannelSpec, TransferMode, BUILTIN_CHANNELS};
pub use error::MeshError;
pub use mesh::{ConnectionStatus, Mesh, MeshEvent, Mode, PacketInfo, PeerHealth, SendPlan};
