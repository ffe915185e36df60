//! Turning transport errors into Godot error codes and messages.

use godot::global::{godot_error, Error};
use webrtc_mesh_transport::TransportError;

/// The Godot error code for a transport error.
pub fn code(error: &TransportError) -> Error {
    match error {
        TransportError::InvalidConfig(_)
        | TransportError::InvalidSdp(_)
        | TransportError::InvalidCandidate(_)
        | TransportError::PacketTooLarge { .. } => Error::ERR_INVALID_PARAMETER,
        TransportError::WrongState(_) | TransportError::ChannelNotOpen => Error::ERR_UNCONFIGURED,
        TransportError::RuntimeGone => Error::ERR_UNAVAILABLE,
    }
}

/// Pushes one error message naming the call, and returns the matching error code.
pub fn report(call: &str, error: TransportError) -> Error {
    godot_error!("{call}: {error}");
    code(&error)
}

/// `OK` or the reported error.
pub fn check(call: &str, result: Result<(), TransportError>) -> Error {
    match result {
        Ok(()) => Error::OK,
        Err(error) => report(call, error),
    }
}
