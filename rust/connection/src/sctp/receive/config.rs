//! The receive side's settings. Stand-in for the fields of `SctpConfig` it needs, until
//! `sctp/config.rs` is on main.

/// What the receive side is allowed to hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReceiveConfig {
    /// Bytes of payload held at most (fragments, messages waiting for their turn or for the
    /// owner); the advertised window is this minus what is held. Should be at least
    /// `max_message_size`, or the largest messages can never be reassembled.
    pub(crate) max_receive_buffer: usize,
    /// The largest message accepted, in bytes; a larger one aborts the association.
    pub(crate) max_message_size: usize,
    /// The number of incoming streams: stream ids from 0 to this minus one are valid.
    pub(crate) max_streams: u16,
}
