//! From DATA fragments to whole messages (RFC 9260 §6.5, §6.6, §6.9): the fragments of one
//! message have consecutive TSNs from the one with the B bit to the one with the E bit; an
//! unordered message is delivered as soon as it is whole, an ordered one once every earlier SSN of
//! its stream was delivered (or skipped by FORWARD-TSN). The queue also keeps the delivered
//! messages until the owner polls them, so everything received and not yet taken is counted in
//! [`Reassembly::held_bytes`] (the advertised window) and [`Reassembly::held_items`] (which
//! bounds the bookkeeping when the peer sends tiny fragments; see [`MAX_HELD_ITEMS`]).
//!
//! A run of consecutive fragments of one message longer than `max_message_size` is a protocol
//! violation ([`SctpError::RemoteMessageTooLarge`]): the association aborts.

use std::collections::{BTreeMap, VecDeque};

use bytes::{Bytes, BytesMut};

use crate::sctp::chunks::DataChunk;
use crate::sctp::{Message, SctpError, SctpEvent, StreamId};

use super::serial::{first_unwrapped_ssn, unwrap_ssn};

/// How many things (fragments, whole messages waiting for their turn or for the owner, events)
/// the receive side holds at most, whatever their size. A DATA chunk past it is dropped
/// unacknowledged. An honest peer with 1 KiB chunks stays far below it (a 1 MiB window holds
/// about 1000); it bounds the bookkeeping of a peer sending a flood of one-byte fragments.
pub(crate) const MAX_HELD_ITEMS: usize = 16_384;

/// One received fragment of a message that is not whole yet.
#[derive(Debug)]
struct Fragment {
    stream: StreamId,
    ssn: u16,
    ppid: u32,
    unordered: bool,
    beginning: bool,
    ending: bool,
    payload: Bytes,
}

impl Fragment {
    /// Whether `other` may be another fragment of the same message.
    fn same_message(&self, other: &Fragment) -> bool {
        self.stream == other.stream && self.unordered == other.unordered && (self.unordered || self.ssn == other.ssn)
    }
}

/// An ordered stream's state: the next SSN to deliver and the whole messages waiting for it.
#[derive(Debug)]
struct OrderedStream {
    /// The unwrapped SSN delivered next.
    next_ssn: u64,
    /// Whole messages with a later SSN, by unwrapped SSN.
    waiting: BTreeMap<u64, Message>,
}

impl OrderedStream {
    fn new() -> Self {
        Self { next_ssn: first_unwrapped_ssn(), waiting: BTreeMap::new() }
    }
}

/// The reassembly queue: fragments by unwrapped TSN, ordered streams, and the events for the owner.
#[derive(Debug)]
pub(crate) struct Reassembly {
    /// The largest message accepted, in bytes.
    max_message_size: usize,
    /// Fragments of messages not whole yet, by unwrapped TSN.
    fragments: BTreeMap<u64, Fragment>,
    /// The streams on which ordered messages arrived. Their number is bounded by the caller,
    /// which refuses stream ids past the negotiated count.
    streams: BTreeMap<StreamId, OrderedStream>,
    /// Whole messages and stream resets for the owner, in the order they happened.
    events: VecDeque<SctpEvent>,
    /// Payload bytes held in fragments, waiting messages and message events.
    held_bytes: usize,
    /// Fragments, waiting messages and events held.
    held_items: usize,
}

impl Reassembly {
    /// An empty queue refusing messages larger than `max_message_size` bytes.
    pub(crate) fn new(max_message_size: usize) -> Self {
        Self {
            max_message_size,
            fragments: BTreeMap::new(),
            streams: BTreeMap::new(),
            events: VecDeque::new(),
            held_bytes: 0,
            held_items: 0,
        }
    }

    /// Payload bytes received and not yet taken by the owner.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Fragments, messages and events held (bounded by the caller at [`MAX_HELD_ITEMS`]).
    pub(crate) fn held_items(&self) -> usize {
        self.held_items
    }

    /// How many streams hold ordered-delivery state.
    #[cfg(test)]
    pub(crate) fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Takes the DATA chunk of unwrapped TSN `tsn` (new: the caller's data tracker saw it first)
    /// and delivers what became whole.
    pub(crate) fn insert(&mut self, tsn: u64, chunk: DataChunk) -> Result<(), SctpError> {
        if self.fragments.contains_key(&tsn) {
            return Ok(());
        }
        let fragment = Fragment {
            stream: chunk.stream,
            ssn: chunk.ssn,
            ppid: chunk.ppid,
            unordered: chunk.unordered,
            beginning: chunk.beginning,
            ending: chunk.ending,
            payload: chunk.payload,
        };
        self.held_bytes += fragment.payload.len();
        self.held_items += 1;
        self.fragments.insert(tsn, fragment);
        if let Some((first, last)) = self.whole_message_around(tsn)? {
            self.deliver_fragments(first, last);
        }
        Ok(())
    }

    /// Takes the next event for the owner.
    pub(crate) fn pop_event(&mut self) -> Option<SctpEvent> {
        let event = self.events.pop_front()?;
        self.held_items -= 1;
        if let SctpEvent::Message(message) = &event {
            self.held_bytes -= message.data.len();
        }
        Some(event)
    }

    /// FORWARD-TSN (RFC 3758 §3.6): everything up to the unwrapped `cumulative` TSN arrived or was
    /// abandoned, so the fragments held up to it (and the rest of a message cut there) can never
    /// make a whole message; on each `(stream, ssn)` of `skipped`, the messages up to that SSN
    /// are abandoned and the stream's next message is the one after it.
    pub(crate) fn forget_up_to(&mut self, cumulative: u64, skipped: &[(StreamId, u16)]) {
        let kept = self.fragments.split_off(&(cumulative + 1));
        for fragment in std::mem::replace(&mut self.fragments, kept).into_values() {
            self.release(fragment.payload.len());
        }
        let mut next = cumulative + 1;
        while let Some(fragment) = self.fragments.get(&next).filter(|fragment| !fragment.beginning) {
            let ending = fragment.ending;
            if let Some(orphan) = self.fragments.remove(&next) {
                self.release(orphan.payload.len());
            }
            if ending {
                break;
            }
            next += 1;
        }
        let mut skipped_streams = Vec::new();
        for &(id, ssn) in skipped {
            let stream = self.streams.entry(id).or_insert_with(OrderedStream::new);
            let last_skipped = unwrap_ssn(stream.next_ssn, ssn);
            if last_skipped < stream.next_ssn {
                continue;
            }
            let still_waiting = stream.waiting.split_off(&(last_skipped + 1));
            let abandoned = std::mem::replace(&mut stream.waiting, still_waiting);
            stream.next_ssn = last_skipped + 1;
            for message in abandoned.into_values() {
                self.release(message.data.len());
            }
            skipped_streams.push(id);
        }
        if skipped_streams.is_empty() {
            return;
        }
        let (mut freed_bytes, mut freed_items) = (0, 0);
        let streams = &self.streams;
        self.fragments.retain(|_, fragment| {
            let abandoned = !fragment.unordered
                && streams
                    .get(&fragment.stream)
                    .is_some_and(|stream| unwrap_ssn(stream.next_ssn, fragment.ssn) < stream.next_ssn);
            if abandoned {
                freed_bytes += fragment.payload.len();
                freed_items += 1;
            }
            !abandoned
        });
        self.held_bytes -= freed_bytes;
        self.held_items -= freed_items;
        for id in skipped_streams {
            self.deliver_waiting(id);
        }
    }

    /// RFC 6525 incoming reset, applied once every TSN before it arrived: the streams (all when
    /// `streams` is empty) start again at SSN 0, whatever they held is dropped (it can never be
    /// delivered), and [`SctpEvent::StreamsReset`] comes out.
    pub(crate) fn reset_streams(&mut self, streams: &[StreamId]) {
        let reset = |id: StreamId| streams.is_empty() || streams.contains(&id);
        let (mut freed_bytes, mut freed_items) = (0, 0);
        self.streams.retain(|&id, stream| {
            if reset(id) {
                freed_bytes += stream.waiting.values().map(|message| message.data.len()).sum::<usize>();
                freed_items += stream.waiting.len();
            }
            !reset(id)
        });
        self.fragments.retain(|_, fragment| {
            if reset(fragment.stream) {
                freed_bytes += fragment.payload.len();
                freed_items += 1;
            }
            !reset(fragment.stream)
        });
        self.held_bytes -= freed_bytes;
        self.held_items -= freed_items;
        self.events.push_back(SctpEvent::StreamsReset(streams.to_vec()));
        self.held_items += 1;
    }

    /// The first and last TSN of the whole message that the fragment at `tsn` completes, if it
    /// completes one. Fails when the consecutive fragments of its message exceed the size limit.
    fn whole_message_around(&self, tsn: u64) -> Result<Option<(u64, u64)>, SctpError> {
        let Some(this) = self.fragments.get(&tsn) else {
            return Ok(None);
        };
        let too_large = SctpError::RemoteMessageTooLarge { max: self.max_message_size };
        let mut size = this.payload.len();
        let (mut first, mut has_beginning) = (tsn, this.beginning);
        if !has_beginning {
            for (&key, fragment) in self.fragments.range(..tsn).rev() {
                if key + 1 != first || fragment.ending || !fragment.same_message(this) {
                    break;
                }
                first = key;
                size += fragment.payload.len();
                if size > self.max_message_size {
                    return Err(too_large);
                }
                if fragment.beginning {
                    has_beginning = true;
                    break;
                }
            }
        }
        let (mut last, mut has_ending) = (tsn, this.ending);
        if !has_ending {
            for (&key, fragment) in self.fragments.range(tsn + 1..) {
                if key != last + 1 || fragment.beginning || !fragment.same_message(this) {
                    break;
                }
                last = key;
                size += fragment.payload.len();
                if size > self.max_message_size {
                    return Err(too_large);
                }
                if fragment.ending {
                    has_ending = true;
                    break;
                }
            }
        }
        if size > self.max_message_size {
            return Err(too_large);
        }
        Ok((has_beginning && has_ending).then_some((first, last)))
    }

    /// Joins the fragments `first..=last` (one whole message) and delivers it, or makes it wait
    /// for its turn on its ordered stream.
    fn deliver_fragments(&mut self, first: u64, last: u64) {
        let mut parts = Vec::new();
        for tsn in first..=last {
            if let Some(fragment) = self.fragments.remove(&tsn) {
                parts.push(fragment);
            }
        }
        self.held_items -= parts.len();
        let Some(head) = parts.first() else {
            return;
        };
        let (stream, ssn, ppid, unordered) = (head.stream, head.ssn, head.ppid, head.unordered);
        let data = if parts.len() == 1 {
            parts.swap_remove(0).payload
        } else {
            let mut joined = BytesMut::with_capacity(parts.iter().map(|part| part.payload.len()).sum());
            for part in &parts {
                joined.extend_from_slice(&part.payload);
            }
            joined.freeze()
        };
        let message = Message { stream, ppid, data };
        self.held_items += 1;
        if unordered {
            self.events.push_back(SctpEvent::Message(message));
            return;
        }
        let ordered = self.streams.entry(stream).or_insert_with(OrderedStream::new);
        let key = unwrap_ssn(ordered.next_ssn, ssn);
        if key < ordered.next_ssn || ordered.waiting.contains_key(&key) {
            // An SSN already delivered or already waiting under another TSN: the peer broke the
            // protocol; the message is dropped.
            self.release(message.data.len());
            return;
        }
        ordered.waiting.insert(key, message);
        self.deliver_waiting(stream);
    }

    /// Delivers the messages of an ordered stream whose turn came.
    fn deliver_waiting(&mut self, stream: StreamId) {
        let Some(ordered) = self.streams.get_mut(&stream) else {
            return;
        };
        while let Some(message) = ordered.waiting.remove(&ordered.next_ssn) {
            ordered.next_ssn += 1;
            self.events.push_back(SctpEvent::Message(message));
        }
    }

    /// Forgets one held item of `bytes` payload bytes.
    fn release(&mut self, bytes: usize) {
        self.held_bytes -= bytes;
        self.held_items -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 1 << 32;

    /// A fragment on `stream` with `ssn`; `flags` holds 'B', 'E', 'U' for the bits.
    fn chunk(stream: StreamId, ssn: u16, flags: &str, payload: &'static [u8]) -> DataChunk {
        DataChunk {
            tsn: 0,
            stream,
            ssn,
            ppid: 53,
            unordered: flags.contains('U'),
            beginning: flags.contains('B'),
            ending: flags.contains('E'),
            immediate_sack: false,
            payload: Bytes::from_static(payload),
        }
    }

    fn messages(queue: &mut Reassembly) -> Vec<(StreamId, Vec<u8>)> {
        std::iter::from_fn(|| queue.pop_event())
            .filter_map(|event| match event {
                SctpEvent::Message(message) => Some((message.stream, message.data.to_vec())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_whole_message_in_one_chunk_is_delivered_without_a_copy() {
        let mut queue = Reassembly::new(1000);
        let payload = Bytes::from_static(b"hello");
        let mut data = chunk(1, 0, "BE", b"");
        data.payload = payload.clone();
        queue.insert(BASE, data).unwrap();
        assert_eq!(queue.held_bytes(), 5);
        match queue.pop_event() {
            Some(SctpEvent::Message(message)) => {
                assert_eq!(message, Message { stream: 1, ppid: 53, data: payload.clone() });
                assert_eq!(message.data.as_ptr(), payload.as_ptr());
            }
            other => panic!("expected a message, got {other:?}"),
        }
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn fragments_arriving_in_any_order_make_one_message() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 3, chunk(1, 0, "E", b"rld")).unwrap();
        queue.insert(BASE + 1, chunk(1, 0, "B", b"hel")).unwrap();
        assert!(queue.pop_event().is_none());
        queue.insert(BASE + 2, chunk(1, 0, "", b"lo wo")).unwrap();
        assert_eq!(messages(&mut queue), vec![(1, b"hello world".to_vec())]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn ordered_messages_wait_for_their_turn_across_ssn_wrap_around() {
        let mut queue = Reassembly::new(1000);
        // Walk the stream's SSN up to 65534 with whole messages.
        for ssn in 0..u16::MAX - 1 {
            queue.insert(BASE + u64::from(ssn), chunk(7, ssn, "BE", b"x")).unwrap();
        }
        assert_eq!(messages(&mut queue).len(), usize::from(u16::MAX - 1));
        let tsn = BASE + u64::from(u16::MAX);
        queue.insert(tsn + 2, chunk(7, 0, "BE", b"c")).unwrap(); // SSN 0 after the wrap
        queue.insert(tsn + 1, chunk(7, u16::MAX, "BE", b"b")).unwrap();
        assert!(queue.pop_event().is_none());
        assert_eq!(queue.held_bytes(), 2);
        queue.insert(tsn, chunk(7, u16::MAX - 1, "BE", b"a")).unwrap();
        assert_eq!(messages(&mut queue), vec![(7, b"a".to_vec()), (7, b"b".to_vec()), (7, b"c".to_vec())]);
    }

    #[test]
    fn unordered_messages_pass_waiting_ordered_ones() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 2, chunk(1, 1, "BE", b"second")).unwrap();
        queue.insert(BASE + 3, chunk(1, 0, "BEU", b"unordered")).unwrap();
        queue.insert(BASE + 4, chunk(2, 0, "BE", b"other stream")).unwrap();
        assert_eq!(messages(&mut queue), vec![(1, b"unordered".to_vec()), (2, b"other stream".to_vec())]);
        queue.insert(BASE + 1, chunk(1, 0, "BE", b"first")).unwrap();
        assert_eq!(messages(&mut queue), vec![(1, b"first".to_vec()), (1, b"second".to_vec())]);
    }

    #[test]
    fn fragments_of_different_messages_do_not_mix() {
        let mut queue = Reassembly::new(1000);
        // Ordered SSN 0 and 1 on stream 1 back to back, and an unordered one in between on the
        // TSN line that claims to continue nothing.
        queue.insert(BASE + 1, chunk(1, 0, "B", b"a")).unwrap();
        queue.insert(BASE + 2, chunk(1, 1, "E", b"b")).unwrap(); // other SSN: not a continuation
        queue.insert(BASE + 3, chunk(1, 1, "BE", b"c")).unwrap();
        assert!(messages(&mut queue).is_empty());
        queue.insert(BASE + 4, chunk(1, 0, "BE", b"d")).unwrap(); // SSN 0 again under a new TSN
                                                                  // SSN 0 is whole ("d"), SSN 1 ("c") follows; "a" and "b" never complete.
        assert_eq!(messages(&mut queue), vec![(1, b"d".to_vec()), (1, b"c".to_vec())]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (2, 2));
    }

    #[test]
    fn a_message_over_the_size_limit_is_an_error() {
        let mut queue = Reassembly::new(10);
        queue.insert(BASE + 1, chunk(1, 0, "B", b"12345")).unwrap();
        queue.insert(BASE + 2, chunk(1, 0, "", b"12345")).unwrap();
        assert_eq!(queue.insert(BASE + 3, chunk(1, 0, "", b"1")), Err(SctpError::RemoteMessageTooLarge { max: 10 }));
        let mut queue = Reassembly::new(10);
        assert!(queue.insert(BASE + 1, chunk(1, 0, "BE", b"12345678901")).is_err());
        let mut queue = Reassembly::new(10);
        assert!(queue.insert(BASE + 1, chunk(1, 0, "BE", b"1234567890")).is_ok());
    }

    #[test]
    fn endless_fragments_without_an_end_hit_the_size_limit() {
        let max = 256 * 1024;
        let mut queue = Reassembly::new(max);
        queue.insert(BASE, chunk(1, 0, "BU", &[0; 1000])).unwrap();
        let mut tsn = BASE + 1;
        let error = loop {
            if let Err(error) = queue.insert(tsn, chunk(1, 0, "U", &[0; 1000])) {
                break error;
            }
            tsn += 1;
        };
        assert_eq!(error, SctpError::RemoteMessageTooLarge { max });
        assert_eq!(tsn - BASE, 262); // the fragment that made it 263 000 bytes
        assert!(queue.held_bytes() <= max + 1000);
    }

    #[test]
    fn forward_tsn_drops_abandoned_fragments_and_skips_ssns() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 1, chunk(1, 0, "B", b"abandoned")).unwrap(); // SSN 0, TSN 1..3, lost middle
        queue.insert(BASE + 3, chunk(1, 0, "E", b"abandoned")).unwrap();
        queue.insert(BASE + 5, chunk(1, 2, "BE", b"after")).unwrap(); // SSN 1 (TSN 4) lost too
        queue.insert(BASE + 6, chunk(2, 0, "BU", b"unordered start")).unwrap(); // unordered, TSN 6..7
        assert!(messages(&mut queue).is_empty());
        queue.forget_up_to(BASE + 4, &[(1, 1)]);
        assert_eq!(messages(&mut queue), vec![(1, b"after".to_vec())]);
        // The unordered fragment past the new cumulative TSN stays and completes.
        queue.insert(BASE + 7, chunk(2, 0, "EU", b"!")).unwrap();
        assert_eq!(messages(&mut queue), vec![(2, b"unordered start!".to_vec())]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn forward_tsn_drops_ordered_fragments_past_it_on_skipped_ssns_and_orphans() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 3, chunk(1, 0, "", b"middle")).unwrap(); // SSN 0 spans TSN 1..4
        queue.insert(BASE + 4, chunk(1, 0, "E", b"end")).unwrap();
        queue.insert(BASE + 6, chunk(2, 0, "U", b"orphan")).unwrap(); // its B (TSN 5) abandoned
        queue.insert(BASE + 7, chunk(2, 0, "EU", b"orphan end")).unwrap();
        queue.insert(BASE + 8, chunk(3, 0, "BE", b"next")).unwrap();
        queue.forget_up_to(BASE + 2, &[(1, 0)]);
        // TSN 3 and 4 continued a message cut at the new cumulative TSN: dropped. Left: the unordered
        // fragments 6 and 7 and the event for "next".
        assert_eq!(queue.held_items(), 3);
        queue.forget_up_to(BASE + 5, &[]);
        assert_eq!(messages(&mut queue), vec![(3, b"next".to_vec())]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn stale_forward_tsn_ssns_change_nothing() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 1, chunk(1, 0, "BE", b"a")).unwrap();
        queue.insert(BASE + 2, chunk(1, 1, "BE", b"b")).unwrap();
        queue.forget_up_to(BASE + 2, &[(1, 0)]); // SSN 0 was delivered: nothing to skip
        queue.insert(BASE + 3, chunk(1, 2, "BE", b"c")).unwrap();
        assert_eq!(messages(&mut queue).len(), 3);
    }

    #[test]
    fn a_stream_reset_starts_the_ssns_again_and_drops_what_waited() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 1, chunk(1, 0, "BE", b"a")).unwrap();
        queue.insert(BASE + 2, chunk(1, 2, "BE", b"never")).unwrap(); // SSN 1 never comes
        queue.insert(BASE + 3, chunk(2, 0, "BE", b"b")).unwrap();
        queue.insert(BASE + 4, chunk(2, 2, "BE", b"kept")).unwrap();
        queue.reset_streams(&[1]);
        let events: Vec<SctpEvent> = std::iter::from_fn(|| queue.pop_event()).collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[2], SctpEvent::StreamsReset(vec![1]));
        queue.insert(BASE + 5, chunk(1, 0, "BE", b"again")).unwrap();
        assert_eq!(messages(&mut queue), vec![(1, b"again".to_vec())]);
        assert_eq!(queue.held_bytes(), 4); // stream 2's SSN 2 still waits
        queue.reset_streams(&[]);
        assert_eq!(queue.pop_event(), Some(SctpEvent::StreamsReset(vec![])));
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }
}
