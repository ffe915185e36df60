//! Which path DTLS records take when a connection has two: ICE's direct pair, and a relay (a
//! member both sides reach, carrying the DTLS datagrams; see `SecurePath::set_relay_available`).
//!
//! The rule, evaluated after every input and at [`PathChoice::next_deadline`]:
//! - **Direct** while ICE has a selected pair that is alive: ICE reads `connected`, and nothing
//!   we sent on it while an answer was due went unheard for [`DIRECT_SILENT_AFTER`]. An answer
//!   is due when we have data outstanding, or when the peer's records come by the relay (it took
//!   the direct pair for dead: a receiver follows its sender's fall-back).
//! - **Fall back** to the relay (when one is available) as soon as the direct pair is not alive:
//!   no hold-down, a cut must move traffic within 2 s (1.5 s of silence, then the next record).
//! - **Upgrade** from the relay once the direct pair has been heard again after its last death
//!   and [`UPGRADE_HOLD_DOWN`] has passed since, and [`SWITCH_HOLD`] has passed since the last
//!   switch (no flapping: a path that breaks again right away costs one fall-back per
//!   [`SWITCH_HOLD`] at most).
//! - With no relay, direct (even dead: ICE's consent decides its fate); with neither, none:
//!   records are dropped as a lost datagram would be (SCTP recovers them).
//!
//! A switch inside one DTLS session and one SCTP association loses, repeats and reorders nothing
//! the application sees: SCTP's TSNs order and recover what either path carried.

use std::time::{Duration, Instant};

/// How long the direct pair may stay silent while we sent on it with data outstanding before it
/// counts as dead: a few round trips of a game path (RTTs well under 300 ms), short enough for a
/// cut to move traffic within 2 s, long enough that a delayed SACK (200 ms) never trips it.
pub const DIRECT_SILENT_AFTER: Duration = Duration::from_millis(1500);

/// How long the direct pair must have been alive (since first heard after its last death) before
/// traffic moves back to it from the relay.
pub const UPGRADE_HOLD_DOWN: Duration = Duration::from_secs(1);

/// The least time between two switches, fall-backs on silence excepted (those go at once).
pub const SWITCH_HOLD: Duration = Duration::from_secs(4);

/// The path DTLS records take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// ICE's selected pair.
    Direct,
    /// Through a relay (a member both sides reach).
    Relayed,
}

/// What the choice reads of the direct pair and the relay at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PathInputs {
    /// ICE has a selected pair and has not failed or closed.
    pub(super) direct_selected: bool,
    /// ICE reads `connected` (not `disconnected`).
    pub(super) direct_connected: bool,
    /// When something authenticated last came on the direct pair (answered check, DTLS).
    pub(super) direct_heard: Option<Instant>,
    /// The pump says a relay to the peer exists.
    pub(super) relay_available: bool,
}

/// The current path and what the rule remembers to decide the next.
#[derive(Debug, Default)]
pub(super) struct PathChoice {
    current: Option<PathKind>,
    last_switch: Option<Instant>,
    /// When we first sent on the direct pair, with an answer due, after it was last heard (or,
    /// once the peer's records came by the relay, when it was last heard).
    awaiting_since: Option<Instant>,
    /// When the direct pair last counted as dead.
    died_at: Option<Instant>,
    /// When the direct pair was first heard after its last death (or first heard at all).
    alive_since: Option<Instant>,
    /// Switches so far (the first choice not counted).
    switches: u64,
}

impl PathChoice {
    /// The path records take now.
    pub(super) fn current(&self) -> Option<PathKind> {
        self.current
    }

    /// Whether the direct pair is alive: usable (selected, ICE connected, not silent past
    /// [`DIRECT_SILENT_AFTER`] with an answer due) and heard since it last died. Read after
    /// [`PathChoice::decide`]; kept up to date whether or not a relay exists.
    pub(super) fn direct_alive(&self) -> bool {
        self.alive_since.is_some()
    }

    /// Switches between the two paths so far.
    pub(super) fn switches(&self) -> u64 {
        self.switches
    }

    /// Notes that we sent on the direct pair at `now` while data is outstanding (an answer is
    /// due: a SACK, a HEARTBEAT-ACK).
    pub(super) fn sent_direct_awaiting(&mut self, now: Instant, heard: Option<Instant>) {
        self.forget_answered(heard);
        if self.current == Some(PathKind::Direct) && self.awaiting_since.is_none() {
            self.awaiting_since = Some(now);
        }
    }

    /// Notes that the peer's records came by the relay at `now`: it takes the direct pair for
    /// dead (or has not moved to it yet), so the direct pair's silence counts from when it was
    /// last heard, or from our switch to it if later (the peer's upgrade may lag ours).
    pub(super) fn peer_relayed(&mut self, now: Instant, heard: Option<Instant>) {
        self.forget_answered(heard);
        if self.current == Some(PathKind::Direct) {
            let reference = [heard, self.last_switch].into_iter().flatten().max().unwrap_or(now);
            self.awaiting_since = Some(self.awaiting_since.map_or(reference, |since| since.min(reference)));
        }
    }

    /// Applies the rule at `now`; returns whether the path changed (read it with
    /// [`PathChoice::current`]).
    pub(super) fn decide(&mut self, now: Instant, inputs: PathInputs) -> bool {
        let heard = inputs.direct_heard;
        self.forget_answered(heard);
        let silent = self.awaiting_since.is_some_and(|since| now >= since + DIRECT_SILENT_AFTER);
        let usable = inputs.direct_selected && inputs.direct_connected && !silent;
        if !usable {
            if self.alive_since.is_some() || self.died_at.is_none() {
                self.died_at = Some(now);
                self.alive_since = None;
                self.awaiting_since = None;
            }
        } else if self.alive_since.is_none() {
            self.alive_since = heard.filter(|heard| self.died_at.is_none_or(|died| *heard > died));
        }
        // Alive: usable and heard since it last died.
        let alive = usable && self.alive_since.is_some();
        let next = match (self.current, inputs.relay_available) {
            (_, true) if !alive && self.current != Some(PathKind::Relayed) => Some(PathKind::Relayed),
            (None, _) if inputs.direct_selected => Some(PathKind::Direct),
            (Some(PathKind::Relayed), false) => inputs.direct_selected.then_some(PathKind::Direct),
            (Some(PathKind::Relayed), true) if self.upgrade_due().is_some_and(|due| due <= now) => {
                Some(PathKind::Direct)
            }
            (current, _) => current,
        };
        if next == self.current {
            return false;
        }
        if self.current.is_some() && next.is_some() {
            self.switches += 1;
        }
        self.current = next;
        self.last_switch = Some(now);
        self.awaiting_since = None;
        true
    }

    /// Forgets the sends the direct pair answered since (it was heard at `heard` after them).
    fn forget_answered(&mut self, heard: Option<Instant>) {
        let answered = |since: &Instant| heard.is_some_and(|heard| heard > *since);
        if self.awaiting_since.as_ref().is_some_and(answered) {
            self.awaiting_since = None;
        }
    }

    /// When [`PathChoice::decide`] must run again without any other input: a silence falling
    /// due, or an upgrade once its hold-downs pass.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let silence = self.awaiting_since.filter(|_| self.current == Some(PathKind::Direct));
        let upgrade = if self.current == Some(PathKind::Relayed) { self.upgrade_due() } else { None };
        [silence.map(|since| since + DIRECT_SILENT_AFTER), upgrade].into_iter().flatten().min()
    }

    /// When an upgrade to the direct pair falls due, if it is alive.
    fn upgrade_due(&self) -> Option<Instant> {
        let alive = self.alive_since? + UPGRADE_HOLD_DOWN;
        let held = self.last_switch.map_or(alive, |switch| switch + SWITCH_HOLD);
        Some(alive.max(held))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(direct: bool, heard: Option<Instant>, relay: bool) -> PathInputs {
        PathInputs { direct_selected: direct, direct_connected: direct, direct_heard: heard, relay_available: relay }
    }

    #[test]
    fn the_first_usable_path_is_taken_and_direct_wins_after_its_hold_downs() {
        let start = Instant::now();
        let mut choice = PathChoice::default();
        assert!(!choice.decide(start, inputs(false, None, false)));
        assert!(choice.decide(start, inputs(false, None, true)));
        assert_eq!(choice.current(), Some(PathKind::Relayed));
        let selected = start + Duration::from_secs(1);
        assert!(!choice.decide(selected, inputs(true, Some(selected), true)));
        // The last switch (the first choice at `start`) holds it until start + SWITCH_HOLD.
        assert_eq!(choice.next_deadline(), Some(start + SWITCH_HOLD));
        assert!(choice.decide(start + SWITCH_HOLD, inputs(true, Some(selected), true)));
        assert_eq!(choice.current(), Some(PathKind::Direct));
        assert_eq!(choice.switches(), 1);
    }

    #[test]
    fn silence_with_data_outstanding_falls_back_at_once_and_the_direct_pair_must_prove_itself_again() {
        let start = Instant::now();
        let mut choice = PathChoice::default();
        assert!(choice.decide(start, inputs(true, Some(start), true)));
        assert_eq!(choice.current(), Some(PathKind::Direct));
        // A send without data outstanding (a SACK) starts nothing.
        let sent = start + Duration::from_secs(10);
        choice.sent_direct_awaiting(sent, Some(start));
        assert_eq!(choice.next_deadline(), Some(sent + DIRECT_SILENT_AFTER));
        let almost = sent + DIRECT_SILENT_AFTER - Duration::from_millis(1);
        assert!(!choice.decide(almost, inputs(true, Some(start), true)));
        let silent = sent + DIRECT_SILENT_AFTER;
        assert!(choice.decide(silent, inputs(true, Some(start), true)));
        assert_eq!(choice.current(), Some(PathKind::Relayed));
        // ICE still reads connected with an old hearing: no upgrade.
        assert!(!choice.decide(silent + SWITCH_HOLD * 2, inputs(true, Some(start), true)));
        // Heard again: upgrade after the hold-down.
        let heard = silent + SWITCH_HOLD * 2;
        assert!(!choice.decide(heard, inputs(true, Some(heard), true)));
        assert_eq!(choice.next_deadline(), Some(heard + UPGRADE_HOLD_DOWN));
        assert!(choice.decide(heard + UPGRADE_HOLD_DOWN, inputs(true, Some(heard), true)));
        assert_eq!(choice.current(), Some(PathKind::Direct));
    }

    #[test]
    fn an_answer_in_time_keeps_the_direct_pair_and_no_relay_keeps_it_anyway() {
        let start = Instant::now();
        let mut choice = PathChoice::default();
        choice.decide(start, inputs(true, Some(start), false));
        let sent = start + Duration::from_secs(1);
        choice.sent_direct_awaiting(sent, Some(start));
        let answered = sent + Duration::from_millis(100);
        assert!(!choice.decide(answered, inputs(true, Some(answered), true)));
        assert_eq!(choice.next_deadline(), None);
        choice.sent_direct_awaiting(answered, Some(answered));
        assert!(!choice.decide(answered + SWITCH_HOLD, inputs(false, Some(answered), false)));
        assert_eq!(choice.current(), Some(PathKind::Direct));
        // The relay goes while relayed: back to direct if selected, else nothing.
        let mut relayed = PathChoice::default();
        relayed.decide(start, inputs(false, None, true));
        assert!(relayed.decide(start, inputs(false, None, false)));
        assert_eq!(relayed.current(), None);
    }

    #[test]
    fn without_a_relay_a_silent_direct_pair_is_marked_dead_until_heard_again() {
        let start = Instant::now();
        let mut choice = PathChoice::default();
        choice.decide(start, inputs(true, Some(start), false));
        assert!(choice.direct_alive());
        let sent = start + Duration::from_secs(1);
        choice.sent_direct_awaiting(sent, Some(start));
        assert_eq!(choice.next_deadline(), Some(sent + DIRECT_SILENT_AFTER));
        assert!(!choice.decide(sent + DIRECT_SILENT_AFTER, inputs(true, Some(start), false)));
        assert_eq!((choice.current(), choice.direct_alive()), (Some(PathKind::Direct), false));
        // An old hearing does not revive it; a new one does.
        let later = sent + DIRECT_SILENT_AFTER * 2;
        choice.decide(later, inputs(true, Some(start), false));
        assert!(!choice.direct_alive());
        choice.decide(later, inputs(true, Some(later), false));
        assert!(choice.direct_alive());
    }

    #[test]
    fn a_receiver_follows_its_senders_fall_back_but_gives_a_lagging_upgrade_time() {
        let start = Instant::now();
        let mut choice = PathChoice::default();
        choice.decide(start, inputs(true, Some(start), true));
        // The direct pair was last heard 2 s ago; the peer's records now come by the relay.
        let heard = start + Duration::from_secs(10);
        let now = heard + Duration::from_secs(2);
        choice.peer_relayed(now, Some(heard));
        assert!(choice.decide(now, inputs(true, Some(heard), true)));
        assert_eq!(choice.current(), Some(PathKind::Relayed));
        // Just upgraded, the peer still relays: silence counts from our switch.
        let upgraded = now + SWITCH_HOLD * 2;
        let heard_again = upgraded - UPGRADE_HOLD_DOWN;
        choice.decide(heard_again, inputs(true, Some(heard_again), true));
        assert!(choice.decide(upgraded, inputs(true, Some(heard_again), true)));
        assert_eq!(choice.current(), Some(PathKind::Direct));
        let lagging = upgraded + Duration::from_millis(500);
        choice.peer_relayed(lagging, Some(heard_again));
        assert!(!choice.decide(lagging, inputs(true, Some(heard_again), true)));
        assert_eq!(choice.next_deadline(), Some(upgraded + DIRECT_SILENT_AFTER));
        // The peer moved too: heard on direct, nothing pending.
        let joined = upgraded + Duration::from_millis(900);
        assert!(!choice.decide(joined, inputs(true, Some(joined), true)));
        assert_eq!(choice.next_deadline(), None);
    }
}
