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
use super::fragment::{Fragment, MessageId};
use super::serial::{narrow, WideTsn};

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
    /// A SACK counts a miss for it only when it acknowledges a TSN above this one: its own TSN
    /// when first sent, the highest TSN sent at the time of its last retransmission (so that only
    /// chunks sent after the retransmission can report it lost again).
    miss_watermark: WideTsn,
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
    /// Whether chunks were newly marked for fast retransmission.
    pub(super) fast_retransmit: bool,
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
}

impl OutstandingData {
    /// Nothing outstanding; the first chunk sent takes `first_tsn`.
    pub(super) fn new(first_tsn: WideTsn) -> Self {
        Self { items: VecDeque::new(), cumulative: first_tsn - 1, in_flight: 0, to_retransmit: 0 }
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

    /// Whether any chunk is not cumulatively acknowledged yet (abandoned ones included: they wait
    /// for the FORWARD-TSN to be acknowledged).
    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether chunks wait to be retransmitted.
    pub(super) fn has_retransmissions(&self) -> bool {
        self.to_retransmit > 0
    }

    /// Gives `fragment` the next TSN and counts it in flight; returns its DATA chunk.
    pub(super) fn insert(&mut self, now: Instant, fragment: Fragment, immediate_sack: bool) -> DataChunk {
        let tsn = self.next_tsn();
        let chunk = fragment.to_chunk(narrow(tsn), immediate_sack);
        self.in_flight += fragment.encoded_len();
        self.items.push_back(Item {
            fragment,
            state: State::InFlight,
            sent_at: now,
            transmissions: 1,
            misses: 0,
            miss_watermark: tsn,
        });
        chunk
    }

    /// Takes the first chunk waiting for retransmission whose encoded size fits `room`, and
    /// counts it in flight again.
    pub(super) fn take_retransmission(&mut self, now: Instant, room: usize, immediate_sack: bool) -> Option<DataChunk> {
        if self.to_retransmit == 0 {
            return None;
        }
        let highest_sent = self.next_tsn() - 1;
        let index = self
            .items
            .iter()
            .position(|item| item.state == State::ToRetransmit && item.fragment.encoded_len() <= room)?;
        let tsn = self.cumulative + 1 + index as WideTsn;
        let item = self.items.get_mut(index)?;
        item.state = State::InFlight;
        item.sent_at = now;
        item.transmissions += 1;
        item.misses = 0;
        item.miss_watermark = highest_sent;
        self.in_flight += item.fragment.encoded_len();
        self.to_retransmit -= 1;
        Some(item.fragment.to_chunk(narrow(tsn), immediate_sack))
    }

    /// Applies a SACK already checked by the caller: `cumulative` is within
    /// `[cumulative_tsn(), next_tsn())`, `gaps` are absolute TSN ranges, increasing, disjoint,
    /// above `cumulative` and below `next_tsn()`.
    pub(super) fn on_sack(
        &mut self,
        now: Instant,
        cumulative: WideTsn,
        gaps: &[(WideTsn, WideTsn)],
        in_fast_recovery: bool,
    ) -> SackOutcome {
        let mut outcome = SackOutcome::default();
        let mut rtt_from: Option<(WideTsn, Instant)> = None;
        let mut highest_newly_acked: Option<WideTsn> = None;
        while self.cumulative < cumulative {
            let Some(item) = self.items.pop_front() else { break };
            self.cumulative += 1;
            outcome.cumulative_advanced = true;
            if self.count_acked(item.state, item.fragment.encoded_len(), &mut outcome) {
                highest_newly_acked = Some(self.cumulative);
                if item.transmissions == 1 {
                    rtt_from = Some((self.cumulative, item.sent_at));
                }
            }
        }
        for &(start, end) in gaps {
            for tsn in start.max(self.cumulative + 1)..=end {
                let index = (tsn - self.cumulative - 1) as usize;
                let Some(item) = self.items.get(index) else { break };
                let (state, len, transmissions, sent_at) =
                    (item.state, item.fragment.encoded_len(), item.transmissions, item.sent_at);
                if self.count_acked(state, len, &mut outcome) {
                    if let Some(item) = self.items.get_mut(index) {
                        item.state = State::Acked;
                    }
                    highest_newly_acked = Some(tsn);
                    if transmissions == 1 && rtt_from.is_none_or(|(at, _)| at < tsn) {
                        rtt_from = Some((tsn, sent_at));
                    }
                }
            }
        }
        outcome.rtt = rtt_from.map(|(_, sent_at)| now.saturating_duration_since(sent_at));

        // Miss indications (RFC 9260 §7.2.4, HTNA): only for chunks below the highest TSN newly
        // acknowledged; in fast recovery, a SACK that moves the cumulative TSN counts a miss for
        // every TSN it reports missing.
        let highest_in_sack = gaps.last().map_or(cumulative, |&(_, end)| end);
        let nack_below =
            if in_fast_recovery && outcome.cumulative_advanced { Some(highest_in_sack) } else { highest_newly_acked };
        if let Some(nack_below) = nack_below {
            let reported = (highest_in_sack - self.cumulative) as usize;
            for index in 0..reported.min(self.items.len()) {
                let Some(item) = self.items.get_mut(index) else { break };
                if item.state != State::InFlight || item.miss_watermark >= nack_below {
                    continue;
                }
                item.misses = item.misses.saturating_add(1);
                if item.misses >= MISSES_FOR_FAST_RETRANSMIT {
                    if let Some(abandoned) = self.mark_for_retransmission(now, index) {
                        outcome.abandoned.push(abandoned);
                    } else {
                        outcome.fast_retransmit = true;
                    }
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
            State::Acked | State::Abandoned => return false,
        }
        outcome.acked_bytes += len;
        true
    }

    /// Marks the in-flight chunk at `index` for retransmission, or abandons its message when it
    /// may not be sent again; returns the abandoned message.
    fn mark_for_retransmission(&mut self, now: Instant, index: usize) -> Option<(StreamId, MessageId)> {
        let item = self.items.get_mut(index)?;
        if item.state != State::InFlight {
            return None;
        }
        if !item.fragment.may_transmit(now, item.transmissions) {
            let message = (item.fragment.stream, item.fragment.message);
            self.abandon_around(index);
            return Some(message);
        }
        item.state = State::ToRetransmit;
        item.misses = 0;
        self.in_flight -= item.fragment.encoded_len();
        self.to_retransmit += 1;
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

    /// The tail-loss probe: marks the highest chunk in flight that may be sent again for
    /// retransmission. Returns whether there was one.
    pub(super) fn mark_tail_for_retransmission(&mut self, now: Instant) -> bool {
        let found = self
            .items
            .iter()
            .rposition(|item| item.state == State::InFlight && item.fragment.may_transmit(now, item.transmissions));
        match found {
            Some(index) => self.mark_for_retransmission(now, index).is_none(),
            None => false,
        }
    }

    /// Abandons every outstanding chunk of `message` (RFC 3758 §3.5 A3: a message goes whole).
    pub(super) fn abandon_message(&mut self, message: MessageId) {
        if let Some(index) = self.items.iter().position(|item| item.fragment.message == message) {
            self.abandon_around(index);
        }
    }

    /// Abandons the message of the chunk at `index`: its chunks are the run of consecutive TSNs
    /// around it that belong to it (fragments of one message take consecutive TSNs).
    fn abandon_around(&mut self, index: usize) {
        let Some(message) = self.items.get(index).map(|item| item.fragment.message) else { return };
        let first = self.items.range(..index).rposition(|item| item.fragment.message != message).map_or(0, |i| i + 1);
        let mut in_flight = self.in_flight;
        let mut to_retransmit = self.to_retransmit;
        for item in self.items.range_mut(first..).take_while(|item| item.fragment.message == message) {
            match item.state {
                State::InFlight => in_flight -= item.fragment.encoded_len(),
                State::ToRetransmit => to_retransmit -= 1,
                State::Acked | State::Abandoned => {}
            }
            item.state = State::Abandoned;
        }
        self.in_flight = in_flight;
        self.to_retransmit = to_retransmit;
    }

    /// The FORWARD-TSN that skips the abandoned chunks at the front (RFC 3758 §3.5 C1-C2): its
    /// new cumulative TSN is the Advanced.Peer.Ack.Point. None when no abandoned chunk is next
    /// after the cumulative TSN ack point.
    pub(super) fn forward_tsn(&self) -> Option<ForwardTsn> {
        let mut advanced = self.cumulative;
        let mut skipped: BTreeMap<StreamId, u16> = BTreeMap::new();
        let mut any_abandoned = false;
        for item in &self.items {
            match item.state {
                State::Acked => {}
                State::Abandoned => {
                    let fragment = &item.fragment;
                    if !fragment.unordered {
                        if !skipped.contains_key(&fragment.stream) && skipped.len() >= MAX_FORWARD_TSN_STREAMS {
                            break;
                        }
                        skipped.insert(fragment.stream, fragment.ssn);
                    }
                    any_abandoned = true;
                }
                State::InFlight | State::ToRetransmit => break,
            }
            advanced += 1;
        }
        (any_abandoned && advanced > self.cumulative)
            .then(|| ForwardTsn { new_cumulative_tsn: narrow(advanced), skipped: skipped.into_iter().collect() })
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
        let outcome = data.on_sack(now + Duration::from_millis(30), FIRST + 1, &[], false);
        assert!(outcome.cumulative_advanced);
        assert_eq!(outcome.acked_bytes, 2 * 116);
        assert_eq!(outcome.rtt, Some(Duration::from_millis(30)));
        assert_eq!((data.cumulative_tsn(), data.in_flight(), data.next_tsn()), (FIRST + 1, 2 * 116, FIRST + 4));
    }

    #[test]
    fn gap_acks_count_once_and_duplicated_sacks_change_nothing() {
        let now = Instant::now();
        let mut data = sent(now, 6);
        let first = data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 3)], false);
        assert!(!first.cumulative_advanced);
        assert_eq!(first.acked_bytes, 2 * 116);
        let again = data.on_sack(now, FIRST - 1, &[(FIRST + 2, FIRST + 3)], false);
        assert_eq!(again.acked_bytes, 0);
        assert_eq!(data.in_flight(), 4 * 116);
        let cumulative = data.on_sack(now, FIRST + 3, &[], false);
        assert_eq!(cumulative.acked_bytes, 2 * 116, "gap-acked chunks are not counted twice");
    }

    #[test]
    fn three_misses_mark_a_chunk_for_fast_retransmission() {
        let now = Instant::now();
        let mut data = sent(now, 5);
        for (round, end) in [FIRST + 2, FIRST + 3, FIRST + 4].into_iter().enumerate() {
            let outcome = data.on_sack(now, FIRST, &[(FIRST + 2, end)], false);
            assert_eq!(outcome.fast_retransmit, round == 2, "round {round}");
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
            data.on_sack(now, FIRST, &[(FIRST + 2, FIRST + 2)], false);
        }
        assert!(!data.has_retransmissions());
    }

    #[test]
    fn a_retransmitted_chunk_lost_again_is_retransmitted_again_by_later_sacks() {
        let now = Instant::now();
        let mut data = sent(now, 4);
        for end in [FIRST + 1, FIRST + 2, FIRST + 3] {
            data.on_sack(now, FIRST - 1, &[(FIRST + 1, end)], false);
        }
        let first_retransmission = data.take_retransmission(now, 1200, false).unwrap();
        assert_eq!(first_retransmission.tsn, narrow(FIRST));
        // SACKs of TSNs sent before the retransmission say nothing about it.
        for _ in 0..3 {
            assert!(!data.on_sack(now, FIRST - 1, &[(FIRST + 1, FIRST + 3)], true).fast_retransmit);
        }
        // Chunks sent after it arrive and it does not: lost again.
        for i in 4..7 {
            data.insert(now, fragment(i, 1, i as u16, 100), false);
        }
        let mut marked = false;
        for end in [FIRST + 4, FIRST + 5, FIRST + 6] {
            marked |= data.on_sack(now, FIRST - 1, &[(FIRST + 1, end)], true).fast_retransmit;
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
        let outcome = data.on_sack(now + Duration::from_millis(520), FIRST, &[], false);
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
        data.on_sack(now, FIRST + 2, &[], false);
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
        data.on_sack(now, FIRST + MAX_FORWARD_TSN_STREAMS as u64 - 1, &[], false);
        assert_eq!(data.forward_tsn().unwrap().skipped.len(), 10, "the next FORWARD-TSN goes on");
    }

    #[test]
    fn the_tail_probe_picks_the_highest_chunk_that_may_go_again() {
        let now = Instant::now();
        let mut data = sent(now, 3);
        let mut unreliable = fragment(3, 2, 0, 100);
        unreliable.max_retransmits = Some(0);
        data.insert(now, unreliable, false);
        assert!(data.mark_tail_for_retransmission(now));
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
}
