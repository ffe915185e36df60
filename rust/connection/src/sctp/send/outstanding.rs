//! The data sent and not yet acknowledged: TSNs given out, bytes in flight, what SACKs said of
//! each chunk (acknowledged, reported missing), what to retransmit, and what was abandoned
//! (RFC 3758) for the FORWARD-TSN to skip.
//!
//! Chunks sit in TSN order from the cumulative TSN ack point on. Gap-acknowledged chunks count as
//! delivered: the receivers we talk to never renege (RFC 9260 §6.2 allows it; dcSCTP and usrsctp
//! in WebRTC do not), and a SACK that seems to renege is not believed.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::super::chunks::{DataChunk, ForwardTsn};
use super::super::StreamId;
use super::acked_ranges::AckedRanges;
use super::fragment::{Fragment, MessageId};
use crate::sctp::serial::{narrow, WideTsn};

/// Miss indications after which a chunk is fast-retransmitted (RFC 9260 §7.2.4).
const MISSES_FOR_FAST_RETRANSMIT: u8 = 3;

/// The most streams one FORWARD-TSN names (4 bytes each): it then fits a packet with a SACK
/// beside it. When more streams have abandoned messages, the new cumulative TSN stops short and
/// the next FORWARD-TSN goes on.
pub(super) const MAX_FORWARD_TSN_STREAMS: usize = 128;

/// Where a chunk stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Sent, counted in flight, no news yet (or reported missing fewer than three times).
    InFlight,
    /// To be sent again; no longer counted in flight.
    ToRetransmit,
    /// Acknowledged by a gap ack block.
    Acked,
    /// Given up (RFC 3758): skipped by the next FORWARD-TSN.
    Abandoned,
    /// Given up while in flight: skipped by the next FORWARD-TSN, and still counted in flight
    /// until acknowledged or found lost, since it still takes its share of the path (else each
    /// abandonment would open the congestion window).
    AbandonedInFlight,
}

/// One chunk sent and not cumulatively acknowledged.
#[derive(Clone, Debug)]
struct Item {
    fragment: Fragment,
    state: State,
    /// When it was last sent.
    sent_at: Instant,
    /// How many times it was sent.
    transmissions: u32,
    /// Miss indications since it was last sent.
    misses: u8,
    /// The order of its last transmission among all transmissions. A SACK counts a miss for it
    /// only when it newly acknowledges a chunk whose transmission came later: for a first
    /// transmission that is RFC 9260's HTNA rule (TSNs go out in order); for a retransmission,
    /// only chunks sent after it can report it lost again (as RACK, RFC 8985, orders by time).
    sent_order: u64,
}

/// What one SACK did to the outstanding data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct SackOutcome {
    /// Whether the cumulative TSN ack point moved.
    pub(super) cumulative_advanced: bool,
    /// Bytes (as encoded chunks) acknowledged for the first time, by the cumulative TSN or gaps.
    pub(super) acked_bytes: usize,
    /// An RTT measured from a newly acknowledged chunk sent only once (Karn's rule).
    pub(super) rtt: Option<Duration>,
    /// Whether chunks in flight were found lost and marked for fast retransmission: a congestion
    /// signal (chunks found lost and abandoned are not one, see `on_sack`).
    pub(super) loss: bool,
    /// The lowest TSN marked for fast retransmission by this SACK.
    pub(super) first_lost: Option<WideTsn>,
    /// Messages abandoned by this SACK's processing (a chunk that was to be retransmitted had
    /// spent its retransmissions or lifetime): their unsent rest is dropped from the send queue.
    pub(super) abandoned: Vec<(StreamId, MessageId)>,
}

/// The chunks sent and not cumulatively acknowledged.
#[derive(Clone, Debug)]
pub(super) struct OutstandingData {
    /// `items[i]` has TSN `cumulative + 1 + i`.
    items: VecDeque<Item>,
    cumulative: WideTsn,
    in_flight: usize,
    to_retransmit: usize,
    /// Payload bytes of all the items.
    held: usize,
    /// The order the next transmission takes.
    next_order: u64,
    /// No chunk below this TSN waits for retransmission.
    retransmit_hint: WideTsn,
    /// The TSNs gap ack blocks acknowledged (each chunk there is `Acked` or `Abandoned`).
    gap_acked: AckedRanges,
    /// The last SACK taken (cumulative TSN, gap blocks): one repeating it changes nothing.
    last_sack: Option<(WideTsn, Vec<(WideTsn, WideTsn)>)>,
}

impl OutstandingData {
    /// Nothing outstanding; the first chunk sent takes `first_tsn`.
    pub(super) fn new(first_tsn: WideTsn) -> Self {
        Self {
            items: VecDeque::new(),
            cumulative: first_tsn - 1,
            in_flight: 0,
            to_retransmit: 0,
            held: 0,
            next_order: 0,
            retransmit_hint: first_tsn,
            gap_acked: AckedRanges::default(),
            last_sack: None,
        }
    }

    /// The cumulative TSN ack point: everything up to it was acknowledged.
    pub(super) fn cumulative_tsn(&self) -> WideTsn {
        self.cumulative
    }

    /// The TSN the next new chunk takes.
    pub(super) fn next_tsn(&self) -> WideTsn {
        self.cumulative + 1 + self.items.len() as WideTsn
    }

    /// Bytes in flight (encoded chunks sent and neither acknowledged, nor abandoned, nor waiting
    /// for retransmission).
    pub(super) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Checks the running totals against the chunks (tests only).
    #[cfg(test)]
    pub(super) fn assert_consistent(&self) {
        let in_flight: usize = self
            .items
            .iter()
            .filter(|item| matches!(item.state, State::InFlight | State::AbandonedInFlight))
            .map(|item| item.fragment.encoded_len())
            .sum();
        let to_retransmit = self.items.iter().filter(|item| item.state == State::ToRetransmit).count();
        let held: usize = self.items.iter().map(|item| item.fragment.payload.len()).sum();
        assert_eq!((self.in_flight, self.to_retransmit, self.held), (in_flight, to_retransmit, held));
        let first_to_retransmit = self.items.iter().position(|item| item.state == State::ToRetransmit);
        assert!(first_to_retransmit.is_none_or(|index| self.cumulative + 1 + index as WideTsn >= self.retransmit_hint));
    }

    /// How many chunks are not cumulatively acknowledged yet.
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether any chunk is not cumulatively acknowledged yet (abandoned ones included: they wait
    /// for the FORWARD-TSN to be acknowledged).
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Payload bytes sent and not cumulatively acknowledged: what the send buffer still holds
    /// of them.
    pub(super) fn held_bytes(&self) -> usize {
        self.held
    }

    /// Whether chunks wait to be retransmitted.
    pub(super) fn has_retransmissions(&self) -> bool {
        self.to_retransmit > 0
    }

    /// How many chunks wait to be retransmitted.
    pub(super) fn pending_retransmissions(&self) -> usize {
        self.to_retransmit
    }

    /// Gives `fragment` the next TSN and counts it in flight; returns its DATA chunk.
    pub(super) fn insert(&mut self, now: Instant, fragment: Fragment, immediate_sack: bool) -> DataChunk {
        let tsn = self.next_tsn();
        let chunk = fragment.to_chunk(narrow(tsn), immediate_sack);
        self.in_flight += fragment.encoded_len();
        self.held += fragment.payload.len();
        self.items.push_back(Item {
            fragment,
            state: State::InFlight,
            sent_at: now,
            transmissions: 1,
            misses: 0,
            sent_order: self.next_order,
        });
        self.next_order += 1;
        chunk
    }

    /// Gives a never-sent placeholder (see `OutgoingStream::remove`) the next TSN, abandoned.
    pub(super) fn insert_abandoned(&mut self, now: Instant, placeholder: Fragment) {
        self.held += placeholder.payload.len();
        self.items.push_back(Item {
            fragment: placeholder,
            state: State::Abandoned,
            sent_at: now,
            transmissions: 0,
            misses: 0,
            sent_order: self.next_order,
        });
        self.next_order += 1;
    }

    /// Takes the first chunk waiting for retransmission whose encoded size fits `room`, and
    /// counts it in flight again.
    pub(super) fn take_retransmission(&mut self, now: Instant, room: usize, immediate_sack: bool) -> Option<DataChunk> {
        if self.to_retransmit == 0 {
            return None;
        }
        // Nothing below the hint waits for retransmission: the scan starts there, so a timeout
        // that marks thousands of chunks costs no more than one pass to send them all.
        let start = self.retransmit_hint.saturating_sub(self.cumulative + 1) as usize;
        let first = start + self.items.range(start..).position(|item| item.state == State::ToRetransmit)?;
        self.retransmit_hint = self.cumulative + 1 + first as WideTsn;
        let index = first
            + self
                .items
                .range(first..)
                .position(|item| item.state == State::ToRetransmit && item.fragment.encoded_len() <= room)?;
        let tsn = self.cumulative + 1 + index as WideTsn;
        let item = self.items.get_mut(index)?;
        item.state = State::InFlight;
        item.sent_at = now;
        item.transmissions += 1;
        item.misses = 0;
        item.sent_order = self.next_order;
        self.next_order += 1;
        self.in_flight += item.fragment.encoded_len();
        self.to_retransmit -= 1;
        Some(item.fragment.to_chunk(narrow(tsn), immediate_sack))
    }

    /// Applies a SACK already checked by the caller: `cumulative` is within
    /// `[cumulative_tsn(), next_tsn())`, `gaps` are absolute TSN ranges, increasing, disjoint,
    /// above `cumulative` and below `next_tsn()`. With a `reorder_window` (once the RTT is
    /// known), a chunk reported missing that was sent at least that long before a chunk this SACK
    /// newly acknowledges is lost at once (RACK, RFC 8985 §6.2): sparse traffic cannot wait for
    /// three more packets.
    pub(super) fn on_sack(
        &mut self,
        now: Instant,
        cumulative: WideTsn,
        gaps: &[(WideTsn, WideTsn)],
        in_fast_recovery: bool,
        reorder_window: Option<Duration>,
    ) -> SackOutcome {
        let mut outcome = SackOutcome::default();
        // The same SACK again (a duplicate, or a peer repeating one) finds everything it names
        // acknowledged already and newly acknowledges nothing, so counts no misses either.
        if self.last_sack.as_ref().is_some_and(|(last, last_gaps)| *last == cumulative && last_gaps == gaps) {
            return outcome;
        }
        self.last_sack = Some((cumulative, gaps.to_vec()));
        let mut rtt_from: Option<(WideTsn, Instant)> = None;
        // The latest transmission newly acknowledged, and the latest acknowledged at all.
        let mut latest_newly_acked: Option<u64> = None;
        let mut latest_acked: Option<u64> = None;
        // When the latest-sent chunk newly acknowledged was sent.
        let mut delivered_sent_at: Option<Instant> = None;
        while self.cumulative < cumulative {
            let Some(item) = self.items.pop_front() else { break };
            self.cumulative += 1;
            self.held -= item.fragment.payload.len();
            outcome.cumulative_advanced = true;
            // An abandoned chunk passed by a FORWARD-TSN says nothing of what arrived (a
            // placeholder was never even sent).
            if item.state != State::Abandoned {
                latest_acked = latest_acked.max(Some(item.sent_order));
            }
            if self.count_acked(item.state, item.fragment.encoded_len(), &mut outcome) {
                latest_newly_acked = latest_newly_acked.max(Some(item.sent_order));
                delivered_sent_at = delivered_sent_at.max(Some(item.sent_at));
                if item.transmissions == 1 {
                    rtt_from = Some((self.cumulative, item.sent_at));
                }
            }
        }
        self.gap_acked.advance_to(self.cumulative);
        // Only the chunks of each gap block not acknowledged yet.
        let mut newly_gap_acked = Vec::new();
        for &(start, end) in gaps {
            let start = start.max(self.cumulative + 1);
            if start > end {
                continue;
            }
            newly_gap_acked.extend(self.gap_acked.holes(start, end));
            self.gap_acked.insert(start, end);
        }
        for (start, end) in newly_gap_acked {
            for tsn in start..=end {
                let index = (tsn - self.cumulative - 1) as usize;
                let Some(item) = self.items.get_mut(index) else { break };
                if item.state == State::AbandonedInFlight {
                    item.state = State::Abandoned;
                    self.in_flight -= item.fragment.encoded_len();
                    continue;
                }
                let (state, len, transmissions, sent_at, order) =
                    (item.state, item.fragment.encoded_len(), item.transmissions, item.sent_at, item.sent_order);
                if state != State::Abandoned {
                    latest_acked = latest_acked.max(Some(order));
                }
                if self.count_acked(state, len, &mut outcome) {
                    if let Some(item) = self.items.get_mut(index) {
                        item.state = State::Acked;
                    }
                    latest_newly_acked = latest_newly_acked.max(Some(order));
                    delivered_sent_at = delivered_sent_at.max(Some(sent_at));
                    if transmissions == 1 && rtt_from.is_none_or(|(at, _)| at < tsn) {
                        rtt_from = Some((tsn, sent_at));
                    }
                }
            }
        }
        outcome.rtt = rtt_from.map(|(_, sent_at)| now.saturating_duration_since(sent_at));

        // Miss indications (RFC 9260 §7.2.4) for the chunks the SACK reports missing (below its
        // highest TSN): only those sent before the latest chunk it newly acknowledges (HTNA); in
        // fast recovery, a SACK that moves the cumulative TSN counts before the latest chunk it
        // acknowledges at all.
        let miss_before =
            if in_fast_recovery && outcome.cumulative_advanced { latest_acked } else { latest_newly_acked };
        if let Some(miss_before) = miss_before {
            let highest_in_sack = gaps.last().map_or(cumulative, |&(_, end)| end);
            let highest = highest_in_sack.min(self.next_tsn() - 1);
            // The chunks gap-acknowledged are no news: only those between them can miss.
            let first = self.cumulative + 1;
            let unacked = self.gap_acked.holes(first, highest);
            let indexes =
                unacked.into_iter().flat_map(|(start, end)| (start - first) as usize..=(end - first) as usize);
            for index in indexes {
                let Some(item) = self.items.get_mut(index) else { break };
                let abandoned = item.state == State::AbandonedInFlight;
                if !(item.state == State::InFlight || abandoned) || item.sent_order >= miss_before {
                    continue;
                }
                item.misses = item.misses.saturating_add(1);
                let overtaken = match (reorder_window, delivered_sent_at) {
                    (Some(window), Some(delivered)) => item.sent_at + window <= delivered,
                    _ => false,
                };
                if item.misses < MISSES_FOR_FAST_RETRANSMIT && !overtaken {
                    continue;
                }
                // Only a loss that costs a retransmission is a congestion signal: a chunk given up
                // adds nothing to the path, and an unreliable stream should lose what the network
                // loses, not wait behind a shrunken window (issue 20's seconds-late messages).
                if abandoned {
                    item.state = State::Abandoned;
                    self.in_flight -= item.fragment.encoded_len();
                } else if let Some(abandoned) = self.mark_for_retransmission(now, index) {
                    outcome.abandoned.push(abandoned);
                } else {
                    outcome.loss = true;
                    outcome.first_lost.get_or_insert(self.cumulative + 1 + index as WideTsn);
                }
            }
        }
        outcome
    }

    /// Counts a chunk in `state` of `len` encoded bytes as acknowledged now; true when that is
    /// news.
    fn count_acked(&mut self, state: State, len: usize, outcome: &mut SackOutcome) -> bool {
        match state {
            State::InFlight => self.in_flight -= len,
            State::ToRetransmit => self.to_retransmit -= 1,
            State::AbandonedInFlight => {
                self.in_flight -= len;
                return false;
            }
            State::Acked | State::Abandoned => return false,
        }
        outcome.acked_bytes += len;
        true
    }

    /// Takes the in-flight chunk at `index` out of flight (lost) and marks it for
    /// retransmission, or abandons its message when it may not be sent again; returns the
    /// abandoned message.
    fn mark_for_retransmission(&mut self, now: Instant, index: usize) -> Option<(StreamId, MessageId)> {
        let item = self.items.get_mut(index)?;
        if item.state == State::AbandonedInFlight {
            item.state = State::Abandoned;
            self.in_flight -= item.fragment.encoded_len();
            return None;
        }
        if item.state != State::InFlight {
            return None;
        }
        self.in_flight -= item.fragment.encoded_len();
        item.misses = 0;
        if !item.fragment.may_transmit(now, item.transmissions) {
            item.state = State::Abandoned;
            let message = (item.fragment.stream, item.fragment.message);
            self.abandon_around(index);
            return Some(message);
        }
        item.state = State::ToRetransmit;
        self.to_retransmit += 1;
        self.retransmit_hint = self.retransmit_hint.min(self.cumulative + 1 + index as WideTsn);
        None
    }

    /// The T3-rtx timer expired: every chunk in flight is to be retransmitted (RFC 9260 §6.3.3
    /// E3), or abandoned with its message when it may not be. Returns the abandoned messages.
    pub(super) fn mark_all_for_retransmission(&mut self, now: Instant) -> Vec<(StreamId, MessageId)> {
        let mut abandoned = Vec::new();
        for index in 0..self.items.len() {
            if let Some(message) = self.mark_for_retransmission(now, index) {
                abandoned.push(message);
            }
        }
        abandoned
    }

    /// The tail-loss probe: marks one chunk in flight that may be sent again for retransmission.
    /// When SACKs reported a hole (a chunk in flight below an acknowledged one), the lowest such
    /// chunk: it holds the cumulative TSN back, and a retransmission of it that was lost again is
    /// reported by nothing else once the window is full. Otherwise the highest chunk in flight,
    /// whose SACK reveals what of the tail was lost (RFC 8985 §7). Returns whether there was one.
    pub(super) fn mark_for_tail_probe(&mut self, now: Instant) -> bool {
        let may_go = |item: &Item| item.state == State::InFlight && item.fragment.may_transmit(now, item.transmissions);
        let highest_acked = self.items.iter().rposition(|item| item.state == State::Acked);
        let hole = highest_acked.and_then(|acked| self.items.range(..acked).position(may_go));
        match hole.or_else(|| self.items.iter().rposition(may_go)) {
            Some(index) => self.mark_for_retransmission(now, index).is_none(),
            None => false,
        }
    }

    /// Abandons the message of the chunk at `index` whole (RFC 3758 §3.5 A3): its chunks are the
    /// run of consecutive TSNs around it that belong to it (fragments of one message take
    /// consecutive TSNs).
    fn abandon_around(&mut self, index: usize) {
        let Some(message) = self.items.get(index).map(|item| item.fragment.message) else { return };
        let first = self.items.range(..index).rposition(|item| item.fragment.message != message).map_or(0, |i| i + 1);
        let mut to_retransmit = self.to_retransmit;
        for item in self.items.range_mut(first..).take_while(|item| item.fragment.message == message) {
            item.state = match item.state {
                State::InFlight | State::AbandonedInFlight => State::AbandonedInFlight,
                State::ToRetransmit => {
                    to_retransmit -= 1;
                    State::Abandoned
                }
                State::Acked | State::Abandoned => State::Abandoned,
            };
        }
        self.to_retransmit = to_retransmit;
    }

    /// The FORWARD-TSN that skips the abandoned chunks after the cumulative TSN ack point (RFC
    /// 3758 §3.5 C1-C2): its new cumulative TSN is the Advanced.Peer.Ack.Point. It also passes
    /// gap-acknowledged messages the peer has whole (every fragment acknowledged, the last one
    /// included), so that one FORWARD-TSN skips every hole in a stream of unreliable messages
    /// instead of one per round trip; never a gap-acknowledged part of a message whose rest is on
    /// its way, since the receiver drops the fragments a FORWARD-TSN passes. None when the chunk
    /// next after the cumulative TSN ack point is neither.
    pub(super) fn forward_tsn(&self) -> Option<ForwardTsn> {
        let mut skipped: BTreeMap<StreamId, u16> = BTreeMap::new();
        // Chunks passed so far, and up to the last abandoned one.
        let mut index = 0;
        let mut through_abandoned = 0;
        while let Some(item) = self.items.get(index) {
            match item.state {
                State::Abandoned | State::AbandonedInFlight => {
                    let fragment = &item.fragment;
                    if !fragment.unordered {
                        if !skipped.contains_key(&fragment.stream) && skipped.len() >= MAX_FORWARD_TSN_STREAMS {
                            break;
                        }
                        skipped.insert(fragment.stream, fragment.ssn);
                    }
                    index += 1;
                    through_abandoned = index;
                }
                State::Acked => {
                    let message = item.fragment.message;
                    let run = self.items.range(index..).take_while(|item| item.fragment.message == message);
                    let (mut len, mut whole) = (0, false);
                    for item in run {
                        if item.state != State::Acked {
                            break;
                        }
                        len += 1;
                        whole = item.fragment.ending;
                    }
                    if !whole {
                        break;
                    }
                    index += len;
                }
                State::InFlight | State::ToRetransmit => break,
            }
        }
        (through_abandoned > 0).then(|| ForwardTsn {
            new_cumulative_tsn: narrow(self.cumulative + through_abandoned as WideTsn),
            skipped: skipped.into_iter().collect(),
        })
    }

    /// Whether what is in flight fits one packet of `mtu` bytes (its SACK may be delayed).
    pub(super) fn single_packet_in_flight(&self, mtu: usize) -> bool {
        self.in_flight > 0 && self.in_flight <= mtu
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    const FIRST: WideTsn = 1 << 32;

    fn fragment(message: MessageId, stream: StreamId, ssn: u16, len: usize) -> Fragment {
        Fragment {
            message,
            stream,
            ssn,
            ppid: 53,
            unordered: false,
            beginning: true,
            ending: true,
            payload: Bytes::from(vec![0; len]),
            expires_at: None,
            max_retransmits: None,
        }
    }

    /// `count` one-chunk messages of 100 bytes (116 encoded) on stream 1, SSN = index.
    fn sent(now: Instant, count: u64) -> OutstandingData {
        let mut data = OutstandingData::new(FIRST);
        for i in 0..count {
            data.insert(now, fragment(i, 1, i as u16, 100), false);
        }
        data
    }

    #[test]
    fn the_cumulative_ack_frees_the_front_and_measures_the_rtt() {
        let now = Instant::now();
        let mut data = sent(now, 4);
        assert_eq!(data.in_flight(), 4 * 116);
        let outcome = data.on_sack(now + Duration::from_millis(30), FIRST + 1, &[], false, None);
        assert!(outcome.cumulative_advanced);
        assert_eq!(outcome.acked_bytes, 2 * 116);
        assert_eq!(outcome.rtt, Some(Duration::from_millis(30)));
        assert_eq!((data.cumulative_tsn(), data.in_flight(), data.next_tsn()), (FIRST + 1, 2 * 116, FIRST + 4));
        assert_eq!(data.held_bytes(), 200);
    }

    #[test]
    fn gap_acks_count_once_and_duplicated_sacks_change_nothing() {
        let now = Instant::now();
        let mut data = sent(now, 6);
        let first = data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 3)], false, None);
        assert!(!first.cumulative_advanced);
        assert_eq!(first.acked_bytes, 2 * 116);
        let again = data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 3)], false, None);
        assert_eq!(again.acked_bytes, 0);
        assert_eq!(data.in_flight(), 4 * 116);
        let cumulative = data.on_sack(now, FIRST + 3, &[], false, None);
        assert_eq!(cumulative.acked_bytes, 2 * 116, "gap-acked chunks are not counted twice");
    }

    #[test]
    fn sacks_naming_acknowledged_chunks_again_count_only_the_new_ones() {
        let now = Instant::now();
        let mut data = sent(now, 10);
        assert_eq!(data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 5)], false, None).acked_bytes, 4 * 116);
        // Two SACKs taking turns, each naming the chunks above again with one more or one less.
        let wider = data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 6)], false, None);
        assert_eq!(wider.acked_bytes, 2 * 116, "only the two new ends");
        let narrower = data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 5), (FIRST + 8, FIRST + 8)], false, None);
        assert_eq!(narrower.acked_bytes, 116, "only the chunk past the gap");
        data.assert_consistent();
        // The first chunk, missed by three SACKs that each newly acknowledged something later,
        // waits for retransmission; two chunks are still in flight.
        assert_eq!(data.items[0].state, State::ToRetransmit);
        assert_eq!(data.in_flight(), 2 * 116);
        assert_eq!(data.items[7].misses, 1, "only the SACK naming a chunk above it counted it missing");
        // The cumulative TSN passing the ranges drops them.
        data.on_sack(now, FIRST + 8, &[], false, None);
        assert_eq!(data.gap_acked.len(), 0);
    }

    #[test]
    fn three_misses_mark_a_chunk_for_fast_retransmission() {
        let now = Instant::now();
        let mut data = sent(now, 5);
        for (round, end) in [FIRST + 2, FIRST + 3, FIRST + 4].into_iter().enumerate() {
            let outcome = data.on_sack(now, FIRST, &[(FIRST + 2, end)], false, None);
            assert_eq!(outcome.loss, round == 2, "round {round}");
        }
        assert!(data.has_retransmissions());
        assert_eq!(data.in_flight(), 0);
        let chunk = data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(chunk.tsn, narrow(FIRST + 1));
        assert_eq!(data.in_flight(), 116);
        assert!(!data.has_retransmissions());
    }

    #[test]
    fn only_newly_acknowledged_tsns_above_a_chunk_count_as_misses() {
        let now = Instant::now();
        let mut data = sent(now, 5);
        // The same report three times: one miss (HTNA), no retransmission.
        for _ in 0..3 {
            data.on_sack(now, FIRST, &[(FIRST + 2, FIRST + 2)], false, None);
        }
        assert!(!data.has_retransmissions());
    }

    #[test]
    fn a_retransmitted_chunk_lost_again_is_retransmitted_again_by_later_sacks() {
        let now = Instant::now();
        let mut data = sent(now, 4);
        for end in [FIRST + 1, FIRST + 2, FIRST + 3] {
            data.on_sack(now, FIRST - 1, &[(FIRST + 1, end)], false, None);
        }
        let first_retransmission = data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(first_retransmission.tsn, narrow(FIRST));
        // SACKs of TSNs sent before the retransmission say nothing about it.
        for _ in 0..3 {
            assert!(!data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 3)], true, None).loss);
        }
        // Chunks sent after it arrive and it does not: lost again.
        for i in 4..7 {
            data.insert(now, fragment(i, 1, i as u16, 100), false);
        }
        let mut marked = false;
        for end in [FIRST + 4, FIRST + 5, FIRST + 6] {
            marked |= data.on_sack(now, FIRST - 1, &[(FIRST + 1, end)], true, None).loss;
        }
        assert!(marked);
        let again = data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(again.tsn, narrow(FIRST));
    }

    #[test]
    fn karn_no_rtt_from_a_retransmitted_chunk() {
        let now = Instant::now();
        let mut data = sent(now, 1);
        data.mark_all_for_retransmission(now);
        data.take_retransmission(now + Duration::from_millis(500), 1200, false).unwrap();
        let outcome = data.on_sack(now + Duration::from_millis(520), FIRST, &[], false, None);
        assert_eq!(outcome.rtt, None);
        assert_eq!(outcome.acked_bytes, 116);
    }

    #[test]
    fn a_message_past_its_retransmissions_is_abandoned_whole_and_skipped_by_forward_tsn() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        let mut first = fragment(7, 3, 5, 100);
        first.ending = false;
        first.max_retransmits = Some(0);
        let mut last = fragment(7, 3, 5, 100);
        last.beginning = false;
        last.max_retransmits = Some(0);
        data.insert(now, first, false);
        data.insert(now, last, false);
        let mut unordered = fragment(8, 4, 0, 100);
        unordered.unordered = true;
        unordered.max_retransmits = Some(0);
        data.insert(now, unordered, false);
        data.insert(now, fragment(9, 1, 0, 100), false);
        let abandoned = data.mark_all_for_retransmission(now);
        assert_eq!(abandoned, [(3, 7), (4, 8)]);
        assert_eq!(data.in_flight(), 0);
        let retransmission = data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(retransmission.tsn, narrow(FIRST + 3), "only the reliable chunk goes again");
        assert_eq!(data.take_retransmission(now, 1200, false), None);
        let forward = data.forward_tsn().unwrap();
        assert_eq!(forward.new_cumulative_tsn, narrow(FIRST + 2));
        assert_eq!(forward.skipped, [(3, 5)], "unordered messages name no SSN");
        data.on_sack(now, FIRST + 2, &[], false, None);
        assert_eq!(data.forward_tsn(), None);
    }

    #[test]
    fn forward_tsn_names_at_most_its_limit_of_streams() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        let streams = MAX_FORWARD_TSN_STREAMS as u16 + 10;
        for stream in 0..streams {
            let mut chunk = fragment(u64::from(stream), stream, 0, 10);
            chunk.max_retransmits = Some(0);
            data.insert(now, chunk, false);
        }
        data.mark_all_for_retransmission(now);
        let forward = data.forward_tsn().unwrap();
        assert_eq!(forward.skipped.len(), MAX_FORWARD_TSN_STREAMS);
        assert_eq!(forward.new_cumulative_tsn, narrow(FIRST + MAX_FORWARD_TSN_STREAMS as u64 - 1));
        data.on_sack(now, FIRST + MAX_FORWARD_TSN_STREAMS as u64 - 1, &[], false, None);
        assert_eq!(data.forward_tsn().unwrap().skipped.len(), 10, "the next FORWARD-TSN goes on");
    }

    #[test]
    fn the_tail_probe_picks_the_highest_chunk_that_may_go_again() {
        let now = Instant::now();
        let mut data = sent(now, 3);
        let mut unreliable = fragment(3, 2, 0, 100);
        unreliable.max_retransmits = Some(0);
        data.insert(now, unreliable, false);
        assert!(data.mark_for_tail_probe(now));
        assert_eq!(
            data.take_retransmission(now, 1200, true).map(|c| (c.tsn, c.immediate_sack)),
            Some((narrow(FIRST + 2), true))
        );
    }

    #[test]
    fn a_lifetime_ended_chunk_is_abandoned_instead_of_retransmitted() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        let mut chunk = fragment(1, 1, 0, 100);
        chunk.expires_at = Some(now + Duration::from_millis(100));
        data.insert(now, chunk.clone(), false);
        data.insert(now, chunk, false);
        assert!(data.mark_all_for_retransmission(now + Duration::from_millis(99)).is_empty());
        data.take_retransmission(now, 1200, false).unwrap();
        data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(data.mark_all_for_retransmission(now + Duration::from_millis(100)), [(1, 1)]);
        assert!(data.forward_tsn().is_some());
    }

    #[test]
    fn a_chunk_overtaken_by_one_sent_a_reorder_window_later_is_lost_at_once() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        data.insert(now, fragment(0, 1, 0, 100), false);
        data.insert(now + Duration::from_millis(2), fragment(1, 1, 1, 100), false);
        data.insert(now + Duration::from_millis(100), fragment(2, 1, 2, 100), false);
        let window = Some(Duration::from_millis(10));
        // Sent 2 ms apart: within the reorder window, one miss only.
        let outcome =
            data.on_sack(now + Duration::from_millis(30), FIRST - 1, &[(FIRST + 1, FIRST + 1)], false, window);
        assert!(!outcome.loss);
        // Sent 100 ms apart: lost.
        let outcome =
            data.on_sack(now + Duration::from_millis(130), FIRST - 1, &[(FIRST + 1, FIRST + 2)], false, window);
        assert!(outcome.loss);
        assert_eq!(data.take_retransmission(now, 1200, false).map(|c| c.tsn), Some(narrow(FIRST)));
    }

    #[test]
    fn forward_tsn_passes_whole_acknowledged_messages_between_abandoned_ones() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        for message in 0..5 {
            let mut chunk = fragment(message, 2, 0, 100);
            chunk.unordered = true;
            chunk.max_retransmits = Some(0);
            data.insert(now, chunk, false);
        }
        // 0, 2 and 4 lost; 1 and 3 arrived.
        data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 1), (FIRST + 3, FIRST + 3)], false, None);
        data.mark_all_for_retransmission(now);
        assert_eq!(data.forward_tsn().unwrap().new_cumulative_tsn, narrow(FIRST + 4), "all holes in one");
        // Nothing abandoned past the last acknowledged message: the FORWARD-TSN ends before it.
        let mut data = OutstandingData::new(FIRST);
        let mut lost = fragment(0, 2, 0, 100);
        lost.max_retransmits = Some(0);
        data.insert(now, lost, false);
        data.insert(now, fragment(1, 2, 1, 100), false);
        data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 1)], false, None);
        data.mark_all_for_retransmission(now);
        assert_eq!(data.forward_tsn().unwrap().new_cumulative_tsn, narrow(FIRST));
    }

    #[test]
    fn forward_tsn_stops_at_a_gap_acknowledged_chunk_whose_message_may_be_unfinished() {
        let now = Instant::now();
        let mut data = OutstandingData::new(FIRST);
        let mut unreliable = fragment(0, 2, 0, 100);
        unreliable.unordered = true;
        unreliable.max_retransmits = Some(0);
        data.insert(now, unreliable, false);
        let mut first = fragment(1, 1, 0, 100);
        first.ending = false;
        let mut last = fragment(1, 1, 0, 100);
        last.beginning = false;
        data.insert(now, first, false);
        data.insert(now, last, false);
        // The first part of message 1 arrived, its last part is in flight; chunk 0 is lost.
        data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 1)], false, None);
        data.mark_all_for_retransmission(now);
        let forward = data.forward_tsn().unwrap();
        assert_eq!(forward.new_cumulative_tsn, narrow(FIRST), "not past the acknowledged first part");
    }
}
