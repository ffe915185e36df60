//! Paces the connectivity checks the core sends (RFC 8445 section 14).
//!
//! `rtc-ice` 0.21.1 checks every candidate pair on each tick of its check interval (10 ms here,
//! so that setup is fast), and a remote description chooses the pairs' addresses: one offer with
//! many candidates would aim thousands of STUN binding requests a second at addresses of its
//! choosing. Every binding request the core sends passes a token bucket of [`CHECKS_PER_SECOND`]
//! with a burst of [`CHECK_BURST`]; when a tick has more than the bucket holds, the paths served
//! to addresses that passed a check go first (the nomination of a working pair, consent checks),
//! then the paths served longest ago (never, first; of those, the newest), so that a pair that
//! appears late (a server-reflexive pair of a NAT) is checked at once; the rest are left out as
//! if lost (the core counts them sent: a pair still fails after its budget of checks, ~1.4 s).

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::Datagram;

/// Binding requests a connection sends per second at most, over time: one each 10 ms (Ta = 10 ms,
/// above RFC 8445's 5 ms floor), enough for a few pairs at the check interval, ~10 KB/s at most
/// aimed at the remote description's addresses.
pub(super) const CHECKS_PER_SECOND: f64 = 100.0;
/// Binding requests a connection may send at once: a setup's first checks of all its pairs go
/// unpaced (a direct pair connects in ~13 ms, two ticks).
pub(super) const CHECK_BURST: f64 = 20.0;
/// A path that has not passed a check is checked again this long after its last check at the
/// soonest: rtc checks every pair again whenever a candidate is added (a burst per trickled
/// candidate), and re-sending a check before its answer can come only spends the bucket. Two
/// ticks of the check interval, so that a NAT's pinhole opened by the other side's check is
/// tried again soon.
const MIN_RECHECK: Duration = Duration::from_millis(20);
/// Paths (local and remote address) whose turns are remembered, at most; past it the stalest is
/// forgotten (and counts as new again). 64 remote candidates times two local ones (host and
/// relayed, say); ~25 KB with the table's spare room.
const MAX_PACED_PATHS: usize = 128;

/// One connection's bucket of checks.
pub(super) struct CheckPacing {
    tokens: f64,
    filled_at: Option<Instant>,
    paths: HashMap<Path, Turns>,
}

/// A path: local address, remote address.
type Path = (SocketAddr, SocketAddr);

/// When the core first asked to check a path, and when a check of it last went.
#[derive(Clone, Copy)]
struct Turns {
    first_asked: Instant,
    last_served: Option<Instant>,
}

impl Default for CheckPacing {
    fn default() -> Self {
        Self { tokens: CHECK_BURST, filled_at: None, paths: HashMap::new() }
    }
}

impl CheckPacing {
    /// Of the checks the core wants to send now, those that go (the rest are dropped): checks to
    /// addresses that `passed` first (a nomination or consent check on a working pair), then the
    /// paths served longest ago, and of those never served the newest (candidates that come late,
    /// server-reflexive and relayed ones, are the ones that cross NATs).
    pub(super) fn admit(
        &mut self,
        mut checks: Vec<Datagram>,
        now: Instant,
        passed: impl Fn(SocketAddr) -> bool,
    ) -> Vec<Datagram> {
        if checks.is_empty() {
            return checks;
        }
        let elapsed = self.filled_at.map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        self.tokens = (self.tokens + elapsed * CHECKS_PER_SECOND).min(CHECK_BURST);
        self.filled_at = Some(now);
        for (local, to, _) in &checks {
            self.turns((*local, *to), now);
        }
        checks.retain(|(local, to, _)| {
            let last_served = self.paths.get(&(*local, *to)).and_then(|turns| turns.last_served);
            passed(*to) || last_served.is_none_or(|at| now.saturating_duration_since(at) >= MIN_RECHECK)
        });
        // `floor` of a value in 0..=CHECK_BURST: the cast cannot truncate.
        let allowed = self.tokens.floor() as usize;
        if checks.len() > allowed {
            checks.sort_by_key(|(local, to, _)| {
                let turns = self.paths.get(&(*local, *to)).copied();
                (!passed(*to), turns.and_then(|turns| turns.last_served), Reverse(turns.map(|turns| turns.first_asked)))
            });
            checks.truncate(allowed);
        }
        self.tokens -= checks.len() as f64;
        for (local, to, _) in &checks {
            self.turns((*local, *to), now).last_served = Some(now);
        }
        checks
    }

    /// The turns of `path`, made room for if it is new.
    fn turns(&mut self, path: Path, now: Instant) -> &mut Turns {
        if self.paths.len() >= MAX_PACED_PATHS && !self.paths.contains_key(&path) {
            let stalest = self
                .paths
                .iter()
                .min_by_key(|(_, turns)| turns.last_served.unwrap_or(turns.first_asked))
                .map(|(path, _)| *path);
            if let Some(stalest) = stalest {
                self.paths.remove(&stalest);
            }
        }
        self.paths.entry(path).or_insert(Turns { first_asked: now, last_served: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(port: u16) -> Datagram {
        (SocketAddr::from(([10, 0, 0, 1], 1)), SocketAddr::from(([10, 0, 0, 2], port)), vec![0, 1])
    }

    fn ports(checks: &[Datagram]) -> Vec<u16> {
        checks.iter().map(|(_, to, _)| to.port()).collect()
    }

    #[test]
    fn a_burst_goes_then_the_rate_holds() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        let many: Vec<Datagram> = (0..100).map(check).collect();
        assert_eq!(pacing.admit(many.clone(), start, |_| false).len(), CHECK_BURST as usize);
        assert!(pacing.admit(many.clone(), start, |_| false).is_empty(), "the bucket is empty");
        let mut sent = 0;
        for tick in 1..=100 {
            sent += pacing.admit(many.clone(), start + Duration::from_millis(10 * tick), |_| false).len();
        }
        assert!((99..=101).contains(&sent), "{sent} in a second");
    }

    #[test]
    fn the_paths_served_longest_ago_go_first_and_of_new_ones_the_newest() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        let first: Vec<Datagram> = (0..30).map(check).collect();
        assert_eq!(ports(&pacing.admit(first, start, |_| false)), (0..20).collect::<Vec<_>>());
        // Two tokens later: of the paths never served, the one first asked for latest, then one
        // asked for with the first.
        let later = start + Duration::from_millis(25);
        let admitted = pacing.admit((0..31).map(check).collect(), later, |_| false);
        assert_eq!(admitted.len(), 2);
        assert_eq!(admitted[0].1.port(), 30, "the newest path first ({admitted:?})");
        assert!((20..30).contains(&admitted[1].1.port()), "then one never served ({admitted:?})");
        let much_later = start + Duration::from_millis(45);
        let admitted = pacing.admit((0..31).map(check).collect(), much_later, |to| to.port() == 5);
        assert_eq!(admitted[0].1.port(), 5, "an address that passed a check first ({admitted:?})");
    }

    #[test]
    fn a_path_is_checked_again_only_after_a_while_unless_it_passed() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        assert_eq!(pacing.admit(vec![check(1), check(2)], start, |_| false).len(), 2);
        let soon = start + Duration::from_millis(5);
        assert_eq!(ports(&pacing.admit(vec![check(1), check(2)], soon, |to| to.port() == 2)), vec![2]);
        assert_eq!(pacing.admit(vec![check(1)], start + MIN_RECHECK, |_| false).len(), 1);
    }

    #[test]
    fn few_paths_are_remembered() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        for port in 0..1000 {
            pacing.admit(vec![check(port)], start + Duration::from_secs(u64::from(port)), |_| false);
        }
        assert!(pacing.paths.len() <= MAX_PACED_PATHS);
    }
}
