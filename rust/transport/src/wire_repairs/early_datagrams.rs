//! Hands the core again the datagrams it drops because they came before its ICE agent was ready.
//!
//! rtc answers no STUN check before the remote description is applied, and drops every
//! non-STUN datagram until its ICE agent has selected a candidate pair (`rtc` `handler/ice.rs`).
//! Both happen in every real setup, and each costs the remote side a retransmission:
//! - The answerer checks us as soon as it has answered, while the answer is still on its way
//!   through the signaling server: aiortc retries after 0.5 s.
//! - When we offer, we are ICE-controlling and the answerer is the DTLS client; libdatachannel
//!   and aiortc start DTLS as soon as their own check succeeds, so their ClientHello reaches us
//!   before the success response to our nominating check does: libdatachannel retries after 1 s.
//!
//! - As the controlled agent, rtc leaves a nominating check unanswered when the pair has not
//!   succeeded a check of ours yet, and selects the pair only on the retransmission (aiortc and
//!   libdatachannel retry after 0.5 s).
//!
//! The pump (see the parent module) keeps, per remote address, the checks we have not answered
//! and the first ClientHello until we answer it, and hands copies back when ICE may now take them:
//! the checks when we check that address ourselves (our agent has started) and when a success
//! response comes from it (the pair has succeeded); the ClientHello after each success response
//! and on a clock. What rtc did take is answered at once, so it never sees a copy.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::peek::{
    is_dtls, is_first_client_hello, stun_transaction, STUN_BINDING_ERROR, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS,
};

/// When an unanswered ClientHello is handed back, in milliseconds from its arrival (besides after
/// each STUN success response from its sender): the pair may be selected by a check of theirs
/// that we answer, which leaves no response of theirs to follow. Their own retransmission comes
/// after 0.5-1 s.
const HELLO_REPLAY_DELAYS_MS: [u64; 8] = [10, 30, 70, 150, 250, 400, 600, 850];
/// Copies of one unanswered check handed back at most: one when we first check its sender, the
/// rest after success responses from there.
const MAX_CHECK_REPLAYS: u8 = 3;
/// Unanswered checks kept per socket (the newest); a check is handed back once.
const MAX_KEPT_CHECKS: usize = 8;

/// What a socket remembers: unanswered checks and ClientHellos, and copies due for delivery.
#[derive(Default)]
pub(super) struct ReplayState {
    checks: VecDeque<Check>,
    hellos: HashMap<SocketAddr, Hello>,
    pub(super) due: VecDeque<(SocketAddr, Vec<u8>)>,
}

/// A check we have not answered.
struct Check {
    from: SocketAddr,
    transaction: [u8; 12],
    datagram: Vec<u8>,
    replays: u8,
}

/// A ClientHello we have not answered: the datagram, when it came, how often it was handed back.
struct Hello {
    datagram: Vec<u8>,
    arrived: Instant,
    replays: usize,
}

impl Hello {
    /// When it is next handed back by the clock, if ever.
    fn next_replay(&self) -> Option<Instant> {
        HELLO_REPLAY_DELAYS_MS.get(self.replays).map(|delay| self.arrived + Duration::from_millis(*delay))
    }
}

impl ReplayState {
    /// Looks at a datagram received from `from`.
    pub(super) fn on_received(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        if let Some(transaction) = stun_transaction(datagram, STUN_BINDING_REQUEST) {
            if self.checks.len() == MAX_KEPT_CHECKS {
                self.checks.pop_front();
            }
            self.checks.push_back(Check { from, transaction, datagram: datagram.to_vec(), replays: 0 });
        } else if is_first_client_hello(datagram) {
            self.hellos.entry(from).or_insert_with(|| Hello { datagram: datagram.to_vec(), arrived: now, replays: 0 });
        } else if stun_transaction(datagram, STUN_BINDING_SUCCESS).is_some() {
            self.hand_back_checks(from, MAX_CHECK_REPLAYS);
            if let Some(hello) = self.hellos.get(&from) {
                self.due.push_back((from, hello.datagram.clone()));
            }
        }
    }

    /// Queues a copy of each unanswered check from `from` handed back fewer than `limit` times.
    fn hand_back_checks(&mut self, from: SocketAddr, limit: u8) {
        for check in self.checks.iter_mut().filter(|check| check.from == from && check.replays < limit) {
            check.replays += 1;
            self.due.push_back((from, check.datagram.clone()));
        }
    }

    /// Queues the ClientHellos whose time to be handed back has come; returns when the next
    /// one's comes.
    pub(super) fn on_clock(&mut self, now: Instant) -> Option<Instant> {
        let mut next = None;
        self.hellos.retain(|from, hello| {
            while hello.next_replay().is_some_and(|at| at <= now) {
                hello.replays += 1;
                self.due.push_back((*from, hello.datagram.clone()));
            }
            let at = hello.next_replay();
            if let Some(at) = at {
                next = Some(next.map_or(at, |earliest: Instant| earliest.min(at)));
            }
            at.is_some()
        });
        next
    }

    /// Looks at a datagram we send to `to`.
    pub(super) fn on_sent(&mut self, to: SocketAddr, datagram: &[u8]) {
        if self.checks.is_empty() && self.hellos.is_empty() {
            return;
        }
        if let Some(answered) =
            stun_transaction(datagram, STUN_BINDING_SUCCESS).or_else(|| stun_transaction(datagram, STUN_BINDING_ERROR))
        {
            self.checks.retain(|check| check.transaction != answered);
        } else if stun_transaction(datagram, STUN_BINDING_REQUEST).is_some() {
            // We check `to`: our agent runs, so what it dropped from `to` before can be handed back
            // (once: the checks it leaves unanswered while running wait for a success response).
            self.hand_back_checks(to, 1);
        } else if is_dtls(datagram) {
            self.hellos.remove(&to);
            self.due.retain(|(from, copy)| *from != to || !is_dtls(copy));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_hello(message_seq: u8) -> Vec<u8> {
        let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 0, 0, 30, 0, message_seq];
        record.resize(53, 7);
        record
    }

    fn stun(kind: [u8; 2], transaction: u8) -> Vec<u8> {
        let mut message = vec![kind[0], kind[1], 0, 0, 0x21, 0x12, 0xA4, 0x42];
        message.resize(20, transaction);
        message
    }

    fn peer() -> SocketAddr {
        "10.0.0.2:4000".parse().expect("a socket address")
    }

    fn other_peer() -> SocketAddr {
        "10.0.0.3:4000".parse().expect("a socket address")
    }

    #[test]
    fn an_unanswered_client_hello_comes_back_after_stun_successes_and_on_the_clock() {
        let mut state = ReplayState::default();
        let start = Instant::now();
        state.on_received(peer(), &client_hello(0), start);
        assert!(state.due.is_empty(), "nothing is handed back before ICE had a chance");
        let delay = |index: usize| Duration::from_millis(HELLO_REPLAY_DELAYS_MS[index]);
        assert_eq!(state.on_clock(start), Some(start + delay(0)));
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 1), start);
        assert_eq!(state.due.len(), 1, "a STUN success response hands it back");
        assert_eq!(state.due[0], (peer(), client_hello(0)));
        assert_eq!(state.on_clock(start + delay(1)), Some(start + delay(2)));
        assert_eq!(state.due.len(), 3, "so do the first two delays");
        assert_eq!(state.on_clock(start + Duration::from_secs(1)), None, "and then it is given up");
        assert_eq!(state.due.len(), 1 + HELLO_REPLAY_DELAYS_MS.len());
        assert!(state.hellos.is_empty());
    }

    #[test]
    fn an_answered_client_hello_is_never_handed_back() {
        let mut state = ReplayState::default();
        let start = Instant::now();
        state.on_received(peer(), &client_hello(0), start);
        state.on_sent(peer(), &[22, 0xfe, 0xff, 0, 0]);
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 1), start);
        assert_eq!(state.on_clock(start + Duration::from_secs(1)), None);
        assert!(state.due.is_empty());
    }

    #[test]
    fn later_client_hellos_are_left_alone() {
        let mut state = ReplayState::default();
        state.on_received(peer(), &client_hello(1), Instant::now());
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 1), Instant::now());
        assert!(state.due.is_empty());
        assert!(state.hellos.is_empty());
    }

    #[test]
    fn unanswered_checks_come_back_when_we_check_their_sender_or_it_answers_us() {
        let mut state = ReplayState::default();
        let now = Instant::now();
        state.on_received(peer(), &stun(STUN_BINDING_REQUEST, 1), now);
        state.on_received(peer(), &stun(STUN_BINDING_REQUEST, 2), now);
        state.on_received(other_peer(), &stun(STUN_BINDING_REQUEST, 3), now);
        state.on_sent(peer(), &stun(STUN_BINDING_SUCCESS, 2));
        state.on_sent(peer(), &stun(STUN_BINDING_REQUEST, 9));
        assert_eq!(state.due, VecDeque::from([(peer(), stun(STUN_BINDING_REQUEST, 1))]), "only the unanswered one");
        state.on_sent(peer(), &stun(STUN_BINDING_REQUEST, 10));
        assert_eq!(state.due.len(), 1, "our checks hand a check back once");
        for _ in 0..MAX_CHECK_REPLAYS {
            state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 9), now);
        }
        assert_eq!(state.due.len(), usize::from(MAX_CHECK_REPLAYS), "then success responses, up to the limit");
        state.on_sent(other_peer(), &stun(STUN_BINDING_SUCCESS, 3));
        state.on_sent(other_peer(), &stun(STUN_BINDING_REQUEST, 11));
        assert_eq!(state.due.len(), usize::from(MAX_CHECK_REPLAYS), "an answered check never comes back");
    }

    #[test]
    fn few_checks_are_kept() {
        let mut state = ReplayState::default();
        for transaction in 0..20 {
            state.on_received(peer(), &stun(STUN_BINDING_REQUEST, transaction), Instant::now());
        }
        assert_eq!(state.checks.len(), MAX_KEPT_CHECKS);
    }
}
