//! The transport's error type.

/// Everything that can go wrong when calling into the transport.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The configuration given to a connection or channel is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A session description could not be parsed or has an unknown type.
    #[error("malformed session description: {0}")]
    InvalidSdp(String),
    /// An ICE candidate could not be parsed.
    #[error("malformed ICE candidate: {0}")]
    InvalidCandidate(String),
    /// The call does not fit the object's current state.
    #[error("{0}")]
    WrongState(String),
    /// A packet is larger than the channel can carry.
    #[error("packet of {size} bytes exceeds the channel's maximum of {max} bytes")]
    PacketTooLarge {
        /// Size of the packet that was refused.
        size: usize,
        /// Largest packet the channel carries.
        max: usize,
    },
    /// The data channel is not open (still connecting, closing or closed).
    #[error("the data channel is not open")]
    ChannelNotOpen,
    /// The shared runtime has been shut down (the library is unloading).
    #[error("the WebRTC runtime has been shut down")]
    RuntimeGone,
}
