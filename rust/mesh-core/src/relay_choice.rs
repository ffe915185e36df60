//! Which member of the mesh relays a peer's traffic when the direct path to that peer does not
//! work (issue 21): one rule, in plain inputs and time, so it is tested without a network.
//!
//! The candidates for a peer are the members connected directly to us that announced they can
//! reach it (the caller filters them). The rule keeps the member chosen before for as long as it
//! stays a candidate, so traffic does not move between relays because round-trip times wobble;
//! when it goes (it left, lost its path to the peer or stopped announcing it), the lowest
//! round-trip time wins, ties and unknown times going to the lowest id, and a member that
//! dropped out as a relay less than [`RELAY_REJOIN_HOLD`] ago is taken only if nothing else is
//! left, so a member whose path comes and goes does not pull traffic back and forth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long a member that stopped being a usable relay for a peer stays second choice for it:
/// a few of the transport's consent intervals, so a member whose path flaps is not taken back
/// at each return.
pub const RELAY_REJOIN_HOLD: Duration = Duration::from_secs(10);

/// Most peers the choice remembers anything for (a relay and a drop-out each); past it new
/// peers are not given a relay until others are forgotten. A mesh has at most a few hundred
/// members (the binding bounds it), so this is never reached by a well-behaved caller.
pub const MAX_RELAYED_PEERS: usize = 4096;

/// A member that could relay for a peer: connected directly to us and announcing the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayOption {
    /// The member's peer id.
    pub member: i32,
    /// Our round-trip time to the member, if measured.
    pub round_trip: Option<Duration>,
}

/// What the choice keeps about one peer.
#[derive(Debug, Clone, Default)]
struct PeerRelay {
    /// The member relaying for the peer now.
    current: Option<i32>,
    /// Members that stopped being a usable relay for the peer, and when.
    dropped: BTreeMap<i32, Instant>,
}

/// The relay chosen for each peer whose direct path does not work.
#[derive(Debug, Clone, Default)]
pub struct RelayChoice {
    peers: BTreeMap<i32, PeerRelay>,
}

impl RelayChoice {
    /// A choice with no relay for anyone yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The member that relays for `peer` at `now`, out of `options` (the members connected to
    /// us that announce `peer`; `peer` itself and duplicates are ignored), or `None` if there is
    /// none. Keeps the current relay while it is among `options`.
    pub fn choose(&mut self, now: Instant, peer: i32, options: &[RelayOption]) -> Option<i32> {
        if !self.peers.contains_key(&peer) && self.peers.len() >= MAX_RELAYED_PEERS {
            return None;
        }
        let state = self.peers.entry(peer).or_default();
        state.dropped.retain(|_, at| now.saturating_duration_since(*at) < RELAY_REJOIN_HOLD);
        let usable = |member: i32| member != peer;
        if let Some(current) = state.current {
            if options.iter().any(|option| option.member == current) {
                return Some(current);
            }
            state.dropped.insert(current, now);
        }
        let best = options
            .iter()
            .filter(|option| usable(option.member))
            .min_by_key(|option| {
                (state.dropped.contains_key(&option.member), option.round_trip.unwrap_or(Duration::MAX), option.member)
            })
            .map(|option| option.member);
        state.current = best;
        if best.is_none() && state.dropped.is_empty() {
            self.peers.remove(&peer);
        }
        best
    }

    /// The member relaying for `peer` as last chosen.
    pub fn current(&self, peer: i32) -> Option<i32> {
        self.peers.get(&peer).and_then(|state| state.current)
    }

    /// Forgets `peer` (it left the mesh, or its direct path works and needs no relay).
    pub fn forget(&mut self, peer: i32) {
        self.peers.remove(&peer);
    }

    /// Forgets `member` as a relay for everyone (it left the mesh): the next choice for each peer
    /// it relayed for picks another, without holding it against a later return.
    pub fn forget_member(&mut self, member: i32) {
        for state in self.peers.values_mut() {
            if state.current == Some(member) {
                state.current = None;
            }
            state.dropped.remove(&member);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(member: i32, round_trip_ms: Option<u64>) -> RelayOption {
        RelayOption { member, round_trip: round_trip_ms.map(Duration::from_millis) }
    }

    #[test]
    fn lowest_round_trip_wins_then_lowest_id() {
        let now = Instant::now();
        let mut choice = RelayChoice::new();
        let options = [option(5, Some(40)), option(3, Some(20)), option(4, Some(20)), option(2, None)];
        assert_eq!(choice.choose(now, 9, &options), Some(3));
        assert_eq!(choice.current(9), Some(3));
        let unknown = [option(7, None), option(6, None)];
        assert_eq!(RelayChoice::new().choose(now, 9, &unknown), Some(6), "unknown times: lowest id");
    }

    #[test]
    fn no_option_no_relay() {
        let now = Instant::now();
        let mut choice = RelayChoice::new();
        assert_eq!(choice.choose(now, 9, &[]), None);
        assert_eq!(choice.choose(now, 9, &[option(9, Some(1))]), None, "the peer does not relay for itself");
        assert_eq!(choice.current(9), None);
    }

    #[test]
    fn the_current_relay_is_kept_while_it_works() {
        let start = Instant::now();
        let mut choice = RelayChoice::new();
        assert_eq!(choice.choose(start, 9, &[option(5, Some(30))]), Some(5));
        // A faster member appears: the working relay stays, whatever the times do.
        for step in 1..100u64 {
            let now = start + Duration::from_millis(100 * step);
            let wobble = [option(5, Some(30 + step % 20)), option(2, Some(5 + step % 3))];
            assert_eq!(choice.choose(now, 9, &wobble), Some(5), "step {step}");
        }
    }

    #[test]
    fn a_relay_that_goes_is_replaced_and_does_not_pull_traffic_back() {
        let start = Instant::now();
        let mut choice = RelayChoice::new();
        let both = [option(2, Some(10)), option(5, Some(30))];
        assert_eq!(choice.choose(start, 9, &both), Some(2));
        // 2 loses its path to 9: 5 takes over.
        let t1 = start + Duration::from_secs(1);
        assert_eq!(choice.choose(t1, 9, &[option(5, Some(30))]), Some(5));
        // 2 comes back faster than ever: 5 keeps relaying (no flapping).
        let t2 = start + Duration::from_secs(2);
        assert_eq!(choice.choose(t2, 9, &[option(2, Some(1)), option(5, Some(30))]), Some(5));
        // 5 goes within the hold: 2 dropped out lately, but is all there is besides 7... 7 wins.
        let t3 = start + Duration::from_secs(3);
        assert_eq!(choice.choose(t3, 9, &[option(2, Some(1)), option(7, Some(90))]), Some(7));
        // 7 goes too: 2 and 5 both dropped out lately; the faster one is taken.
        let t4 = start + Duration::from_secs(4);
        assert_eq!(choice.choose(t4, 9, &[option(2, Some(1)), option(5, Some(30))]), Some(2));
    }

    #[test]
    fn a_dropped_member_is_first_choice_again_after_the_hold() {
        let start = Instant::now();
        let mut choice = RelayChoice::new();
        assert_eq!(choice.choose(start, 9, &[option(2, Some(10))]), Some(2));
        assert_eq!(choice.choose(start, 9, &[option(5, Some(30))]), Some(5));
        // 5 leaves after the hold: 2 (faster) is first choice again, ahead of 8.
        let later = start + RELAY_REJOIN_HOLD;
        assert_eq!(choice.choose(later, 9, &[option(2, Some(10)), option(8, Some(20))]), Some(2));
    }

    #[test]
    fn peers_are_chosen_for_separately_and_forgotten() {
        let now = Instant::now();
        let mut choice = RelayChoice::new();
        assert_eq!(choice.choose(now, 9, &[option(2, Some(10))]), Some(2));
        assert_eq!(choice.choose(now, 8, &[option(3, Some(10))]), Some(3));
        choice.forget(9);
        assert_eq!(choice.current(9), None);
        assert_eq!(choice.current(8), Some(3));
        choice.forget_member(3);
        assert_eq!(choice.current(8), None);
        // A member that left and came back is not held against.
        assert_eq!(choice.choose(now, 8, &[option(3, Some(50)), option(4, Some(60))]), Some(3));
    }

    #[test]
    fn the_number_of_peers_remembered_is_bounded() {
        let now = Instant::now();
        let mut choice = RelayChoice::new();
        let relay = [option(1, Some(10))];
        for peer in 2..(2 + MAX_RELAYED_PEERS as i32) {
            assert_eq!(choice.choose(now, peer, &relay), Some(1));
        }
        assert_eq!(choice.choose(now, -5, &relay), None, "past the bound nothing new is remembered");
        assert_eq!(choice.choose(now, 2, &relay), Some(1), "known peers keep their relay");
    }
}
