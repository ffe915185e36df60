//! When the ICE agent runs once a pair is selected: consent checks at RFC 7675's pace, a probe
//! when the peer has gone quiet, and nothing in between.
//!
//! `rtc-ice` 0.21.1 asks to be woken every 200 ms at the most (`poll_timeout` never exceeds its
//! `DEFAULT_CHECK_INTERVAL`), connected or not, and sends a consent check whenever its keepalive
//! interval has passed at a wake-up. Once connected we wake it only when something is due:
//! - a consent check every [`super::Timeouts::consent_interval`], ±20 % (4-6 s by default),
//!   sent at once when the peer's own check comes inside that window (see
//!   [`ConsentSchedule::peer_checked`]);
//! - a probe when nothing (STUN or authenticated DTLS) came from the peer for half the
//!   disconnected timeout, so that an idle but healthy path never reads `disconnected`, and
//!   then one each [`QUIET_PROBE_SPACING`] while it stays quiet;
//! - the instants at which the agent's own `disconnected` and `failed` verdicts fall due, and
//!   at once when a `disconnected` peer is heard again.
//!
//! Authenticated DTLS data counts as hearing from the peer (`Agent::is_valid_non_stun_traffic`),
//! so a busy path is probed only at the consent pace.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Probes while the peer stays quiet, at most one per this: recovery from a short outage is
/// noticed within a second.
pub(super) const QUIET_PROBE_SPACING: Duration = Duration::from_secs(1);
/// The agent ignores a run this soon after its last one (`rtc-ice`'s `DEFAULT_CHECK_INTERVAL`,
/// the most its timeout interval can be): no run is asked for sooner.
const AGENT_MIN_SPACING: Duration = Duration::from_millis(200);
/// A verdict is checked this long after it falls due (the agent compares with `>`).
const VERDICT_MARGIN: Duration = Duration::from_millis(1);

/// The connected agent's schedule.
pub(super) struct ConsentSchedule {
    interval: Duration,
    disconnected: Duration,
    failed: Duration,
    rng: SmallRng,
    /// When the agent last ran (and sent a check if one was due).
    last_run: Option<Instant>,
    /// When the next regular consent check is due.
    next_check: Option<Instant>,
    /// When the last regular consent check went.
    last_check: Option<Instant>,
}

impl ConsentSchedule {
    /// A schedule with the path's timers; `seed` seeds the jitter.
    pub(super) fn new(interval: Duration, disconnected: Duration, failed: Duration, seed: u64) -> Self {
        Self {
            interval,
            disconnected,
            failed,
            rng: SmallRng::seed_from_u64(seed),
            last_run: None,
            next_check: None,
            last_check: None,
        }
    }

    /// Notes that the agent ran at `now` (it sent a consent check if one was due).
    pub(super) fn ran(&mut self, now: Instant) {
        self.last_run = Some(now);
        if self.next_check.is_none_or(|due| due <= now) {
            self.last_check = Some(now);
            let factor: f64 = self.rng.random_range(0.8..1.2);
            self.next_check = Some(now + self.interval.mul_f64(factor));
        }
    }

    /// The peer's consent check on the selected pair came at `now`. If ours is already allowed
    /// (RFC 7675 spaces them 0.8 to 1.2 times the interval), it goes now, with our answer: the two
    /// checks then share their wake-ups at both ends (an idle pair costs four of them, not six,
    /// per round of checks), and the two schedules stay in step, each within its own window.
    pub(super) fn peer_checked(&mut self, now: Instant) {
        let window_opens = self.last_check.map(|last| last + self.interval.mul_f64(0.8));
        if window_opens.is_some_and(|opens| opens <= now) && self.next_check.is_some_and(|due| due > now) {
            self.next_check = Some(now);
        }
    }

    /// Starts over (a new pair was selected at `now`).
    pub(super) fn restart(&mut self, now: Instant) {
        self.next_check = None;
        self.ran(now);
    }

    /// When the agent must run next, given when we last heard from the peer and whether it
    /// reads `disconnected` (then hearing from the peer again is due at once: the agent flips
    /// back to `connected` only when it runs).
    pub(super) fn next_run(&self, last_heard: Instant, disconnected: bool) -> Option<Instant> {
        let next_check = self.next_check?;
        let last_run = self.last_run?;
        let earliest = last_run + AGENT_MIN_SPACING;
        if disconnected && last_heard > last_run {
            return Some(last_heard.max(earliest));
        }
        let quiet_probe = (last_heard + self.disconnected / 2).max(last_run + QUIET_PROBE_SPACING);
        let disconnected = last_heard + self.disconnected + VERDICT_MARGIN;
        let failed = last_heard + self.failed + VERDICT_MARGIN;
        let verdicts = [disconnected, failed].into_iter().filter(|due| *due > last_run).min();
        [Some(next_check), Some(quiet_probe), verdicts].into_iter().flatten().min().map(|next| next.max(earliest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_path_runs_at_the_consent_pace() {
        let start = Instant::now();
        let mut schedule =
            ConsentSchedule::new(Duration::from_secs(5), Duration::from_secs(5), Duration::from_secs(15), 7);
        schedule.restart(start);
        let mut now = start;
        let mut runs = 0;
        while now < start + Duration::from_secs(60) {
            // The peer is heard continuously.
            let Some(next) = schedule.next_run(now, false) else { panic!("no deadline") };
            assert!(next > now);
            let gap = next - now;
            assert!(gap >= Duration::from_millis(10), "{gap:?}");
            if next - now <= Duration::from_millis(100) {
                now = next;
            } else {
                now += Duration::from_millis(100);
                if now < next {
                    continue;
                }
            }
            schedule.ran(now);
            runs += 1;
        }
        assert!((10..=16).contains(&runs), "{runs} runs in a minute");
    }

    #[test]
    fn a_check_from_the_peer_inside_our_window_brings_ours_forward() {
        let start = Instant::now();
        let mut schedule =
            ConsentSchedule::new(Duration::from_secs(5), Duration::from_secs(7), Duration::from_secs(15), 3);
        schedule.restart(start);
        let planned = schedule.next_check.expect("a check is planned");
        // Before the window opens (4 s after our last check) the peer's check changes nothing.
        schedule.peer_checked(start + Duration::from_millis(3900));
        assert_eq!(schedule.next_check, Some(planned));
        // Inside it, ours goes at once.
        let heard = start + Duration::from_millis(4000);
        schedule.peer_checked(heard);
        assert_eq!(schedule.next_run(heard, false), Some(heard));
        schedule.ran(heard);
        let next = schedule.next_check.expect("the next check is planned");
        assert!(next >= heard + Duration::from_secs(4) && next <= heard + Duration::from_secs(6), "{next:?}");
    }

    #[test]
    fn two_schedules_fall_in_step_and_keep_rfc_7675_spacing() {
        let start = Instant::now();
        let (step, one_way) = (Duration::from_millis(10), Duration::from_millis(20));
        let mut sides = [1, 2].map(|seed| {
            ConsentSchedule::new(Duration::from_secs(5), Duration::from_secs(7), Duration::from_secs(15), seed)
        });
        for side in &mut sides {
            side.restart(start);
        }
        let mut sent: [Vec<Instant>; 2] = [Vec::new(), Vec::new()];
        let mut now = start;
        while now < start + Duration::from_secs(120) {
            now += step;
            for side in 0..2 {
                // The other side's check arrives one way after it went.
                if sent[1 - side].last().is_some_and(|at| *at + one_way <= now && *at + one_way + step > now) {
                    sides[side].peer_checked(now);
                }
                if sides[side].next_check.is_some_and(|due| due <= now) {
                    sides[side].ran(now);
                    sent[side].push(now);
                }
            }
        }
        for checks in &sent {
            for gap in checks.windows(2).map(|pair| pair[1] - pair[0]) {
                assert!(gap >= Duration::from_millis(3990) && gap <= Duration::from_millis(6010), "{gap:?}");
            }
        }
        // After the first rounds each check of one side comes with one of the other's.
        let near = |at: Instant, other: Instant| at.max(other) - at.min(other) <= one_way + step;
        let paired = sent[0][2..].iter().filter(|at| sent[1].iter().any(|other| near(**at, *other))).count();
        assert_eq!(paired, sent[0].len() - 2, "{sent:?}");
        assert!(sent[0].len() >= 20, "{} checks in two minutes", sent[0].len());
    }

    #[test]
    fn quiet_peer_is_probed_then_verdicts_fall_due() {
        let start = Instant::now();
        let mut schedule =
            ConsentSchedule::new(Duration::from_secs(5), Duration::from_secs(5), Duration::from_secs(15), 1);
        schedule.restart(start);
        let first = schedule.next_run(start, false);
        assert_eq!(first, Some(start + Duration::from_millis(2500)));
        schedule.ran(start + Duration::from_millis(2500));
        assert_eq!(schedule.next_run(start, false), Some(start + Duration::from_millis(3500)));
        // Heard again while disconnected: run at once.
        let heard = start + Duration::from_secs(6);
        assert_eq!(schedule.next_run(heard, true), Some(heard));
    }
}
