//! A signaling server for WebRTC meshes, speaking the protocol of Godot's `webrtc_signaling`
//! demo so that its clients and ours can use it.
//!
//! [`signaling`] is the server's state machine: sans-IO, with time passed in, it holds every
//! rule (lobbies, relay, seal, the handshake, join and idle timeouts, pings, the flood limit);
//! its module docs say how to drive it. [`protocol`] parses and writes the JSON messages,
//! [`limits`] holds the rules' numbers, [`source`] how source addresses are counted, [`output`] what the state machine asks for,
//! [`error`] why clients are refused, and [`turn_credentials`] the TURN credentials lobby members
//! may ask for. [`server`] pumps WebSocket connections through the state
//! machine.
//!
//! # On the open internet
//!
//! Lobby names (40 bits) and peer ids come from the operating system's random source. Every
//! source address (IPv6: its /64; behind a trusted proxy, the address the proxy forwards) is
//! capped in connections still in their handshake, connected clients, lobbies created and JOINs
//! naming lobbies that do not exist (guesses); connections in their handshake are capped in all
//! too, and past a handshake cap a TCP connection is closed at once. A relayed message that
//! would overflow what waits for its receiver closes its sender, never the receiver. Close
//! reasons are cut to the 123 bytes a close frame holds. The server can serve `wss://` itself
//! ([`server::Tls`], reloaded on SIGHUP by the binary). The same port answers a plain HTTP
//! `GET /health` ([`server::health`]) and refuses every other request that is not a WebSocket
//! upgrade, after reading at most 16 KiB of request head.
//!
//! # Past one machine
//!
//! Lobbies live in a *lobby directory* ([`directory`]). The single-process server
//! ([`server::serve`], [`signaling::Signaling::new`]) keeps it in the state machine's memory
//! and decides every join, seal and leave at once. With `--redis URL`
//! ([`server::serve_shared`], [`signaling::Signaling::with_shared_lobbies`]) several instances
//! share it in Redis: the state machine stays sans-IO and keeps a view of each lobby its clients
//! are in, sends [`directory::Request`]s (join, leave, seal, relay to a member elsewhere) and
//! applies the [`directory::Event`]s every instance watching the lobby receives in the same
//! order. The pump carries both over Redis (`server/redis_directory.rs`: one Lua script per
//! change, a pub/sub channel per lobby, leases that remove a dead instance's peers within a
//! lease and a third). The client rules (timeouts, pings, flood limit, protocol checks) are the
//! same in both modes; relays between two clients of one instance never touch Redis.

#![forbid(unsafe_code)]

mod client;
pub mod directory;
pub mod error;
mod join_misses;
pub mod limits;
mod lobby;
mod message_budget;
pub mod output;
pub mod protocol;
mod random;
pub mod server;
pub mod signaling;
pub mod source;
pub mod turn_credentials;
mod wake_queue;
