//! Replayed STUN must not count as the peer's consent (RFC 7675).
//!
//! `rtc-ice` 0.21.1 marks a remote candidate as heard from on every STUN message it accepts from
//! it, checks and success responses alike, even a response to no check of ours
//! (`Agent::handle_inbound` ends with `seen`), and its consent verdict reads that. A check's or an
//! answer's integrity does not cover when it was sent, so whoever saw one of them could replay it
//! from the peer's address after the peer is gone and keep our traffic flowing there for as long
//! as it liked. Once a pair is selected, the guard lets through a success response only to a
//! check of ours not answered yet, and a check of the peer's only within
//! [`RETRANSMISSION_WINDOW`] of the first time its transaction was seen.
//!
//! Bounded: it remembers [`MAX_REMEMBERED_TRANSACTIONS`] of our checks and as many of the
//! peer's; a replayer holding more distinct checks of the peer's than that, captured over a long
//! session, can still refresh consent with the ones forgotten.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::stun_peek::{request_transaction, success_transaction, TransactionId};

/// The most transactions remembered on each side; the oldest make room.
pub(super) const MAX_REMEMBERED_TRANSACTIONS: usize = 64;

/// How long after its first sighting a check's transaction is still the peer retransmitting it
/// (its answer was lost), not a replay.
pub(super) const RETRANSMISSION_WINDOW: Duration = Duration::from_secs(2);

/// Our checks awaiting an answer and the peer's checks seen.
#[derive(Default)]
pub(super) struct ReplayGuard {
    /// Our checks not answered yet, the latest last.
    ours: VecDeque<TransactionId>,
    /// The peer's checks, with when each was first seen, the latest last.
    theirs: VecDeque<(TransactionId, Instant)>,
}

impl ReplayGuard {
    /// Notes a datagram we send (our checks).
    pub(super) fn on_sending(&mut self, datagram: &[u8]) {
        if let Some(transaction) = request_transaction(datagram) {
            if self.ours.len() == MAX_REMEMBERED_TRANSACTIONS {
                self.ours.pop_front();
            }
            self.ours.push_back(transaction);
        }
    }

    /// Notes a received STUN datagram and tells whether it may reach the agent once a pair is
    /// selected (every one is noted, so that a check seen while connecting is known later): an answer
    /// to a check of ours awaiting one, a check first seen within the retransmission window, or
    /// any other STUN message (indications, which the agent would count as hearing from the peer,
    /// never come here: `IceSession::read_stun` drops them first).
    pub(super) fn admits(&mut self, now: Instant, datagram: &[u8]) -> bool {
        if let Some(transaction) = success_transaction(datagram) {
            let Some(index) = self.ours.iter().position(|ours| *ours == transaction) else { return false };
            self.ours.remove(index);
            return true;
        }
        let Some(transaction) = request_transaction(datagram) else { return true };
        if let Some((_, first_seen)) = self.theirs.iter().find(|(theirs, _)| *theirs == transaction) {
            return now.saturating_duration_since(*first_seen) <= RETRANSMISSION_WINDOW;
        }
        if self.theirs.len() == MAX_REMEMBERED_TRANSACTIONS {
            self.theirs.pop_front();
        }
        self.theirs.push_back((transaction, now));
        true
    }
}
