//! The budget of lobby-name guesses: JOINs naming a lobby that does not exist ("misses"), per
//! source address. A lobby's name is the only key to it, so misses are what a stranger hunting
//! for lobbies spends; players rarely mistype a code. Each source holds a bucket of
//! [`MISS_BURST`] misses refilled at [`Limits::max_join_misses_per_hour`]; while its bucket holds
//! less than one miss, every JOIN naming a lobby from that source is refused (hit or miss, so a
//! refusal tells nothing about the name).
//!
//! Buckets outlive connections (a stranger reconnects for each guess) until they are full again.
//! At most [`MAX_TRACKED_SOURCES`] are kept; sources beyond that share one bucket, so that holding
//! many addresses buys a stranger at most one more source's budget, at the cost of a newcomer
//! that misses while the table is full finding that shared bucket empty.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::limits::Limits;
use crate::source::Source;

/// Misses a source may make at once, before the hourly rate applies.
pub(crate) const MISS_BURST: u32 = 10;
/// Sources with a bucket of their own at most (about 80 bytes each: ~1.3 MiB). Beyond this they
/// share one bucket.
const MAX_TRACKED_SOURCES: usize = 16_384;
/// How often at most the table is swept for buckets that are full again (a sweep visits every
/// bucket, so it is not done per miss).
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// One miss, in the bucket's unit (a billionth of a miss per hour-second, so refills are exact).
const UNITS_PER_MISS: u128 = 3_600 * 1_000_000_000;

/// A bucket of misses.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// What is left, in [`UNITS_PER_MISS`]ths of a miss.
    units: u128,
    /// When `units` was last brought up to date.
    refilled_at: Instant,
}

impl Bucket {
    fn full(now: Instant) -> Self {
        Self { units: capacity(), refilled_at: now }
    }

    /// Brings the bucket up to `now` at `per_hour` misses an hour.
    fn refill(&mut self, per_hour: u32, now: Instant) {
        // Nanoseconds × misses per hour = units.
        let refill = now.saturating_duration_since(self.refilled_at).as_nanos().saturating_mul(u128::from(per_hour));
        self.units = self.units.saturating_add(refill).min(capacity());
        self.refilled_at = self.refilled_at.max(now);
    }

    fn has_one(&self) -> bool {
        self.units >= UNITS_PER_MISS
    }

    fn spend_one(&mut self) {
        self.units = self.units.saturating_sub(UNITS_PER_MISS);
    }
}

fn capacity() -> u128 {
    u128::from(MISS_BURST) * UNITS_PER_MISS
}

/// Every source's bucket of misses (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct JoinMisses {
    buckets: HashMap<Source, Bucket>,
    /// The bucket of the sources that found the table full (`None`: full, never used).
    shared: Option<Bucket>,
    swept_at: Option<Instant>,
}

impl JoinMisses {
    /// Whether `source` may send a JOIN naming a lobby at `now`.
    pub(crate) fn may_guess(&mut self, limits: &Limits, source: Source, now: Instant) -> bool {
        self.sweep(limits, now);
        let full_table = self.buckets.len() >= MAX_TRACKED_SOURCES;
        match self.buckets.get_mut(&source) {
            Some(bucket) => {
                bucket.refill(limits.max_join_misses_per_hour, now);
                bucket.has_one()
            }
            None if full_table => {
                let shared = self.shared.get_or_insert(Bucket::full(now));
                shared.refill(limits.max_join_misses_per_hour, now);
                shared.has_one()
            }
            None => true,
        }
    }

    /// `source` missed at `now`: a JOIN of its named a lobby that does not exist.
    pub(crate) fn missed(&mut self, limits: &Limits, source: Source, now: Instant) {
        self.sweep(limits, now);
        let full_table = self.buckets.len() >= MAX_TRACKED_SOURCES;
        let bucket = match self.buckets.get_mut(&source) {
            Some(bucket) => bucket,
            None if full_table => self.shared.get_or_insert(Bucket::full(now)),
            None => self.buckets.entry(source).or_insert(Bucket::full(now)),
        };
        bucket.refill(limits.max_join_misses_per_hour, now);
        bucket.spend_one();
    }

    /// Drops the buckets that are full again (at most once per [`SWEEP_INTERVAL`]).
    fn sweep(&mut self, limits: &Limits, now: Instant) {
        if self.swept_at.is_some_and(|swept_at| now.saturating_duration_since(swept_at) < SWEEP_INTERVAL) {
            return;
        }
        self.swept_at = Some(now);
        self.buckets.retain(|_, bucket| {
            bucket.refill(limits.max_join_misses_per_hour, now);
            bucket.units < capacity()
        });
    }

    /// Sources with a bucket of their own.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(n: u32) -> Source {
        Source::of(std::net::Ipv4Addr::from(n).into())
    }

    fn limits() -> Limits {
        Limits { max_join_misses_per_hour: 60, ..Limits::default() }
    }

    #[test]
    fn a_source_gets_its_burst_then_the_hourly_rate() {
        let start = Instant::now();
        let mut misses = JoinMisses::default();
        let limits = limits();
        for _ in 0..MISS_BURST {
            assert!(misses.may_guess(&limits, source(1), start));
            misses.missed(&limits, source(1), start);
        }
        assert!(!misses.may_guess(&limits, source(1), start), "the burst is spent");
        assert!(misses.may_guess(&limits, source(2), start), "another source is not affected");
        let later = start + Duration::from_secs(59);
        assert!(!misses.may_guess(&limits, source(1), later), "60 an hour: not one yet after 59 s");
        let later = start + Duration::from_secs(60);
        assert!(misses.may_guess(&limits, source(1), later), "one a minute");
        misses.missed(&limits, source(1), later);
        assert!(!misses.may_guess(&limits, source(1), later));
    }

    #[test]
    fn buckets_that_are_full_again_are_forgotten() {
        let start = Instant::now();
        let mut misses = JoinMisses::default();
        misses.missed(&limits(), source(1), start);
        assert_eq!(misses.tracked(), 1);
        let later = start + Duration::from_secs(61);
        assert!(misses.may_guess(&limits(), source(2), later));
        assert_eq!(misses.tracked(), 0, "a minute refilled the one miss");
    }

    #[test]
    fn past_the_table_sources_share_one_bucket() {
        let start = Instant::now();
        let mut misses = JoinMisses::default();
        let limits = limits();
        for n in 0..MAX_TRACKED_SOURCES as u32 {
            misses.missed(&limits, source(n), start);
        }
        assert_eq!(misses.tracked(), MAX_TRACKED_SOURCES);
        let beyond = MAX_TRACKED_SOURCES as u32;
        for n in beyond..beyond + MISS_BURST {
            assert!(misses.may_guess(&limits, source(n), start));
            misses.missed(&limits, source(n), start);
        }
        assert_eq!(misses.tracked(), MAX_TRACKED_SOURCES, "the table did not grow");
        assert!(!misses.may_guess(&limits, source(beyond + 1000), start), "the shared bucket is spent");
        assert!(misses.may_guess(&limits, source(0), start), "tracked sources keep their own");
    }
}
