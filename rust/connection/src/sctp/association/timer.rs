//! A retransmission timer that doubles its interval on each expiry, up to a ceiling, and counts
//! the expiries (T1-init, T1-cookie, T2-shutdown, the RE-CONFIG timer).

use std::time::{Duration, Instant};

/// One retransmission timer.
#[derive(Debug, Default)]
pub(super) struct BackoffTimer {
    deadline: Option<Instant>,
    interval: Duration,
    expiries: u32,
}

impl BackoffTimer {
    /// Starts (or restarts) the timer with `interval`, its expiry count at zero.
    pub(super) fn start(&mut self, now: Instant, interval: Duration) {
        self.interval = interval;
        self.expiries = 0;
        self.deadline = Some(now + interval);
    }

    /// Stops the timer.
    pub(super) fn stop(&mut self) {
        self.deadline = None;
    }

    /// When it expires, if running.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether it is running and its deadline has come.
    pub(super) fn is_expired(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|deadline| deadline <= now)
    }

    /// Counts an expiry and re-arms the timer with its interval doubled, at most `max`.
    /// Returns how many times it has expired since it was started.
    pub(super) fn back_off(&mut self, now: Instant, max: Duration) -> u32 {
        self.expiries = self.expiries.saturating_add(1);
        self.interval = (self.interval * 2).min(max);
        self.deadline = Some(now + self.interval);
        self.expiries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_to_its_ceiling_and_counts() {
        let start = Instant::now();
        let mut timer = BackoffTimer::default();
        assert_eq!(timer.deadline(), None);
        timer.start(start, Duration::from_millis(500));
        assert!(!timer.is_expired(start + Duration::from_millis(499)));
        assert!(timer.is_expired(start + Duration::from_millis(500)));
        let now = start + Duration::from_millis(500);
        assert_eq!(timer.back_off(now, Duration::from_millis(1500)), 1);
        assert_eq!(timer.deadline(), Some(now + Duration::from_secs(1)));
        assert_eq!(timer.back_off(now, Duration::from_millis(1500)), 2);
        assert_eq!(timer.deadline(), Some(now + Duration::from_millis(1500)));
        timer.stop();
        assert!(!timer.is_expired(now + Duration::from_secs(10)));
    }
}
