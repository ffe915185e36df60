//! A signaling server for WebRTC meshes, speaking the protocol of Godot's `webrtc_signaling`
//! demo so that its clients and ours can use it.
//!
//! [`protocol`] parses and writes the JSON messages, [`lobby`] is the server's state machine
//! (sans-IO: messages in, messages and closes out) and [`server`] runs it over WebSockets with
//! the transport-level limits (frame size, idle time, flood rate).

pub mod lobby;
pub mod protocol;
pub mod server;
