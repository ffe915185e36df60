//! ICE role conflicts (RFC 8445 7.3.1.1) handled on both sides, where `rtc-ice` 0.21.1 handles
//! only the side that receives a check:
//!
//! - An agent that receives a check claiming its own role answers 487 (Role Conflict) *or*
//!   switches and answers as usual, never both. `rtc-ice` always answers 487, switches when its
//!   tie-breaker says so, and then answers the same check with a success as well: after a switch
//!   that 487 is wrong, and the peer, obeying it, would switch too (both end in one role again).
//!   [`RoleConflicts::after_inbound`] drops the 487s of a call in which our agent switched.
//! - An agent that receives 487 to its own check switches role and checks again. `rtc-ice` drops
//!   the answer as unhandled STUN; [`RoleConflicts::is_conflict_answer`] recognizes an
//!   authenticated 487 to a check we sent in our current role, and the caller switches.
//!
//! Everything is read from the agent's own datagrams and calls, and both stores are bounded.

use std::collections::VecDeque;

use rtc_ice::crypto::RTCCrypto;
use rtc_stun::error_code::{ErrorCodeAttribute, CODE_ROLE_CONFLICT};
use rtc_stun::integrity::MessageIntegrity;
use rtc_stun::message::{Getter, BINDING_ERROR, BINDING_REQUEST};

use super::stun_peek::{decode, TransactionId};

/// Checks we sent remembered at most (the newest), with the role each claimed: a few ticks of
/// checks on every pair.
const MAX_REMEMBERED_CHECKS: usize = 32;

/// The checks we sent recently and the role each claimed.
#[derive(Default)]
pub(super) struct RoleConflicts {
    sent: VecDeque<(TransactionId, bool)>,
}

impl RoleConflicts {
    /// Notes a datagram our agent sends; `controlling` is its role at the time.
    pub(super) fn on_sending(&mut self, datagram: &[u8], controlling: bool) {
        let Some(message) = decode(datagram) else { return };
        if message.typ != BINDING_REQUEST {
            return;
        }
        if self.sent.len() == MAX_REMEMBERED_CHECKS {
            self.sent.pop_front();
        }
        self.sent.push_back((message.transaction_id.0, controlling));
    }

    /// Whether `datagram` is a 487 answer, authenticated with the peer's password `remote_pwd`,
    /// to a check we sent while in the role we still have (`controlling`): we must switch. An
    /// answer to a check sent before an earlier switch is stale and ignored.
    pub(super) fn is_conflict_answer(
        &mut self,
        datagram: &[u8],
        controlling: bool,
        remote_pwd: &str,
        crypto: &dyn RTCCrypto,
    ) -> bool {
        let Some(mut message) = decode(datagram) else { return false };
        if message.typ != BINDING_ERROR {
            return false;
        }
        let mut code = ErrorCodeAttribute::default();
        if code.get_from(&message).is_err() || code.code != CODE_ROLE_CONFLICT {
            return false;
        }
        let Some(position) = self.sent.iter().position(|(id, _)| *id == message.transaction_id.0) else {
            return false;
        };
        if MessageIntegrity::check(&mut message, remote_pwd.as_bytes(), crypto).is_err() {
            return false;
        }
        let (_, claimed) = self.sent[position];
        self.sent.remove(position);
        claimed == controlling
    }

    /// Whether an answer our agent queued during a call that switched its role must be dropped:
    /// a 487 is wrong once we switched (we answer as the new role, with the success it also
    /// sent).
    pub(super) fn is_wrong_conflict_answer(datagram: &[u8]) -> bool {
        let Some(message) = decode(datagram) else { return false };
        let mut code = ErrorCodeAttribute::default();
        message.typ == BINDING_ERROR && code.get_from(&message).is_ok() && code.code == CODE_ROLE_CONFLICT
    }

    /// Forgets every check (an ICE restart).
    pub(super) fn clear(&mut self) {
        self.sent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_no_conflict() {
        let mut conflicts = RoleConflicts::default();
        let Ok(provider) = rtc_ice::crypto::default_provider() else { panic!("no crypto provider") };
        for bytes in [&[][..], &[0, 1, 0, 0], &[0x01, 0x11, 0, 4, 0x21, 0x12, 0xa4, 0x42][..], &[0xff; 40]] {
            conflicts.on_sending(bytes, true);
            assert!(!conflicts.is_conflict_answer(bytes, true, "password", provider.crypto()));
            assert!(!RoleConflicts::is_wrong_conflict_answer(bytes));
        }
        assert!(conflicts.sent.is_empty());
    }
}
