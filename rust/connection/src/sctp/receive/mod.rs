//! The receive side of the association: what the peer's DATA and FORWARD-TSN chunks do here,
//! which SACKs go back and when, and the messages and stream resets that come out.
//!
//! - [`data_tracker`]: which TSNs arrived (cumulative TSN, gap blocks, duplicates).
//! - [`sack_schedule`]: immediate or delayed SACK.
//! - [`reassembly`]: fragments to whole messages, in stream order when ordered.
//! - [`stream_reset`]: RFC 6525 incoming resets, applied once their last TSN arrived.
//!
//! What a hostile peer can make us hold is bounded: TSNs past the cumulative TSN by more than
//! [`data_tracker::MAX_TSN_WINDOW`], a gap block past [`data_tracker::MAX_GAP_BLOCKS`], a chunk
//! past `max_receive_buffer` bytes or [`reassembly::MAX_HELD_ITEMS`] held things: dropped and not
//! acknowledged (RFC 9260 §6.2 allows it; an honest sender keeps to our window and sends again).
//! DATA on a stream id at or past `max_streams`: acknowledged and dropped (RFC 9260 §6.5; the
//! association may report "Invalid Stream Identifier"), so no state is ever kept for it. A
//! message larger than `max_message_size` or an empty DATA chunk: an error, on which the
//! association aborts.

mod config;
mod data_tracker;
mod reassembly;
mod sack_schedule;
mod serial;
mod stream_reset;

use std::time::{Duration, Instant};

pub(crate) use config::ReceiveConfig;
pub(crate) use stream_reset::IncomingReset;

use data_tracker::{DataTracker, TsnCheck};
use reassembly::{Reassembly, MAX_HELD_ITEMS};
use sack_schedule::SackSchedule;
use stream_reset::IncomingResets;

use super::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use super::{SctpError, SctpEvent, StreamId};

/// The receive side of one association.
#[derive(Debug)]
pub(crate) struct ReceiveSide {
    /// The limits it works within.
    config: ReceiveConfig,
    /// Which TSNs arrived.
    tracker: DataTracker,
    /// When the next SACK goes.
    sack: SackSchedule,
    /// Fragments, ordered streams and events for the owner.
    reassembly: Reassembly,
    /// Incoming stream resets waiting for their last TSN.
    resets: IncomingResets,
    /// The window the last SACK advertised, to send a window update when it opens again.
    last_advertised_window: u32,
}

impl ReceiveSide {
    /// The receive side of an association whose peer's first TSN is `peer_initial_tsn` (from its
    /// INIT or INIT-ACK).
    pub(crate) fn new(peer_initial_tsn: Tsn, config: &ReceiveConfig) -> Self {
        let config = *config;
        Self {
            tracker: DataTracker::new(peer_initial_tsn),
            sack: SackSchedule::new(),
            reassembly: Reassembly::new(config.max_message_size),
            resets: IncomingResets::default(),
            last_advertised_window: u32::try_from(config.max_receive_buffer).unwrap_or(u32::MAX),
            config,
        }
    }

    /// Sets how long a SACK for a lone packet waits: the association passes RTO/2; it is capped
    /// at 200 ms (`sack_schedule::MAX_SACK_DELAY`).
    pub(crate) fn set_sack_delay(&mut self, delay: Duration) {
        self.sack.set_delay(delay);
    }

    /// Takes one DATA chunk of the packet being processed. Fails on a protocol violation (an
    /// empty chunk, a message larger than `max_message_size`): the association aborts.
    pub(crate) fn on_data(&mut self, _now: Instant, chunk: DataChunk) -> Result<(), SctpError> {
        if chunk.payload.is_empty() {
            return Err(SctpError::NoUserData { tsn: chunk.tsn });
        }
        let tsn = self.tracker.unwrap(chunk.tsn);
        match self.tracker.check(tsn) {
            TsnCheck::Duplicate => {
                self.tracker.record_duplicate(chunk.tsn);
                self.sack.on_data(true);
                return Ok(());
            }
            TsnCheck::Refused => {
                self.sack.on_data(true);
                return Ok(());
            }
            TsnCheck::New => {}
        }
        let valid_stream = chunk.stream < self.config.max_streams;
        if valid_stream && !self.has_room_for(chunk.payload.len()) {
            self.sack.on_data(true);
            return Ok(());
        }
        let had_gaps = self.tracker.has_gaps();
        self.tracker.record(tsn);
        self.sack.on_data(chunk.immediate_sack || had_gaps || self.tracker.has_gaps());
        if valid_stream {
            if self.resets.holds_back(chunk.stream, tsn) {
                self.resets.hold_back(tsn, chunk);
            } else {
                self.reassembly.insert(tsn, chunk)?;
            }
        }
        self.apply_due_resets()
    }

    /// Takes a FORWARD-TSN (RFC 3758 §3.6): the cumulative TSN moves to the new one, fragments
    /// it leaves incomplete are dropped, the listed ordered streams skip to past the given SSN.
    /// For the SACK it counts as DATA would (RFC 3758 §3.6): at once when it is stale (the peer
    /// may have lost our SACK) or gaps remain or filled, else by the delayed-SACK rules.
    pub(crate) fn on_forward_tsn(&mut self, _now: Instant, forward: &ForwardTsn) -> Result<(), SctpError> {
        let had_gaps = self.tracker.has_gaps();
        let new_cumulative = self.tracker.unwrap(forward.new_cumulative_tsn);
        let moved = self.tracker.forward_to(new_cumulative);
        self.sack.on_data(!moved || had_gaps || self.tracker.has_gaps());
        if !moved {
            return Ok(());
        }
        self.apply_due_resets()?;
        let skipped: Vec<(StreamId, u16)> =
            forward.skipped.iter().copied().filter(|&(stream, _)| stream < self.config.max_streams).collect();
        self.reassembly.forget_up_to(self.tracker.cumulative(), &skipped);
        Ok(())
    }

    /// All chunks of one packet were handed over: decides whether its SACK goes at once or later.
    pub(crate) fn on_packet_end(&mut self, now: Instant) {
        self.sack.on_packet_end(now);
    }

    /// RFC 6525 incoming reset of `streams` (all when empty) after the peer's `senders_last_tsn`:
    /// applied once every TSN up to it arrived, then [`SctpEvent::StreamsReset`] comes out.
    pub(crate) fn reset_incoming(
        &mut self,
        streams: &[StreamId],
        senders_last_tsn: Tsn,
    ) -> Result<IncomingReset, SctpError> {
        let last_tsn = self.tracker.unwrap(senders_last_tsn);
        let outcome = self.resets.add(streams, last_tsn);
        if outcome == IncomingReset::Denied {
            return Ok(outcome);
        }
        self.apply_due_resets()?;
        Ok(if last_tsn <= self.tracker.cumulative() { IncomingReset::Performed } else { outcome })
    }

    /// The next message or stream reset for the owner.
    pub(crate) fn poll_event(&mut self) -> Option<SctpEvent> {
        let event = self.reassembly.pop_event()?;
        let half = self.config.max_receive_buffer / 2;
        if (self.last_advertised_window as usize) < half && self.a_rwnd() as usize >= half {
            // The window opened again after the peer saw it nearly closed: tell it at once.
            self.sack.request_immediate();
        }
        Some(event)
    }

    /// The SACK to send now, if one is due.
    pub(crate) fn poll_sack(&mut self, now: Instant) -> Option<Sack> {
        if !self.sack.is_due(now) {
            return None;
        }
        self.sack.on_sack_sent();
        let a_rwnd = self.a_rwnd();
        self.last_advertised_window = a_rwnd;
        Some(self.tracker.make_sack(a_rwnd))
    }

    /// When the delayed SACK is due, if one waits.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.sack.deadline()
    }

    /// Makes the delayed SACK due once its deadline passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.sack.handle_timeout(now);
    }

    /// The advertised receiver window: `max_receive_buffer` minus the payload bytes held.
    pub(crate) fn a_rwnd(&self) -> u32 {
        let free = self.config.max_receive_buffer.saturating_sub(self.held_bytes());
        u32::try_from(free).unwrap_or(u32::MAX)
    }

    /// Payload bytes received and not yet taken by the owner.
    fn held_bytes(&self) -> usize {
        self.reassembly.held_bytes() + self.resets.held_bytes()
    }

    /// Whether a chunk of `payload` bytes fits within the buffer and the bookkeeping bound.
    fn has_room_for(&self, payload: usize) -> bool {
        self.held_bytes() + payload <= self.config.max_receive_buffer
            && self.reassembly.held_items() + self.resets.held_items() < MAX_HELD_ITEMS
    }

    /// Applies the incoming resets whose last TSN arrived, then hands over the chunks they held
    /// back.
    fn apply_due_resets(&mut self) -> Result<(), SctpError> {
        while let Some(streams) = self.resets.take_due(self.tracker.cumulative()) {
            self.reassembly.reset_streams(&streams);
            for (tsn, chunk) in self.resets.take_held_back() {
                if self.resets.holds_back(chunk.stream, tsn) {
                    self.resets.hold_back(tsn, chunk);
                } else {
                    self.reassembly.insert(tsn, chunk)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::sctp::chunks::GapBlock;
    use crate::sctp::Message;

    const CONFIG: ReceiveConfig =
        ReceiveConfig { max_receive_buffer: 64 * 1024, max_message_size: 16 * 1024, max_streams: 16 };

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
    fn a_lone_packet_is_acknowledged_after_the_sack_delay() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
        side.set_sack_delay(ms(60));
        packet(&mut side, start, vec![whole(1, 0, Some(0), 100)]);
        assert_eq!(side.poll_sack(start), None);
        assert_eq!(side.deadline(), Some(start + ms(60)));
        assert_eq!(tsns_delivered(&mut side), vec![1]);
        side.handle_timeout(start + ms(60));
        let sack = side.poll_sack(start + ms(60)).unwrap();
        assert_eq!(sack, Sack { cumulative_tsn: 1, a_rwnd: 64 * 1024, gaps: vec![], duplicates: vec![] });
        assert_eq!(side.deadline(), None);
        assert_eq!(side.poll_sack(start + ms(1000)), None);
    }

    #[test]
    fn every_second_packet_is_acknowledged_at_once() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
        packet(&mut side, start, vec![whole(1, 0, Some(0), 10), whole(2, 0, Some(1), 10)]);
        assert_eq!(side.poll_sack(start), None);
        packet(&mut side, start + ms(5), vec![whole(3, 0, Some(2), 10)]);
        assert_eq!(side.poll_sack(start + ms(5)).map(|sack| sack.cumulative_tsn), Some(3));
    }

    #[test]
    fn a_gap_and_its_filling_are_acknowledged_at_once() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(10, &CONFIG);
        packet(&mut side, start, vec![whole(10, 1, Some(0), 10)]);
        assert_eq!(side.poll_sack(start), None);
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
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(u32::MAX - 1, &CONFIG);
        packet(&mut side, start, vec![whole(u32::MAX - 1, 2, Some(0), 1), whole(0, 2, Some(2), 1)]);
        packet(&mut side, start, vec![whole(u32::MAX, 2, Some(1), 1), whole(1, 2, Some(3), 1)]);
        assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(1));
        assert_eq!(tsns_delivered(&mut side), vec![254, 255, 0, 1]);
    }

    #[test]
    fn the_window_shrinks_with_what_is_held_and_data_past_it_is_dropped_unacknowledged() {
        let start = Instant::now();
        let config = ReceiveConfig { max_receive_buffer: 4000, ..CONFIG };
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
        assert_eq!(side.poll_sack(start).map(|sack| sack.a_rwnd), Some(4000));
    }

    #[test]
    fn data_on_a_stream_past_the_limit_is_acknowledged_and_dropped() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
        packet(&mut side, start, vec![whole(1, 16, Some(0), 10), whole(2, u16::MAX, None, 10), whole(3, 15, None, 10)]);
        packet(&mut side, start, vec![]);
        assert_eq!(tsns_delivered(&mut side), vec![3]);
        assert_eq!(side.poll_sack(start + ms(200)).map(|sack| sack.cumulative_tsn), Some(3));
        // FORWARD-TSN naming such a stream is ignored for it.
        let forward = ForwardTsn { new_cumulative_tsn: 5, skipped: vec![(16, 9), (u16::MAX, 1)] };
        side.on_forward_tsn(start, &forward).unwrap();
        assert!(side.reassembly.stream_count() == 0);
    }

    #[test]
    fn an_empty_data_chunk_is_a_protocol_violation() {
        let mut side = ReceiveSide::new(1, &CONFIG);
        let error = side.on_data(Instant::now(), whole(1, 0, None, 0));
        assert_eq!(error, Err(SctpError::NoUserData { tsn: 1 }));
    }

    #[test]
    fn an_oversized_message_is_a_protocol_violation() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(1, &CONFIG);
        packet(&mut side, start, vec![whole(1, 3, None, 10)]);
        // TSN 2 lost; 3 and 4 are delivered at once all the same.
        packet(&mut side, start + ms(5), vec![whole(3, 3, None, 10)]);
        packet(&mut side, start + ms(10), vec![whole(4, 3, None, 10)]);
        assert_eq!(tsns_delivered(&mut side), vec![1, 3, 4]);
        side.on_forward_tsn(start + ms(50), &ForwardTsn { new_cumulative_tsn: 2, skipped: vec![] }).unwrap();
        side.on_packet_end(start + ms(50));
        let sack = side.poll_sack(start + ms(50)).unwrap(); // at once: the gap closed
        assert_eq!((sack.cumulative_tsn, sack.gaps.len()), (4, 0));
    }

    #[test]
    fn forward_tsn_releases_ordered_messages_behind_an_abandoned_one() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
        // SSN 0 (TSN 1) lost and abandoned; SSN 1 and 2 wait for it.
        packet(&mut side, start, vec![whole(2, 4, Some(1), 10), whole(3, 4, Some(2), 10)]);
        assert!(tsns_delivered(&mut side).is_empty());
        side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 1, skipped: vec![(4, 0)] }).unwrap();
        side.on_packet_end(start);
        assert_eq!(tsns_delivered(&mut side), vec![2, 3]);
        assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(3));
        // A stale FORWARD-TSN is answered at once: our last SACK may have been lost.
        side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 1, skipped: vec![(4, 0)] }).unwrap();
        side.on_packet_end(start);
        assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(3));
        packet(&mut side, start, vec![whole(4, 4, Some(3), 10)]);
        assert_eq!(tsns_delivered(&mut side), vec![4]);
    }

    #[test]
    fn a_reset_waits_for_the_senders_last_tsn_and_holds_later_data_back() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(1, &CONFIG);
        packet(&mut side, start, vec![whole(1, 5, Some(0), 10), whole(2, 5, Some(1), 10)]);
        assert_eq!(side.reset_incoming(&[5, 6], 2), Ok(IncomingReset::Performed));
        let events = events(&mut side);
        assert_eq!(events.last(), Some(&SctpEvent::StreamsReset(vec![5, 6])));
        packet(&mut side, start, vec![whole(3, 5, Some(0), 10)]);
        assert_eq!(tsns_delivered(&mut side), vec![3]);
    }

    #[test]
    fn too_many_waiting_resets_are_denied() {
        let mut side = ReceiveSide::new(1, &CONFIG);
        for stream in 0..stream_reset::MAX_PENDING_RESETS as u16 {
            assert_eq!(side.reset_incoming(&[stream], 100), Ok(IncomingReset::InProgress));
        }
        assert_eq!(side.reset_incoming(&[1, 2], 100), Ok(IncomingReset::Denied));
    }

    #[test]
    fn a_forward_tsn_past_a_reset_applies_it() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
        assert_eq!(side.reset_incoming(&[], 2), Ok(IncomingReset::InProgress));
        packet(&mut side, start, vec![whole(3, 1, Some(0), 10)]); // held back: after the reset
        side.on_forward_tsn(start, &ForwardTsn { new_cumulative_tsn: 2, skipped: vec![] }).unwrap();
        let events = events(&mut side);
        assert_eq!(events[0], SctpEvent::StreamsReset(vec![]));
        assert!(matches!(&events[1], SctpEvent::Message(Message { stream: 1, .. })));
    }

    // Hostile peers: what they make us hold stays bounded.

    #[test]
    fn huge_tsn_jumps_are_dropped_unacknowledged() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(0, &CONFIG);
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
        let config = ReceiveConfig { max_receive_buffer: 1 << 20, max_message_size: 1 << 20, max_streams: 16 };
        let mut side = ReceiveSide::new(1, &config);
        for tsn in 1..100_000u32 {
            let mut fragment = whole(tsn, 2, None, 1);
            fragment.beginning = tsn == 1;
            fragment.ending = false;
            side.on_data(start, fragment).unwrap();
            side.on_packet_end(start);
        }
        // Past the bookkeeping bound, fragments are refused: nothing more is held or acknowledged.
        assert_eq!(side.reassembly.held_items(), MAX_HELD_ITEMS);
        assert_eq!(side.poll_sack(start).map(|sack| sack.cumulative_tsn), Some(MAX_HELD_ITEMS as u32));
    }

    #[test]
    fn endless_fragments_hit_the_message_size_limit() {
        let start = Instant::now();
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(1, &CONFIG);
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
        let mut side = ReceiveSide::new(0, &CONFIG);
        for stream in 0..=u16::MAX {
            // An ordered message with SSN 1 on each stream: waits for SSN 0 forever.
            packet(&mut side, start, vec![whole(u32::from(stream), stream, Some(1), 1)]);
        }
        assert_eq!(side.reassembly.stream_count(), usize::from(CONFIG.max_streams));
        assert_eq!(side.reassembly.held_items(), usize::from(CONFIG.max_streams));
    }
}
