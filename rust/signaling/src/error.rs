//! The crate's one error type: why a frame is refused or a client's connection ends.

use std::fmt;

/// Why the server refuses a client's frame or ends its connection. The text ([`fmt::Display`]) is
/// the reason sent in the WebSocket close frame and written to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalingError {
    /// The frame is not a JSON object with integer `type` and `id` (and an optional string
    /// `data`); holds what the JSON parser said.
    InvalidMessage(String),
    /// The `type` is none of the protocol's nine.
    UnknownMessageType(i64),
    /// A message other than JOIN before the client joined a lobby.
    NotInLobby,
    /// A second JOIN.
    AlreadyInLobby,
    /// ID, PEER_CONNECT or PEER_DISCONNECT from a client: only the server sends those.
    ServerOnlyMessageType,
    /// A JOIN that would create a lobby while the most lobbies are open.
    TooManyLobbies,
    /// A JOIN naming a lobby that is not open.
    NoSuchLobby,
    /// A JOIN to a lobby its host sealed.
    LobbySealed,
    /// A JOIN to a lobby that has the most peers already.
    LobbyFull,
    /// No unused lobby name or peer id was found in a bounded number of draws.
    NoUnusedId,
    /// A relayed message to a peer id that is not in the sender's lobby.
    NoSuchPeer(i64),
    /// A relayed message addressed to its own sender.
    MessageToSelf,
    /// A SEAL from a peer that is not the lobby's host.
    NotHost,
    /// The host of the client's lobby left, which ends the lobby.
    HostLeft,
    /// The shared lobby directory (Redis) can no longer be reached, or no longer lists the
    /// client (its instance's lease ran out).
    DirectoryLost,
    /// A binary frame: the protocol is text only.
    BinaryFrame,
    /// Text messages faster than the rate limit allows.
    Flooding,
    /// The WebSocket handshake did not finish within the join timeout.
    HandshakeTimedOut,
    /// The handshake finished but the client did not join a lobby within the join timeout.
    JoinTimedOut,
    /// Nothing (not even a pong) heard from the client within the idle timeout.
    Idle,
    /// The handshake finished while the most clients were connected.
    ServerFull,
    /// The handshake finished while the most clients from its source address were connected.
    TooManyClientsFromSource,
    /// A JOIN that would create a lobby while the clients of its source address have created
    /// the most.
    TooManyLobbiesFromSource,
    /// A JOIN naming a lobby while its source address has used up its budget of JOINs naming
    /// lobbies that do not exist.
    TooManyJoinMisses,
    /// A relayed message would have overflowed what waits for its receiver (peer `0`): the
    /// sender sends faster than the receiver reads, and pays for it.
    RelayOverflow(i64),
    /// The connection did not start with a WebSocket handshake; holds why.
    NotWebSocket(String),
    /// The TLS handshake failed (the server serves `wss://`); holds why.
    NotTls(String),
    /// The connection asked for the health check (a plain HTTP `GET /health`), which was
    /// answered; not a client.
    HealthChecked,
    /// Reading or writing the connection failed (an oversized frame is one such failure); holds
    /// the transport's words.
    Transport(String),
    /// The client sent a close frame.
    ClosedByClient,
    /// The connection ended without a close frame.
    ConnectionEnded,
}

impl fmt::Display for SignalingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMessage(details) => write!(f, "invalid message: {details}"),
            Self::UnknownMessageType(number) => write!(f, "unknown message type {number}"),
            Self::NotInLobby => f.write_str("join a lobby first"),
            Self::AlreadyInLobby => f.write_str("already in a lobby"),
            Self::ServerOnlyMessageType => f.write_str("clients may not send this message type"),
            Self::TooManyLobbies => f.write_str("too many lobbies"),
            Self::NoSuchLobby => f.write_str("the lobby does not exist"),
            Self::LobbySealed => f.write_str("the lobby is sealed"),
            Self::LobbyFull => f.write_str("the lobby is full"),
            Self::NoUnusedId => f.write_str("no unused lobby name or peer id was found"),
            Self::NoSuchPeer(id) => write!(f, "no peer {id} in this lobby"),
            Self::MessageToSelf => f.write_str("a message to yourself"),
            Self::NotHost => f.write_str("only the host can seal the lobby"),
            Self::HostLeft => f.write_str("the host has left"),
            Self::DirectoryLost => f.write_str("the shared lobby directory was lost"),
            Self::BinaryFrame => f.write_str("binary frames are not part of the protocol"),
            Self::Flooding => f.write_str("flooding"),
            Self::HandshakeTimedOut => f.write_str("handshake timed out"),
            Self::JoinTimedOut => f.write_str("did not join a lobby in time"),
            Self::Idle => f.write_str("idle"),
            Self::ServerFull => f.write_str("the server is full"),
            Self::TooManyClientsFromSource => f.write_str("too many connections from your address"),
            Self::TooManyLobbiesFromSource => f.write_str("too many lobbies from your address"),
            Self::TooManyJoinMisses => f.write_str("too many joins to lobbies that do not exist from your address"),
            Self::RelayOverflow(id) => write!(f, "peer {id} does not read as fast as you send"),
            Self::NotWebSocket(details) => write!(f, "not a WebSocket handshake ({details})"),
            Self::NotTls(details) => write!(f, "TLS handshake failed ({details})"),
            Self::HealthChecked => f.write_str("answered a health check"),
            Self::Transport(details) => write!(f, "transport error: {details}"),
            Self::ClosedByClient => f.write_str("closed by the client"),
            Self::ConnectionEnded => f.write_str("connection ended"),
        }
    }
}

impl std::error::Error for SignalingError {}
