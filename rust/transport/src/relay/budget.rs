//! What one source may have relayed: a token bucket of bytes, refilled at the budget's rate and
//! holding at most one second's worth, so a source may burst a second's budget and no more.

use std::time::{Duration, Instant};

/// A source's relay budget.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// Bytes per second, and the most the bucket holds.
    rate: u64,
    /// Bytes that may be relayed now.
    tokens: u64,
    /// When the bucket was last refilled.
    refilled: Instant,
}

impl Budget {
    /// A full bucket of `rate` bytes per second.
    pub(crate) fn new(rate: u64, now: Instant) -> Self {
        Self { rate, tokens: rate, refilled: now }
    }

    /// Takes `bytes` from the bucket at `now` if it holds them; else takes nothing and says no.
    pub(crate) fn take(&mut self, bytes: usize, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled);
        let earned =
            u64::try_from(elapsed.as_micros().saturating_mul(u128::from(self.rate)) / 1_000_000).unwrap_or(u64::MAX);
        if earned > 0 {
            let full = self.tokens.saturating_add(earned) >= self.rate;
            self.tokens = self.tokens.saturating_add(earned).min(self.rate);
            // The time the earned bytes took, exactly, so that the fraction of a byte carries over.
            let spent = Duration::from_micros(earned.saturating_mul(1_000_000) / self.rate.max(1));
            self.refilled = if full { now } else { self.refilled + spent };
        }
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        if bytes > self.tokens {
            return false;
        }
        self.tokens -= bytes;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_budget_then_the_rate() {
        let start = Instant::now();
        let mut budget = Budget::new(10_000, start);
        assert!((0..10).all(|_| budget.take(1000, start)), "a full second's burst");
        assert!(!budget.take(1, start), "then nothing");
        assert!(!budget.take(1000, start + Duration::from_millis(50)), "50 ms earns 500 bytes");
        assert!(budget.take(1000, start + Duration::from_millis(100)), "100 ms earns 1000");
        // A long pause earns no more than a second's worth.
        let later = start + Duration::from_secs(60);
        assert!((0..10).all(|_| budget.take(1000, later)));
        assert!(!budget.take(1, later));
    }

    #[test]
    fn more_than_the_bucket_holds_never_passes() {
        let start = Instant::now();
        let mut budget = Budget::new(1000, start);
        assert!(!budget.take(1001, start + Duration::from_secs(5)));
        assert!(budget.take(1000, start + Duration::from_secs(5)));
        let mut none = Budget::new(0, start);
        assert!(!none.take(1, start + Duration::from_secs(5)), "a zero budget relays nothing");
        assert!(none.take(0, start));
    }

    #[test]
    fn sparse_small_takes_are_refilled_exactly() {
        let start = Instant::now();
        let mut budget = Budget::new(1_000_000, start);
        assert!(budget.take(1_000_000, start));
        // 1 byte per microsecond: 1000 takes of 100 bytes 100 µs apart all pass.
        for step in 1..=1000u64 {
            assert!(budget.take(100, start + Duration::from_micros(100 * step)), "step {step}");
        }
    }
}
