//! The TSN ranges above the cumulative TSN ack point that gap ack blocks acknowledged, merged,
//! so that a SACK walks only the chunks it changes: those in its gap blocks not acknowledged
//! yet, and (for miss indications) those below its highest TSN still unacknowledged. A SACK
//! repeating what earlier ones said costs its gap blocks, not the chunks they name.
//!
//! Gap-acknowledged chunks stay acknowledged (see `outstanding`'s doc): ranges only grow,
//! until the cumulative TSN passes them. They hold at most one range per two outstanding chunks.

use std::collections::BTreeMap;

use crate::sctp::serial::WideTsn;

/// Disjoint, non-adjacent inclusive ranges of gap-acknowledged TSNs: start to end.
#[derive(Clone, Debug, Default)]
pub(super) struct AckedRanges {
    ranges: BTreeMap<WideTsn, WideTsn>,
}

impl AckedRanges {
    /// The runs of `start..=end` that no range covers, in order (none when `start > end`).
    pub(super) fn holes(&self, start: WideTsn, end: WideTsn) -> Vec<(WideTsn, WideTsn)> {
        let mut holes = Vec::new();
        let mut cursor = start;
        if let Some((_, &covering_end)) = self.ranges.range(..=start).next_back() {
            cursor = cursor.max(covering_end.saturating_add(1));
        }
        if cursor > end {
            return holes;
        }
        for (&range_start, &range_end) in self.ranges.range(cursor..=end) {
            if range_start > cursor {
                holes.push((cursor, range_start - 1));
            }
            cursor = range_end.saturating_add(1);
        }
        if cursor <= end {
            holes.push((cursor, end));
        }
        holes
    }

    /// Adds `start..=end` (nothing when `start > end`), merging it with the ranges it overlaps or
    /// touches.
    pub(super) fn insert(&mut self, start: WideTsn, end: WideTsn) {
        if start > end {
            return;
        }
        let (mut start, mut end) = (start, end);
        if let Some((&before_start, &before_end)) = self.ranges.range(..=start).next_back() {
            if before_end.saturating_add(1) >= start {
                start = before_start;
                end = end.max(before_end);
            }
        }
        let merged: Vec<(WideTsn, WideTsn)> =
            self.ranges.range(start..=end.saturating_add(1)).map(|(&from, &to)| (from, to)).collect();
        for (from, to) in merged {
            self.ranges.remove(&from);
            end = end.max(to);
        }
        self.ranges.insert(start, end);
    }

    /// Forgets everything up to `cumulative` (now acknowledged cumulatively).
    pub(super) fn advance_to(&mut self, cumulative: WideTsn) {
        while let Some((&start, &end)) = self.ranges.first_key_value() {
            if start > cumulative {
                break;
            }
            self.ranges.remove(&start);
            if end > cumulative {
                self.ranges.insert(cumulative + 1, end);
                break;
            }
        }
    }

    /// How many ranges are held (tests only).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_are_what_no_range_covers() {
        let mut ranges = AckedRanges::default();
        assert_eq!(ranges.holes(10, 20), vec![(10, 20)]);
        ranges.insert(12, 13);
        ranges.insert(16, 16);
        assert_eq!(ranges.holes(10, 20), vec![(10, 11), (14, 15), (17, 20)]);
        assert_eq!(ranges.holes(13, 16), vec![(14, 15)]);
        assert_eq!(ranges.holes(12, 13), Vec::new());
        assert_eq!(ranges.holes(13, 12), Vec::new(), "an empty span");
        assert_eq!(ranges.holes(21, 20), Vec::new(), "an empty span past the ranges");
    }

    #[test]
    fn touching_and_overlapping_ranges_merge() {
        let mut ranges = AckedRanges::default();
        ranges.insert(10, 11);
        ranges.insert(14, 15);
        ranges.insert(20, 30);
        ranges.insert(12, 13);
        assert_eq!(ranges.len(), 2);
        ranges.insert(15, 25);
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges.holes(9, 31), vec![(9, 9), (31, 31)]);
    }

    #[test]
    fn the_cumulative_tsn_passing_drops_and_trims_ranges() {
        let mut ranges = AckedRanges::default();
        ranges.insert(10, 11);
        ranges.insert(14, 18);
        ranges.advance_to(15);
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges.holes(16, 20), vec![(19, 20)]);
        ranges.advance_to(30);
        assert_eq!(ranges.len(), 0);
    }
}
