//! What goes into the association and comes out of it: messages, their send options, events.

use std::time::Duration;

use bytes::Bytes;

use super::SctpError;

/// A stream's number. Each data channel is one stream id in both directions (RFC 8831 §6.5).
pub type StreamId = u16;

/// Payload protocol identifiers used by WebRTC data channels (RFC 8831 §8, RFC 8832 §8.1).
pub mod ppid {
    /// A DCEP message (DATA_CHANNEL_OPEN or DATA_CHANNEL_ACK).
    pub const DCEP: u32 = 50;
    /// A non-empty UTF-8 string message.
    pub const STRING: u32 = 51;
    /// A non-empty binary message.
    pub const BINARY: u32 = 53;
    /// An empty string message (sent as one byte, which the receiver drops).
    pub const STRING_EMPTY: u32 = 56;
    /// An empty binary message (sent as one byte, which the receiver drops).
    pub const BINARY_EMPTY: u32 = 57;
}

/// How hard the association tries to deliver a message (RFC 3758 partial reliability).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reliability {
    /// Retransmitted until acknowledged.
    Reliable,
    /// Sent at most 1 + this many times, then abandoned.
    MaxRetransmits(u16),
    /// Abandoned once this long has passed since the message was handed to the association,
    /// whether or not it was ever sent.
    MaxLifetime(Duration),
}

/// How one message is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// Whether the message is delivered in order with the stream's other ordered messages.
    pub ordered: bool,
    /// Whether and how long the message is retransmitted.
    pub reliability: Reliability,
}

/// A whole message received on a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The stream it came on.
    pub stream: StreamId,
    /// Its payload protocol identifier (see [`ppid`]).
    pub ppid: u32,
    /// Its bytes.
    pub data: Bytes,
}

/// What the association tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctpEvent {
    /// The association is established: messages can be sent.
    Connected,
    /// A whole message arrived.
    Message(Message),
    /// The other side reset these incoming streams: it will send nothing more on them.
    StreamsReset(Vec<StreamId>),
    /// The association ended, by the other side, by us or by a failure; nothing more comes.
    Closed(SctpError),
}
