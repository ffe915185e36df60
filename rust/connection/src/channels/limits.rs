//! What the data-channel layer takes from the other side, and what it sends at most.

/// Most channels the remote side may have open in-band at once on one connection: a game uses
/// a few, and each costs the connection a receive queue (as in `transport::remote_channels`).
pub const MAX_REMOTE_CHANNELS: usize = 64;

/// Most channels the remote side may open in-band over a connection's life: each opening costs
/// a channel and a stream reset, so even channels closed at once are limited (as in
/// `transport::remote_channels`).
pub const MAX_REMOTE_OPENS: usize = 1024;

/// Longest label, and longest protocol, a channel may have, in UTF-8 bytes. RFC 8832 allows
/// 65535 each, which a remote opening would make us hold 64 times over (8 MiB); a game names
/// its channels in a few words, so 1 KiB each keeps the 64 remote channels under 128 KiB.
pub const MAX_LABEL_BYTES: usize = 1024;

/// Largest message the other side takes when its description names no `max-message-size`
/// (RFC 8841 §6.1: 64 KiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 65536;

/// Most openings the layer remembers having refused (their stream reset sent, the other side's
/// reset not seen yet). Past it a refused opening is dropped without a reset: its channel stays
/// half-open on the other side and whatever comes on it is dropped here.
pub const MAX_REFUSED_OPENINGS: usize = 256;

/// Most [`ChannelEvent::Error`](super::ChannelEvent::Error) events one connection reports about
/// what the other side did wrong; past it such errors are handled as before but not reported,
/// so a flood of bad openings costs no memory in the event queue.
pub const MAX_REPORTED_ERRORS: usize = 16;

/// The bounds of one connection's data-channel layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelLimits {
    /// Most channels the remote side may have open in-band at once.
    pub max_remote_channels: usize,
    /// Most channels the remote side may open in-band over the connection's life.
    pub max_remote_opens: usize,
    /// Refuse every in-band opening by the remote side (a mesh reads only its negotiated
    /// channels).
    pub refuse_remote_opens: bool,
    /// Longest label and longest protocol, ours or the other side's, in bytes (at most 65535,
    /// what the wire carries; a larger value counts as 65535).
    pub max_label_bytes: usize,
    /// Largest message we send: the other side's `max-message-size` ([`DEFAULT_MAX_MESSAGE_SIZE`]
    /// when its description has none; `usize::MAX` for its 0, which means any size, RFC 8841 §6).
    pub max_message_size: usize,
}

impl Default for ChannelLimits {
    fn default() -> Self {
        Self {
            max_remote_channels: MAX_REMOTE_CHANNELS,
            max_remote_opens: MAX_REMOTE_OPENS,
            refuse_remote_opens: false,
            max_label_bytes: MAX_LABEL_BYTES,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}
