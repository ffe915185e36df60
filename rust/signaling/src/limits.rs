//! The numbers behind the rules: how many clients and lobbies (in all and per source address),
//! how long to wait, how fast a client may send.

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
    /// Connections still in their handshake (TLS and WebSocket) at most; past it a new TCP
    /// connection is closed at once. Each has the join timeout to finish.
    pub max_handshakes: usize,
    /// Connections in their handshake from one source address (IPv6: one /64) at most; past it
    /// that source's new TCP connections are closed at once. Not applied to a trusted proxy,
    /// whose clients' addresses are only known once their handshake is done.
    pub max_handshakes_per_source: usize,
    /// Connected clients from one source address (IPv6: one /64; behind a trusted proxy, the
    /// address it forwards) at most; past it a new client is closed once its handshake is done.
    pub max_clients_per_source: usize,
    /// Open lobbies created by the clients of one source address at most; past it a JOIN
    /// creating one is refused.
    pub max_lobbies_per_source: usize,
    /// JOINs naming a lobby that does not exist (lobby-name guesses) one source address may
    /// make per hour, after a burst of 10; while it has none left, every JOIN naming a lobby
    /// from it is refused.
    pub max_join_misses_per_hour: u32,
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
            max_handshakes: 256,
            max_handshakes_per_source: 8,
            max_clients_per_source: 32,
            max_lobbies_per_source: 8,
            max_join_misses_per_hour: 60,
        }
    }
}
