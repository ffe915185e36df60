//! Paces the connectivity checks the core sends (RFC 8445 section 14).
//!
//! `rtc-ice` 0.21.1 checks every candidate pair on each tick of its check interval (10 ms here,
//! so that setup is fast), and a remote description chooses the pairs' addresses: one offer with
//! many candidates would aim thousands of STUN binding requests a second at addresses of its
//! choosing. Every binding request the core sends passes a token bucket of [`CHECKS_PER_SECOND`]
//! with a burst of [`CHECK_BURST`]; when a tick has more than the bucket holds, the paths served
//! longest ago (never, first) go, so that a pair that appears late (a server-reflexive pair of a
//! NAT) is checked at once, and the rest are left out as if lost (the core counts them sent: a
//! pair still fails after its budget of checks, ~1.4 s).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

/// Binding requests a connection sends per second at most, over time: one each 10 ms (Ta = 10 ms,
/// above RFC 8445's 5 ms floor), enough for a few pairs at the check interval, ~10 KB/s at most
/// aimed at the remote description's addresses.
pub(super) const CHECKS_PER_SECOND: f64 = 100.0;
/// Binding requests a connection may send at once: a setup's first checks of all its pairs go
/// unpaced (a direct pair connects in ~13 ms, two ticks).
pub(super) const CHECK_BURST: f64 = 20.0;
/// Paths (local and remote address) whose last check is remembered, at most; past it the one
/// served longest ago is forgotten. 64 remote candidates times a few local ones; ~12 KB.
const MAX_PACED_PATHS: usize = 256;

/// One connection's bucket of checks.
pub(super) struct CheckPacing {
    tokens: f64,
    filled_at: Option<Instant>,
    last_served: HashMap<(SocketAddr, SocketAddr), Instant>,
}

impl Default for CheckPacing {
    fn default() -> Self {
        Self { tokens: CHECK_BURST, filled_at: None, last_served: HashMap::new() }
    }
}

/// A binding request waiting for its turn: local address, remote address, bytes.
pub(super) type Check = (SocketAddr, SocketAddr, Vec<u8>);

impl CheckPacing {
    /// Of the checks the core wants to send now, those that go (the rest are dropped).
    pub(super) fn admit(&mut self, mut checks: Vec<Check>, now: Instant) -> Vec<Check> {
        if checks.is_empty() {
            return checks;
        }
        let elapsed = self.filled_at.map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        self.tokens = (self.tokens + elapsed * CHECKS_PER_SECOND).min(CHECK_BURST);
        self.filled_at = Some(now);
        // `floor` of a value in 0..=CHECK_BURST: the cast cannot truncate.
        let allowed = self.tokens.floor() as usize;
        if checks.len() > allowed {
            checks.sort_by_key(|(local, to, _)| self.last_served.get(&(*local, *to)).copied());
            checks.truncate(allowed);
        }
        self.tokens -= checks.len() as f64;
        for (local, to, _) in &checks {
            self.serve((*local, *to), now);
        }
        checks
    }

    fn serve(&mut self, path: (SocketAddr, SocketAddr), now: Instant) {
        if self.last_served.len() >= MAX_PACED_PATHS && !self.last_served.contains_key(&path) {
            let oldest = self.last_served.iter().min_by_key(|(_, at)| **at).map(|(path, _)| *path);
            if let Some(oldest) = oldest {
                self.last_served.remove(&oldest);
            }
        }
        self.last_served.insert(path, now);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn check(port: u16) -> Check {
        (SocketAddr::from(([10, 0, 0, 1], 1)), SocketAddr::from(([10, 0, 0, 2], port)), vec![0, 1])
    }

    fn ports(checks: &[Check]) -> Vec<u16> {
        checks.iter().map(|(_, to, _)| to.port()).collect()
    }

    #[test]
    fn a_burst_goes_then_the_rate_holds() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        let many: Vec<Check> = (0..100).map(check).collect();
        assert_eq!(pacing.admit(many.clone(), start).len(), CHECK_BURST as usize);
        assert!(pacing.admit(many.clone(), start).is_empty(), "the bucket is empty");
        let mut sent = 0;
        for tick in 1..=100 {
            sent += pacing.admit(many.clone(), start + Duration::from_millis(10 * tick)).len();
        }
        assert!((99..=101).contains(&sent), "{sent} in a second");
    }

    #[test]
    fn the_paths_served_longest_ago_go_first() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        let first: Vec<Check> = (0..20).map(check).collect();
        assert_eq!(pacing.admit(first, start).len(), 20);
        // Two tokens later: the new path, then the one served longest ago.
        let later = start + Duration::from_millis(25);
        let admitted = pacing.admit((0..21).rev().map(check).collect(), later);
        assert_eq!(ports(&admitted), vec![20, 19], "never served first, then by age ({admitted:?})");
    }

    #[test]
    fn few_paths_are_remembered() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        for port in 0..1000 {
            pacing.admit(vec![check(port)], start + Duration::from_secs(u64::from(port)));
        }
        assert!(pacing.last_served.len() <= MAX_PACED_PATHS);
    }
}
