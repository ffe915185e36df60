//! What the data-channel layer gives back: commands for the SCTP association below it and
//! events for the application above it.

use bytes::Bytes;

use super::{ChannelError, ChannelOptions};
use crate::sctp::{SendOptions, StreamId};

/// A data channel's id: the stream it uses in both directions (RFC 8831 §6.5), as the W3C
/// `RTCDataChannel.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub StreamId);

/// What the connection must ask of the SCTP association, in this order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctpCommand {
    /// `Association::send(now, stream, ppid, data, options)`.
    Send {
        /// The channel's stream.
        stream: StreamId,
        /// The payload protocol identifier (see [`ppid`](crate::sctp::ppid)).
        ppid: u32,
        /// The message's bytes (one byte for an empty message).
        data: Bytes,
        /// Order and reliability of this message.
        options: SendOptions,
    },
    /// `Association::reset_streams(now, &streams)`: reset our outgoing side of these streams.
    ResetStreams(Vec<StreamId>),
}

/// What happened to the data channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEvent {
    /// A channel we opened is open: the other side acknowledged its DATA_CHANNEL_OPEN (or sent
    /// a message on it, which implies the acknowledgement), or, negotiated, the association is
    /// up.
    Opened(ChannelId),
    /// The other side opened a channel in-band; it is open, with the options it asked for.
    RemoteOpened {
        /// The new channel.
        id: ChannelId,
        /// Its options (`negotiated_id` is None).
        options: ChannelOptions,
    },
    /// A whole message arrived on an open channel.
    Message {
        /// The channel it came on.
        id: ChannelId,
        /// Its bytes (empty for an empty message).
        data: Bytes,
        /// Whether it was sent as binary rather than as text.
        binary: bool,
    },
    /// The channel is closed: both sides reset their stream, or the association ended. Its id
    /// may be used again by a later channel.
    Closed(ChannelId),
    /// The other side did something wrong on this stream (an opening refused or unreadable);
    /// the layer dealt with it. At most [`MAX_REPORTED_ERRORS`](super::MAX_REPORTED_ERRORS) per
    /// connection.
    Error {
        /// The stream concerned.
        id: ChannelId,
        /// What was wrong.
        reason: ChannelError,
    },
}
