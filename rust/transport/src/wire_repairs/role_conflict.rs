//! Holds back the wrong answers the rtc core gives to an ICE role conflict.
//!
//! When both agents claim the same role, RFC 8445 7.3.1.1 has the one receiving the check either
//! keep its role and answer 487 (Role Conflict), or switch roles and answer as usual, never both.
//! `rtc-ice` 0.21.1 always answers 487, switches when its tie-breaker says so, and then answers
//! the same check with a success too. After a switch the 487 is wrong, and the other agent,
//! obeying it, switches as well: both end in the same role again. libdatachannel, which claims
//! the controlling role when it answers if it made an offer of its own first, took 1-1.5 s to
//! connect because of it. This filter recognizes that 487 (the check it answers, our own
//! tie-breaker taken from the checks we send, and the rule `rtc-ice` applies) and holds it back,
//! so the success answer that follows is the one the other agent gets.

use super::peek::{stun_error_code, stun_role, stun_transaction, Role, STUN_BINDING_ERROR, STUN_BINDING_REQUEST};

/// Checks remembered (the newest) to judge answers to them.
const MAX_KEPT_CHECKS: usize = 16;
/// STUN's Role Conflict error code.
const ROLE_CONFLICT: u16 = 487;

/// What to do with a datagram we are about to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Send,
    HoldBack,
}

/// What one socket knows: our tie-breaker and the roles the remote's recent checks claimed.
#[derive(Default)]
pub(super) struct RoleConflicts {
    our_tie_breaker: Option<u64>,
    checks: Vec<([u8; 12], Role)>,
}

impl RoleConflicts {
    /// Looks at a received datagram: remembers the role a check claims.
    pub(super) fn on_received(&mut self, datagram: &[u8]) {
        let Some(transaction) = stun_transaction(datagram, STUN_BINDING_REQUEST) else { return };
        let Some(role) = stun_role(datagram) else { return };
        if self.checks.len() == MAX_KEPT_CHECKS {
            self.checks.remove(0);
        }
        self.checks.push((transaction, role));
    }

    /// Looks at a datagram about to be sent: learns our tie-breaker from our checks, and judges
    /// our 487 answers.
    pub(super) fn on_sending(&mut self, datagram: &[u8]) -> Verdict {
        if stun_transaction(datagram, STUN_BINDING_REQUEST).is_some() {
            if let Some(Role::Controlling(ours) | Role::Controlled(ours)) = stun_role(datagram) {
                self.our_tie_breaker = Some(ours);
            }
            return Verdict::Send;
        }
        let Some(transaction) = stun_transaction(datagram, STUN_BINDING_ERROR) else { return Verdict::Send };
        if stun_error_code(datagram) != Some(ROLE_CONFLICT) {
            return Verdict::Send;
        }
        let (Some(ours), Some(&(_, theirs))) =
            (self.our_tie_breaker, self.checks.iter().find(|(checked, _)| *checked == transaction))
        else {
            return Verdict::Send;
        };
        // The rule rtc-ice 0.21.1 applies after answering 487 (agent/mod.rs, handle_inbound).
        let switched = match theirs {
            Role::Controlling(tie_breaker) => ours < tie_breaker,
            Role::Controlled(tie_breaker) => ours > tie_breaker,
        };
        if switched {
            Verdict::HoldBack
        } else {
            Verdict::Send
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(kind: u16, transaction: u8, attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut message = kind.to_be_bytes().to_vec();
        message.extend([0, 0, 0x21, 0x12, 0xA4, 0x42]);
        message.extend([transaction; 12]);
        for (attribute, value) in attributes {
            message.extend(attribute.to_be_bytes());
            message.extend(u16::try_from(value.len()).expect("a short value").to_be_bytes());
            message.extend(value);
            message.resize(message.len().next_multiple_of(4), 0);
        }
        message
    }

    fn check(transaction: u8, role: u16, tie_breaker: u64) -> Vec<u8> {
        stun(0x0001, transaction, &[(0x0006, b"user:name".to_vec()), (role, tie_breaker.to_be_bytes().to_vec())])
    }

    fn role_conflict(transaction: u8) -> Vec<u8> {
        stun(0x0111, transaction, &[(0x0009, vec![0, 0, 4, 87])])
    }

    const CONTROLLING: u16 = 0x802A;
    const CONTROLLED: u16 = 0x8029;

    #[test]
    fn a_487_sent_after_switching_roles_is_held_back() {
        let mut roles = RoleConflicts::default();
        assert_eq!(roles.on_sending(&check(1, CONTROLLING, 10)), Verdict::Send);
        roles.on_received(&check(2, CONTROLLING, 20));
        assert_eq!(roles.on_sending(&role_conflict(2)), Verdict::HoldBack, "10 < 20: rtc switched");
        roles.on_received(&check(3, CONTROLLED, 5));
        assert_eq!(roles.on_sending(&role_conflict(3)), Verdict::HoldBack, "10 > 5: rtc switched");
    }

    #[test]
    fn a_487_that_keeps_our_role_is_sent() {
        let mut roles = RoleConflicts::default();
        roles.on_sending(&check(1, CONTROLLED, 10));
        roles.on_received(&check(2, CONTROLLING, 5));
        assert_eq!(roles.on_sending(&role_conflict(2)), Verdict::Send);
        roles.on_received(&check(3, CONTROLLED, 20));
        assert_eq!(roles.on_sending(&role_conflict(3)), Verdict::Send);
    }

    #[test]
    fn without_our_tie_breaker_or_the_check_nothing_is_held_back() {
        let mut roles = RoleConflicts::default();
        roles.on_received(&check(2, CONTROLLING, 20));
        assert_eq!(roles.on_sending(&role_conflict(2)), Verdict::Send, "our tie-breaker is unknown");
        roles.on_sending(&check(1, CONTROLLING, 10));
        assert_eq!(roles.on_sending(&role_conflict(9)), Verdict::Send, "an unknown check");
        assert_eq!(roles.on_sending(&stun(0x0111, 2, &[(0x0009, vec![0, 0, 4, 0])])), Verdict::Send, "a 400");
    }
}
