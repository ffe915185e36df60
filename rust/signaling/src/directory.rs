//! The lobby directory: where lobbies live, and the words the state machine exchanges with it
//! when it is shared between server instances.
//!
//! A directory answers four questions: does this lobby exist and take one more peer (and with
//! which peer id), who is in it, is it sealed, and how does a message reach a member. The
//! state machine knows two directories:
//!
//! - **in memory** ([`Signaling::new`]): the single-process server. The state machine is the
//!   directory: it decides every join, seal and leave at once, and every member is one of its
//!   own clients.
//! - **shared** ([`Signaling::with_shared_lobbies`]): several instances share lobbies. The
//!   state machine keeps a *view* of each lobby one of its clients is in (members, mode, sealed),
//!   but the decisions are the directory's: it sends [`Request`]s (read with
//!   [`Signaling::poll_request`]) and is told what happened through [`Event`]s, which every
//!   instance watching a lobby receives in the same order, its own doings included. A join is
//!   decided when its [`Event::Joined`] comes back (or refused with
//!   [`Signaling::join_refused`]); a seal, a leave or a lobby's end is announced to the clients
//!   when its event comes back, on every instance alike. Relays between two clients of the same
//!   instance go straight from one to the other; relays to a member elsewhere are
//!   [`Request::Relay`]s.
//!
//! The pump carries requests to a real directory (Redis, in `server`) and reports its events;
//! the state machine stays sans-IO, and its shared mode is tested by handing it events.
//!
//! [`Signaling::new`]: crate::signaling::Signaling::new
//! [`Signaling::with_shared_lobbies`]: crate::signaling::Signaling::with_shared_lobbies
//! [`Signaling::poll_request`]: crate::signaling::Signaling::poll_request
//! [`Signaling::join_refused`]: crate::signaling::Signaling::join_refused

use crate::protocol::Message;

/// Numbers a join sent to the shared directory, so that its answer finds its client.
pub type Ticket = u64;

/// What the state machine asks of a shared directory. Requests must be carried out in order:
/// a [`Request::Watch`] must be in force before the join that follows it is decided, so that
/// the join's own [`Event::Joined`] is received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Start receiving `lobby`'s events: a client of this instance is about to join it.
    Watch {
        /// The lobby's name.
        lobby: String,
    },
    /// Stop receiving `lobby`'s events: no client of this instance is in it or joining it.
    Unwatch {
        /// The lobby's name.
        lobby: String,
    },
    /// Create `lobby` with the requester as its host (peer 1). Refused with
    /// [`SignalingError::NoUnusedId`] when the name is taken.
    ///
    /// [`SignalingError::NoUnusedId`]: crate::error::SignalingError::NoUnusedId
    Create {
        /// Names the answer.
        ticket: Ticket,
        /// The new lobby's name.
        lobby: String,
        /// Every peer connects to every other.
        mesh: bool,
    },
    /// Add a member to `lobby`, with the first of `candidates` no member has. Refused with
    /// [`SignalingError::NoSuchLobby`], [`SignalingError::LobbySealed`],
    /// [`SignalingError::LobbyFull`] (`max_peers` members already) or
    /// [`SignalingError::NoUnusedId`].
    ///
    /// [`SignalingError::NoSuchLobby`]: crate::error::SignalingError::NoSuchLobby
    /// [`SignalingError::LobbySealed`]: crate::error::SignalingError::LobbySealed
    /// [`SignalingError::LobbyFull`]: crate::error::SignalingError::LobbyFull
    /// [`SignalingError::NoUnusedId`]: crate::error::SignalingError::NoUnusedId
    Join {
        /// Names the answer.
        ticket: Ticket,
        /// The lobby's name.
        lobby: String,
        /// Peer ids to try, in order.
        candidates: Vec<i64>,
        /// Members the lobby may have at most.
        max_peers: usize,
    },
    /// A member of this instance that is not the host left: [`Event::Left`] follows.
    Leave {
        /// The lobby's name.
        lobby: String,
        /// The member's peer id.
        peer_id: i64,
    },
    /// The host (a client of this instance) left, which ends the lobby: [`Event::Closed`]
    /// follows.
    Close {
        /// The lobby's name.
        lobby: String,
    },
    /// The host (a client of this instance) sealed the lobby: [`Event::Sealed`] follows.
    Seal {
        /// The lobby's name.
        lobby: String,
    },
    /// Deliver `message` (already rewritten to name its sender) to member `to`, a client of
    /// another instance.
    Relay {
        /// The lobby's name.
        lobby: String,
        /// The receiver's peer id.
        to: i64,
        /// What it receives.
        message: Message,
    },
}

/// What happened in a watched lobby, as the shared directory tells every instance watching it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `peer_id` joined `lobby` (or created it, as peer 1).
    Joined {
        /// The lobby's name.
        lobby: String,
        /// The new member's peer id.
        peer_id: i64,
        /// The ticket of the request, when this instance sent it; `None` for other instances'
        /// joins.
        ticket: Option<Ticket>,
        /// Whether the lobby is a mesh.
        mesh: bool,
        /// The peer ids of the members before this one, in join order.
        members: Vec<i64>,
    },
    /// `peer_id` left `lobby`, or was removed because its instance stopped answering.
    Left {
        /// The lobby's name.
        lobby: String,
        /// The member's peer id.
        peer_id: i64,
    },
    /// The host sealed `lobby`.
    Sealed {
        /// The lobby's name.
        lobby: String,
    },
    /// `lobby` ended: its host left, or the host's instance stopped answering.
    Closed {
        /// The lobby's name.
        lobby: String,
    },
    /// A relayed message for member `to`.
    Relayed {
        /// The lobby's name.
        lobby: String,
        /// The receiver's peer id.
        to: i64,
        /// What it receives (naming its sender).
        message: Message,
    },
}
