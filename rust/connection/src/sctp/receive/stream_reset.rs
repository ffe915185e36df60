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
    /// The streams to reset, sorted, without repeats.
    streams: Vec<StreamId>,
    /// The unwrapped TSN after which the streams start again.
    last_tsn: u64,
}

impl PendingReset {
    /// Whether a chunk on `stream` with unwrapped TSN `tsn` comes after this reset.
    fn holds_back(&self, stream: StreamId, tsn: u64) -> bool {
        tsn > self.last_tsn && self.streams.binary_search(&stream).is_ok()
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
    /// Queues a request for `streams` (sorted, without repeats) after the unwrapped `last_tsn`,
    /// unless the same request waits already.
    pub(crate) fn add(&mut self, streams: Vec<StreamId>, last_tsn: u64) -> IncomingReset {
        let request = PendingReset { streams, last_tsn };
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn chunk(stream: StreamId, len: usize) -> DataChunk {
        DataChunk {
            tsn: 0,
            stream,
            ssn: 0,
            ppid: 53,
            unordered: false,
            beginning: true,
            ending: true,
            immediate_sack: false,
            payload: Bytes::from(vec![0; len]),
        }
    }

    #[test]
    fn requests_wait_until_their_last_tsn_and_hold_back_only_their_streams_after_it() {
        let mut resets = IncomingResets::default();
        assert_eq!(resets.add(vec![1, 3], 100), IncomingReset::InProgress);
        assert!(resets.holds_back(1, 101) && resets.holds_back(3, 200));
        assert!(!resets.holds_back(1, 100)); // sent before the reset
        assert!(!resets.holds_back(2, 101)); // another stream
        resets.hold_back(101, chunk(1, 10));
        resets.hold_back(102, chunk(3, 5));
        assert_eq!((resets.held_bytes(), resets.held_items()), (15, 2));
        assert_eq!(resets.take_due(99), None);
        assert_eq!(resets.take_due(100), Some(vec![1, 3]));
        assert_eq!(resets.take_due(1000), None);
        let held: Vec<u64> = resets.take_held_back().into_iter().map(|(tsn, _)| tsn).collect();
        assert_eq!(held, vec![101, 102]);
        assert_eq!((resets.held_bytes(), resets.held_items()), (0, 0));
    }

    #[test]
    fn the_same_request_again_is_one_request_and_too_many_are_denied() {
        let mut resets = IncomingResets::default();
        assert_eq!(resets.add(vec![7], 50), IncomingReset::InProgress);
        assert_eq!(resets.add(vec![7], 50), IncomingReset::InProgress);
        for stream in 0..MAX_PENDING_RESETS as u16 - 1 {
            assert_eq!(resets.add(vec![stream], 60), IncomingReset::InProgress);
        }
        assert_eq!(resets.add(vec![100], 60), IncomingReset::Denied);
        assert_eq!(resets.add(vec![7], 50), IncomingReset::InProgress); // still waiting, known
                                                                        // Due ones come out in the order they came, one at a time.
        assert_eq!(resets.take_due(60), Some(vec![7]));
        assert_eq!(resets.take_due(60), Some(vec![0]));
    }
}
