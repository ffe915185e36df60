//! What a secure path reports and what it asks to send.

use std::net::SocketAddr;

use super::error::FailureReason;
use super::path_choice::PathKind;

/// The ICE connection state (RFC 8445 / W3C `RTCIceConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    /// Waiting for the remote credentials.
    New,
    /// Checking candidate pairs.
    Checking,
    /// A pair is selected and the peer answers on it.
    Connected,
    /// Nothing came from the peer for the disconnected timeout; it may come back.
    Disconnected,
    /// No pair works, or consent expired.
    Failed,
    /// Closed by us.
    Closed,
}

/// Something the caller learns from [`super::SecurePath::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurePathEvent {
    /// ICE's state changed.
    IceStateChanged(IceState),
    /// ICE selected a pair: datagrams go from the local socket `local` to `remote`.
    SelectedPair {
        /// The local socket (a candidate's base: host socket or relay allocation).
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// Our ICE role changed after a role conflict (RFC 8445 7.3.1.1).
    IceRoleChanged {
        /// Whether we are now controlling.
        controlling: bool,
    },
    /// The DTLS handshake completed and the peer's certificate matched its fingerprint:
    /// application data flows.
    Connected,
    /// One DTLS application-data record (one SCTP packet).
    ApplicationData(Vec<u8>),
    /// DTLS records now go by this path (the first choice, an upgrade or a fall-back).
    PathChanged(PathKind),
    /// Once a relay was offered, whether nothing authenticated came by either path for the
    /// disconnected timeout (`true`), or something did again (`false`): then this, not ICE's
    /// state, says whether the peer is heard. Reported when it changes (first once connected).
    PeerSilent(bool),
    /// The peer closed DTLS (close_notify).
    Closed,
    /// The path failed for good.
    Failed(FailureReason),
}

/// A datagram to send from the local socket `local` to `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local socket to send from (a candidate's base).
    pub local: SocketAddr,
    /// Where to.
    pub to: SocketAddr,
    /// The datagram.
    pub data: Vec<u8>,
}
