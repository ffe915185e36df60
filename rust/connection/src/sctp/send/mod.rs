//! The send side of the association: the send queue and its scheduler, fragmentation, the data
//! outstanding, the retransmission timer, congestion control, fast retransmit (also during fast
//! recovery), the tail-loss probe, partial reliability (RFC 3758) and the peer's window.
//!
//! Sans-IO: the association hands in SACKs and the time, and takes DATA and FORWARD-TSN chunks
//! to bundle, and the next deadline.
//!
//! - [`send_queue`] (with [`outgoing_stream`]): messages per stream, bounded in bytes with what
//!   is outstanding (`max_send_buffer`, its last sixteenth kept for small streams), taken one
//!   message at a time, fair by bytes (start-time fair queueing) with streams holding little
//!   weighing four times more; expired in place when their lifetime ends, or an unreliable one went stale,
//!   before they start; cut into [`fragment`]s as chunks are taken.
//! - [`outstanding`]: TSNs, bytes in flight, what SACKs said of each chunk, what to retransmit,
//!   what was abandoned and the FORWARD-TSN that skips it.
//! - [`rto`]: the retransmission timeout (RFC 9260 §6.3.1); [`congestion`]: the window (§7.2),
//!   which tells random loss from congestion by the queueing delay [`queue_delay`] measures.
//!
//! Where it goes past RFC 9260 for game speed, each a documented choice:
//! - A chunk is reported missing only by SACKs of chunks sent after it (ordered by
//!   transmission, not TSN), so a retransmission lost again is fast-retransmitted again during
//!   recovery; and one overtaken by a chunk sent a reorder window (SRTT/4) later is lost at once
//!   (RACK, RFC 8985), so sparse traffic does not wait for three more packets.
//! - A tail-loss probe (RFC 8985 §7) after about two SRTTs of silence, and while its SACK does
//!   not come, up to [`MAX_UNANSWERED_PROBES`] more, each waiting twice the one before (as QUIC's
//!   probe timeout backs off, RFC 9002 §6.2), before the T3-rtx timer: on a short path the RTO's
//!   400 ms floor is hundreds of round trips, and a probe lost, or its SACK, cost a whole RTO
//!   (one in five probes at 10 % loss each way). Each probe asks for an immediate SACK.
//! - The I bit (RFC 7053) on a retransmission that leaves nothing else to send, as on new data.
//! - The handshake's round trip is the first RTT sample ([`SendSide::seed_rtt`]), so the probe
//!   and the RTO work from the first window instead of the initial RTO.
//! - The I bit (RFC 7053) on the last chunk before the queue runs dry.
//! - Only losses that cost a retransmission shrink the congestion window: a chunk given up
//!   (RFC 3758) adds nothing to the path; an unreliable stream loses what the network loses
//!   instead of queueing behind a shrunken window. Abandoned chunks still count in flight until
//!   acknowledged or found lost.
//! - A loss halves the congestion window only when the RTT shows a standing queue; else it is
//!   taken as random (a game's loss rarely is congestion): see [`congestion`].
//! - A fast retransmission found spurious (the peer reports the chunk twice: it was reordered)
//!   gives back the window it cut (RFC 4015's Eifel response).
//! - The FORWARD-TSN also passes messages the peer has whole, so one skips every hole; while
//!   pending it rides along with outgoing DATA, and goes alone again only on a SACK a round trip
//!   after it (not on every SACK).
//! - A message whose lifetime ends after it started finishes its first transmission (cut
//!   short, the part sent would be wasted, and under congestion nearly every message would be);
//!   nothing of it is retransmitted past its lifetime.
//! - T3-rtx backs off to at most 3 s (dcSCTP's cap in WebRTC).

mod acked_ranges;
mod congestion;
mod fragment;
mod outgoing_stream;
mod outstanding;
mod queue_delay;
mod rto;
mod send_queue;

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use super::{SctpConfig, SctpError, SendOptions, StreamId};
use crate::sctp::serial::{narrow, widen, widen_initial, WideTsn};
use congestion::CongestionControl;
use fragment::{encoded_data_chunk_len, MessageId, DATA_CHUNK_HEADER};
use outstanding::OutstandingData;
use rto::RetransmissionTimeout;
use send_queue::SendQueue;

/// The most gap ack blocks of one SACK that are read; the rest are ignored (a SACK in a
/// 1200-byte packet holds fewer than 300).
const MAX_GAP_BLOCKS: usize = 1024;

/// The most chunks outstanding (sent and not cumulatively acknowledged, gap-acknowledged ones
/// included); new data waits past it. Bounds the bookkeeping whatever the peer's SACKs say (one
/// that gap-acknowledges everything but the first TSN never lets the cumulative TSN move), and
/// stays well within what a SACK's 16-bit gap offsets can describe.
const MAX_OUTSTANDING_CHUNKS: usize = 16_384;

/// The most duplicate TSNs of one SACK looked at (for a spurious fast retransmission).
const MAX_DUPLICATES_READ: usize = 64;

/// The least payload worth cutting a message's fragment to when a packet has little room left:
/// a smaller piece waits for the next packet.
const MIN_FRAGMENT: usize = 256;

/// The least reordering tolerated before a chunk overtaken by a later one counts as lost (RACK's
/// window is a quarter of the RTT, RFC 8985 §6.2).
const MIN_REORDER_WINDOW: Duration = Duration::from_millis(2);

/// The least wait of the tail-loss probe.
const MIN_PROBE_TIMEOUT: Duration = Duration::from_millis(10);

/// How many tail-loss probes go in a row while no SACK acknowledges anything, each after twice
/// the wait of the one before; then only the T3-rtx timer is left. Five probes from a 10 ms wait
/// span 310 ms, within the RTO's 400 ms floor; on a long path the T3-rtx timer comes first and
/// the later probes are not armed.
const MAX_UNANSWERED_PROBES: u32 = 5;

/// The longest the T3-rtx timer backs off to while data is outstanding, unless the RTO itself is
/// longer: dcSCTP's `max_timer_backoff_duration` as WebRTC sets it. Without it, a few losses in a
/// row leave an established association silent for tens of seconds.
const MAX_TIMER_BACKOFF: Duration = Duration::from_secs(3);

/// The initial congestion window, in MTUs: 10, as dcSCTP and TCP (RFC 6928) use, over RFC 9260's
/// 4404 bytes.
const INITIAL_CWND_MTUS: usize = 10;

/// What the send side did, counted since it began (for the association's stats and for tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SendStats {
    /// DATA chunks sent for the first time.
    pub(crate) chunks_sent: u64,
    /// DATA chunks sent again (fast retransmit, T3-rtx, tail-loss probe).
    pub(crate) retransmissions: u64,
    /// SACKs that marked chunks for fast retransmission.
    pub(crate) fast_retransmits: u64,
    /// T3-rtx timer expiries.
    pub(crate) timeouts: u64,
    /// Tail-loss probes fired.
    pub(crate) tail_probes: u64,
    /// Messages abandoned (RFC 3758), in flight or in the queue once started.
    pub(crate) abandoned: u64,
    /// Messages dropped from the queue before they started: their lifetime ended, or they went
    /// stale (see `send_queue`).
    pub(crate) expired: u64,
    /// Fast retransmissions found spurious (the peer reported the chunk twice), their window
    /// reduction undone.
    pub(crate) spurious_retransmits: u64,
    /// Fast recoveries that cut the congestion window: the path showed a standing queue.
    pub(crate) window_reductions: u64,
    /// Fast recoveries whose loss was taken as random (no standing queue): the window stayed.
    pub(crate) random_losses: u64,
}

/// The association's send side.
#[derive(Debug)]
pub(crate) struct SendSide {
    /// What it did.
    stats: SendStats,
    /// The path MTU: the congestion window's unit.
    mtu: usize,
    /// The most payload of one DATA chunk.
    max_data_payload: usize,
    /// How long the peer may hold the SACK of a lone packet: ours, `delayed_sack_max` (RFC 9260
    /// allows up to 200 ms, and WebRTC's stacks use that).
    peer_delayed_sack: Duration,
    queue: SendQueue,
    outstanding: OutstandingData,
    congestion: CongestionControl,
    rto: RetransmissionTimeout,
    /// The peer's receive window as last advertised, less what was sent since (RFC 9260 §6.2.1).
    peer_rwnd: usize,
    /// When the T3-rtx timer expires.
    t3_rtx: Option<Instant>,
    /// T3-rtx expiries since the cumulative TSN last moved: the timer's backoff.
    consecutive_timeouts: u32,
    /// When the tail-loss probe goes.
    tail_probe: Option<Instant>,
    /// Tail-loss probes sent since a SACK last acknowledged anything: the next one waits
    /// 2^this times as long, and none goes past [`MAX_UNANSWERED_PROBES`].
    unanswered_probes: u32,
    /// The last chunk sent carried the I bit: its SACK comes without delay.
    last_chunk_asked_sack: bool,
    /// A probe is due: the next chunk (retransmission or new) goes whatever the windows say,
    /// with the I bit.
    probe_due: bool,
    /// Bytes that may be retransmitted past the congestion window after a fast retransmit (one
    /// packet, RFC 9260 §7.2.4 rule 3).
    fast_retransmit_allowance: usize,
    /// The TSN whose fast retransmission started the current window reduction: a duplicate
    /// report of it shows that the original had only been reordered.
    reduction_trigger: Option<WideTsn>,
    /// A FORWARD-TSN is to be sent.
    forward_tsn_due: bool,
    /// The new cumulative TSN of the last FORWARD-TSN sent, and when.
    forward_tsn_sent: Option<(Tsn, Instant)>,
}

impl SendSide {
    /// A send side whose first DATA chunk takes `initial_tsn`, for a peer advertising
    /// `peer_a_rwnd` bytes of window.
    pub(crate) fn new(initial_tsn: Tsn, peer_a_rwnd: u32, config: &SctpConfig) -> Self {
        Self {
            stats: SendStats::default(),
            mtu: config.mtu,
            max_data_payload: config.max_data_payload,
            peer_delayed_sack: config.delayed_sack_max,
            queue: SendQueue::new(config.max_send_buffer, config.max_message_size),
            outstanding: OutstandingData::new(widen_initial(initial_tsn)),
            congestion: CongestionControl::new(config.mtu, INITIAL_CWND_MTUS, peer_a_rwnd),
            rto: RetransmissionTimeout::new(config.rto_initial, config.rto_min, config.rto_max),
            peer_rwnd: usize::try_from(peer_a_rwnd).unwrap_or(usize::MAX),
            t3_rtx: None,
            consecutive_timeouts: 0,
            tail_probe: None,
            unanswered_probes: 0,
            last_chunk_asked_sack: false,
            probe_due: false,
            fast_retransmit_allowance: 0,
            reduction_trigger: None,
            forward_tsn_due: false,
            forward_tsn_sent: None,
        }
    }

    /// Queues a message; it is cut into DATA chunks as [`Self::poll_data`] takes them. Fails when
    /// the message is empty or too large, its stream is being reset, or the data queued and not
    /// yet acknowledged would pass `max_send_buffer` bytes.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        stream: StreamId,
        ppid: u32,
        data: Bytes,
        options: SendOptions,
    ) -> Result<(), SctpError> {
        self.queue.enqueue(now, stream, ppid, data, options, self.outstanding.held_bytes())
    }

    /// Cuts new DATA chunks for packets of `mtu` bytes from now on (`max_data_payload` of
    /// payload at most): the path changed. Chunks already cut keep their size (a TSN's chunk is
    /// never cut again), so a retransmission of a larger one goes alone in a larger packet.
    pub(crate) fn set_mtu(&mut self, mtu: usize, max_data_payload: usize) {
        self.mtu = mtu.max(1);
        self.max_data_payload = max_data_payload.max(1);
        self.congestion.set_mtu(self.mtu);
    }

    /// Bytes queued on `stream` and not yet sent (the data channel's `bufferedAmount`).
    pub(crate) fn buffered_amount(&self, stream: StreamId) -> usize {
        self.queue.buffered_amount(stream)
    }

    /// Bytes queued on the whole association and not yet sent.
    pub(crate) fn total_buffered(&self) -> usize {
        self.queue.total_buffered()
    }

    /// The next DATA chunk for the packet being built, whose encoding fits `room` bytes:
    /// retransmissions first, then new data, within the congestion window and the peer's window.
    /// None when nothing may go now.
    pub(crate) fn poll_data(&mut self, now: Instant, room: usize) -> Option<DataChunk> {
        self.expire_queue(now);
        if room < encoded_data_chunk_len(1) {
            return None;
        }
        // The congestion window is open while less than it is in flight (RFC 9260 §6.1 rule B:
        // the last chunk may pass it by less than one MTU); a probe or the packet after a fast
        // retransmit may go past it.
        let in_flight = self.outstanding.in_flight();
        let cwnd_open = in_flight < self.congestion.cwnd();
        if self.outstanding.has_retransmissions() {
            // Retransmissions keep within the window (after a T3-rtx timeout: one packet,
            // RFC 9260 §6.3.3 E3), unless nothing is in flight.
            let past_cwnd = self.probe_due || self.fast_retransmit_allowance > 0 || in_flight == 0;
            let room = if past_cwnd { room } else { room.min(self.congestion.cwnd().saturating_sub(in_flight)) };
            // The I bit when this is the last chunk to go (RFC 7053): without it the peer may hold
            // the SACK of a lone retransmission, and the tail-loss probe must allow for that.
            let last = self.outstanding.pending_retransmissions() == 1 && self.queue.is_empty();
            let chunk = self.outstanding.take_retransmission(now, room, self.probe_due || last)?;
            self.last_chunk_asked_sack = chunk.immediate_sack;
            self.stats.retransmissions += 1;
            let len = encoded_data_chunk_len(chunk.payload.len());
            self.fast_retransmit_allowance = self.fast_retransmit_allowance.saturating_sub(len);
            self.after_sending(now, len);
            return Some(chunk);
        }
        // New data: within the congestion window, and the peer's window unless nothing is in
        // flight (the zero window probe, RFC 9260 §6.1 rule A).
        let peer_window_open = self.peer_rwnd > 0 || in_flight == 0;
        if !(self.probe_due || (cwnd_open && peer_window_open)) || self.outstanding.len() >= MAX_OUTSTANDING_CHUNKS {
            return None;
        }
        let max_payload = self.max_data_payload.min((room - DATA_CHUNK_HEADER) & !3);
        let fragment = self.queue.produce(max_payload, MIN_FRAGMENT.min(self.max_data_payload))?;
        let len = fragment.encoded_len();
        // The I bit (RFC 7053) on a probe, and on the last chunk before the queue runs dry: the
        // peer acknowledges the tail at once instead of holding a lone packet's SACK, so the RTT
        // is measured on sparse traffic and the tail-loss probe needs no delayed-SACK margin.
        let immediate_sack = self.probe_due || self.queue.is_empty();
        let chunk = self.outstanding.insert(now, fragment, immediate_sack);
        self.last_chunk_asked_sack = immediate_sack;
        self.stats.chunks_sent += 1;
        self.after_sending(now, len);
        Some(chunk)
    }

    /// Bookkeeping after a chunk of `len` encoded bytes went out.
    fn after_sending(&mut self, now: Instant, len: usize) {
        self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
        self.probe_due = false;
        if self.t3_rtx.is_none() {
            self.t3_rtx = Some(now + self.t3_duration());
        }
        self.arm_tail_probe(now);
    }

    /// Takes a SACK (RFC 9260 §6.2.1). One that is older than the last, acknowledges what was
    /// never sent, or carries malformed gap blocks is ignored.
    pub(crate) fn on_sack(&mut self, now: Instant, sack: &Sack) {
        let cumulative_before = self.outstanding.cumulative_tsn();
        let cumulative = widen(cumulative_before, sack.cumulative_tsn);
        let next_tsn = self.outstanding.next_tsn();
        if cumulative < cumulative_before || cumulative >= next_tsn {
            return;
        }
        let mut gaps = Vec::with_capacity(sack.gaps.len().min(MAX_GAP_BLOCKS));
        let mut last_end = cumulative;
        for gap in sack.gaps.iter().take(MAX_GAP_BLOCKS) {
            let (start, end) = (cumulative + WideTsn::from(gap.start), cumulative + WideTsn::from(gap.end));
            if start <= last_end || end < start || end >= next_tsn {
                return;
            }
            gaps.push((start, end));
            last_end = end;
        }

        let flight_before = self.outstanding.in_flight();
        let reorder_window = self.rto.srtt().map(|srtt| (srtt / 4).max(MIN_REORDER_WINDOW));
        let outcome =
            self.outstanding.on_sack(now, cumulative, &gaps, self.congestion.in_fast_recovery(), reorder_window);
        if let Some(rtt) = outcome.rtt {
            self.rto.observe(rtt);
            self.congestion.on_rtt(now, rtt);
        }
        self.discard_abandoned(now, &outcome.abandoned);
        self.congestion.on_sack(cumulative, outcome.acked_bytes, flight_before, self.outstanding.in_flight());
        // One packet of the fast retransmissions goes whatever the window (RFC 9260 §7.2.4 rule
        // 3), right after this SACK.
        self.fast_retransmit_allowance = 0;
        // Both copies of the chunk whose fast retransmission cut the window arrived: it was
        // reordered, not lost, and the cut is undone.
        if let Some(trigger) = self.reduction_trigger {
            if sack.duplicates.iter().take(MAX_DUPLICATES_READ).any(|&tsn| widen(cumulative, tsn) == trigger) {
                self.congestion.undo_fast_retransmit();
                self.reduction_trigger = None;
                self.stats.spurious_retransmits += 1;
            }
        }
        if outcome.loss {
            self.stats.fast_retransmits += 1;
            if !self.congestion.in_fast_recovery() {
                self.reduction_trigger = outcome.first_lost;
            }
            self.congestion.on_fast_retransmit(self.outstanding.next_tsn() - 1);
            self.fast_retransmit_allowance = self.mtu;
        }
        let a_rwnd = usize::try_from(sack.a_rwnd).unwrap_or(usize::MAX);
        self.peer_rwnd = a_rwnd.saturating_sub(self.outstanding.in_flight());

        // T3-rtx (RFC 9260 §6.3.2 R2, R3): stopped when nothing is outstanding, restarted when
        // the cumulative TSN moves.
        if outcome.cumulative_advanced {
            self.consecutive_timeouts = 0;
        }
        if self.outstanding.is_empty() {
            self.t3_rtx = None;
        } else if outcome.cumulative_advanced || self.t3_rtx.is_none() {
            self.t3_rtx = Some(now + self.t3_duration());
        }
        if outcome.acked_bytes > 0 {
            self.unanswered_probes = 0;
        }
        self.tail_probe = None;
        self.arm_tail_probe(now);
        self.probe_due = false;
        // RFC 3758 §3.5 C3: while the Advanced.Peer.Ack.Point is past the peer's cumulative TSN,
        // a FORWARD-TSN goes: when the point moved, or again when this SACK left the peer time
        // to act on the last one (not on every SACK: those sent before it arrived say nothing).
        if let Some(forward) = self.outstanding.forward_tsn() {
            let srtt = self.rto.srtt().unwrap_or(self.rto.rto());
            let answer_time = srtt + (srtt / 4).max(MIN_REORDER_WINDOW);
            self.forward_tsn_due |= self
                .forward_tsn_sent
                .is_none_or(|(tsn, sent_at)| tsn != forward.new_cumulative_tsn || now >= sent_at + answer_time);
        }
    }

    /// The FORWARD-TSN to bundle now, if one is due: it skips the abandoned messages at the front.
    /// A pending FORWARD-TSN also rides along whenever DATA is about to go: it costs a few bytes
    /// there, and a lost one would otherwise hold an ordered stream back until a SACK shows it.
    pub(crate) fn poll_forward_tsn(&mut self, now: Instant) -> Option<ForwardTsn> {
        self.expire_queue(now);
        // Riding along goes once per instant at most: it must never make a packet by itself.
        let rides_along = self.data_would_go() && self.forward_tsn_sent.is_none_or(|(_, at)| at != now);
        if !(self.forward_tsn_due || rides_along) {
            return None;
        }
        self.forward_tsn_due = false;
        let forward = self.outstanding.forward_tsn()?;
        self.forward_tsn_sent = Some((forward.new_cumulative_tsn, now));
        Some(forward)
    }

    /// Whether [`Self::poll_data`] would give a chunk now, given room for it.
    fn data_would_go(&self) -> bool {
        let in_flight = self.outstanding.in_flight();
        let cwnd_open = in_flight < self.congestion.cwnd();
        if self.outstanding.has_retransmissions() {
            return cwnd_open || self.fast_retransmit_allowance > 0 || self.probe_due || in_flight == 0;
        }
        let peer_window_open = self.peer_rwnd > 0 || in_flight == 0;
        !self.queue.is_empty()
            && (self.probe_due || (cwnd_open && peer_window_open))
            && self.outstanding.len() < MAX_OUTSTANDING_CHUNKS
    }

    /// When [`Self::handle_timeout`] is next due: the T3-rtx timer, the tail-loss probe or a
    /// queued message's expiry.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.t3_rtx, self.tail_probe, self.queue.next_expiry()].into_iter().flatten().min()
    }

    /// Runs what is due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.expire_queue(now);
        if self.t3_rtx.is_some_and(|at| at <= now) {
            self.on_retransmission_timeout(now);
        } else if self.tail_probe.is_some_and(|at| at <= now) {
            self.on_tail_probe(now);
        }
    }

    /// The T3-rtx timer expired (RFC 9260 §6.3.3): back off, one MTU of window (when data was in
    /// flight), everything in flight to be retransmitted (or abandoned), the FORWARD-TSN again if
    /// one is pending.
    fn on_retransmission_timeout(&mut self, now: Instant) {
        self.consecutive_timeouts = self.consecutive_timeouts.saturating_add(1);
        self.stats.timeouts += 1;
        // Only when data was in flight did the network lose anything of ours; a timeout with
        // nothing in flight waits for the FORWARD-TSN's acknowledgement, and sends it again.
        if self.outstanding.in_flight() > 0 || self.outstanding.has_retransmissions() {
            self.congestion.on_retransmission_timeout();
            self.reduction_trigger = None;
        }
        self.resend_all(now);
    }

    /// Our packets now take another path (a fall-back to the relay after the direct pair went
    /// silent): what is in flight was most likely lost on the old path, so it all goes again now
    /// on the new one, as RFC 9260 §6.4 sends retransmissions to another destination, without
    /// the timeout's backoff or window cut (the new path has not shown any congestion); the
    /// timer restarts from the unbacked-off RTO.
    pub(crate) fn on_path_change(&mut self, now: Instant) {
        if self.outstanding.is_empty() {
            return;
        }
        self.consecutive_timeouts = 0;
        self.resend_all(now);
    }

    /// Marks everything in flight for retransmission (dropping what expired), and restarts the
    /// timers and probes from there.
    fn resend_all(&mut self, now: Instant) {
        let abandoned = self.outstanding.mark_all_for_retransmission(now);
        self.discard_abandoned(now, &abandoned);
        self.fast_retransmit_allowance = 0;
        self.probe_due = false;
        self.tail_probe = None;
        self.unanswered_probes = 0;
        self.t3_rtx = (!self.outstanding.is_empty()).then(|| now + self.t3_duration());
        if self.outstanding.forward_tsn().is_some() {
            self.forward_tsn_due = true;
        }
    }

    /// The tail-loss probe fired: nothing was heard for about two RTTs (or, after a probe, twice
    /// the last wait). One chunk goes past the windows with the I bit: new data if any waits, else
    /// a chunk in flight again (see `OutstandingData::mark_for_tail_probe`).
    fn on_tail_probe(&mut self, now: Instant) {
        self.tail_probe = None;
        self.unanswered_probes += 1;
        self.stats.tail_probes += 1;
        if self.queue.is_empty() && !self.outstanding.mark_for_tail_probe(now) {
            return;
        }
        self.probe_due = true;
    }

    /// Arms (or pushes back) the tail-loss probe when data is in flight, the RTT is known and
    /// fewer than [`MAX_UNANSWERED_PROBES`] probes went since the last acknowledgement: two
    /// smoothed RTTs from now, doubled for each unanswered probe, plus the peer's delayed SACK
    /// when a lone packet is in flight that did not ask for an immediate SACK (RFC 8985 §7.2).
    fn arm_tail_probe(&mut self, now: Instant) {
        self.tail_probe = None;
        let Some(srtt) = self.rto.srtt() else { return };
        if self.outstanding.in_flight() == 0 || self.unanswered_probes >= MAX_UNANSWERED_PROBES {
            return;
        }
        let mut timeout = (srtt * 2).max(MIN_PROBE_TIMEOUT) * (1 << self.unanswered_probes);
        if self.outstanding.single_packet_in_flight(self.mtu) && !self.last_chunk_asked_sack {
            timeout += self.peer_delayed_sack;
        }
        let at = now + timeout;
        // A probe after the T3-rtx timer would be pointless.
        if self.t3_rtx.is_none_or(|t3| at < t3) {
            self.tail_probe = Some(at);
        }
    }

    /// The T3-rtx timer's duration: the RTO doubled per expiry in a row, capped at
    /// `max_timer_backoff` (unless the RTO itself is longer) and at `rto_max`.
    fn t3_duration(&self) -> Duration {
        let rto = self.rto.rto();
        let factor = 1u32 << self.consecutive_timeouts.min(16);
        let cap = MAX_TIMER_BACKOFF.max(rto).min(self.rto.max());
        rto.saturating_mul(factor).min(cap)
    }

    /// Drops messages whose lifetime ended (or that went stale) before they were started.
    fn expire_queue(&mut self, now: Instant) {
        self.stats.expired += self.queue.expire(now);
    }

    /// The outstanding data abandoned these messages: what is left of them in the queue goes,
    /// and a started one's placeholder takes its end's TSN.
    fn discard_abandoned(&mut self, now: Instant, abandoned: &[(StreamId, MessageId)]) {
        for &(stream, message) in abandoned {
            if let Some(placeholder) = self.queue.discard(stream, message) {
                self.outstanding.insert_abandoned(now, placeholder);
            }
        }
        self.stats.abandoned += abandoned.len() as u64;
    }

    /// Starts an outgoing stream reset (RFC 6525): the stream takes no new message; what is
    /// queued still goes.
    pub(crate) fn pause_stream(&mut self, stream: StreamId) {
        self.queue.start_reset(stream);
    }

    /// Whether `stream`, paused, has sent everything that was queued on it: its reset request
    /// may go.
    pub(crate) fn is_stream_drained(&self, stream: StreamId) -> bool {
        self.queue.is_drained(stream)
    }

    /// Completes the outgoing reset of `streams`: their SSNs start again at 0 and they take
    /// messages again. Returns the last TSN assigned, the "sender's last assigned TSN" of the
    /// reset request.
    pub(crate) fn reset_outgoing(&mut self, streams: &[StreamId]) -> Tsn {
        self.queue.finish_reset(streams);
        narrow(self.outstanding.next_tsn() - 1)
    }

    /// Takes the handshake's round trip (INIT to INIT-ACK, or INIT-ACK to COOKIE-ECHO) as the
    /// first RTT measurement, so that the tail-loss probe and the RTO work from the first window
    /// instead of waiting for the initial RTO. The caller follows Karn's rule (no sample from a
    /// retransmitted INIT or cookie).
    pub(crate) fn seed_rtt(&mut self, now: Instant, rtt: Duration) {
        if self.rto.srtt().is_none() {
            self.rto.observe(rtt);
            self.congestion.on_rtt(now, rtt);
        }
    }

    /// The current retransmission timeout.
    pub(crate) fn rto(&self) -> Duration {
        self.rto.rto()
    }

    /// The smoothed RTT, once measured.
    pub(crate) fn smoothed_rtt(&self) -> Option<Duration> {
        self.rto.srtt()
    }

    /// T3-rtx expiries in a row without the cumulative TSN moving: the association gives up
    /// past its limit (RFC 9260 §8.1 Association.Max.Retrans).
    pub(crate) fn consecutive_timeouts(&self) -> u32 {
        self.consecutive_timeouts
    }

    /// What it did so far.
    pub(crate) fn stats(&self) -> SendStats {
        let (window_reductions, random_losses) = self.congestion.loss_events();
        SendStats { window_reductions, random_losses, ..self.stats }
    }

    /// Bytes in flight (for stats).
    pub(crate) fn in_flight(&self) -> usize {
        self.outstanding.in_flight()
    }

    /// The congestion window (for stats).
    pub(crate) fn cwnd(&self) -> usize {
        self.congestion.cwnd()
    }
}

#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod tests;
