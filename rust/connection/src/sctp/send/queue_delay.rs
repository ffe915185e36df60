//! The queueing delay on the path, from RTT samples: the least RTT over a long window (the path's
//! own delay, no queue) against the least RTT of the last round trip or two (what a standing
//! queue adds). Taking the least of recent samples, not the latest, keeps jitter and the peer's
//! delayed SACKs out of it (as Vegas and CoDel do); a queue that every packet waits in shows in
//! the least sample too.

use std::time::{Duration, Instant};

/// How long the base (least) RTT is kept before it is replaced by the recent one: a route change
/// to a longer path is taken after this long (BBR's min RTT window).
const BASE_RTT_WINDOW: Duration = Duration::from_secs(10);

/// The shortest round over which the recent least RTT is taken.
const MIN_ROUND: Duration = Duration::from_millis(5);

/// The least RTT for the base and for the last rounds.
#[derive(Clone, Debug, Default)]
pub(super) struct QueueDelay {
    /// The least RTT seen within `BASE_RTT_WINDOW`, and when it was seen.
    base: Option<(Duration, Instant)>,
    /// When the current round began, and its least RTT so far.
    round: Option<(Instant, Duration)>,
    /// The least RTT of the round before.
    previous_round: Option<Duration>,
}

impl QueueDelay {
    /// Takes an RTT sample measured at `now` (Karn's rule applies: the caller measures no
    /// retransmitted chunk).
    pub(super) fn on_sample(&mut self, now: Instant, rtt: Duration) {
        let round_length = self.base.map_or(MIN_ROUND, |(base, _)| base.max(MIN_ROUND));
        match self.round {
            Some((started, least)) if now < started + round_length => {
                self.round = Some((started, least.min(rtt)));
            }
            Some((_, least)) => {
                self.previous_round = Some(least);
                self.round = Some((now, rtt));
            }
            None => self.round = Some((now, rtt)),
        }
        match self.base {
            Some((base, _)) if rtt <= base => self.base = Some((rtt, now)),
            Some((_, seen)) if now >= seen + BASE_RTT_WINDOW => {
                // Expired: the least of the recent rounds takes its place.
                self.base = self.recent().map(|recent| (recent, now));
            }
            Some(_) => {}
            None => self.base = Some((rtt, now)),
        }
    }

    /// The least RTT within the base window (the path without a queue), once measured.
    pub(super) fn base(&self) -> Option<Duration> {
        self.base.map(|(base, _)| base)
    }

    /// The least RTT of the current and the previous round, once measured.
    pub(super) fn recent(&self) -> Option<Duration> {
        let current = self.round.map(|(_, least)| least);
        match (current, self.previous_round) {
            (Some(current), Some(previous)) => Some(current.min(previous)),
            (current, previous) => current.or(previous),
        }
    }

    /// Our bytes waiting in the path's queues when `cwnd` bytes are in flight (Veno's backlog
    /// N = cwnd × (RTT − base RTT) / RTT, with the recent least RTT): None before any sample.
    pub(super) fn backlog(&self, cwnd: usize) -> Option<usize> {
        let (base, recent) = (self.base()?, self.recent()?);
        let queueing = recent.saturating_sub(base);
        if recent.is_zero() {
            return Some(0);
        }
        let backlog = cwnd as u128 * queueing.as_nanos() / recent.as_nanos();
        Some(usize::try_from(backlog).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn no_backlog_before_a_sample_and_none_without_a_queue() {
        let start = Instant::now();
        let mut delay = QueueDelay::default();
        assert_eq!(delay.backlog(100_000), None);
        delay.on_sample(start, ms(30));
        assert_eq!(delay.backlog(100_000), Some(0));
    }

    #[test]
    fn jitter_does_not_count_as_a_queue_when_any_recent_sample_is_low() {
        let start = Instant::now();
        let mut delay = QueueDelay::default();
        for i in 0..100 {
            // 30-39 ms: jitter, the least of each round still 30 ms.
            delay.on_sample(start + ms(3 * i), ms(30 + (i * 7) % 10));
        }
        assert_eq!(delay.base(), Some(ms(30)));
        assert_eq!(delay.backlog(120_000), Some(0));
    }

    #[test]
    fn a_standing_queue_shows_as_backlog_and_goes_when_it_drains() {
        let start = Instant::now();
        let mut delay = QueueDelay::default();
        delay.on_sample(start, ms(30));
        // Every sample of two rounds waits 30 ms in a queue: half the window is queued.
        for i in 1..30 {
            delay.on_sample(start + ms(3 * i), ms(60 + i % 5));
        }
        assert_eq!(delay.recent(), Some(ms(60)));
        assert_eq!(delay.backlog(100_000), Some(50_000));
        // One sample without the queue: gone.
        delay.on_sample(start + ms(100), ms(31));
        assert!(delay.backlog(100_000).is_some_and(|backlog| backlog < 4000));
    }

    #[test]
    fn the_base_is_replaced_by_the_recent_least_after_its_window() {
        let start = Instant::now();
        let mut delay = QueueDelay::default();
        delay.on_sample(start, ms(10));
        // The path got longer: 40 ms from then on.
        let mut t = start;
        while t < start + BASE_RTT_WINDOW + ms(100) {
            t += ms(20);
            delay.on_sample(t, ms(40));
        }
        assert_eq!(delay.base(), Some(ms(40)));
        assert_eq!(delay.backlog(100_000), Some(0));
    }
}
