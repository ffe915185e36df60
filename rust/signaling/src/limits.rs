//! The numbers behind the rules: how many clients and lobbies, how long to wait, how fast a
//! client may send.

use std::time::Duration;

/// The numbers the state machine enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connected clients at most (counted once their WebSocket handshake is done).
    pub max_clients: usize,
    /// Open lobbies at most.
    pub max_lobbies: usize,
    /// Peers in one lobby at most.
    pub max_lobby_peers: usize,
    /// Time a connection has to finish its WebSocket handshake, and then again to join a lobby.
    pub join_timeout: Duration,
    /// A client heard nothing from (no frame, not even a pong) for this long is closed; it is
    /// pinged after each third of it spent silent.
    pub idle_timeout: Duration,
    /// Text messages per second a client may send on average, in bursts of up to twice that.
    pub max_messages_per_second: u32,
}

impl Limits {
    /// Silence after which a client is pinged.
    pub(crate) fn ping_interval(&self) -> Duration {
        self.idle_timeout / 3
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_clients: 4096,
            max_lobbies: 1024,
            max_lobby_peers: 64,
            join_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_messages_per_second: 100,
        }
    }
}
