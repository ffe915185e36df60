//! The binding's one error type and the one function that reports a failed call to Godot.

use godot::global::{godot_error, Error};
use mesh_core::MeshError;
use transport::TransportError;

/// Why a script's call failed, from whichever layer refused it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The transport refused it.
    Transport(TransportError),
    /// The mesh core refused it.
    Mesh(MeshError),
}

impl From<TransportError> for Failure {
    fn from(error: TransportError) -> Self {
        Self::Transport(error)
    }
}

impl From<MeshError> for Failure {
    fn from(error: MeshError) -> Self {
        Self::Mesh(error)
    }
}

impl Failure {
    /// The Godot error code a script sees.
    fn code(&self) -> Error {
        match self {
            Self::Transport(error) => match error {
                TransportError::InvalidConfig(_)
                | TransportError::InvalidSdp(_)
                | TransportError::InvalidCandidate(_)
                | TransportError::TooManyCandidates(_)
                | TransportError::PacketTooLarge { .. }
                | TransportError::UnsupportedFingerprint(_) => Error::ERR_INVALID_PARAMETER,
                TransportError::IdInUse(_) => Error::ERR_ALREADY_IN_USE,
                TransportError::WrongState(_) | TransportError::ChannelNotOpen => Error::ERR_UNCONFIGURED,
                TransportError::RuntimeGone => Error::ERR_UNAVAILABLE,
                TransportError::Bind { .. } => Error::ERR_CANT_CREATE,
                TransportError::Signaling { .. } | TransportError::Channel { .. } => Error::ERR_INVALID_DATA,
                TransportError::ConnectionFailed { .. }
                | TransportError::HandshakeFailed
                | TransportError::CertificateMismatch
                | TransportError::HandshakeRefused { .. }
                | TransportError::HandshakeRejected { .. }
                | TransportError::HandshakeNeverStarted { .. } => Error::ERR_CONNECTION_ERROR,
                // What the engine's WebSocketPeer returns when its outbound buffer is full.
                TransportError::SendBufferFull { .. } | TransportError::ReceiveBufferOverflow { .. } => {
                    Error::ERR_OUT_OF_MEMORY
                }
            },
            Self::Mesh(error) => match error {
                MeshError::Unconfigured(_) => Error::ERR_UNCONFIGURED,
                MeshError::InvalidParameter(_) => Error::ERR_INVALID_PARAMETER,
                MeshError::Unauthorized(_) => Error::ERR_UNAUTHORIZED,
                MeshError::AlreadyExists(_) => Error::ERR_ALREADY_EXISTS,
                MeshError::Unavailable(_) => Error::ERR_UNAVAILABLE,
                MeshError::QueueFull(_) => Error::ERR_OUT_OF_MEMORY,
            },
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(error) => error.fmt(f),
            Self::Mesh(error) => error.fmt(f),
        }
    }
}

/// Pushes one error, `Class.method: reason`, and returns the code the script sees.
pub(crate) fn report(call: &str, failure: impl Into<Failure>) -> Error {
    let failure = failure.into();
    godot_error!("{call}: {failure}");
    failure.code()
}

/// `OK`, or the reported failure's code.
pub(crate) fn check<F: Into<Failure>>(call: &str, result: Result<(), F>) -> Error {
    match result {
        Ok(()) => Error::OK,
        Err(failure) => report(call, failure),
    }
}
