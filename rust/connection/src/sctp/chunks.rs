//! The chunks that the association's parts exchange: DATA, SACK and FORWARD-TSN, as values.
//! Their wire format (and every other chunk's) is read and written in the `wire` module.

use bytes::Bytes;

use super::StreamId;

/// A transmission sequence number (RFC 9260 §1.3): 32 bits, compared modulo 2^32 (serial number
/// arithmetic, RFC 1982).
pub(crate) type Tsn = u32;

/// One DATA chunk (RFC 9260 §3.3.1): a whole message or one fragment of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DataChunk {
    /// Its transmission sequence number.
    pub(crate) tsn: Tsn,
    /// The stream it belongs to.
    pub(crate) stream: StreamId,
    /// Its stream sequence number; meaningless when `unordered`.
    pub(crate) ssn: u16,
    /// The message's payload protocol identifier.
    pub(crate) ppid: u32,
    /// The U bit: delivered as soon as the message is whole, outside the stream's order.
    pub(crate) unordered: bool,
    /// The B bit: the message's first fragment.
    pub(crate) beginning: bool,
    /// The E bit: the message's last fragment.
    pub(crate) ending: bool,
    /// The I bit (RFC 7053): the sender asks for a SACK at once.
    pub(crate) immediate_sack: bool,
    /// The fragment's bytes (never empty on the wire).
    pub(crate) payload: Bytes,
}

/// A gap ack block of a SACK: TSNs `cumulative_tsn + start ..= cumulative_tsn + end` arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GapBlock {
    /// The first received TSN of the block, as an offset from the cumulative TSN (≥ 1).
    pub(crate) start: u16,
    /// The last received TSN of the block, as an offset from the cumulative TSN (≥ `start`).
    pub(crate) end: u16,
}

/// A SACK chunk (RFC 9260 §3.3.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sack {
    /// The highest TSN up to which everything arrived.
    pub(crate) cumulative_tsn: Tsn,
    /// The receiver's advertised window, in bytes.
    pub(crate) a_rwnd: u32,
    /// The blocks received past a gap, in increasing order.
    pub(crate) gaps: Vec<GapBlock>,
    /// TSNs received more than once since the last SACK.
    pub(crate) duplicates: Vec<Tsn>,
}

/// A FORWARD-TSN chunk (RFC 3758 §3.2): the sender abandoned everything up to `new_cumulative_tsn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForwardTsn {
    /// The receiver moves its cumulative TSN here, as if every TSN up to it had arrived.
    pub(crate) new_cumulative_tsn: Tsn,
    /// For each ordered stream with abandoned messages, the largest abandoned stream sequence
    /// number: the receiver skips past it.
    pub(crate) skipped: Vec<(StreamId, u16)>,
}
