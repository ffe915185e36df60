//! The core's error type.

/// Why a call on the mesh was refused. Each kind maps to one Godot error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeshError {
    /// The mesh is not initialized (or was closed).
    Unconfigured(String),
    /// An argument is out of range or does not fit the mode.
    InvalidParameter(String),
    /// New connections are refused.
    Unauthorized(String),
    /// The peer id is already in the mesh.
    AlreadyExists(String),
    /// The peer is in the mesh but not connected yet, or there is nothing to read.
    Unavailable(String),
    /// A queue reached its limit: a channel's send buffer, or a peer's received packets.
    QueueFull(String),
}

impl std::fmt::Display for MeshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unconfigured(text)
            | Self::InvalidParameter(text)
            | Self::Unauthorized(text)
            | Self::AlreadyExists(text)
            | Self::Unavailable(text)
            | Self::QueueFull(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for MeshError {}

pub(crate) fn invalid(text: impl Into<String>) -> MeshError {
    MeshError::InvalidParameter(text.into())
}
