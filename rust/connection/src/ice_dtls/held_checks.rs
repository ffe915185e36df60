//! Connectivity checks the agent leaves unanswered for now, handed back when it can answer.
//!
//! Two cases of `rtc-ice` 0.21.1 cost the peer a retransmission (aiortc and libdatachannel wait
//! 0.5 s; `rust/transport/src/wire_repairs/early_datagrams.rs` repairs the same for `rtc`):
//! - a check that arrives before we have the peer's credentials (the answerer checks us as soon
//!   as it has answered, while its answer is still on its way through signaling): the agent
//!   drops it. It is handed back when the credentials are set.
//! - a nominating check (USE-CANDIDATE) to the controlled agent for a pair whose own check has
//!   not succeeded yet: the agent sends a triggered check and leaves the nomination unanswered
//!   (RFC 8445 7.3.1.5 has it answer and nominate once the triggered check succeeds). It is
//!   handed back when a success response comes from its sender.
//!
//! Only checks addressed to our username fragment are held (a stranger who never saw our
//! description makes us keep nothing), at most [`MAX_HELD`] of at most [`MAX_HELD_BYTES`] each,
//! each handed back once.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// Checks held at most (the newest).
pub(super) const MAX_HELD: usize = 8;
/// The largest check held, in bytes (a check is ~100).
pub(super) const MAX_HELD_BYTES: usize = 600;

/// A held check: the local socket that got it, its sender, its bytes, whether it nominates.
pub(super) struct HeldCheck {
    pub(super) local: SocketAddr,
    pub(super) from: SocketAddr,
    pub(super) datagram: Vec<u8>,
    pub(super) nominating: bool,
}

/// The held checks.
#[derive(Default)]
pub(super) struct HeldChecks {
    held: VecDeque<HeldCheck>,
}

impl HeldChecks {
    /// Holds a check (the oldest goes past [`MAX_HELD`]; a larger one is not held).
    pub(super) fn hold(&mut self, check: HeldCheck) {
        if check.datagram.len() > MAX_HELD_BYTES {
            return;
        }
        if self.held.len() == MAX_HELD {
            self.held.pop_front();
        }
        self.held.push_back(check);
    }

    /// Takes every held check (the credentials are set).
    pub(super) fn take_all(&mut self) -> Vec<HeldCheck> {
        self.held.drain(..).collect()
    }

    /// Takes the nominating checks from `from` (a success response came from it).
    pub(super) fn take_nominations_from(&mut self, from: SocketAddr) -> Vec<HeldCheck> {
        let (taken, kept) = self.held.drain(..).partition(|check| check.nominating && check.from == from);
        self.held = kept;
        taken.into_iter().collect()
    }

    /// Forgets everything (an ICE restart).
    pub(super) fn clear(&mut self) {
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(port: u16, nominating: bool, bytes: usize) -> HeldCheck {
        let address = SocketAddr::from(([10, 0, 0, 1], port));
        HeldCheck { local: address, from: address, datagram: vec![0; bytes], nominating }
    }

    #[test]
    fn bounded_and_taken_once() {
        let mut held = HeldChecks::default();
        held.hold(check(1, true, MAX_HELD_BYTES + 1));
        assert!(held.take_all().is_empty());
        for port in 0..(MAX_HELD as u16 + 4) {
            held.hold(check(port, port % 2 == 0, 100));
        }
        let from = SocketAddr::from(([10, 0, 0, 1], 6));
        assert_eq!(held.take_nominations_from(from).len(), 1);
        assert!(held.take_nominations_from(from).is_empty());
        assert_eq!(held.take_all().len(), MAX_HELD - 1);
        assert!(held.take_all().is_empty());
    }
}
