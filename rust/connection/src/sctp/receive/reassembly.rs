//! From DATA fragments to whole messages (RFC 9260 §6.5, §6.6, §6.9): the fragments of one
//! message have consecutive TSNs from the one with the B bit to the one with the E bit; an
//! unordered message is delivered as soon as it is whole, an ordered one once every earlier SSN of
//! its stream was delivered (or skipped by FORWARD-TSN). The queue also keeps the delivered
//! messages until the owner polls them, so everything received and not yet taken is counted in
//! [`Reassembly::held_bytes`] (the advertised window) and [`Reassembly::held_items`] (which
//! bounds the bookkeeping when the peer sends tiny fragments; see [`MAX_HELD_ITEMS`]).
//!
//! FORWARD-TSN (RFC 3758 §3.6) as dcSCTP, Chromium's SCTP, reads it: unordered fragments up to
//! the new cumulative TSN are dropped; ordered ones only when their stream skips their SSN (an
//! ordered message cut by the new cumulative TSN that was not abandoned still completes). Unlike
//! dcSCTP, whole ordered messages stranded behind a skipped SSN are delivered, not dropped, as the
//! RFC has it: a sender whose FORWARD-TSN passes whole acknowledged messages (ours does) skips
//! past their SSNs too.
//! Ordered fragments whose SSN the stream has passed (delivered or skipped) are dropped on
//! arrival and when the stream moves past them.
//!
//! Every step costs in proportion to what it adds or removes (fragments learn once whether they
//! reach their message's first and last fragment; per-stream indexes find what a skip or a reset
//! drops), so a peer cannot make us walk what we hold over and over.
//!
//! A run of consecutive fragments of one message longer than `max_message_size` is a protocol
//! violation ([`SctpError::RemoteMessageTooLarge`]): the association aborts.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::{Bytes, BytesMut};

use crate::sctp::chunks::DataChunk;
use crate::sctp::{Message, SctpError, SctpEvent, StreamId};

use super::serial::{first_unwrapped_ssn, unwrap_ssn};

/// How many things (fragments, whole messages waiting for their turn or for the owner, events)
/// the receive side holds at most, whatever their size. A DATA chunk past it is dropped
/// unacknowledged. An honest peer with 1 KiB chunks stays far below it (a 1 MiB window holds
/// about 1000); it bounds the bookkeeping of a peer sending a flood of one-byte fragments.
pub(crate) const MAX_HELD_ITEMS: usize = 16_384;

/// How many held items an event counts as: a stream reset one per stream it names (at least
/// one), any other one.
fn weight(event: &SctpEvent) -> usize {
    match event {
        SctpEvent::StreamsReset(streams) => streams.len().max(1),
        _ => 1,
    }
}

/// How many events' room the queue keeps once it is empty again (more is given back).
const EVENTS_KEPT_CAPACITY: usize = 64;

/// Payloads shorter than this are copied when they stay held, so that a tiny fragment never pins
/// the whole datagram buffer it was cut from for long.
const COPY_BELOW: usize = 256;

/// Replaces a short payload by a copy of its own (see [`COPY_BELOW`]).
fn compact(payload: &mut Bytes) {
    if payload.len() < COPY_BELOW {
        *payload = Bytes::copy_from_slice(payload);
    }
}

/// One received fragment of a message that is not whole yet.
#[derive(Debug)]
struct Fragment {
    stream: StreamId,
    /// The SSN as sent (0 for unordered fragments).
    ssn: u16,
    /// The SSN unwrapped against its stream when the fragment arrived (0 for unordered ones).
    unwrapped_ssn: u64,
    ppid: u32,
    beginning: bool,
    ending: bool,
    payload: Bytes,
    /// Once every fragment from its message's first (B bit) up to this one is held: the first
    /// one's TSN and the bytes from it up to this one included. Set once, never changed.
    prefix: Option<(u64, usize)>,
    /// Once every fragment from this one up to its message's last (E bit) is held: the last one's
    /// TSN and the bytes from this one up to it included. Set once, never changed.
    suffix: Option<(u64, usize)>,
}

impl Fragment {
    /// Whether `later`, held at the TSN after this one (in the same map: both ordered or both
    /// unordered), continues this fragment's message.
    fn continued_by(&self, later: &Fragment) -> bool {
        !self.ending && !later.beginning && self.stream == later.stream && self.ssn == later.ssn
    }
}

/// Fragments by unwrapped TSN, ordered and unordered ones apart.
type Fragments = BTreeMap<u64, Fragment>;

/// Joins the fragment at `tsn` to its neighbours' knowledge of its message's ends (see
/// [`Fragment::prefix`]) and hands it on along the run. Returns the message's first and last
/// TSN once it is whole. Fails when the known part of the message exceeds `max` bytes.
fn link(fragments: &mut Fragments, tsn: u64, max: usize) -> Result<Option<(u64, u64)>, SctpError> {
    let too_large = SctpError::RemoteMessageTooLarge { max };
    let Some(this) = fragments.get(&tsn) else {
        return Ok(None);
    };
    let len = this.payload.len();
    let prefix = if this.beginning {
        Some((tsn, len))
    } else {
        fragments
            .get(&(tsn - 1))
            .filter(|earlier| earlier.continued_by(this))
            .and_then(|earlier| earlier.prefix)
            .map(|(first, bytes)| (first, bytes + len))
    };
    let suffix = if this.ending {
        Some((tsn, len))
    } else {
        fragments
            .get(&(tsn + 1))
            .filter(|later| this.continued_by(later))
            .and_then(|later| later.suffix)
            .map(|(last, bytes)| (last, bytes + len))
    };
    let size = match (prefix, suffix) {
        (Some((_, before)), Some((_, after))) => before + after - len,
        (Some((_, bytes)), None) | (None, Some((_, bytes))) => bytes,
        (None, None) => len,
    };
    if size > max {
        return Err(too_large);
    }
    if let (Some((first, _)), Some((last, _))) = (prefix, suffix) {
        return Ok(Some((first, last)));
    }
    if let Some(this) = fragments.get_mut(&tsn) {
        this.prefix = prefix;
        this.suffix = suffix;
        compact(&mut this.payload);
    }
    // The fragments this one joins to its message's first or last one learn it too (each learns
    // it once: linear in the message's fragments however they arrive). None of the later ones
    // has a suffix (or this one would have had one), nor the earlier ones a prefix.
    if prefix.is_some() {
        let mut at = tsn;
        while let Some(current) = fragments.get(&at) {
            let (Some((first, bytes)), stream, ssn, ending) =
                (current.prefix, current.stream, current.ssn, current.ending)
            else {
                break;
            };
            let Some(later) = fragments.get_mut(&(at + 1)) else {
                break;
            };
            if ending || later.beginning || later.stream != stream || later.ssn != ssn || later.prefix.is_some() {
                break;
            }
            let bytes = bytes + later.payload.len();
            later.prefix = Some((first, bytes));
            if bytes > max {
                return Err(too_large);
            }
            at += 1;
        }
    }
    if suffix.is_some() {
        let mut at = tsn;
        while let Some(current) = fragments.get(&at) {
            let (Some((last, bytes)), stream, ssn, beginning) =
                (current.suffix, current.stream, current.ssn, current.beginning)
            else {
                break;
            };
            let Some(earlier) = fragments.get_mut(&(at - 1)) else {
                break;
            };
            if beginning || earlier.ending || earlier.stream != stream || earlier.ssn != ssn || earlier.suffix.is_some()
            {
                break;
            }
            let bytes = bytes + earlier.payload.len();
            earlier.suffix = Some((last, bytes));
            if bytes > max {
                return Err(too_large);
            }
            at -= 1;
        }
    }
    Ok(None)
}

/// An ordered stream's state: the next SSN to deliver, the whole messages waiting for it, and
/// an index of its fragments held.
#[derive(Debug)]
struct OrderedStream {
    /// The unwrapped SSN delivered next.
    next_ssn: u64,
    /// Whole messages with a later SSN, by unwrapped SSN.
    waiting: BTreeMap<u64, Message>,
    /// The stream's fragments in [`Reassembly::ordered`], as (unwrapped SSN, unwrapped TSN).
    partial: BTreeSet<(u64, u64)>,
}

impl OrderedStream {
    fn new() -> Self {
        Self { next_ssn: first_unwrapped_ssn(), waiting: BTreeMap::new(), partial: BTreeSet::new() }
    }
}

/// The reassembly queue: fragments, ordered streams, and the events for the owner.
#[derive(Debug)]
pub(crate) struct Reassembly {
    /// The largest message accepted, in bytes.
    max_message_size: usize,
    /// Fragments of unordered messages not whole yet, by unwrapped TSN.
    unordered: Fragments,
    /// The same, as (stream, unwrapped TSN), for stream resets.
    unordered_by_stream: BTreeSet<(StreamId, u64)>,
    /// Fragments of ordered messages not whole yet, by unwrapped TSN.
    ordered: Fragments,
    /// The streams on which ordered messages arrived. Their number is bounded by the caller,
    /// which refuses stream ids past the negotiated count.
    streams: BTreeMap<StreamId, OrderedStream>,
    /// Whole messages and stream resets for the owner, in the order they happened.
    events: VecDeque<SctpEvent>,
    /// Payload bytes held in fragments, waiting messages and message events.
    held_bytes: usize,
    /// Fragments, waiting messages and events held; a stream reset event counts once per stream
    /// it names (a peer resetting every stream again and again must not hold `max_streams` ids
    /// per event).
    held_items: usize,
}

impl Reassembly {
    /// An empty queue refusing messages larger than `max_message_size` bytes.
    pub(crate) fn new(max_message_size: usize) -> Self {
        Self {
            max_message_size,
            unordered: BTreeMap::new(),
            unordered_by_stream: BTreeSet::new(),
            ordered: BTreeMap::new(),
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
    /// and delivers what became whole. An ordered fragment of an SSN its stream has passed is
    /// dropped.
    pub(crate) fn insert(&mut self, tsn: u64, chunk: DataChunk) -> Result<(), SctpError> {
        let mut fragment = Fragment {
            stream: chunk.stream,
            ssn: 0,
            unwrapped_ssn: 0,
            ppid: chunk.ppid,
            beginning: chunk.beginning,
            ending: chunk.ending,
            payload: chunk.payload,
            prefix: None,
            suffix: None,
        };
        let fragments = if chunk.unordered {
            if !self.unordered_by_stream.insert((chunk.stream, tsn)) {
                return Ok(());
            }
            &mut self.unordered
        } else {
            let stream = self.streams.entry(chunk.stream).or_insert_with(OrderedStream::new);
            let unwrapped_ssn = unwrap_ssn(stream.next_ssn, chunk.ssn);
            if unwrapped_ssn < stream.next_ssn || !stream.partial.insert((unwrapped_ssn, tsn)) {
                return Ok(());
            }
            (fragment.ssn, fragment.unwrapped_ssn) = (chunk.ssn, unwrapped_ssn);
            &mut self.ordered
        };
        self.held_bytes += fragment.payload.len();
        self.held_items += 1;
        fragments.insert(tsn, fragment);
        if let Some((first, last)) = link(fragments, tsn, self.max_message_size)? {
            self.deliver_fragments(chunk.unordered, first, last);
        }
        Ok(())
    }

    /// Takes the next event for the owner.
    pub(crate) fn pop_event(&mut self) -> Option<SctpEvent> {
        let event = self.events.pop_front()?;
        if self.events.is_empty() && self.events.capacity() > EVENTS_KEPT_CAPACITY {
            // After a burst, give the memory back: an idle connection holds little.
            self.events.shrink_to(EVENTS_KEPT_CAPACITY);
        }
        self.held_items = self.held_items.saturating_sub(weight(&event));
        if let SctpEvent::Message(message) = &event {
            self.held_bytes = self.held_bytes.saturating_sub(message.data.len());
        }
        Some(event)
    }

    /// FORWARD-TSN (RFC 3758 §3.6): everything up to the unwrapped `cumulative` TSN arrived or was
    /// abandoned, so the unordered fragments held up to it (and the rest of an unordered message
    /// cut there) can never make a whole message; on each `(stream, ssn)` of `skipped`, the
    /// messages up to that SSN that are whole go out, the others are abandoned, and the stream's
    /// next message is the one after it.
    pub(crate) fn forget_up_to(&mut self, cumulative: u64, skipped: &[(StreamId, u16)]) {
        let kept = self.unordered.split_off(&(cumulative + 1));
        for (tsn, fragment) in std::mem::replace(&mut self.unordered, kept) {
            self.unordered_by_stream.remove(&(fragment.stream, tsn));
            self.release(fragment.payload.len());
        }
        let mut next = cumulative + 1;
        while let Some(fragment) = self.unordered.get(&next).filter(|fragment| !fragment.beginning) {
            let ending = fragment.ending;
            if let Some(orphan) = self.unordered.remove(&next) {
                self.unordered_by_stream.remove(&(orphan.stream, next));
                self.release(orphan.payload.len());
            }
            if ending {
                break;
            }
            next += 1;
        }
        for &(id, ssn) in skipped {
            let stream = self.streams.entry(id).or_insert_with(OrderedStream::new);
            let last_skipped = unwrap_ssn(stream.next_ssn, ssn);
            if last_skipped < stream.next_ssn {
                continue;
            }
            // Whole messages stranded behind the skipped ones go out now, in order (RFC 3758
            // §3.6: "enable delivery of any stranded TSN's"); fragments of skipped SSNs are dropped.
            let after = stream.waiting.split_off(&(last_skipped + 1));
            let stranded = std::mem::replace(&mut stream.waiting, after);
            stream.next_ssn = last_skipped + 1;
            self.events.extend(stranded.into_values().map(SctpEvent::Message));
            self.deliver_waiting(id);
        }
    }

    /// RFC 6525 incoming reset, applied once every TSN before it arrived: the `streams` (sorted,
    /// without repeats) start again at SSN 0, whatever they held is dropped (it can never be
    /// delivered), and [`SctpEvent::StreamsReset`] comes out.
    pub(crate) fn reset_streams(&mut self, streams: Vec<StreamId>) {
        for &id in &streams {
            if let Some(stream) = self.streams.remove(&id) {
                for message in stream.waiting.into_values() {
                    self.release(message.data.len());
                }
                for (_, tsn) in stream.partial {
                    if let Some(fragment) = self.ordered.remove(&tsn) {
                        self.release(fragment.payload.len());
                    }
                }
            }
            let of_stream: Vec<(StreamId, u64)> =
                self.unordered_by_stream.range((id, 0)..=(id, u64::MAX)).copied().collect();
            for key in of_stream {
                self.unordered_by_stream.remove(&key);
                if let Some(fragment) = self.unordered.remove(&key.1) {
                    self.release(fragment.payload.len());
                }
            }
        }
        let event = SctpEvent::StreamsReset(streams);
        self.held_items += weight(&event);
        self.events.push_back(event);
    }

    /// Joins the fragments `first..=last` (one whole message) and delivers it, or makes it wait
    /// for its turn on its ordered stream.
    fn deliver_fragments(&mut self, unordered: bool, first: u64, last: u64) {
        let fragments = if unordered { &mut self.unordered } else { &mut self.ordered };
        let parts: Vec<(u64, Fragment)> =
            (first..=last).filter_map(|tsn| fragments.remove(&tsn).map(|fragment| (tsn, fragment))).collect();
        for (tsn, part) in &parts {
            if unordered {
                self.unordered_by_stream.remove(&(part.stream, *tsn));
            } else if let Some(stream) = self.streams.get_mut(&part.stream) {
                stream.partial.remove(&(part.unwrapped_ssn, *tsn));
            }
        }
        self.held_items = self.held_items.saturating_sub(parts.len());
        let bytes: usize = parts.iter().map(|(_, part)| part.payload.len()).sum();
        let whole = u64::try_from(parts.len()).is_ok_and(|count| count == last - first + 1);
        let Some((_, head)) = parts.first().filter(|_| whole) else {
            // Fragments of it were dropped meanwhile (only a peer breaking the protocol gets here).
            self.held_bytes = self.held_bytes.saturating_sub(bytes);
            return;
        };
        let (stream, unwrapped_ssn, ppid) = (head.stream, head.unwrapped_ssn, head.ppid);
        let data = if let [(_, only)] = &parts[..] {
            only.payload.clone()
        } else {
            let mut joined = BytesMut::with_capacity(bytes);
            for (_, part) in &parts {
                joined.extend_from_slice(&part.payload);
            }
            joined.freeze()
        };
        let mut message = Message { stream, ppid, data };
        self.held_items += 1;
        if unordered {
            self.events.push_back(SctpEvent::Message(message));
            return;
        }
        let Some(ordered) = self.streams.get_mut(&stream) else {
            self.release(bytes);
            return;
        };
        if unwrapped_ssn < ordered.next_ssn || ordered.waiting.contains_key(&unwrapped_ssn) {
            // An SSN already delivered or already waiting under other TSNs: the peer broke the
            // protocol; the message is dropped.
            self.release(bytes);
            return;
        }
        if unwrapped_ssn != ordered.next_ssn {
            compact(&mut message.data);
        }
        ordered.waiting.insert(unwrapped_ssn, message);
        self.deliver_waiting(stream);
    }

    /// Delivers the messages of an ordered stream whose turn came, and drops the fragments of
    /// SSNs it has passed.
    fn deliver_waiting(&mut self, stream: StreamId) {
        let Some(ordered) = self.streams.get_mut(&stream) else {
            return;
        };
        let mut freed = Vec::new();
        // Messages skipped past (by FORWARD-TSN) are dropped; then the next ones go out in turn.
        let still_waiting = ordered.waiting.split_off(&ordered.next_ssn);
        for (_, message) in std::mem::replace(&mut ordered.waiting, still_waiting) {
            freed.push(message.data.len());
        }
        while let Some(message) = ordered.waiting.remove(&ordered.next_ssn) {
            ordered.next_ssn += 1;
            self.events.push_back(SctpEvent::Message(message));
        }
        let alive = ordered.partial.split_off(&(ordered.next_ssn, 0));
        for (_, tsn) in std::mem::replace(&mut ordered.partial, alive) {
            if let Some(fragment) = self.ordered.remove(&tsn) {
                freed.push(fragment.payload.len());
            }
        }
        for bytes in freed {
            self.release(bytes);
        }
    }

    /// Forgets one held item of `bytes` payload bytes (saturating: a slip in the bookkeeping must
    /// not take the association down).
    fn release(&mut self, bytes: usize) {
        self.held_bytes = self.held_bytes.saturating_sub(bytes);
        self.held_items = self.held_items.saturating_sub(1);
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

    /// A fragment with an owned payload.
    fn owned(stream: StreamId, ssn: u16, flags: &str, payload: Vec<u8>) -> DataChunk {
        DataChunk { payload: Bytes::from(payload), ..chunk(stream, ssn, flags, b"") }
    }

    /// The flags of fragment `index` of `count`.
    fn flags(index: usize, count: usize, extra: &str) -> String {
        let mut flags = extra.to_string();
        if index == 0 {
            flags.push('B');
        }
        if index + 1 == count {
            flags.push('E');
        }
        flags
    }

    #[test]
    fn the_event_queue_gives_memory_back_after_a_burst() {
        let mut queue = Reassembly::new(1000);
        for index in 0..10_000u64 {
            queue.insert(BASE + index, chunk(1, 0, "BEU", b"x")).unwrap();
        }
        assert!(queue.events.capacity() >= 10_000);
        assert_eq!(messages(&mut queue).len(), 10_000);
        assert!(queue.events.capacity() <= EVENTS_KEPT_CAPACITY);
    }

    #[test]
    fn thousands_of_fragments_in_reverse_order_make_one_message() {
        let mut queue = Reassembly::new(1 << 20);
        let count = 20_000;
        for index in (0..count).rev() {
            assert!(queue.pop_event().is_none());
            queue.insert(BASE + index as u64, owned(3, 0, &flags(index, count, ""), vec![index as u8; 10])).unwrap();
        }
        let expected: Vec<u8> = (0..count).flat_map(|index| [index as u8; 10]).collect();
        assert_eq!(messages(&mut queue), vec![(3, expected)]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn interleaved_messages_arriving_in_any_order_are_each_whole() {
        let mut queue = Reassembly::new(1 << 20);
        // Five unordered messages of 100 fragments each, back to back on the TSN line, arriving
        // in a scrambled (but reproducible) order.
        let (messages_sent, fragments) = (5usize, 100usize);
        let total = messages_sent * fragments;
        let mut order: Vec<usize> = (0..total).collect();
        let mut state = 0x2545_f491_u64;
        for index in (1..total).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            order.swap(index, (state >> 33) as usize % (index + 1));
        }
        for position in order {
            let (message, index) = (position / fragments, position % fragments);
            let payload = vec![message as u8, index as u8];
            queue.insert(BASE + position as u64, owned(1, 0, &flags(index, fragments, "U"), payload)).unwrap();
        }
        let mut received = messages(&mut queue);
        received.sort();
        let expected: Vec<(StreamId, Vec<u8>)> = (0..messages_sent)
            .map(|message| (1, (0..fragments).flat_map(|index| [message as u8, index as u8]).collect()))
            .collect();
        assert_eq!(received, expected);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }

    #[test]
    fn a_message_whose_start_was_dropped_is_never_delivered_in_part() {
        let mut queue = Reassembly::new(1000);
        queue.insert(BASE + 1, chunk(1, 0, "BU", b"start")).unwrap();
        queue.insert(BASE + 2, chunk(1, 0, "U", b"middle")).unwrap();
        queue.forget_up_to(BASE + 1, &[]); // drops the start; the middle is an orphan at cum + 1
        queue.insert(BASE + 4, chunk(1, 0, "EU", b"end")).unwrap();
        queue.insert(BASE + 3, chunk(1, 0, "U", b"more")).unwrap();
        assert!(messages(&mut queue).is_empty());
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
                                                                  // SSN 0 is whole ("d"), SSN 1 ("c") follows; "a" and "b", of SSNs now passed, are dropped.
        assert_eq!(messages(&mut queue), vec![(1, b"d".to_vec()), (1, b"c".to_vec())]);
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
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
    fn whole_messages_stranded_behind_a_skip_are_delivered_in_order() {
        let mut queue = Reassembly::new(1000);
        // SSN 0 (TSN 1) abandoned; SSN 1 whole and waiting; SSN 2 (TSN 3..4) abandoned half way;
        // SSN 3 whole and waiting.
        queue.insert(BASE + 2, chunk(1, 1, "BE", b"one")).unwrap();
        queue.insert(BASE + 3, chunk(1, 2, "B", b"two, cut")).unwrap();
        queue.insert(BASE + 5, chunk(1, 3, "BE", b"three")).unwrap();
        assert!(messages(&mut queue).is_empty());
        queue.forget_up_to(BASE + 4, &[(1, 2)]);
        assert_eq!(messages(&mut queue), vec![(1, b"one".to_vec()), (1, b"three".to_vec())]);
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
        queue.reset_streams(vec![1]);
        let events: Vec<SctpEvent> = std::iter::from_fn(|| queue.pop_event()).collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[2], SctpEvent::StreamsReset(vec![1]));
        queue.insert(BASE + 5, chunk(1, 0, "BE", b"again")).unwrap();
        assert_eq!(messages(&mut queue), vec![(1, b"again".to_vec())]);
        assert_eq!(queue.held_bytes(), 4); // stream 2's SSN 2 still waits
        queue.reset_streams(vec![0, 1, 2]);
        assert_eq!(queue.pop_event(), Some(SctpEvent::StreamsReset(vec![0, 1, 2])));
        assert_eq!((queue.held_bytes(), queue.held_items()), (0, 0));
    }
}
