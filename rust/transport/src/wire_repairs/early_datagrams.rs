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
//! The pump (see the parent module) keeps the checks we have not answered and the first
//! ClientHello from each address until we answer it, and hands each back once, when ICE may now
//! take it: a nominating check (USE-CANDIDATE) when a success response comes from its sender (the
//! pair has succeeded), any other check when we check its sender ourselves (our agent has
//! started), a ClientHello once ICE has selected a pair. What rtc did take is answered at once, so
//! it never sees a copy.
//!
//! Anyone can send these datagrams, so the store is small: [`MAX_KEPT`] datagrams of at most
//! [`MAX_KEPT_BYTES`] bytes each (larger ones are not kept), each handed back once (moved, not
//! copied), and nothing is kept once the connection is connected. Only checks addressed to our
//! ICE username fragment and ClientHellos from addresses that passed a check get here (the
//! parent module filters first).

use std::collections::VecDeque;
use std::net::SocketAddr;

use super::peek::{
    is_dtls, is_first_client_hello, stun_has_attribute, stun_transaction, ATTR_USE_CANDIDATE, STUN_BINDING_ERROR,
    STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS,
};

/// Datagrams kept at most, checks and ClientHellos together (the newest): a setup drops a few.
pub(super) const MAX_KEPT: usize = 8;
/// The largest datagram kept, in bytes: a check or ClientHello fits one path MTU (rtc's DTLS
/// sends datagrams of at most 1200 bytes, browsers' ClientHellos are ~200-600). With
/// [`MAX_KEPT`], at most 12,000 bytes are held.
pub(super) const MAX_KEPT_BYTES: usize = 1500;

/// What one connection keeps: unanswered checks and ClientHellos, and those due for delivery.
#[derive(Default)]
pub(super) struct ReplayState {
    kept: VecDeque<Kept>,
    pub(super) due: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Set once ICE has selected a pair: rtc takes ClientHellos from then on.
    selected: bool,
    /// Set once the connection is connected: nothing more is kept.
    connected: bool,
}

/// A datagram rtc dropped, and what hands it back.
struct Kept {
    from: SocketAddr,
    datagram: Vec<u8>,
    waits_for: Moment,
}

/// When a kept datagram is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// A check (with its transaction id), when we check its sender.
    OurCheck([u8; 12]),
    /// A nominating check (with its transaction id), when its sender answers a check of ours.
    TheirAnswer([u8; 12]),
    /// A ClientHello, when ICE has selected a pair.
    Selected,
}

impl ReplayState {
    /// Looks at a datagram received from `from`.
    pub(super) fn on_received(&mut self, from: SocketAddr, datagram: &[u8]) {
        if let Some(transaction) = stun_transaction(datagram, STUN_BINDING_REQUEST) {
            let moment = if stun_has_attribute(datagram, ATTR_USE_CANDIDATE) {
                Moment::TheirAnswer(transaction)
            } else {
                Moment::OurCheck(transaction)
            };
            self.keep(from, datagram, moment);
        } else if is_first_client_hello(datagram) && !self.selected {
            if !self.kept.iter().any(|kept| kept.from == from && kept.waits_for == Moment::Selected) {
                self.keep(from, datagram, Moment::Selected);
            }
        } else if stun_transaction(datagram, STUN_BINDING_SUCCESS).is_some() {
            self.hand_back(|kept| kept.from == from && matches!(kept.waits_for, Moment::TheirAnswer(_)));
        }
    }

    fn keep(&mut self, from: SocketAddr, datagram: &[u8], waits_for: Moment) {
        if self.connected || datagram.len() > MAX_KEPT_BYTES {
            return;
        }
        if self.kept.len() == MAX_KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(Kept { from, datagram: datagram.to_vec(), waits_for });
    }

    /// Moves the kept datagrams `which` picks to the due queue.
    fn hand_back(&mut self, which: impl Fn(&Kept) -> bool) {
        let (back, rest): (VecDeque<Kept>, VecDeque<Kept>) = self.kept.drain(..).partition(which);
        self.kept = rest;
        self.due.extend(back.into_iter().map(|kept| (kept.from, kept.datagram)));
    }

    /// Whether ICE is yet to select a pair while the connection connects (the pump then asks).
    pub(super) fn waits_for_selection(&self) -> bool {
        !self.selected && !self.connected
    }

    /// ICE has selected a pair: hands back the ClientHellos, and keeps no more (rtc takes them).
    pub(super) fn on_selected(&mut self) {
        self.selected = true;
        self.hand_back(|kept| kept.waits_for == Moment::Selected);
    }

    /// The connection is connected: nothing is kept from now on.
    pub(super) fn on_connected(&mut self) {
        self.connected = true;
        self.kept.clear();
    }

    /// Looks at a datagram we send to `to`.
    pub(super) fn on_sent(&mut self, to: SocketAddr, datagram: &[u8]) {
        if self.kept.is_empty() && self.due.is_empty() {
            return;
        }
        if let Some(answered) =
            stun_transaction(datagram, STUN_BINDING_SUCCESS).or_else(|| stun_transaction(datagram, STUN_BINDING_ERROR))
        {
            let answers =
                |moment: Moment| matches!(moment, Moment::OurCheck(id) | Moment::TheirAnswer(id) if id == answered);
            self.kept.retain(|kept| !answers(kept.waits_for));
        } else if stun_transaction(datagram, STUN_BINDING_REQUEST).is_some() {
            // We check `to`: our agent runs, so what it dropped from `to` before can be handed back.
            self.hand_back(|kept| kept.from == to && matches!(kept.waits_for, Moment::OurCheck(_)));
        } else if is_dtls(datagram) {
            self.kept.retain(|kept| kept.from != to || kept.waits_for != Moment::Selected);
            self.due.retain(|(from, copy)| *from != to || !is_dtls(copy));
        }
    }

    /// Bytes held.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.kept.iter().map(|kept| kept.datagram.len()).sum::<usize>()
            + self.due.iter().map(|(_, datagram)| datagram.len()).sum::<usize>()
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

    fn nominating(transaction: u8) -> Vec<u8> {
        let mut message = stun(STUN_BINDING_REQUEST, transaction);
        message.extend([0x00, 0x25, 0, 0]);
        message[3] = 4;
        message
    }

    #[test]
    fn an_unanswered_client_hello_comes_back_once_when_a_pair_is_selected() {
        let mut state = ReplayState::default();
        state.on_received(peer(), &client_hello(0));
        state.on_received(peer(), &client_hello(0));
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 1));
        assert!(state.due.is_empty(), "nothing is handed back before ICE has selected a pair");
        state.on_selected();
        assert_eq!(state.due, VecDeque::from([(peer(), client_hello(0))]), "one copy");
        state.due.clear();
        state.on_selected();
        assert!(state.due.is_empty(), "handed back once");
        state.on_received(other_peer(), &client_hello(0));
        assert!(state.kept.is_empty(), "once a pair is selected, rtc takes ClientHellos itself");
        assert!(!state.waits_for_selection());
    }

    #[test]
    fn an_answered_client_hello_is_never_handed_back() {
        let mut state = ReplayState::default();
        state.on_received(peer(), &client_hello(0));
        state.on_sent(peer(), &[22, 0xfe, 0xff, 0, 0]);
        state.on_selected();
        assert!(state.due.is_empty());
    }

    #[test]
    fn later_client_hellos_are_left_alone() {
        let mut state = ReplayState::default();
        state.on_received(peer(), &client_hello(1));
        state.on_selected();
        assert!(state.due.is_empty());
        assert!(state.kept.is_empty());
    }

    #[test]
    fn unanswered_checks_come_back_once_when_we_check_their_sender_or_it_answers_us() {
        let mut state = ReplayState::default();
        state.on_received(peer(), &stun(STUN_BINDING_REQUEST, 1));
        state.on_received(peer(), &stun(STUN_BINDING_REQUEST, 2));
        state.on_received(peer(), &nominating(4));
        state.on_received(other_peer(), &stun(STUN_BINDING_REQUEST, 3));
        state.on_sent(peer(), &stun(STUN_BINDING_SUCCESS, 2));
        state.on_sent(peer(), &stun(STUN_BINDING_REQUEST, 9));
        assert_eq!(state.due, VecDeque::from([(peer(), stun(STUN_BINDING_REQUEST, 1))]), "only the unanswered one");
        state.on_sent(peer(), &stun(STUN_BINDING_REQUEST, 10));
        assert_eq!(state.due.len(), 1, "once");
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 9));
        assert_eq!(state.due.len(), 2, "the nominating check when its sender answers us");
        assert_eq!(state.due[1], (peer(), nominating(4)));
        state.on_received(peer(), &stun(STUN_BINDING_SUCCESS, 10));
        assert_eq!(state.due.len(), 2, "once");
        state.on_sent(other_peer(), &stun(STUN_BINDING_SUCCESS, 3));
        state.on_sent(other_peer(), &stun(STUN_BINDING_REQUEST, 11));
        assert_eq!(state.due.len(), 2, "an answered check never comes back");
    }

    #[test]
    fn few_small_datagrams_are_kept_and_none_once_connected() {
        let mut state = ReplayState::default();
        for transaction in 0..20 {
            state.on_received(peer(), &stun(STUN_BINDING_REQUEST, transaction));
        }
        assert_eq!(state.kept.len(), MAX_KEPT);
        let mut large = client_hello(0);
        large.resize(MAX_KEPT_BYTES + 1, 7);
        state.on_received(other_peer(), &large);
        assert!(state.kept.iter().all(|kept| kept.from == peer()), "a datagram over the limit is not kept");
        assert!(state.bytes() <= MAX_KEPT * MAX_KEPT_BYTES);
        state.on_connected();
        state.on_received(other_peer(), &client_hello(0));
        assert!(state.kept.is_empty());
    }
}
