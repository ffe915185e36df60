//! The SCTP layer's one error type.

use thiserror::Error;

/// Why the association failed or refused a call.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SctpError {
    /// The other side aborted the association.
    #[error("the other side aborted the association")]
    Aborted,
    /// The other side sent a message larger than we accept (RFC 8831 §6.6): the association
    /// aborts.
    #[error("the other side sent a message larger than {max} bytes")]
    MessageTooLarge {
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
}
