//! The SCTP layer's one error type.

use thiserror::Error;

/// Why the association failed or refused a call.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SctpError {
    /// The other side aborted the association.
    #[error("the other side aborted the association")]
    Aborted,
    /// We aborted the association (`Association::abort`, or a protocol violation by the peer).
    #[error("the association was aborted on this side")]
    AbortedLocally,
    /// The association was shut down gracefully (by either side).
    #[error("the association was shut down")]
    ShutDown,
    /// The handshake got no answer after every INIT or COOKIE-ECHO retransmission.
    #[error("the handshake timed out")]
    HandshakeTimeout,
    /// The other side stopped answering: too many consecutive retransmission timeouts.
    #[error("the other side stopped answering (too many retransmissions)")]
    TooManyRetransmissions,
    /// The association is not established (still connecting, closing or closed).
    #[error("the association is not established")]
    NotConnected,
}
