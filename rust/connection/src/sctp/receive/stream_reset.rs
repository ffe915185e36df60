//! RFC 6525 incoming stream reset: the peer asks us to reset some of its outgoing streams (our
//! incoming ones) after its last assigned TSN. The reset is applied once the cumulative TSN
//! reaches that TSN; until then, DATA past it on those streams already numbers its SSNs from 0,
//! so it is held back here and handed to reassembly after the reset.
//!
//! Bounded: at most [`MAX_PENDING_RESETS`] requests wait (one more is denied); the held-back
//! chunks count against the receive window and [`super::reassembly::MAX_HELD_ITEMS`] like any.

use crate::sctp::chunks::DataChunk;
use crate::sctp::StreamId;

/// How many incoming reset requests may wait for their last TSN at once.
pub(crate) const MAX_PENDING_RESETS: usize = 16;

/// What became of an incoming reset request (the association answers RE-CONFIG with it,
/// RFC 6525 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IncomingReset {
    /// Applied at once: "Success - Performed".
    Performed,
    /// Waiting for TSNs up to the sender's last assigned one: "In progress".
    InProgress,
    /// Too many requests wait already: "Denied".
    Denied,
}

/// A request waiting for its last TSN.
#[derive(Debug, PartialEq, Eq)]
struct PendingReset {
    /// The streams to reset (all when empty).
    streams: Vec<StreamId>,
    /// The unwrapped TSN after which the streams start again.
    last_tsn: u64,
}

impl PendingReset {
    /// Whether a chunk on `stream` with unwrapped TSN `tsn` comes after this reset.
    fn holds_back(&self, stream: StreamId, tsn: u64) -> bool {
        tsn > self.last_tsn && (self.streams.is_empty() || self.streams.contains(&stream))
    }
}

/// The incoming reset requests not yet applied and the DATA held back behind them.
#[derive(Debug, Default)]
pub(crate) struct IncomingResets {
    /// Requests waiting for their last TSN, in the order they came.
    pending: Vec<PendingReset>,
    /// DATA chunks (with their unwrapped TSN) that come after a pending reset.
    held_back: Vec<(u64, DataChunk)>,
    /// Payload bytes in `held_back`.
    held_back_bytes: usize,
}

impl IncomingResets {
    /// Queues a request for `streams` (all when empty) after the unwrapped `last_tsn`, unless
    /// the same request waits already.
    pub(crate) fn add(&mut self, streams: &[StreamId], last_tsn: u64) -> IncomingReset {
        let request = PendingReset { streams: streams.to_vec(), last_tsn };
        if self.pending.contains(&request) {
            return IncomingReset::InProgress;
        }
        if self.pending.len() >= MAX_PENDING_RESETS {
            return IncomingReset::Denied;
        }
        self.pending.push(request);
        IncomingReset::InProgress
    }

    /// Whether a DATA chunk on `stream` with unwrapped TSN `tsn` must wait for a pending reset.
    pub(crate) fn holds_back(&self, stream: StreamId, tsn: u64) -> bool {
        self.pending.iter().any(|reset| reset.holds_back(stream, tsn))
    }

    /// Holds a chunk back until its reset is applied.
    pub(crate) fn hold_back(&mut self, tsn: u64, chunk: DataChunk) {
        self.held_back_bytes += chunk.payload.len();
        self.held_back.push((tsn, chunk));
    }

    /// Payload bytes held back.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_back_bytes
    }

    /// Chunks held back.
    pub(crate) fn held_items(&self) -> usize {
        self.held_back.len()
    }

    /// Takes the streams of a pending request whose last TSN is at or below the unwrapped
    /// `cumulative` TSN, if there is one.
    pub(crate) fn take_due(&mut self, cumulative: u64) -> Option<Vec<StreamId>> {
        let index = self.pending.iter().position(|reset| reset.last_tsn <= cumulative)?;
        Some(self.pending.remove(index).streams)
    }

    /// Takes every held-back chunk (the caller holds back again those still behind a request).
    pub(crate) fn take_held_back(&mut self) -> Vec<(u64, DataChunk)> {
        self.held_back_bytes = 0;
        std::mem::take(&mut self.held_back)
    }
}
