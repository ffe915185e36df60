//! The receive side of the association: what the peer's DATA and FORWARD-TSN chunks do here,
//! which SACKs go back and when, and the messages and stream resets that come out.
//!
//! - [`data_tracker`]: which TSNs arrived (cumulative TSN, gap blocks, duplicates).
//! - [`sack_schedule`]: immediate or delayed SACK.
//! - [`reassembly`]: fragments to whole messages, in stream order when ordered.
//! - [`stream_reset`]: RFC 6525 incoming resets, applied once their last TSN arrived.
//!
//! What a hostile peer can make us hold is bounded, and an honest one is never refused the chunk
//! that moves the cumulative TSN, so a full buffer never deadlocks without reneging (dropping what
//! a SACK acknowledged, which RFC 9260 allows but dcSCTP never does and not every sender recovers
//! from):
//! - a TSN past the cumulative TSN by more than [`data_tracker::MAX_TSN_WINDOW`], or opening a
//!   gap block past [`data_tracker::MAX_GAP_BLOCKS`]: dropped and not acknowledged (RFC 9260 §6.2
//!   lets a receiver drop DATA it has no room for; an honest sender sends it again);
//! - a chunk past a gap that would make the held payload exceed `max_receive_buffer`, or the held
//!   things (fragments, waiting messages, events) exceed [`reassembly::MAX_HELD_ITEMS`]: dropped
//!   and not acknowledged, SACK at once;
//! - the chunk right after the cumulative TSN may go past both, up to twice each
//!   ([`HARD_LIMIT_FACTOR`]): an honest sender keeps to our window and the bound on things only
//!   bites with tiny chunks, so this slack is what lets a full buffer drain; a hostile peer
//!   sending in order gets no more than twice the bounds;
//! - DATA on a stream id at or past `max_streams`: acknowledged and dropped (RFC 9260 §6.5; the
//!   association reports "Invalid Stream Identifier" from `take_invalid_stream`), so no state is
//!   kept for it;
//! - incoming stream resets: at most [`stream_reset::MAX_PENDING_RESETS`] wait for their last
//!   TSN; past it, or while the owner leaves [`reassembly::MAX_HELD_ITEMS`] things unpolled, a
//!   request is denied;
//! - a message larger than `max_message_size` or an empty DATA chunk: an error, on which the
//!   association aborts.

mod data_tracker;
#[cfg(test)]
mod pair_tests;
mod reassembly;
mod sack_schedule;
mod serial;
mod stream_reset;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub(crate) use stream_reset::IncomingReset;

use data_tracker::{DataTracker, TsnCheck};
use reassembly::{Reassembly, MAX_HELD_ITEMS};
use sack_schedule::SackSchedule;
use stream_reset::IncomingResets;

use super::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use super::{SctpConfig, SctpError, SctpEvent, StreamId};

/// How far past the bounds on bytes and things held the chunk right after the cumulative TSN
/// may go: twice.
const HARD_LIMIT_FACTOR: usize = 2;

/// The receive side of one association.
#[derive(Debug)]
pub(crate) struct ReceiveSide {
    /// Bytes of payload held at most (`SctpConfig::max_receive_buffer`).
    max_receive_buffer: usize,
    /// Stream ids from 0 to this minus one are valid (`SctpConfig::max_streams`).
    max_streams: u16,
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
    /// The last stream id at or past `max_streams` that DATA came on, not yet reported.
    invalid_stream: Option<StreamId>,
}

impl ReceiveSide {
    /// The receive side of an association whose peer's first TSN is `peer_initial_tsn` (from its
    /// INIT or INIT-ACK).
    pub(crate) fn new(peer_initial_tsn: Tsn, config: &SctpConfig) -> Self {
        Self {
            max_receive_buffer: config.max_receive_buffer,
            max_streams: config.max_streams,
            tracker: DataTracker::new(peer_initial_tsn),
            sack: SackSchedule::new(config.delayed_sack_max),
            reassembly: Reassembly::new(config.max_message_size),
            resets: IncomingResets::default(),
            last_advertised_window: u32::try_from(config.max_receive_buffer).unwrap_or(u32::MAX),
            invalid_stream: None,
        }
    }

    /// Sets how long a SACK for a lone packet waits: the association passes RTO/2 whenever the
    /// RTO changes; it is capped at `SctpConfig::delayed_sack_max` (200 ms).
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
        let valid_stream = chunk.stream < self.max_streams;
        if valid_stream && !self.has_room_for(tsn, chunk.payload.len()) {
            self.sack.on_data(true);
            return Ok(());
        }
        let had_gaps = self.tracker.has_gaps();
        self.tracker.record(tsn);
        self.sack.on_data(chunk.immediate_sack || had_gaps || self.tracker.has_gaps());
        if !valid_stream {
            self.invalid_stream = Some(chunk.stream);
        } else if self.resets.holds_back(chunk.stream, tsn) {
            self.resets.hold_back(tsn, chunk);
        } else {
            self.reassembly.insert(tsn, chunk)?;
        }
        self.apply_due_resets()
    }

    /// A stream id at or past `max_streams` that DATA came on since the last call: the
    /// association reports it in an ERROR chunk ("Invalid Stream Identifier", RFC 9260 §6.5).
    /// One at a time, the latest: a peer flooding such DATA gets one ERROR per packet we send.
    pub(crate) fn take_invalid_stream(&mut self) -> Option<StreamId> {
        self.invalid_stream.take()
    }

    /// Takes a FORWARD-TSN (RFC 3758 §3.6): the cumulative TSN moves to the new one, fragments
    /// it leaves incomplete are dropped, the listed ordered streams skip to past the given SSN.
    /// For the SACK it counts as a packet with DATA under the delayed-SACK rules only (RFC 3758
    /// §3.6; every second packet, else the timer), stale or not, gaps or not. RFC 3758 suggests
    /// answering a stale one at once, and gaps make DATA answered at once; but a sender may send
    /// a FORWARD-TSN for each SACK below its advanced ack point (RFC 3758 §3.5 C3), and answering
    /// each at once keeps a FORWARD-TSN/SACK exchange going without end under loss (measured with
    /// such a sender: 6 packets for each data packet with 8 KiB unreliable messages at 5% loss,
    /// against 2 this way).
    pub(crate) fn on_forward_tsn(&mut self, _now: Instant, forward: &ForwardTsn) -> Result<(), SctpError> {
        let new_cumulative = self.tracker.unwrap(forward.new_cumulative_tsn);
        self.sack.on_data(false);
        if !self.tracker.forward_to(new_cumulative) {
            return Ok(());
        }
        self.apply_due_resets()?;
        let skipped: Vec<(StreamId, u16)> =
            forward.skipped.iter().copied().filter(|&(stream, _)| stream < self.max_streams).collect();
        // Up to the FORWARD-TSN's own TSN, not the cumulative TSN it led to: what arrived past it
        // belongs to messages not abandoned.
        self.reassembly.forget_up_to(new_cumulative, &skipped);
        Ok(())
    }

    /// All chunks of one packet were handed over: decides whether its SACK goes at once or later.
    pub(crate) fn on_packet_end(&mut self, now: Instant) {
        self.sack.on_packet_end(now);
    }

    /// RFC 6525 incoming reset of `streams` (all when empty) after the peer's `senders_last_tsn`:
    /// applied once every TSN up to it arrived, then [`SctpEvent::StreamsReset`] comes out, listing
    /// the streams (every valid id when the request listed none; ids at or past `max_streams`,
    /// which hold nothing, left out). Denied when [`reassembly::MAX_HELD_ITEMS`] things are held
    /// (the owner is not polling events) or too many requests wait. Fails only when DATA held
    /// back behind it, handed over now, breaks the protocol.
    pub(crate) fn reset_incoming(
        &mut self,
        streams: &[StreamId],
        senders_last_tsn: Tsn,
    ) -> Result<IncomingReset, SctpError> {
        let mut streams: Vec<StreamId> = if streams.is_empty() {
            (0..self.max_streams).collect()
        } else {
            streams.iter().copied().filter(|&stream| stream < self.max_streams).collect()
        };
        streams.sort_unstable();
        streams.dedup();
        if streams.is_empty() {
            return Ok(IncomingReset::Performed);
        }
        if self.reassembly.held_items() + self.resets.held_items() >= MAX_HELD_ITEMS {
            // The owner is not taking events: a reset would only add another.
            return Ok(IncomingReset::Denied);
        }
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
        let half = self.max_receive_buffer / 2;
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

    /// When a SACK is due, if one waits: the delayed SACK's deadline, or for a SACK due at once
    /// (a window update after [`Self::poll_event`]) a time already past, so that the owner's
    /// timer fires and it polls for transmission.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.sack.deadline()
    }

    /// Makes the delayed SACK due once its deadline passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.sack.handle_timeout(now);
    }

    /// The advertised receiver window: `max_receive_buffer` minus the payload bytes held.
    pub(crate) fn a_rwnd(&self) -> u32 {
        let free = self.max_receive_buffer.saturating_sub(self.held_bytes());
        u32::try_from(free).unwrap_or(u32::MAX)
    }

    /// Payload bytes received and not yet taken by the owner.
    fn held_bytes(&self) -> usize {
        self.reassembly.held_bytes() + self.resets.held_bytes()
    }

    /// Whether a chunk of unwrapped TSN `tsn` and `payload` bytes fits within the buffer and the
    /// bound on things held (with twice the room for the chunk that moves the cumulative TSN).
    fn has_room_for(&self, tsn: u64, payload: usize) -> bool {
        let factor = if tsn == self.tracker.cumulative() + 1 { HARD_LIMIT_FACTOR } else { 1 };
        self.held_bytes() + payload <= self.max_receive_buffer.saturating_mul(factor)
            && self.reassembly.held_items() + self.resets.held_items() < MAX_HELD_ITEMS * factor
    }

    /// Applies the incoming resets whose last TSN arrived, then hands over the chunks they held
    /// back.
    fn apply_due_resets(&mut self) -> Result<(), SctpError> {
        while let Some(streams) = self.resets.take_due(self.tracker.cumulative()) {
            self.reassembly.reset_streams(streams);
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
