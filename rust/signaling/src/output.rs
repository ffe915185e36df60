//! What the state machine asks the I/O layer to do.

use crate::error::SignalingError;
use crate::protocol::Message;
use crate::signaling::ClientId;

/// One thing for the I/O layer to carry out, read with [`Signaling::poll_output`].
///
/// [`Signaling::poll_output`]: crate::signaling::Signaling::poll_output
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `message` to `client` as a text frame.
    Send {
        /// The receiver.
        client: ClientId,
        /// What to send.
        message: Message,
    },
    /// Send `message`, relayed from another lobby member, to `client` as a text frame. The
    /// sender pays if it would overflow what waits for `client`: the message is dropped and
    /// `from`, the sending client when it is one of ours, is reported with
    /// [`Signaling::relay_overflowed`]; `client` stays.
    ///
    /// [`Signaling::relay_overflowed`]: crate::signaling::Signaling::relay_overflowed
    Relay {
        /// The receiver.
        client: ClientId,
        /// The sender, when it is a client of this server (`None`: a member on another
        /// instance).
        from: Option<ClientId>,
        /// What to send.
        message: Message,
    },
    /// Send a WebSocket ping to `client` (its pong, like any frame, proves it is alive).
    Ping {
        /// The receiver.
        client: ClientId,
    },
    /// End `client`'s connection: a close frame with [`CLOSE_CODE`] and `reason` as its text
    /// if the handshake is done, otherwise just drop it. The state machine has forgotten the
    /// client; anything it still reports about it is ignored.
    ///
    /// [`CLOSE_CODE`]: crate::protocol::CLOSE_CODE
    Close {
        /// The client to close.
        client: ClientId,
        /// Why.
        reason: SignalingError,
    },
    /// `client` joined `lobby` as `peer_id`: something to log, nothing to send.
    Joined {
        /// The client.
        client: ClientId,
        /// The lobby's name.
        lobby: String,
        /// Its peer id there.
        peer_id: i64,
    },
}
