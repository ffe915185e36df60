//! The SCTP layer's one error type.

use thiserror::Error;

/// Why the association failed or refused a call.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SctpError {
    /// The other side aborted the association.
    #[error("the other side aborted the association")]
    Aborted,
}
