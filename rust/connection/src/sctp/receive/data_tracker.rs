//! Which TSNs arrived: the cumulative TSN, the blocks received past gaps and the duplicates seen
//! since the last SACK, which together make the SACK's content (RFC 9260 §6.2, §3.3.4).
//!
//! Bounded against a hostile peer: a TSN more than [`MAX_TSN_WINDOW`] past the cumulative TSN
//! is refused (a SACK could not even express it: gap offsets are 16 bits), at most
//! [`MAX_GAP_BLOCKS`] blocks are tracked (a TSN that would open one more is refused), at most
//! [`MAX_REPORTED_GAP_BLOCKS`] and [`MAX_REPORTED_DUPLICATES`] go into one SACK. A refused TSN is
//! not acknowledged, so an honest sender sends it again later (RFC 9260 §6.2 lets a receiver drop
//! DATA it has no room for).

use crate::sctp::chunks::{GapBlock, Sack, Tsn};

use crate::sctp::serial::{narrow, widen, widen_initial, WideTsn};

/// How far past the cumulative TSN a received TSN may be: the largest gap offset a SACK can carry.
pub(crate) const MAX_TSN_WINDOW: u64 = u16::MAX as u64;

/// How many blocks past gaps are tracked. A TSN that would open one more (not adjacent to the
/// cumulative TSN or to a block) is refused; the TSN right after the cumulative TSN never is.
pub(crate) const MAX_GAP_BLOCKS: usize = 256;

/// How many gap blocks one SACK reports (the lowest ones, which matter to fast retransmit): 4
/// bytes each, so a SACK stays far below any MTU.
pub(crate) const MAX_REPORTED_GAP_BLOCKS: usize = 64;

/// How many duplicate TSNs one SACK reports; more duplicates are counted by nothing.
pub(crate) const MAX_REPORTED_DUPLICATES: usize = 16;

/// What receiving one TSN would do, before it is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsnCheck {
    /// New and within bounds: record it once its chunk is kept.
    New,
    /// Already received (at or below the cumulative TSN, or in a block).
    Duplicate,
    /// Beyond [`MAX_TSN_WINDOW`] or opening a block past [`MAX_GAP_BLOCKS`]: drop it unacknowledged.
    Refused,
}

/// The received TSNs, as the cumulative TSN plus sorted, disjoint, non-adjacent blocks above it.
#[derive(Debug)]
pub(crate) struct DataTracker {
    /// The unwrapped cumulative TSN: every TSN up to it arrived (or was abandoned by FORWARD-TSN).
    cumulative: WideTsn,
    /// Inclusive ranges of unwrapped TSNs received past a gap, sorted, each starting at least two
    /// past the previous one's end (and past `cumulative + 1`).
    blocks: Vec<(WideTsn, WideTsn)>,
    /// Duplicate TSNs received since the last SACK, at most [`MAX_REPORTED_DUPLICATES`].
    duplicates: Vec<Tsn>,
}

impl DataTracker {
    /// A tracker that expects `peer_initial_tsn` next.
    pub(crate) fn new(peer_initial_tsn: Tsn) -> Self {
        Self { cumulative: widen_initial(peer_initial_tsn.wrapping_sub(1)), blocks: Vec::new(), duplicates: Vec::new() }
    }

    /// Widens a TSN of the wire relative to the cumulative TSN.
    pub(crate) fn widen(&self, tsn: Tsn) -> WideTsn {
        widen(self.cumulative, tsn)
    }

    /// The unwrapped cumulative TSN.
    pub(crate) fn cumulative(&self) -> WideTsn {
        self.cumulative
    }

    /// Whether some TSNs arrived past a gap.
    pub(crate) fn has_gaps(&self) -> bool {
        !self.blocks.is_empty()
    }

    /// What receiving the unwrapped `tsn` would do.
    pub(crate) fn check(&self, tsn: WideTsn) -> TsnCheck {
        if tsn <= self.cumulative {
            return TsnCheck::Duplicate;
        }
        if tsn - self.cumulative > MAX_TSN_WINDOW {
            return TsnCheck::Refused;
        }
        let index = self.blocks.partition_point(|&(start, _)| start <= tsn);
        if index > 0 && tsn <= self.blocks[index - 1].1 {
            return TsnCheck::Duplicate;
        }
        let touches_below = tsn == self.cumulative + 1 || (index > 0 && self.blocks[index - 1].1 + 1 == tsn);
        let touches_above = self.blocks.get(index).is_some_and(|&(start, _)| start == tsn + 1);
        if !touches_below && !touches_above && self.blocks.len() >= MAX_GAP_BLOCKS {
            return TsnCheck::Refused;
        }
        TsnCheck::New
    }

    /// Records the unwrapped `tsn`, which [`DataTracker::check`] found new.
    pub(crate) fn record(&mut self, tsn: WideTsn) {
        if tsn <= self.cumulative {
            return;
        }
        let index = self.blocks.partition_point(|&(start, _)| start <= tsn);
        if index > 0 && tsn <= self.blocks[index - 1].1 {
            return;
        }
        let extends_below = index > 0 && self.blocks[index - 1].1 + 1 == tsn;
        let extends_above = self.blocks.get(index).is_some_and(|&(start, _)| start == tsn + 1);
        match (extends_below, extends_above) {
            (true, true) => {
                self.blocks[index - 1].1 = self.blocks[index].1;
                self.blocks.remove(index);
            }
            (true, false) => self.blocks[index - 1].1 = tsn,
            (false, true) => self.blocks[index].0 = tsn,
            (false, false) => self.blocks.insert(index, (tsn, tsn)),
        }
        self.absorb_blocks();
    }

    /// Notes a duplicate TSN for the next SACK (beyond [`MAX_REPORTED_DUPLICATES`], not noted).
    pub(crate) fn record_duplicate(&mut self, tsn: Tsn) {
        if self.duplicates.len() < MAX_REPORTED_DUPLICATES {
            self.duplicates.push(tsn);
        }
    }

    /// Moves the cumulative TSN to the unwrapped `new_cumulative` (FORWARD-TSN, RFC 3758 §3.6), as
    /// if every TSN up to it had arrived. Returns whether it moved.
    pub(crate) fn forward_to(&mut self, new_cumulative: WideTsn) -> bool {
        if new_cumulative <= self.cumulative {
            return false;
        }
        self.cumulative = new_cumulative;
        self.blocks.retain(|&(_, end)| end > new_cumulative);
        if let Some(first) = self.blocks.first_mut() {
            first.0 = first.0.max(new_cumulative + 1);
        }
        self.absorb_blocks();
        true
    }

    /// The SACK for the current state, with advertised window `a_rwnd`; forgets the duplicates.
    pub(crate) fn make_sack(&mut self, a_rwnd: u32) -> Sack {
        let cumulative = self.cumulative;
        let offset = |tsn: WideTsn| u16::try_from(tsn - cumulative).ok();
        let gaps = self
            .blocks
            .iter()
            .filter_map(|&(start, end)| Some(GapBlock { start: offset(start)?, end: offset(end)? }))
            .take(MAX_REPORTED_GAP_BLOCKS)
            .collect();
        Sack { cumulative_tsn: narrow(cumulative), a_rwnd, gaps, duplicates: std::mem::take(&mut self.duplicates) }
    }

    /// Folds the blocks that now start right after the cumulative TSN into it.
    fn absorb_blocks(&mut self) {
        let absorbed = self.blocks.iter().take_while(|&&(start, _)| start <= self.cumulative + 1).count();
        if let Some(&(_, end)) = self.blocks[..absorbed].last() {
            self.cumulative = self.cumulative.max(end);
        }
        self.blocks.drain(..absorbed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receive(tracker: &mut DataTracker, tsn: Tsn) -> TsnCheck {
        let unwrapped = tracker.widen(tsn);
        let check = tracker.check(unwrapped);
        match check {
            TsnCheck::New => tracker.record(unwrapped),
            TsnCheck::Duplicate => tracker.record_duplicate(tsn),
            TsnCheck::Refused => {}
        }
        check
    }

    fn gaps(sack: &Sack) -> Vec<(u16, u16)> {
        sack.gaps.iter().map(|gap| (gap.start, gap.end)).collect()
    }

    #[test]
    fn in_order_tsns_move_the_cumulative_tsn() {
        let mut tracker = DataTracker::new(100);
        for tsn in 100..110 {
            assert_eq!(receive(&mut tracker, tsn), TsnCheck::New);
        }
        let sack = tracker.make_sack(1000);
        assert_eq!(sack.cumulative_tsn, 109);
        assert_eq!(sack.a_rwnd, 1000);
        assert!(sack.gaps.is_empty() && sack.duplicates.is_empty());
        assert!(!tracker.has_gaps());
    }

    #[test]
    fn nothing_received_acks_the_tsn_before_the_initial_one() {
        let mut tracker = DataTracker::new(0);
        assert_eq!(tracker.make_sack(0).cumulative_tsn, u32::MAX);
    }

    #[test]
    fn gaps_are_reported_as_offsets_and_filled() {
        let mut tracker = DataTracker::new(1);
        for tsn in [1, 3, 4, 7, 9] {
            receive(&mut tracker, tsn);
        }
        let sack = tracker.make_sack(0);
        assert_eq!(sack.cumulative_tsn, 1);
        assert_eq!(gaps(&sack), vec![(2, 3), (6, 6), (8, 8)]);
        receive(&mut tracker, 8); // joins two blocks
        assert_eq!(gaps(&tracker.make_sack(0)), vec![(2, 3), (6, 8)]);
        receive(&mut tracker, 2); // fills the first gap
        let sack = tracker.make_sack(0);
        assert_eq!(sack.cumulative_tsn, 4);
        assert_eq!(gaps(&sack), vec![(3, 5)]);
        receive(&mut tracker, 6);
        receive(&mut tracker, 5);
        assert_eq!(tracker.make_sack(0).cumulative_tsn, 9);
        assert!(!tracker.has_gaps());
    }

    #[test]
    fn duplicates_are_reported_once_and_bounded() {
        let mut tracker = DataTracker::new(10);
        receive(&mut tracker, 10);
        receive(&mut tracker, 12);
        assert_eq!(receive(&mut tracker, 10), TsnCheck::Duplicate);
        assert_eq!(receive(&mut tracker, 12), TsnCheck::Duplicate);
        assert_eq!(receive(&mut tracker, 9), TsnCheck::Duplicate);
        assert_eq!(tracker.make_sack(0).duplicates, vec![10, 12, 9]);
        assert!(tracker.make_sack(0).duplicates.is_empty());
        for _ in 0..100_000 {
            receive(&mut tracker, 10);
        }
        assert_eq!(tracker.make_sack(0).duplicates.len(), MAX_REPORTED_DUPLICATES);
    }

    #[test]
    fn wraps_around_the_tsn_space() {
        let mut tracker = DataTracker::new(u32::MAX - 2);
        for tsn in [u32::MAX - 2, u32::MAX - 1, 1, 2] {
            assert_eq!(receive(&mut tracker, tsn), TsnCheck::New);
        }
        let sack = tracker.make_sack(0);
        assert_eq!(sack.cumulative_tsn, u32::MAX - 1);
        assert_eq!(gaps(&sack), vec![(3, 4)]);
        receive(&mut tracker, u32::MAX);
        let sack = tracker.make_sack(0);
        assert_eq!(sack.cumulative_tsn, u32::MAX);
        assert_eq!(gaps(&sack), vec![(2, 3)]);
        receive(&mut tracker, 0);
        assert_eq!(tracker.make_sack(0).cumulative_tsn, 2);
        assert_eq!(receive(&mut tracker, u32::MAX - 1), TsnCheck::Duplicate);
    }

    #[test]
    fn huge_tsn_jumps_are_refused() {
        let mut tracker = DataTracker::new(1000);
        assert_eq!(receive(&mut tracker, 999 + 65_535), TsnCheck::New); // the last TSN a SACK can express
        assert_eq!(receive(&mut tracker, 999 + 65_536), TsnCheck::Refused);
        assert_eq!(receive(&mut tracker, 1000 + 1_000_000), TsnCheck::Refused);
        assert_eq!(receive(&mut tracker, 1000u32.wrapping_add(1 << 31)), TsnCheck::Duplicate); // behind
        assert_eq!(gaps(&tracker.make_sack(0)), vec![(65_535, 65_535)]);
    }

    #[test]
    fn a_flood_of_tiny_gaps_is_bounded() {
        let mut tracker = DataTracker::new(0);
        let mut refused = 0;
        for tsn in (2..60_000).step_by(2) {
            if receive(&mut tracker, tsn) == TsnCheck::Refused {
                refused += 1;
            }
        }
        assert_eq!(tracker.blocks.len(), MAX_GAP_BLOCKS);
        assert!(refused > 20_000);
        let sack = tracker.make_sack(0);
        assert_eq!(sack.gaps.len(), MAX_REPORTED_GAP_BLOCKS);
        assert_eq!(sack.gaps[0], GapBlock { start: 3, end: 3 });
        // What extends a block or fills a gap is still taken; the cumulative TSN still moves.
        assert_eq!(receive(&mut tracker, 3), TsnCheck::New);
        assert_eq!(receive(&mut tracker, 0), TsnCheck::New);
        assert_eq!(receive(&mut tracker, 1), TsnCheck::New);
        assert_eq!(tracker.make_sack(0).cumulative_tsn, 4);
        assert_eq!(tracker.blocks.len(), MAX_GAP_BLOCKS - 2); // one joined, one absorbed
    }

    #[test]
    fn forward_tsn_moves_the_cumulative_tsn_and_absorbs_blocks() {
        let mut tracker = DataTracker::new(1);
        for tsn in [1, 5, 6, 9] {
            receive(&mut tracker, tsn);
        }
        assert!(tracker.forward_to(tracker.widen(4)));
        let sack = tracker.make_sack(0);
        assert_eq!(sack.cumulative_tsn, 6);
        assert_eq!(gaps(&sack), vec![(3, 3)]);
        assert!(!tracker.forward_to(tracker.widen(3)));
        assert!(tracker.forward_to(tracker.widen(12)));
        assert_eq!(tracker.make_sack(0).cumulative_tsn, 12);
        assert!(!tracker.has_gaps());
        // Into the middle of a block.
        for tsn in [15, 16, 17] {
            receive(&mut tracker, tsn);
        }
        assert!(tracker.forward_to(tracker.widen(15)));
        assert_eq!(tracker.make_sack(0).cumulative_tsn, 17);
    }
}
