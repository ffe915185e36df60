//! A piece of a message cut to fit one DATA chunk, before it has a TSN: what the send queue gives
//! and the outstanding data keeps until it is acknowledged or abandoned.

use std::time::Instant;

use bytes::Bytes;

use super::super::chunks::{DataChunk, Tsn};
use super::super::StreamId;

/// Bytes of a DATA chunk before its payload (RFC 9260 §3.3.1: chunk header, TSN, stream id, SSN,
/// PPID).
pub(super) const DATA_CHUNK_HEADER: usize = 16;

/// The size of an encoded DATA chunk carrying `payload` bytes, padding included.
pub(super) fn encoded_data_chunk_len(payload: usize) -> usize {
    DATA_CHUNK_HEADER + payload.next_multiple_of(4)
}

/// A message's number on this association, unique for its lifetime: fragments of one message
/// share it, so the message is abandoned whole.
pub(super) type MessageId = u64;

/// One DATA chunk's worth of a message, without its TSN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fragment {
    /// The message it belongs to.
    pub(super) message: MessageId,
    /// The message's stream.
    pub(super) stream: StreamId,
    /// The message's stream sequence number (0 for unordered messages).
    pub(super) ssn: u16,
    /// The message's payload protocol identifier.
    pub(super) ppid: u32,
    /// The U bit.
    pub(super) unordered: bool,
    /// The B bit: the message's first fragment.
    pub(super) beginning: bool,
    /// The E bit: the message's last fragment.
    pub(super) ending: bool,
    /// The fragment's bytes (never empty).
    pub(super) payload: Bytes,
    /// When the message is abandoned, sent or not (`Reliability::MaxLifetime`).
    pub(super) expires_at: Option<Instant>,
    /// How many times it may be retransmitted (`Reliability::MaxRetransmits`).
    pub(super) max_retransmits: Option<u16>,
}

impl Fragment {
    /// Its size as an encoded DATA chunk: what it takes of a packet, the congestion window and
    /// the peer's window.
    pub(super) fn encoded_len(&self) -> usize {
        encoded_data_chunk_len(self.payload.len())
    }

    /// The DATA chunk that carries it with `tsn`.
    pub(super) fn to_chunk(&self, tsn: Tsn, immediate_sack: bool) -> DataChunk {
        DataChunk {
            tsn,
            stream: self.stream,
            ssn: self.ssn,
            ppid: self.ppid,
            unordered: self.unordered,
            beginning: self.beginning,
            ending: self.ending,
            immediate_sack,
            payload: self.payload.clone(),
        }
    }

    /// Whether the message may be sent (again) at `now`: its lifetime is not over and it was not
    /// already sent `transmissions` times out of the 1 + max retransmissions it may.
    pub(super) fn may_transmit(&self, now: Instant, transmissions: u32) -> bool {
        let alive = self.expires_at.is_none_or(|at| now < at);
        let retransmissions_left = self.max_retransmits.is_none_or(|max| transmissions <= u32::from(max));
        alive && retransmissions_left
    }
}
