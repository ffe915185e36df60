//! The queueing delay on the path, from RTT samples: the least RTT over a long window (the path's
//! own delay, no queue) against the least RTT of the last round trip or two (what a standing
//! queue adds). Taking the least of recent samples, not the latest, keeps jitter and the peer's
//! delayed SACKs out of it (as Vegas and CoDel do); a queue that every packet waits in shows in
//! the least sample too.

use std::time::{Duration, Instant};

/// How long the base (least) RTT is kept before it is replaced by the recent one: a route change
/// to a longer path is taken after this long (BBR's min RTT window).
const BASE_RTT_WINDOW: Duration = Duration::from_secs(10);

/// The least queueing delay counted, and the most that must be seen (HyStart's bounds on its
/// delay increase, RFC 9406 §4.2): below `base / 8` clamped to these, a rise of the least RTT is
/// taken as jitter (netsim's and a home network's few milliseconds), not as a queue.
const MIN_QUEUEING_DELAY: Duration = Duration::from_millis(4);
const MAX_QUEUEING_DELAY_THRESHOLD: Duration = Duration::from_millis(16);

/// The samples a round takes before its least RTT stands for the recent one alone.
const ROUND_SAMPLES: u32 = 4;

/// The shortest round over which the recent least RTT is taken.
const MIN_ROUND: Duration = Duration::from_millis(5);

/// The least RTT for the base and for the last rounds.
#[derive(Clone, Debug, Default)]
pub(super) struct QueueDelay {
    /// The least RTT seen within `BASE_RTT_WINDOW`, and when it was seen.
    base: Option<(Duration, Instant)>,
    /// When the current round began, its least RTT so far, and how many samples it took.
    round: Option<(Instant, Duration, u32)>,
    /// The least RTT of the round before.
    previous_round: Option<Duration>,
}

impl QueueDelay {
    /// Takes an RTT sample measured at `now` (Karn's rule applies: the caller measures no
    /// retransmitted chunk).
    pub(super) fn on_sample(&mut self, now: Instant, rtt: Duration) {
        let round_length = self.base.map_or(MIN_ROUND, |(base, _)| base.max(MIN_ROUND));
        match self.round {
            Some((started, least, samples)) if now < started + round_length => {
                self.round = Some((started, least.min(rtt), samples.saturating_add(1)));
            }
            Some((_, least, _)) => {
                self.previous_round = Some(least);
                self.round = Some((now, rtt, 1));
            }
            None => self.round = Some((now, rtt, 1)),
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

    /// The least RTT of the current round once it took `ROUND_SAMPLES`, else of the current
    /// and the previous round; None before any sample. (The current round alone as soon as it
    /// can: in slow start a queue doubles each round, and a round's lag lets it overflow.)
    pub(super) fn recent(&self) -> Option<Duration> {
        match (self.round, self.previous_round) {
            (Some((_, current, samples)), _) if samples >= ROUND_SAMPLES => Some(current),
            (Some((_, current, _)), Some(previous)) => Some(current.min(previous)),
            (current, previous) => current.map(|(_, least, _)| least).or(previous),
        }
    }

    /// Our bytes waiting in the path's queues when `cwnd` bytes are in flight (Veno's backlog
    /// N = cwnd × (RTT − base RTT) / RTT, with the recent least RTT); 0 while the queueing delay
    /// is under base RTT / 8 (at least 4 ms, at most 16 ms needed); None before any sample.
    pub(super) fn backlog(&self, cwnd: usize) -> Option<usize> {
        let (base, recent) = (self.base()?, self.recent()?);
        let queueing = recent.saturating_sub(base);
        if queueing < (base / 8).clamp(MIN_QUEUEING_DELAY, MAX_QUEUEING_DELAY_THRESHOLD) {
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
    fn a_rise_under_an_eighth_of_the_base_or_4_ms_is_jitter() {
        let start = Instant::now();
        let mut delay = QueueDelay::default();
        delay.on_sample(start, ms(2));
        for i in 1..30 {
            delay.on_sample(start + ms(3 * i), ms(5));
        }
        assert_eq!(delay.backlog(100_000), Some(0), "3 ms over a 2 ms path");
        for i in 30..60 {
            delay.on_sample(start + ms(3 * i), ms(6));
        }
        assert_eq!(delay.backlog(60_000), Some(40_000), "4 ms over a 2 ms path");
        let mut delay = QueueDelay::default();
        delay.on_sample(start, ms(200));
        for i in 1..300 {
            delay.on_sample(start + ms(3 * i), ms(220));
        }
        assert_eq!(delay.backlog(110_000), Some(10_000), "16 ms is enough on a long path");
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
