//! A signaling server for WebRTC meshes, speaking the protocol of Godot's `webrtc_signaling`
//! demo so that its clients and ours can use it.
//!
//! [`signaling`] is the server's state machine: sans-IO, with time passed in, it holds every
//! rule (lobbies, relay, seal, the handshake, join and idle timeouts, pings, the flood limit);
//! its module docs say how to drive it. [`protocol`] parses and writes the JSON messages,
//! [`limits`] holds the rules' numbers, [`output`] what the state machine asks for, and
//! [`error`] why clients are refused. [`server`] pumps WebSocket connections through the state
//! machine.

#![forbid(unsafe_code)]

mod client;
pub mod error;
pub mod limits;
mod lobby;
mod message_budget;
pub mod output;
pub mod protocol;
mod random;
pub mod server;
pub mod signaling;
mod wake_queue;
