//! Paces the connectivity checks while ICE is connecting (RFC 8445 section 14).
//!
//! `rtc-ice` 0.21.1 checks every pair in progress on each tick, and a tick runs whenever a
//! candidate is added as well as every check interval. A remote description chooses the pairs'
//! addresses: 64 remote candidates times a few local ones would aim thousands of checks a second
//! at addresses of its choosing. The agent runs at most once per [`TICK_PER_PAIR`] times the
//! number of pairs (at least [`CHECK_INTERVAL`]), so checks leave at most one per 5 ms (Ta, RFC
//! 8445's floor) over time.

use std::time::{Duration, Instant};

/// The agent's check interval while connecting: a lost check is repeated after this. Short,
/// because setup time at 10 % loss is spent waiting here; the pacing below bounds the rate.
pub(super) const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// The time budget per pair and tick: twice RFC 8445's Ta floor of 5 ms.
const TICK_PER_PAIR: Duration = Duration::from_millis(10);
/// Slowest tick (a thousand pairs and more).
const MAX_TICK: Duration = Duration::from_secs(1);

/// When the connecting agent may run again.
#[derive(Default)]
pub(super) struct CheckPacing {
    last_tick: Option<Instant>,
}

impl CheckPacing {
    /// The earliest the agent may run, with `pairs` candidate pairs (local times remote).
    pub(super) fn earliest(&self, pairs: usize) -> Option<Instant> {
        let spacing =
            TICK_PER_PAIR.saturating_mul(u32::try_from(pairs).unwrap_or(u32::MAX)).clamp(CHECK_INTERVAL, MAX_TICK);
        self.last_tick.map(|last| last + spacing)
    }

    /// Notes that the agent ran at `now`.
    pub(super) fn ticked(&mut self, now: Instant) {
        self.last_tick = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_grows_with_pairs() {
        let start = Instant::now();
        let mut pacing = CheckPacing::default();
        assert_eq!(pacing.earliest(3), None);
        pacing.ticked(start);
        assert_eq!(pacing.earliest(3), Some(start + CHECK_INTERVAL));
        assert_eq!(pacing.earliest(64), Some(start + Duration::from_millis(640)));
        assert_eq!(pacing.earliest(100_000), Some(start + MAX_TICK));
    }
}
