//! The association's send queue: messages waiting per stream, bounded in bytes for the whole
//! association (with the data sent and not yet acknowledged), taken by a round-robin scheduler across streams one message at a time, and
//! expired in place when their lifetime ends before they are sent.
//!
//! Round robin goes by message, not by fragment: DATA chunks of one message must take
//! consecutive TSNs (RFC 9260 §6.9, no I-DATA), so a started message is finished first. A small
//! or unreliable stream's message therefore waits behind at most one message of each other
//! stream, never behind a bulk stream's whole backlog.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::time::Instant;

use bytes::Bytes;

use super::super::{Reliability, SctpError, SendOptions, StreamId};
use super::fragment::{Fragment, MessageId};
use super::outgoing_stream::{OutgoingStream, QueuedMessage};

/// The association's outgoing messages, per stream.
#[derive(Debug)]
pub(super) struct SendQueue {
    streams: BTreeMap<StreamId, OutgoingStream>,
    /// Streams with a message waiting.
    ready: BTreeSet<StreamId>,
    /// The stream whose message is partly cut: it goes first.
    in_progress: Option<StreamId>,
    /// The stream served last: the scheduler goes on after it.
    last_served: Option<StreamId>,
    /// Messages with a lifetime, by the time they expire.
    expiries: BTreeSet<(Instant, MessageId, StreamId)>,
    buffered: usize,
    max_send_buffer: usize,
    max_message_size: usize,
    next_message_id: MessageId,
}

impl SendQueue {
    /// An empty queue taking messages of at most `max_message_size` bytes while it holds, with
    /// the data outstanding, at most `max_send_buffer` bytes.
    pub(super) fn new(max_send_buffer: usize, max_message_size: usize) -> Self {
        Self {
            streams: BTreeMap::new(),
            ready: BTreeSet::new(),
            in_progress: None,
            last_served: None,
            expiries: BTreeSet::new(),
            buffered: 0,
            max_send_buffer,
            max_message_size,
            next_message_id: 0,
        }
    }

    /// Queues a message on `stream`; `outstanding` bytes were sent and are not acknowledged yet.
    pub(super) fn enqueue(
        &mut self,
        now: Instant,
        stream: StreamId,
        ppid: u32,
        data: Bytes,
        options: SendOptions,
        outstanding: usize,
    ) -> Result<(), SctpError> {
        if data.is_empty() {
            return Err(SctpError::EmptyMessage);
        }
        if data.len() > self.max_message_size {
            return Err(SctpError::MessageTooLarge);
        }
        if self.buffered + outstanding + data.len() > self.max_send_buffer {
            return Err(SctpError::SendBufferFull);
        }
        let queue = self.streams.entry(stream).or_default();
        if queue.is_resetting() {
            return Err(SctpError::StreamResetting);
        }
        let (expires_at, max_retransmits) = match options.reliability {
            Reliability::Reliable => (None, None),
            Reliability::MaxRetransmits(max) => (None, Some(max)),
            Reliability::MaxLifetime(lifetime) => (now.checked_add(lifetime), None),
        };
        let id = self.next_message_id;
        self.next_message_id += 1;
        if let Some(at) = expires_at {
            self.expiries.insert((at, id, stream));
        }
        self.buffered += data.len();
        queue.push(QueuedMessage { id, ppid, data, unordered: !options.ordered, expires_at, max_retransmits });
        self.ready.insert(stream);
        Ok(())
    }

    /// Cuts the next fragment, of at most `max_payload` bytes (see
    /// [`OutgoingStream::produce`] for `min_fragment`): the started message's next one, else the
    /// first message of the next stream in turn. Expire messages first ([`Self::expire`]).
    pub(super) fn produce(&mut self, max_payload: usize, min_fragment: usize) -> Option<Fragment> {
        let stream = self.in_progress.or_else(|| self.next_in_turn())?;
        let queue = self.streams.get_mut(&stream)?;
        let fragment = queue.produce(stream, max_payload, min_fragment)?;
        self.buffered -= fragment.payload.len();
        if fragment.ending {
            self.in_progress = None;
            self.last_served = Some(stream);
            if let Some(at) = fragment.expires_at {
                self.expiries.remove(&(at, fragment.message, stream));
            }
            if queue.is_empty() {
                self.ready.remove(&stream);
            }
        } else {
            self.in_progress = Some(stream);
        }
        Some(fragment)
    }

    /// The first ready stream after the last one served, wrapping around.
    fn next_in_turn(&self) -> Option<StreamId> {
        let after = match self.last_served {
            Some(last) => self.ready.range((Bound::Excluded(last), Bound::Unbounded)).next(),
            None => None,
        };
        after.or_else(|| self.ready.first()).copied()
    }

    /// Drops every message whose lifetime ended by `now` before it gave any fragment. A started
    /// message finishes its first transmission: cut short, what was sent of it would be wasted
    /// (and under congestion, with the oldest message sent first, nearly every message would be
    /// cut); its chunks are not retransmitted past its lifetime.
    pub(super) fn expire(&mut self, now: Instant) {
        while let Some(&(at, message, stream)) = self.expiries.first() {
            if at > now {
                break;
            }
            let started = self.streams.get(&stream).and_then(OutgoingStream::started_message) == Some(message);
            if !started {
                self.remove(stream, message);
            }
            // Removed above unless the message was gone or started (then only its entry is left).
            self.expiries.remove(&(at, message, stream));
        }
    }

    /// Drops the message `message` of `stream` if it is still queued (the outstanding data
    /// abandoned its sent fragments); returns its placeholder when it had given fragments.
    pub(super) fn discard(&mut self, stream: StreamId, message: MessageId) -> Option<Fragment> {
        self.remove(stream, message)
    }

    /// Removes a message wherever it is; returns its placeholder when it had given fragments.
    fn remove(&mut self, stream: StreamId, message: MessageId) -> Option<Fragment> {
        let queue = self.streams.get_mut(&stream)?;
        let before = queue.buffered();
        let (expires_at, placeholder) = queue.remove(stream, message)?;
        self.buffered -= before - queue.buffered();
        if queue.is_empty() {
            self.ready.remove(&stream);
        }
        if let Some(at) = expires_at {
            self.expiries.remove(&(at, message, stream));
        }
        if placeholder.is_some() && self.in_progress == Some(stream) {
            self.in_progress = None;
        }
        placeholder
    }

    /// When the next message expires.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        self.expiries.first().map(|&(at, _, _)| at)
    }

    /// Bytes queued on `stream` and not yet cut into chunks.
    pub(super) fn buffered_amount(&self, stream: StreamId) -> usize {
        self.streams.get(&stream).map_or(0, OutgoingStream::buffered)
    }

    /// Bytes queued on the whole association.
    pub(super) fn total_buffered(&self) -> usize {
        self.buffered
    }

    /// Whether no message waits.
    pub(super) fn is_empty(&self) -> bool {
        self.ready.is_empty()
    }

    /// Refuses new messages on `stream` until it is reset; its queued messages still go.
    pub(super) fn start_reset(&mut self, stream: StreamId) {
        self.streams.entry(stream).or_default().set_resetting(true);
    }

    /// Whether `stream` is being reset and every message queued on it was cut into chunks.
    pub(super) fn is_drained(&self, stream: StreamId) -> bool {
        self.streams.get(&stream).is_some_and(|queue| queue.is_resetting() && queue.is_empty())
    }

    /// Finishes the reset of `streams`: SSNs start again at 0 and new messages are taken.
    pub(super) fn finish_reset(&mut self, streams: &[StreamId]) {
        for stream in streams {
            if let Some(queue) = self.streams.get_mut(stream) {
                queue.reset_ssn();
                queue.set_resetting(false);
                if queue.is_pristine() {
                    self.streams.remove(stream);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const RELIABLE: SendOptions = SendOptions { ordered: true, reliability: Reliability::Reliable };

    fn bytes(len: usize) -> Bytes {
        Bytes::from(vec![0; len])
    }

    #[test]
    fn the_byte_limit_refuses_past_max_send_buffer_and_counts_outstanding_data() {
        let now = Instant::now();
        let mut queue = SendQueue::new(1000, 800);
        assert_eq!(queue.enqueue(now, 1, 53, bytes(801), RELIABLE, 0), Err(SctpError::MessageTooLarge));
        assert_eq!(queue.enqueue(now, 1, 53, Bytes::new(), RELIABLE, 0), Err(SctpError::EmptyMessage));
        queue.enqueue(now, 1, 53, bytes(600), RELIABLE, 0).unwrap();
        queue.enqueue(now, 2, 53, bytes(400), RELIABLE, 0).unwrap();
        assert_eq!(queue.enqueue(now, 3, 53, bytes(1), RELIABLE, 0), Err(SctpError::SendBufferFull));
        assert_eq!((queue.buffered_amount(1), queue.buffered_amount(2), queue.total_buffered()), (600, 400, 1000));
        queue.produce(100, 64).unwrap();
        assert_eq!(queue.buffered_amount(1), 500);
        let outstanding = 100;
        assert_eq!(queue.enqueue(now, 3, 53, bytes(100), RELIABLE, outstanding), Err(SctpError::SendBufferFull));
        queue.enqueue(now, 3, 53, bytes(100), RELIABLE, 0).unwrap();
        assert_eq!(queue.enqueue(now, 3, 53, bytes(1), RELIABLE, 0), Err(SctpError::SendBufferFull));
    }

    #[test]
    fn round_robin_serves_each_stream_one_message_per_round() {
        let now = Instant::now();
        let mut queue = SendQueue::new(1 << 20, 1 << 16);
        for _ in 0..5 {
            queue.enqueue(now, 0, 53, bytes(1000), RELIABLE, 0).unwrap();
        }
        queue.enqueue(now, 9, 53, bytes(10), RELIABLE, 0).unwrap();
        queue.enqueue(now, 4, 53, bytes(10), RELIABLE, 0).unwrap();
        let mut order = Vec::new();
        while let Some(fragment) = queue.produce(400, 64) {
            if fragment.ending {
                order.push(fragment.stream);
            }
        }
        assert_eq!(order, [0, 4, 9, 0, 0, 0, 0]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_started_message_is_finished_before_another_stream_goes() {
        let now = Instant::now();
        let mut queue = SendQueue::new(1 << 20, 1 << 16);
        queue.enqueue(now, 0, 53, bytes(1000), RELIABLE, 0).unwrap();
        queue.produce(400, 64).unwrap();
        queue.enqueue(now, 1, 53, bytes(10), RELIABLE, 0).unwrap();
        let next: Vec<_> = std::iter::from_fn(|| queue.produce(400, 64)).map(|f| (f.stream, f.ending)).collect();
        assert_eq!(next, [(0, false), (0, true), (1, true)]);
    }

    #[test]
    fn stale_messages_expire_in_the_queue_but_a_started_one_finishes() {
        let now = Instant::now();
        let mut queue = SendQueue::new(1 << 20, 1 << 16);
        let lifetime =
            |ms| SendOptions { ordered: false, reliability: Reliability::MaxLifetime(Duration::from_millis(ms)) };
        queue.enqueue(now, 1, 53, bytes(1000), lifetime(50), 0).unwrap();
        queue.enqueue(now, 2, 53, bytes(100), lifetime(100), 0).unwrap();
        queue.enqueue(now, 2, 53, bytes(100), RELIABLE, 0).unwrap();
        queue.produce(400, 64).unwrap();
        assert_eq!(queue.next_expiry(), Some(now + Duration::from_millis(50)));
        queue.expire(now + Duration::from_millis(50));
        assert_eq!(queue.buffered_amount(1), 600, "the started message stays");
        queue.expire(now + Duration::from_millis(100));
        assert_eq!(queue.buffered_amount(2), 100, "the unsent one expired");
        assert_eq!(queue.next_expiry(), None);
        let rest: Vec<_> = std::iter::from_fn(|| queue.produce(400, 64)).map(|f| (f.stream, f.ending)).collect();
        assert_eq!(rest, [(1, false), (1, true), (2, true)]);
    }

    #[test]
    fn a_resetting_stream_drains_refuses_new_messages_and_restarts_its_ssn() {
        let now = Instant::now();
        let mut queue = SendQueue::new(1 << 20, 1 << 16);
        queue.enqueue(now, 3, 53, bytes(10), RELIABLE, 0).unwrap();
        queue.produce(400, 64).unwrap();
        queue.enqueue(now, 3, 53, bytes(10), RELIABLE, 0).unwrap();
        queue.start_reset(3);
        assert_eq!(queue.enqueue(now, 3, 53, bytes(10), RELIABLE, 0), Err(SctpError::StreamResetting));
        assert!(!queue.is_drained(3));
        assert_eq!(queue.produce(400, 64).unwrap().ssn, 1);
        assert!(queue.is_drained(3));
        queue.finish_reset(&[3]);
        queue.enqueue(now, 3, 53, bytes(10), RELIABLE, 0).unwrap();
        assert_eq!(queue.produce(400, 64).unwrap().ssn, 0);
    }
}
