//! The receive side as a whole: SACK timing, windows, FORWARD-TSN, resets, and hostile and
//! scrambled sequences with bounded memory.

use std::collections::VecDeque;

use bytes::Bytes;

use super::*;
use crate::sctp::chunks::GapBlock;
use crate::sctp::Message;

/// Small limits, to reach them in tests.
fn config() -> SctpConfig {
    SctpConfig { max_receive_buffer: 64 * 1024, max_message_size: 16 * 1024, max_streams: 16, ..SctpConfig::default() }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A whole message of `len` bytes on `stream`, ordered with `ssn` unless `ssn` is None.
fn whole(tsn: Tsn, stream: StreamId, ssn: Option<u16>, len: usize) -> DataChunk {
    DataChunk {
        tsn,
        stream,
        ssn: ssn.unwrap_or(0),
        ppid: 53,
        unordered: ssn.is_none(),
        beginning: true,
        ending: true,
        immediate_sack: false,
        payload: Bytes::from(vec![tsn as u8; len]),
    }
}

/// Hands `chunks` over as one packet at `now`.
fn packet(side: &mut ReceiveSide, now: Instant, chunks: Vec<DataChunk>) {
    for chunk in chunks {
        side.on_data(now, chunk).unwrap();
    }
    side.on_packet_end(now);
}

fn events(side: &mut ReceiveSide) -> Vec<SctpEvent> {
    std::iter::from_fn(|| side.poll_event()).collect()
}

fn tsns_delivered(side: &mut ReceiveSide) -> Vec<u8> {
    events(side)
        .into_iter()
        .filter_map(|event| match event {
            SctpEvent::Message(Message { data, .. }) => Some(data[0]),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_packet_at_once_then_a_lone_packet_after_the_sack_delay() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    side.set_sack_delay(ms(60));
    packet(&mut side, start, vec![whole(1, 0, Some(0), 100)]);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(1)); // RFC 9260 §5.1
    packet(&mut side, start + ms(100), vec![whole(2, 0, Some(1), 100)]);
    assert_eq!(side.poll_sack(start + ms(100)), None);
    assert_eq!(side.deadline(), Some(start + ms(160)));
    assert_eq!(tsns_delivered(&mut side), vec![1, 2]);
    side.handle_timeout(start + ms(160));
    let sack = side.poll_sack(start + ms(160)).unwrap();
    assert_eq!(sack, Sack { cumulative_tsn: 2, a_rwnd: 64 * 1024, gaps: vec![], duplicates: vec![] });
    assert_eq!(side.deadline(), None);
    assert_eq!(side.poll_sack(start + ms(1000)), None);
}

#[test]
fn every_second_packet_is_acknowledged_at_once() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 0, Some(0), 10)]);
    side.poll_sack(start).unwrap();
    packet(&mut side, start, vec![whole(2, 0, Some(1), 10), whole(3, 0, Some(2), 10)]);
    assert_eq!(side.poll_sack(start), None);
    packet(&mut side, start + ms(5), vec![whole(4, 0, Some(3), 10)]);
    assert_eq!(side.poll_sack(start + ms(5)).map(|sack| sack.cumulative_tsn), Some(4));
}

#[test]
fn a_gap_and_its_filling_are_acknowledged_at_once() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(10, &config());
    packet(&mut side, start, vec![whole(10, 1, Some(0), 10)]);
    assert!(side.poll_sack(start).is_some()); // the first
    packet(&mut side, start, vec![whole(12, 1, Some(2), 10)]); // 11 lost: a gap appears
    let sack = side.poll_sack(start).unwrap();
    assert_eq!(sack.cumulative_tsn, 10);
    assert_eq!(sack.gaps, vec![GapBlock { start: 2, end: 2 }]);
    packet(&mut side, start, vec![whole(13, 1, Some(3), 10)]); // the gap persists
    assert_eq!(side.poll_sack(start).unwrap().gaps, vec![GapBlock { start: 2, end: 3 }]);
    assert_eq!(tsns_delivered(&mut side), vec![10]);
    packet(&mut side, start, vec![whole(11, 1, Some(1), 10)]); // the gap fills
    let sack = side.poll_sack(start).unwrap();
    assert_eq!((sack.cumulative_tsn, sack.gaps.len()), (13, 0));
    assert_eq!(tsns_delivered(&mut side), vec![11, 12, 13]);
    // Back in order: delayed again.
    packet(&mut side, start, vec![whole(14, 1, Some(4), 10)]);
    assert_eq!(side.poll_sack(start), None);
}

#[test]
fn duplicates_and_the_i_bit_are_acknowledged_at_once() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 0, None, 10)]);
    side.poll_sack(start + ms(200)).unwrap();
    packet(&mut side, start + ms(300), vec![whole(1, 0, None, 10)]);
    assert_eq!(side.poll_sack(start + ms(300)).unwrap().duplicates, vec![1]);
    assert_eq!(tsns_delivered(&mut side), vec![1]); // delivered once
    let mut urgent = whole(2, 0, None, 10);
    urgent.immediate_sack = true;
    packet(&mut side, start + ms(400), vec![urgent]);
    assert_eq!(side.poll_sack(start + ms(400)).map(|sack| sack.cumulative_tsn), Some(2));
}

#[test]
fn tsns_wrap_around() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(u32::MAX - 1, &config());
    packet(&mut side, start, vec![whole(u32::MAX - 1, 2, Some(0), 1), whole(0, 2, Some(2), 1)]);
    packet(&mut side, start, vec![whole(u32::MAX, 2, Some(1), 1), whole(1, 2, Some(3), 1)]);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(1));
    assert_eq!(tsns_delivered(&mut side), vec![254, 255, 0, 1]);
}

#[test]
fn the_window_shrinks_with_what_is_held_and_data_past_it_is_dropped_unacknowledged() {
    let start = Instant::now();
    let config = SctpConfig { max_receive_buffer: 4000, ..config() };
    let mut side = ReceiveSide::new(1, &config);
    // TSN 1 lost: ordered messages 2..=4 wait for it.
    packet(&mut side, start, (2..=4).map(|tsn| whole(tsn, 0, Some(tsn as u16 - 1), 1000)).collect());
    assert_eq!(side.a_rwnd(), 1000);
    packet(&mut side, start, vec![whole(5, 0, Some(4), 1001)]); // does not fit
    let sack = side.poll_sack(start).unwrap();
    assert_eq!(sack.cumulative_tsn, 0);
    assert_eq!(sack.gaps, vec![GapBlock { start: 2, end: 4 }]); // TSN 5 not acknowledged
    assert_eq!(sack.a_rwnd, 1000);
    packet(&mut side, start, vec![whole(1, 0, Some(0), 1000)]); // fits exactly, fills the gap
    let sack = side.poll_sack(start).unwrap();
    assert_eq!((sack.cumulative_tsn, sack.a_rwnd), (4, 0));
    // The owner takes the messages: the window opens and the peer hears it at once.
    assert_eq!(side.poll_event().map(|event| matches!(event, SctpEvent::Message(_))), Some(true));
    assert_eq!(side.poll_sack(start), None); // 1000 free: not yet half the buffer
    assert_eq!(tsns_delivered(&mut side), vec![2, 3, 4]);
    assert!(side.deadline().is_some_and(|at| at <= start)); // the window update is due now
    assert_eq!(side.poll_sack(start).map(|sack| sack.a_rwnd), Some(4000));
}

#[test]
fn data_on_a_stream_past_the_limit_is_acknowledged_and_dropped() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 16, Some(0), 10), whole(2, u16::MAX, None, 10), whole(3, 15, None, 10)]);
    packet(&mut side, start, vec![]);
    assert_eq!(tsns_delivered(&mut side), vec![3]);
    assert_eq!(side.take_invalid_stream(), Some(u16::MAX)); // reported in an ERROR chunk
    assert_eq!(side.take_invalid_stream(), None);
    assert_eq!(side.poll_sack(start + ms(200)).map(|sack| sack.cumulative_tsn), Some(3));
    // FORWARD-TSN naming such a stream is ignored for it.
    let forward = ForwardTsn { new_cumulative_tsn: 5, skipped: vec![(16, 9), (u16::MAX, 1)] };
    side.on_forward_tsn(start, &forward).unwrap();
    assert!(side.reassembly.stream_count() == 0);
}

#[test]
fn an_empty_data_chunk_is_a_protocol_violation() {
    let mut side = ReceiveSide::new(1, &config());
    let error = side.on_data(Instant::now(), whole(1, 0, None, 0));
    assert_eq!(error, Err(SctpError::NoUserData { tsn: 1 }));
}

#[test]
fn an_oversized_message_is_a_protocol_violation() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    let mut first = whole(1, 0, Some(0), 10 * 1024);
    first.ending = false;
    side.on_data(start, first).unwrap();
    let mut last = whole(2, 0, Some(0), 10 * 1024);
    last.beginning = false;
    assert_eq!(side.on_data(start, last), Err(SctpError::RemoteMessageTooLarge { max: 16 * 1024 }));
}

#[test]
fn an_unreliable_unordered_stream_never_waits_for_lost_chunks() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 3, None, 10)]);
    // TSN 2 lost; 3 and 4 are delivered at once all the same.
    packet(&mut side, start + ms(5), vec![whole(3, 3, None, 10)]);
    packet(&mut side, start + ms(10), vec![whole(4, 3, None, 10)]);
    assert_eq!(tsns_delivered(&mut side), vec![1, 3, 4]);
    assert_eq!(side.poll_sack(start + ms(10)).map(|sack| sack.gaps.len()), Some(1));
    side.on_forward_tsn(start + ms(50), &ForwardTsn { new_cumulative_tsn: 2, skipped: vec![] }).unwrap();
    side.on_packet_end(start + ms(50));
    assert_eq!(side.poll_sack(start + ms(50)), None); // the delayed-SACK rules
    let sack = side.poll_sack(start + ms(250)).unwrap();
    assert_eq!((sack.cumulative_tsn, sack.gaps.len()), (4, 0));
}

#[test]
fn forward_tsn_releases_ordered_messages_behind_an_abandoned_one() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    // SSN 0 (TSN 1) lost and abandoned; SSN 1 and 2 wait for it.
    packet(&mut side, start, vec![whole(2, 4, Some(1), 10), whole(3, 4, Some(2), 10)]);
    assert!(tsns_delivered(&mut side).is_empty());
    side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 1, skipped: vec![(4, 0)] }).unwrap();
    side.on_packet_end(start);
    assert_eq!(tsns_delivered(&mut side), vec![2, 3]);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(3));
    // A stale FORWARD-TSN (our SACK may have been lost) is answered by the delayed-SACK rules:
    // the second in a row at once.
    let stale = ForwardTsn { new_cumulative_tsn: 1, skipped: vec![(4, 0)] };
    side.on_forward_tsn(start, &stale).unwrap();
    side.on_packet_end(start);
    assert_eq!(side.poll_sack(start), None);
    assert_eq!(side.deadline(), Some(start + ms(200)));
    side.on_forward_tsn(start, &stale).unwrap();
    side.on_packet_end(start);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(3));
    packet(&mut side, start, vec![whole(4, 4, Some(3), 10)]);
    assert_eq!(tsns_delivered(&mut side), vec![4]);
}

/// A fragment of a message on `stream` (ordered with `ssn` unless None); `flags` holds 'B'
/// and 'E' for the bits.
fn fragment(tsn: Tsn, stream: StreamId, ssn: Option<u16>, flags: &str) -> DataChunk {
    DataChunk { beginning: flags.contains('B'), ending: flags.contains('E'), ..whole(tsn, stream, ssn, 10) }
}

#[test]
fn a_forward_tsn_keeps_what_arrived_past_it_and_ordered_messages_across_it() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    // TSN 1 (abandoned) lost; an unordered message over TSN 2..=4 has its first two.
    packet(&mut side, start, vec![fragment(2, 1, None, "B"), fragment(3, 1, None, "")]);
    side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 1, skipped: vec![] }).unwrap();
    assert_eq!(side.tracker.cumulative(), side.tracker.unwrap(3)); // the blocks past it absorbed
    packet(&mut side, start, vec![fragment(4, 1, None, "E")]);
    assert_eq!(tsns_delivered(&mut side), vec![2]);
    // An ordered message cut by a FORWARD-TSN that does not skip its SSN still completes
    // (a sender that passes acknowledged chunks sends such a FORWARD-TSN).
    packet(&mut side, start, vec![fragment(5, 2, Some(0), "B"), fragment(6, 2, Some(0), "")]);
    side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 6, skipped: vec![] }).unwrap();
    packet(&mut side, start, vec![fragment(7, 2, Some(0), "E")]);
    assert_eq!(tsns_delivered(&mut side), vec![5]);
    // One whose SSN is skipped is dropped, and a late fragment of it too.
    packet(&mut side, start, vec![fragment(8, 2, Some(1), "B")]);
    side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 9, skipped: vec![(2, 1)] }).unwrap();
    assert_eq!(side.reassembly.held_items(), 0);
    packet(&mut side, start, vec![fragment(10, 2, Some(1), "E"), fragment(11, 2, Some(2), "BE")]);
    assert_eq!(tsns_delivered(&mut side), vec![11]);
    assert_eq!(side.reassembly.held_items(), 0);
}

#[test]
fn a_reset_waits_for_the_senders_last_tsn_and_holds_later_data_back() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 5, Some(0), 10)]);
    // The peer's last TSN before the reset is 3; TSN 2 is still missing.
    packet(&mut side, start, vec![whole(3, 5, Some(2), 10)]);
    assert_eq!(side.reset_incoming(&[5], 3), Ok(IncomingReset::InProgress));
    assert_eq!(side.reset_incoming(&[5], 3), Ok(IncomingReset::InProgress)); // the same request again
                                                                             // After the reset: stream 5 from SSN 0 again, and another stream not held back.
    packet(&mut side, start, vec![whole(4, 5, Some(0), 10), whole(5, 6, Some(0), 10)]);
    assert_eq!(tsns_delivered(&mut side), vec![1, 5]);
    assert_eq!(side.a_rwnd(), 64 * 1024 - 20); // TSN 3 waits, TSN 4 is held back
    packet(&mut side, start, vec![whole(2, 5, Some(1), 10)]);
    let events = events(&mut side);
    assert_eq!(events.len(), 4);
    assert_eq!(events[2], SctpEvent::StreamsReset(vec![5]));
    assert!(matches!(&events[3], SctpEvent::Message(Message { stream: 5, data, .. }) if data[0] == 4));
    assert_eq!(side.a_rwnd(), 64 * 1024);
}

#[test]
fn a_reset_whose_last_tsn_arrived_is_performed_at_once() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 5, Some(0), 10), whole(2, 5, Some(1), 10)]);
    assert_eq!(side.reset_incoming(&[6, 5, 6, 999], 2), Ok(IncomingReset::Performed));
    let events = events(&mut side);
    assert_eq!(events.last(), Some(&SctpEvent::StreamsReset(vec![5, 6])));
    assert_eq!(side.reset_incoming(&[999], 2), Ok(IncomingReset::Performed)); // nothing to reset
    assert_eq!(side.poll_event(), None);
    packet(&mut side, start, vec![whole(3, 5, Some(0), 10)]);
    assert_eq!(tsns_delivered(&mut side), vec![3]);
}

#[test]
fn too_many_waiting_resets_are_denied() {
    let mut side = ReceiveSide::new(1, &config());
    for stream in 0..stream_reset::MAX_PENDING_RESETS as u16 {
        assert_eq!(side.reset_incoming(&[stream], 100), Ok(IncomingReset::InProgress));
    }
    assert_eq!(side.reset_incoming(&[1, 2], 100), Ok(IncomingReset::Denied));
}

#[test]
fn a_forward_tsn_past_a_reset_applies_it() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    assert_eq!(side.reset_incoming(&[], 2), Ok(IncomingReset::InProgress));
    packet(&mut side, start, vec![whole(3, 1, Some(0), 10)]); // held back: after the reset
    side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 2, skipped: vec![] }).unwrap();
    let events = events(&mut side);
    assert_eq!(events[0], SctpEvent::StreamsReset((0..16).collect())); // "all": every valid id
    assert!(matches!(&events[1], SctpEvent::Message(Message { stream: 1, .. })));
}

// Hostile peers: what they make us hold stays bounded.

#[test]
fn huge_tsn_jumps_are_dropped_unacknowledged() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    for tsn in [100_000, 1 << 20, 1 << 30, (1 << 31) - 1] {
        packet(&mut side, start, vec![whole(tsn, 0, None, 100)]);
        let sack = side.poll_sack(start).unwrap(); // at once, with what we really have
        assert_eq!((sack.cumulative_tsn, sack.gaps.len()), (0, 0));
    }
    assert!(events(&mut side).is_empty());
    assert_eq!(side.a_rwnd(), 64 * 1024);
    packet(&mut side, start, vec![whole(1, 0, None, 100)]);
    assert_eq!(tsns_delivered(&mut side), vec![1]);
}

#[test]
fn a_flood_of_tiny_gaps_is_bounded() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(0, &config());
    for tsn in (2..65_000).step_by(2) {
        packet(&mut side, start, vec![whole(tsn, 1, Some(tsn as u16 / 2), 1)]);
    }
    // Only the first MAX_GAP_BLOCKS single-TSN blocks were taken.
    assert_eq!(side.reassembly.held_items(), data_tracker::MAX_GAP_BLOCKS);
    let sack = side.poll_sack(start).unwrap();
    assert_eq!(sack.gaps.len(), data_tracker::MAX_REPORTED_GAP_BLOCKS);
    assert_eq!(side.a_rwnd(), 64 * 1024 - data_tracker::MAX_GAP_BLOCKS as u32);
}

#[test]
fn endless_tiny_fragments_without_an_end_are_bounded() {
    let start = Instant::now();
    let config = SctpConfig { max_receive_buffer: 1 << 20, max_message_size: 1 << 20, ..config() };
    let mut side = ReceiveSide::new(1, &config);
    for tsn in 1..100_000u32 {
        let mut fragment = whole(tsn, 2, None, 1);
        fragment.beginning = tsn == 1;
        fragment.ending = false;
        side.on_data(start, fragment).unwrap();
        side.on_packet_end(start);
    }
    // In order, each fragment moves the cumulative TSN: taken up to twice the bound on things
    // held, then refused: nothing more is held or acknowledged.
    let hard_limit = HARD_LIMIT_FACTOR * MAX_HELD_ITEMS;
    assert_eq!(side.reassembly.held_items(), hard_limit);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(hard_limit as u32));
}

#[test]
fn tiny_chunks_past_a_gap_never_block_the_chunk_that_fills_it() {
    let start = Instant::now();
    let config = SctpConfig { max_receive_buffer: 1 << 20, max_message_size: 1 << 20, ..config() };
    let mut side = ReceiveSide::new(1, &config);
    // TSN 1 lost; one-byte ordered messages behind it until the bound on things held.
    for tsn in 2..=MAX_HELD_ITEMS as u32 + 100 {
        packet(&mut side, start, vec![whole(tsn, 0, Some((tsn - 1) as u16), 1)]);
    }
    assert_eq!(side.reassembly.held_items(), MAX_HELD_ITEMS);
    packet(&mut side, start, vec![whole(1, 0, Some(0), 1)]);
    assert_eq!(events(&mut side).len(), MAX_HELD_ITEMS + 1);
    assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(MAX_HELD_ITEMS as u32 + 1));
    assert_eq!((side.reassembly.held_items(), side.a_rwnd()), (0, 1 << 20));
}

#[test]
fn the_chunk_that_fills_a_gap_may_go_past_a_full_buffer() {
    let start = Instant::now();
    let config = SctpConfig { max_receive_buffer: 3000, ..config() };
    let mut side = ReceiveSide::new(1, &config);
    // A sender counting differently filled the buffer past the gap at TSN 1.
    packet(&mut side, start, (2..=4).map(|tsn| whole(tsn, 0, Some(tsn as u16 - 1), 1000)).collect());
    assert_eq!(side.a_rwnd(), 0);
    packet(&mut side, start, vec![whole(1, 0, Some(0), 1000)]);
    assert_eq!(side.poll_sack(start).map(|sack| (sack.cumulative_tsn, sack.a_rwnd)), Some((4, 0)));
    assert_eq!(tsns_delivered(&mut side), vec![1, 2, 3, 4]);
    assert_eq!(side.a_rwnd(), 3000);
}

#[test]
fn endless_fragments_hit_the_message_size_limit() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    let result = (1..1000u32).try_for_each(|tsn| {
        let mut fragment = whole(tsn, 2, Some(0), 1000);
        fragment.beginning = tsn == 1;
        fragment.ending = false;
        side.on_data(start, fragment)
    });
    assert_eq!(result, Err(SctpError::RemoteMessageTooLarge { max: 16 * 1024 }));
}

#[test]
fn a_duplicate_flood_costs_nothing() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    packet(&mut side, start, vec![whole(1, 0, None, 100)]);
    for _ in 0..100_000 {
        packet(&mut side, start, vec![whole(1, 0, None, 100)]);
    }
    let sack = side.poll_sack(start).unwrap();
    assert_eq!(sack.duplicates.len(), data_tracker::MAX_REPORTED_DUPLICATES);
    assert_eq!(tsns_delivered(&mut side), vec![1]);
    assert_eq!(side.a_rwnd(), 64 * 1024);
}

#[test]
fn every_stream_id_holds_state_only_up_to_the_limit() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(0, &config());
    for stream in 0..=u16::MAX {
        // An ordered message with SSN 1 on each stream: waits for SSN 0 forever.
        packet(&mut side, start, vec![whole(u32::from(stream), stream, Some(1), 1)]);
    }
    assert_eq!(side.reassembly.stream_count(), usize::from(config().max_streams));
    assert_eq!(side.reassembly.held_items(), usize::from(config().max_streams));
}

/// A reproducible random source for the scrambled-delivery test.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }
}

#[test]
fn scrambled_lossy_duplicated_delivery_gives_every_message_once_whole_and_in_stream_order() {
    let start = Instant::now();
    for seed in 1..=20u64 {
        let mut random = Lcg(seed);
        let initial_tsn = u32::MAX - 500; // wraps around during the run
        let mut side = ReceiveSide::new(initial_tsn, &config());
        // 300 messages on 4 streams, 1 to 5000 bytes, ordered or not, cut into chunks of at
        // most 1000 bytes.
        let mut next_ssn = [0u16; 4];
        let mut sent: Vec<(StreamId, bool, Vec<u8>)> = Vec::new();
        let mut chunks: Vec<DataChunk> = Vec::new();
        let mut tsn = initial_tsn;
        for number in 0..300u32 {
            let stream = random.below(4) as StreamId;
            let unordered = random.below(3) == 0;
            let len = 1 + random.below(5000);
            let data: Vec<u8> = (0..len).map(|index| (number as usize * 7 + index) as u8).collect();
            let ssn = if unordered { 0 } else { next_ssn[usize::from(stream)] };
            if !unordered {
                next_ssn[usize::from(stream)] += 1;
            }
            let pieces: Vec<&[u8]> = data.chunks(1000).collect();
            for (index, piece) in pieces.iter().enumerate() {
                chunks.push(DataChunk {
                    tsn,
                    stream,
                    ssn,
                    ppid: 53,
                    unordered,
                    beginning: index == 0,
                    ending: index + 1 == pieces.len(),
                    immediate_sack: false,
                    payload: Bytes::copy_from_slice(piece),
                });
                tsn = tsn.wrapping_add(1);
            }
            sent.push((stream, unordered, data));
        }
        // Send in order of TSN, each chunk lost a third of the time (sent again later),
        // duplicated a tenth, reordered within a window of 16, in packets of 1 to 3 chunks.
        let mut pending: VecDeque<DataChunk> = chunks.iter().cloned().collect();
        let mut wire: Vec<DataChunk> = Vec::new();
        let mut received: Vec<Message> = Vec::new();
        let mut now = start;
        let mut resent = 0;
        loop {
            if pending.is_empty() && wire.is_empty() {
                // What the receiver did not take (lost, or refused for lack of room) goes again,
                // as a sender's retransmissions would.
                pending = chunks
                    .iter()
                    .filter(|chunk| side.tracker.check(side.tracker.unwrap(chunk.tsn)) != TsnCheck::Duplicate)
                    .cloned()
                    .collect();
                if pending.is_empty() {
                    break;
                }
                resent += pending.len();
            }
            while wire.len() < 16 {
                let Some(chunk) = pending.pop_front() else { break };
                if random.below(3) == 0 {
                    pending.push_back(chunk); // lost: sent again after the rest
                    continue;
                }
                if random.below(10) == 0 {
                    wire.push(chunk.clone());
                }
                wire.push(chunk);
            }
            let count = (1 + random.below(3)).min(wire.len());
            let mut packet_chunks = Vec::new();
            for _ in 0..count {
                packet_chunks.push(wire.swap_remove(random.below(wire.len())));
            }
            now += ms(1);
            packet(&mut side, now, packet_chunks);
            while let Some(event) = side.poll_event() {
                if let SctpEvent::Message(message) = event {
                    received.push(message);
                }
            }
            side.poll_sack(now);
        }
        // Every message exactly once and whole; ordered ones in their stream's order.
        assert_eq!(received.len(), sent.len(), "seed {seed}");
        let mut remaining: Vec<Option<&(StreamId, bool, Vec<u8>)>> = sent.iter().map(Some).collect();
        let mut last_ordered: [Option<usize>; 4] = [None; 4];
        for message in &received {
            let index = remaining
                .iter()
                .position(|candidate| {
                    candidate.is_some_and(|(stream, _, data)| *stream == message.stream && data[..] == message.data[..])
                })
                .unwrap_or_else(|| panic!("seed {seed}: a message not sent, or twice"));
            let (stream, unordered, _) = remaining[index].take().unwrap();
            if !unordered {
                let previous = &mut last_ordered[usize::from(*stream)];
                assert!(previous.is_none_or(|previous| previous < index), "seed {seed}: out of order");
                *previous = Some(index);
            }
        }
        assert_eq!(side.reassembly.held_items(), 0, "seed {seed}");
        println!("seed {seed}: {resent} chunks refused for lack of room and sent again");
        assert_eq!(side.a_rwnd(), 64 * 1024);
        let sack = side.poll_sack(now + ms(200)).unwrap_or_else(|| side.tracker.make_sack(0));
        assert_eq!(sack.cumulative_tsn, tsn.wrapping_sub(1), "seed {seed}");
    }
}

#[test]
fn lossy_delivery_with_abandoned_messages_and_forward_tsns_never_stalls_a_stream() {
    let start = Instant::now();
    for seed in 1..=20u64 {
        let mut random = Lcg(seed ^ 0xf0f0);
        let initial_tsn = u32::MAX - 300;
        let mut side = ReceiveSide::new(initial_tsn, &SctpConfig { max_receive_buffer: 1 << 20, ..config() });
        // 300 messages on 4 streams, half of them unreliable (abandoned once a chunk is lost).
        let mut next_ssn = [0u16; 4];
        let mut messages: Vec<(StreamId, bool, bool, Vec<u8>)> = Vec::new(); // stream, unordered, reliable, data
        let mut chunks: Vec<(usize, DataChunk)> = Vec::new();
        let mut tsn = initial_tsn;
        for number in 0..300usize {
            let stream = random.below(4) as StreamId;
            let unordered = random.below(3) == 0;
            let reliable = random.below(2) == 0;
            let data: Vec<u8> = (0..1 + random.below(3000)).map(|index| (number * 13 + index) as u8).collect();
            let ssn = if unordered { 0 } else { next_ssn[usize::from(stream)] };
            if !unordered {
                next_ssn[usize::from(stream)] += 1;
            }
            let pieces: Vec<&[u8]> = data.chunks(1000).collect();
            for (index, piece) in pieces.iter().enumerate() {
                let chunk = DataChunk {
                    tsn,
                    stream,
                    ssn,
                    ppid: 53,
                    unordered,
                    beginning: index == 0,
                    ending: index + 1 == pieces.len(),
                    immediate_sack: false,
                    payload: Bytes::copy_from_slice(piece),
                };
                chunks.push((number, chunk));
                tsn = tsn.wrapping_add(1);
            }
            messages.push((stream, unordered, reliable, data));
        }
        let last_tsn = tsn.wrapping_sub(1);
        let mut abandoned = vec![false; messages.len()];
        let received =
            |side: &ReceiveSide, tsn: Tsn| side.tracker.check(side.tracker.unwrap(tsn)) == TsnCheck::Duplicate;
        let mut delivered: Vec<Message> = Vec::new();
        let mut now = start;
        for _round in 0..1000 {
            // The sender's pass: every chunk neither received nor abandoned, in TSN order, lost
            // a fifth of the time (abandoning an unreliable message), in packets of up to 3.
            let mut packet_chunks = Vec::new();
            for (message, chunk) in &chunks {
                if abandoned[*message] || received(&side, chunk.tsn) {
                    continue;
                }
                if random.below(5) == 0 {
                    abandoned[*message] |= !messages[*message].2;
                    continue;
                }
                packet_chunks.push(chunk.clone());
                if packet_chunks.len() == 3 {
                    now += ms(1);
                    packet(&mut side, now, std::mem::take(&mut packet_chunks));
                }
            }
            now += ms(1);
            packet(&mut side, now, packet_chunks);
            // FORWARD-TSN (RFC 3758 §3.5 C1-C2): from the receiver's cumulative TSN on, past
            // the abandoned chunks that follow it, with the last abandoned SSN of each
            // ordered stream.
            let cumulative = side.tracker.cumulative();
            let mut new_cumulative = None;
            let mut skipped: Vec<(StreamId, u16)> = Vec::new();
            for (message, chunk) in &chunks {
                if side.tracker.unwrap(chunk.tsn) <= cumulative {
                    continue;
                }
                if !abandoned[*message] {
                    break;
                }
                new_cumulative = Some(chunk.tsn);
                if !chunk.unordered {
                    skipped.retain(|&(stream, _)| stream != chunk.stream);
                    skipped.push((chunk.stream, chunk.ssn));
                }
            }
            if let Some(new_cumulative_tsn) = new_cumulative {
                side.on_forward_tsn(now, &ForwardTsn { new_cumulative_tsn, skipped }).unwrap();
                side.on_packet_end(now);
            }
            while let Some(event) = side.poll_event() {
                if let SctpEvent::Message(message) = event {
                    delivered.push(message);
                }
            }
            side.poll_sack(now);
            if side.tracker.cumulative() == side.tracker.unwrap(last_tsn) {
                break;
            }
        }
        // Every reliable message once, whole; no abandoned one; ordered ones in order.
        let expected: Vec<usize> = (0..messages.len()).filter(|&index| !abandoned[index]).collect();
        assert!(expected.iter().all(|&index| messages[index].2 || !abandoned[index]));
        let mut found = Vec::new();
        for message in &delivered {
            let index = expected
                .iter()
                .copied()
                .find(|&index| {
                    !found.contains(&index)
                        && messages[index].0 == message.stream
                        && messages[index].3[..] == message.data[..]
                })
                .unwrap_or_else(|| panic!("seed {seed}: a message abandoned, not sent, or twice"));
            found.push(index);
        }
        assert_eq!(found.len(), expected.len(), "seed {seed}: every message not abandoned");
        for stream in 0..4 {
            let ordered: Vec<usize> =
                found.iter().copied().filter(|&index| messages[index].0 == stream && !messages[index].1).collect();
            assert!(ordered.windows(2).all(|pair| pair[0] < pair[1]), "seed {seed}: stream {stream} out of order");
        }
        assert_eq!((side.reassembly.held_items(), side.a_rwnd()), (0, 1 << 20), "seed {seed}: held at the end");
        println!(
            "seed {seed}: {} of {} messages abandoned, {} delivered",
            abandoned.iter().filter(|&&gone| gone).count(),
            messages.len(),
            delivered.len()
        );
    }
}

#[test]
fn a_flood_of_forward_tsns_and_resets_stays_bounded() {
    let start = Instant::now();
    let mut side = ReceiveSide::new(1, &config());
    let wall = std::time::Instant::now();
    for step in 1..=20_000u32 {
        let skipped = (0..100u16).map(|index| (index.wrapping_mul(7919).wrapping_add(step as u16), index)).collect();
        side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: step, skipped }).unwrap();
        side.on_packet_end(start);
    }
    assert!(side.reassembly.stream_count() <= usize::from(config().max_streams));
    // Resets whose events nobody takes: denied once the bound on things held is reached.
    let mut denied = 0;
    for _ in 0..100_000 {
        if side.reset_incoming(&[1], 0) == Ok(IncomingReset::Denied) {
            denied += 1;
        }
    }
    assert_eq!(side.reassembly.held_items(), MAX_HELD_ITEMS);
    assert_eq!(denied, 100_000 - MAX_HELD_ITEMS);
    println!("20 000 FORWARD-TSNs of 100 streams and 100 000 resets: {:?}", wall.elapsed());
}
