//! The SCTP layer's one error type.

use thiserror::Error;

/// Why the association failed or refused a call.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SctpError {
    /// The other side aborted the association.
    #[error("the other side aborted the association")]
    Aborted,
    /// We aborted the association (`Association::abort`). A protocol violation by the peer ends
    /// it with the violation's own error, an ABORT going to the peer all the same.
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
    /// The other side sent a message larger than we accept (RFC 8831 §6.6): the association
    /// aborts.
    #[error("the other side sent a message larger than {max} bytes")]
    RemoteMessageTooLarge {
        /// The largest message accepted, in bytes.
        max: usize,
    },
    /// The other side sent a DATA chunk without user data (RFC 9260 §6.2: "No User Data"): the
    /// association aborts.
    #[error("the other side sent a DATA chunk without user data (TSN {tsn})")]
    NoUserData {
        /// The chunk's TSN.
        tsn: u32,
    },
    /// The message would take the send queue past its limit (`max_buffered` bytes): wait for
    /// `buffered_amount` to fall.
    #[error("the send buffer is full")]
    SendBufferFull,
    /// The message is larger than the association accepts (`max_message_size`).
    #[error("the message is larger than the association accepts")]
    MessageTooLarge,
    /// The message is empty: SCTP carries no empty DATA chunk (data channels send empty
    /// messages as one byte with PPID 56/57).
    #[error("an SCTP message cannot be empty")]
    EmptyMessage,
    /// The stream is being reset (its channel is closing): it takes no new message until the
    /// reset is done.
    #[error("the stream is being reset")]
    StreamResetting,
}
