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
    /// A SACK goes at once.
    pub(crate) fn on_forward_tsn(&mut self, _now: Instant, forward: &ForwardTsn) -> Result<(), SctpError> {
        self.sack.request_immediate();
        let new_cumulative = self.tracker.unwrap(forward.new_cumulative_tsn);
        if !self.tracker.forward_to(new_cumulative) {
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
