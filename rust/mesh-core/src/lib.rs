//! The sans-IO core of the WebRTC mesh.
//!
//! [`Mesh`] holds the one peer table, the connection status, the signal rules and the packet
//! queues of a `WebRTCMultiplayerPeer`, and knows neither Godot nor sockets: the caller tells it
//! what it observed (each link's [`LinkState`], each channel's packets) and reads back what to
//! do (events to emit, channels to create, links to send on or close). Every rule is a plain
//! function of its inputs, so it is tested without a network. [`Mesh`]'s documentation says how
//! to drive it.

#![forbid(unsafe_code)]

mod channels;
mod error;
mod link_state;
mod mesh;
mod relay_choice;

pub use channels::{channel_layout, ChannelSpec, TransferMode, BUILTIN_CHANNELS, MAX_EXTRA_CHANNELS, RELAY_STREAM_ID};
pub use error::MeshError;
pub use link_state::{ChannelState, ConnectionState, LinkState, PeerHealth, MIN_LINK_MESSAGE_SIZE};
pub use mesh::{Admission, ConnectionStatus, LinkSendError, Mesh, MeshEvent, Mode, PacketInfo, PACKET_OVERHEAD};
pub use relay_choice::{RelayChoice, RelayOption, MAX_RELAYED_PEERS, RELAY_REJOIN_HOLD};
