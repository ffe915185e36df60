//! Paces the connectivity checks (RFC 8445 section 14).
//!
//! `rtc-ice` 0.21.1 checks every pair in progress on each tick, and a tick runs whenever a
//! candidate is added as well as every check interval. A remote description chooses the pairs'
//! addresses: 64 remote candidates times a few local ones would aim thousands of checks a second
//! at addresses of its choosing. Two things hold it back:
//! - the agent runs at most once per [`TICK_PER_PAIR`] times the number of pairs (at least
//!   [`CHECK_INTERVAL`]), so that its ticks ask for no more checks than the bucket refills;
//! - every binding request the path sends passes a token bucket of [`CHECKS_PER_SECOND`] with a
//!   burst of [`CHECK_BURST`] (the old transport's budget): in any stretch of `t` seconds at most
//!   `CHECK_BURST + CHECKS_PER_SECOND * t` checks leave. When a tick has more than the bucket
//!   holds, checks to addresses that passed a check go first (a nomination, consent), then the
//!   paths served longest ago (never, first; of those, the newest), so every pair gets its turn;
//!   the rest are dropped as if lost (the agent counts them sent).
//!
//! A tick that found no pair to check does not hold the next back: the first candidate pair
//! (both sides' candidates come after the descriptions, so the first tick often has none) is
//! checked at once, not a [`CHECK_INTERVAL`] later.
//!
//! One tick is let go early, once per ICE session: the controlling agent's first after a check
//! of its succeeded ([`CheckPacing::hurry_once`]). `rtc-ice` nominates a valid pair (RFC 8445
//! section 8.1.1, regular nomination) only at a tick, so without it a pair that succeeded just
//! after a tick waited a whole [`CHECK_INTERVAL`] for its nomination, unless a check from the
//! peer came first: on a LAN, where the answer reaches the offerer after the answerer's first
//! checks, connecting took 50 ms instead of a few round trips. That tick sends the nomination
//! (the agent pings no other pair when it nominates), through the same bucket.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::events::Transmit;

/// The agent's check interval while connecting: a lost check is repeated after this. Short,
/// because setup time at 10 % loss is spent waiting here; the pacing below bounds the rate.
pub(super) const CHECK_INTERVAL: Duration = Duration::from_millis(50);
/// The agent's own check interval: it skips a run sooner than this after its last. The spacing
/// of its runs is ours ([`CheckPacing::earliest`]), so this only has to let the early tick of
/// [`CheckPacing::hurry_once`] through (at 50 ms the agent would skip it).
pub(super) const AGENT_CHECK_INTERVAL: Duration = Duration::from_millis(1);
/// Binding requests a connection sends per second at most, over time (Ta = 10 ms, above RFC
/// 8445's 5 ms floor): ~10 KB/s at most aimed at the remote description's addresses.
pub(super) const CHECKS_PER_SECOND: u32 = 100;
/// Binding requests a connection may send at once: an honest setup's checks of all its pairs go
/// unpaced.
pub(super) const CHECK_BURST: u32 = 20;
/// The time budget per pair and tick: one token of the bucket.
const TICK_PER_PAIR: Duration = Duration::from_millis(1000 / CHECKS_PER_SECOND as u64);
/// Slowest tick (a hundred pairs and more).
const MAX_TICK: Duration = Duration::from_secs(1);
/// Paths (local and remote address) whose turns are remembered, at most; past it the stalest is
/// forgotten (and counts as new again): 64 remote candidates times two local ones.
const MAX_PACED_PATHS: usize = 128;

/// A path: local address, remote address.
type Path = (SocketAddr, SocketAddr);

/// When the path was first asked for, and when a check of it last went.
#[derive(Clone, Copy)]
struct Turns {
    first_asked: Instant,
    last_served: Option<Instant>,
}

/// When the connecting agent may run again, and which of its checks may go.
#[derive(Default)]
pub(super) struct CheckPacing {
    last_tick: Option<Instant>,
    /// The candidate pairs the last tick had.
    last_tick_pairs: usize,
    /// The next tick may run at once (see [`CheckPacing::hurry_once`]).
    hurried: bool,
    /// This ICE session's early tick was asked for.
    hurried_this_session: bool,
    /// The token bucket as a time (GCRA): when it would be full again. Each check moves it one
    /// [`TICK_PER_PAIR`] on; a check goes while it stays within the burst's worth of `now`.
    full_at: Option<Instant>,
    paths: HashMap<Path, Turns>,
}

impl CheckPacing {
    /// The earliest the agent may run, with `pairs` candidate pairs (local times remote).
    pub(super) fn earliest(&self, pairs: usize) -> Option<Instant> {
        if self.hurried || (self.last_tick_pairs == 0 && pairs > 0) {
            return self.last_tick;
        }
        let spacing =
            TICK_PER_PAIR.saturating_mul(u32::try_from(pairs).unwrap_or(u32::MAX)).clamp(CHECK_INTERVAL, MAX_TICK);
        self.last_tick.map(|last| last + spacing)
    }

    /// Notes that the agent ran at `now`, with `pairs` candidate pairs.
    pub(super) fn ticked(&mut self, now: Instant, pairs: usize) {
        self.last_tick = Some(now);
        self.last_tick_pairs = pairs;
        self.hurried = false;
    }

    /// Lets the next tick run at once, the first time this is asked in an ICE session (the
    /// controlling agent's check succeeded before it selected a pair: it nominates at its next
    /// tick). Later asks wait for the spacing, so a peer cannot hurry the ticks by answering.
    pub(super) fn hurry_once(&mut self) {
        if !self.hurried_this_session {
            self.hurried_this_session = true;
            self.hurried = true;
        }
    }

    /// A new ICE session began (a restart): its first succeeded check may hurry a tick again.
    pub(super) fn new_session(&mut self) {
        self.hurried_this_session = false;
        self.hurried = false;
    }

    /// Of the binding requests the agent wants to send at `now`, those the bucket lets go; the
    /// order is described in the module's doc. `passed`: whether an address passed a check.
    pub(super) fn admit(
        &mut self,
        mut checks: Vec<Transmit>,
        now: Instant,
        passed: impl Fn(SocketAddr) -> bool,
    ) -> Vec<Transmit> {
        if checks.is_empty() {
            return checks;
        }
        for check in &checks {
            self.turns((check.local, check.to), now);
        }
        let allowed = self.tokens(now);
        if checks.len() > allowed {
            checks.sort_by_key(|check| {
                let turns = self.paths.get(&(check.local, check.to)).copied();
                (
                    !passed(check.to),
                    turns.and_then(|turns| turns.last_served),
                    Reverse(turns.map(|turns| turns.first_asked)),
                )
            });
            log::debug!("pacing ICE checks: {} of {} go", allowed, checks.len());
            checks.truncate(allowed);
        }
        for check in &checks {
            self.take_token(now);
            self.turns((check.local, check.to), now).last_served = Some(now);
        }
        checks
    }

    /// Whole tokens in the bucket at `now`.
    fn tokens(&self, now: Instant) -> usize {
        let debt = self.full_at.map_or(Duration::ZERO, |full| full.saturating_duration_since(now));
        let spent = debt.as_nanos().div_ceil(TICK_PER_PAIR.as_nanos());
        usize::try_from(u128::from(CHECK_BURST).saturating_sub(spent)).unwrap_or(0)
    }

    /// Takes one token (the caller checked there is one).
    fn take_token(&mut self, now: Instant) {
        self.full_at = Some(self.full_at.map_or(now, |full| full.max(now)) + TICK_PER_PAIR);
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

/// Whether `datagram` is a STUN binding request (a connectivity or consent check).
pub(super) fn is_binding_request(datagram: &[u8]) -> bool {
    datagram.len() >= 20 && datagram[..2] == [0x00, 0x01]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(port: u16) -> Transmit {
        Transmit {
            local: SocketAddr::from(([10, 0, 0, 1], 1)),
            to: SocketAddr::from(([10, 0, 0, 2], port)),
            data: vec![0, 1],
        }
    }

    fn ports(checks: &[Transmit]) -> Vec<u16> {
        checks.iter().map(|check| check.to.port()).collect()
    }

    #[test]
    fn spacing_grows_with_pairs() {
        let start = Instant::now();
        let mut pacing = CheckPacing::default();
        assert_eq!(pacing.earliest(3), None);
        pacing.ticked(start, 3);
        assert_eq!(pacing.earliest(3), Some(start + CHECK_INTERVAL));
        assert_eq!(pacing.earliest(64), Some(start + Duration::from_millis(640)));
        assert_eq!(pacing.earliest(100_000), Some(start + MAX_TICK));
    }

    #[test]
    fn a_tick_without_pairs_does_not_hold_back_the_first_pair() {
        let start = Instant::now();
        let mut pacing = CheckPacing::default();
        pacing.ticked(start, 0);
        assert_eq!(pacing.earliest(0), Some(start + CHECK_INTERVAL), "nothing to check: the usual spacing");
        assert_eq!(pacing.earliest(1), Some(start), "a pair came: at once");
        let next = start + Duration::from_millis(2);
        pacing.ticked(next, 1);
        assert_eq!(pacing.earliest(2), Some(next + CHECK_INTERVAL), "then the spacing");
    }

    #[test]
    fn one_tick_per_session_may_come_early() {
        let start = Instant::now();
        let mut pacing = CheckPacing::default();
        pacing.ticked(start, 3);
        pacing.hurry_once();
        assert_eq!(pacing.earliest(3), Some(start), "the next tick may run at once");
        let early = start + Duration::from_millis(1);
        pacing.ticked(early, 3);
        assert_eq!(pacing.earliest(3), Some(early + CHECK_INTERVAL), "then the spacing again");
        pacing.hurry_once();
        assert_eq!(pacing.earliest(3), Some(early + CHECK_INTERVAL), "once per session");
        pacing.new_session();
        pacing.hurry_once();
        assert_eq!(pacing.earliest(3), Some(early), "a restart's session may hurry once");
    }

    #[test]
    fn a_burst_goes_then_the_rate_holds() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        let many: Vec<Transmit> = (0..100).map(check).collect();
        assert_eq!(pacing.admit(many.clone(), start, |_| false).len(), CHECK_BURST as usize);
        assert!(pacing.admit(many.clone(), start, |_| false).is_empty(), "the bucket is empty");
        let mut sent = 0;
        for tick in 1..=100 {
            sent += pacing.admit(many.clone(), start + Duration::from_millis(10 * tick), |_| false).len();
        }
        assert_eq!(sent, 100, "{sent} in a second");
        // Idle for long: the bucket holds a burst again, no more.
        let later = start + Duration::from_secs(60);
        assert_eq!(pacing.admit(many, later, |_| false).len(), CHECK_BURST as usize);
    }

    #[test]
    fn the_paths_served_longest_ago_go_first_and_of_new_ones_the_newest() {
        let mut pacing = CheckPacing::default();
        let start = Instant::now();
        assert_eq!(ports(&pacing.admit((0..30).map(check).collect(), start, |_| false)), (0..20).collect::<Vec<_>>());
        let later = start + Duration::from_millis(20);
        let admitted = pacing.admit((0..31).map(check).collect(), later, |_| false);
        assert_eq!(admitted.len(), 2);
        assert_eq!(admitted[0].to.port(), 30, "the newest path first");
        assert!((20..30).contains(&admitted[1].to.port()), "then one never served");
        let much_later = start + Duration::from_millis(40);
        let admitted = pacing.admit((0..31).map(check).collect(), much_later, |to| to.port() == 5);
        assert_eq!(admitted[0].to.port(), 5, "an address that passed a check first");
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

    #[test]
    fn only_binding_requests_are_checks() {
        let mut request = vec![0u8; 20];
        request[1] = 1;
        assert!(is_binding_request(&request));
        request[0] = 1;
        assert!(!is_binding_request(&request), "a success response");
        assert!(!is_binding_request(&[0, 1]));
    }
}
