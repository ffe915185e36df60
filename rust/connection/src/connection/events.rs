//! What a connection reports: its state, ICE's, and what happens to its data channels.

use std::net::SocketAddr;

use bytes::Bytes;

use super::SignalingState;
use crate::channels::{ChannelError, ChannelId, ChannelOptions};
use crate::ice_dtls::{FailureReason, IceState, PathKind};
use crate::sctp::SctpError;

/// The connection's state, numbered as Godot's `WebRTCPeerConnection.ConnectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// No remote description yet.
    New = 0,
    /// ICE or DTLS in progress.
    Connecting = 1,
    /// DTLS is up (the peer's certificate matched its fingerprint).
    Connected = 2,
    /// Nothing came from the peer for a while; it may come back.
    Disconnected = 3,
    /// ICE, DTLS or SCTP failed for good.
    Failed = 4,
    /// Closed, by [`Connection::close`](super::Connection::close) or by the other side (DTLS
    /// close_notify, SCTP ABORT or SHUTDOWN).
    Closed = 5,
}

/// Why a connection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionFailure {
    /// ICE or DTLS failed (no path, consent expired, certificate refused, handshake timeout).
    Path(FailureReason),
    /// The SCTP association failed (handshake timeout, too many retransmissions, a protocol
    /// violation by the other side).
    Sctp(SctpError),
}

/// Something the caller learns from [`Connection::poll_event`](super::Connection::poll_event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The connection's state changed.
    StateChanged(ConnectionState),
    /// The signaling state changed (by a call: creating or applying a description, closing).
    SignalingStateChanged(SignalingState),
    /// ICE's state changed.
    IceStateChanged(IceState),
    /// ICE selected a pair: datagrams go from the local socket `local` to `remote`.
    SelectedPair {
        /// The local socket (a candidate's base).
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// DTLS records now go by this path: the first path chosen, an upgrade from the relay to
    /// the direct pair, or a fall-back to the relay. Nothing the application sent is lost,
    /// repeated or reordered by a switch (one DTLS session, one SCTP association).
    PathChanged(PathKind),
    /// The connection failed (a [`ConnectionEvent::StateChanged`] to `Failed` follows).
    Failed(ConnectionFailure),
    /// A channel we opened is open.
    ChannelOpened(ChannelId),
    /// The other side opened a channel in-band; it is open, with the options it asked for.
    RemoteChannel {
        /// The new channel.
        id: ChannelId,
        /// Its options, reliability included.
        options: ChannelOptions,
    },
    /// A whole message arrived on an open channel.
    Message {
        /// The channel it came on.
        id: ChannelId,
        /// Its bytes.
        data: Bytes,
        /// Whether it was sent as binary rather than as text.
        binary: bool,
    },
    /// The channel is closed; its id may be used again.
    ChannelClosed(ChannelId),
    /// A channel opened in-band before our DTLS role was known took another stream id once it
    /// was (the DTLS client opens even ids, the server odd ones): `from` is now `to`.
    ChannelRenumbered {
        /// The id [`Connection::open_channel`](super::Connection::open_channel) gave.
        from: ChannelId,
        /// The channel's id from now on.
        to: ChannelId,
    },
    /// The other side did something wrong on a channel's stream; the channel table dealt with
    /// it (reported a bounded number of times per connection).
    ChannelError {
        /// The stream concerned.
        id: ChannelId,
        /// What was wrong.
        reason: ChannelError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_numbered_as_godots() {
        use ConnectionState::*;
        let states = [New, Connecting, Connected, Disconnected, Failed, Closed];
        assert_eq!(states.map(|state| state as u8), [0, 1, 2, 3, 4, 5]);
    }
}
