//! The data-channel layer's one error type: why a call was refused, or what the other side did
//! wrong (reported in [`ChannelEvent::Error`](super::ChannelEvent::Error)).

use thiserror::Error;

use super::ChannelId;
use crate::sctp::StreamId;

/// Why a call on [`DataChannels`](super::DataChannels) was refused, or why something the other
/// side sent was.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ChannelError {
    /// No channel has this id (never opened, or closed already).
    #[error("no data channel has id {}", .0.0)]
    UnknownChannel(ChannelId),
    /// The channel cannot carry messages yet (its association is not up) or any more (it is
    /// closing).
    #[error("data channel {} is not open", .0.0)]
    NotOpen(ChannelId),
    /// A channel (or a refused opening waiting for its reset) already uses this stream.
    #[error("stream {0} is in use")]
    StreamInUse(StreamId),
    /// Stream 65535 is reserved (RFC 8832 §6).
    #[error("stream 65535 is reserved")]
    ReservedStream,
    /// Every stream id of our parity is taken.
    #[error("no free stream id is left for a new data channel")]
    NoFreeStream,
    /// A label longer than the layer takes.
    #[error("the label is {len} bytes long; at most {max} are allowed")]
    LabelTooLong {
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A protocol longer than the layer takes.
    #[error("the protocol is {len} bytes long; at most {max} are allowed")]
    ProtocolTooLong {
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A message larger than the other side takes (its `max-message-size`).
    #[error("the message is {len} bytes long; the other side takes at most {max}")]
    MessageTooLarge {
        /// Its length in bytes.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The association ended: no channel opens any more.
    #[error("the association is closed")]
    AssociationClosed,
    /// This connection refuses every channel the other side opens in-band (a mesh reads only
    /// its negotiated channels).
    #[error("this connection refuses channels opened by the remote side")]
    RemoteOpensRefused,
    /// The other side already has this many channels open in-band (the most allowed).
    #[error("the remote side already has {0} channels open (the most allowed)")]
    TooManyRemoteChannels(usize),
    /// The other side opened this many channels in-band over the connection's life (the most
    /// allowed).
    #[error("the remote side opened {0} channels on this connection (the most allowed)")]
    TooManyRemoteOpens(usize),
    /// The other side sent DATA_CHANNEL_OPEN on a stream id of our parity (RFC 8832 §6: the
    /// DTLS client opens even ids, the server odd ones).
    #[error("the remote side opened a channel on stream {0}, whose id belongs to our side")]
    WrongParity(StreamId),
    /// The other side sent DATA_CHANNEL_OPEN on a stream that already carries a channel.
    #[error("the remote side opened a channel on stream {0}, which already carries one")]
    DuplicateOpen(StreamId),
    /// A DCEP message that cannot be read.
    #[error("malformed DCEP message: {0}")]
    MalformedDcep(&'static str),
    /// A DCEP message of a type RFC 8832 does not define.
    #[error("DCEP message of unknown type {0:#04x}")]
    UnknownDcepType(u8),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_channel_and_the_bound() {
        assert_eq!(ChannelError::UnknownChannel(ChannelId(7)).to_string(), "no data channel has id 7");
        assert_eq!(ChannelError::NotOpen(ChannelId(2)).to_string(), "data channel 2 is not open");
        assert_eq!(
            ChannelError::MessageTooLarge { len: 70_000, max: 65_536 }.to_string(),
            "the message is 70000 bytes long; the other side takes at most 65536"
        );
        assert_eq!(ChannelError::UnknownDcepType(4).to_string(), "DCEP message of unknown type 0x04");
    }
}
