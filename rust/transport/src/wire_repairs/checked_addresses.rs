//! Lets DTLS datagrams reach the core only from addresses that passed an ICE connectivity check.
//!
//! Once its ICE agent has selected a pair, `rtc` 0.21.1 hands every non-STUN datagram to DTLS,
//! whatever address it came from (`handler/ice.rs`): anyone who learns the port can make the
//! DTLS endpoint parse handshakes and records. ICE checks are authenticated (MESSAGE-INTEGRITY
//! with the passwords exchanged through signaling), so an address that passed one belongs to
//! the peer: one we answered a check from with a success response (the core answers only
//! checks that carry the right credentials), or one that answered a check we sent there with a
//! success response carrying that check's transaction id (96 random bits an off-path stranger
//! cannot guess). Every address that passed counts, not only the selected pair's: browsers
//! switch pairs and NATs rebind, and the consent checks on the selected pair keep its address
//! fresh. Datagrams through a TURN relay are judged by the peer address the relay names.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use super::peek::{is_dtls, stun_transaction, STUN_BINDING_REQUEST, STUN_BINDING_SUCCESS};

/// Addresses that passed a check, remembered at most (the peer has a few: host, server-reflexive,
/// relayed, peer-reflexive after a NAT rebinding); past it the one confirmed longest ago is
/// forgotten. 16 entries, about 0.6 KB.
pub(super) const MAX_CHECKED_ADDRESSES: usize = 16;
/// Checks we sent whose answer is awaited, remembered at most (the newest): at the paced ceiling
/// of 100 checks a second, the last 1.3 s. 128 entries, about 4 KB.
pub(super) const MAX_AWAITED_CHECKS: usize = 128;

/// What one connection knows of the addresses that passed a check.
#[derive(Default)]
pub(super) struct CheckedAddresses {
    /// Each address and when it last passed a check.
    checked: Vec<(SocketAddr, Instant)>,
    /// Where our recent checks went, with their transaction ids.
    awaited: VecDeque<(SocketAddr, [u8; 12])>,
}

impl CheckedAddresses {
    /// Whether a datagram from `from` may go on to the core: DTLS only from a checked address.
    pub(super) fn admits(&self, from: SocketAddr, datagram: &[u8]) -> bool {
        !is_dtls(datagram) || self.passed(from)
    }

    /// Whether `address` passed a check.
    pub(super) fn passed(&self, address: SocketAddr) -> bool {
        self.checked.iter().any(|(known, _)| *known == address)
    }

    /// Looks at a datagram received from `from`: a success response to one of our checks there
    /// makes it checked.
    pub(super) fn on_received(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        let Some(transaction) = stun_transaction(datagram, STUN_BINDING_SUCCESS) else { return };
        let position = self.awaited.iter().position(|awaited| *awaited == (from, transaction));
        if let Some(position) = position {
            self.awaited.remove(position);
            self.mark(from, now);
        }
    }

    /// Looks at a datagram we send to `to`: remembers our checks, and a success response makes
    /// `to` checked.
    pub(super) fn on_sent(&mut self, to: SocketAddr, datagram: &[u8], now: Instant) {
        if let Some(transaction) = stun_transaction(datagram, STUN_BINDING_REQUEST) {
            if self.awaited.len() == MAX_AWAITED_CHECKS {
                self.awaited.pop_front();
            }
            self.awaited.push_back((to, transaction));
        } else if stun_transaction(datagram, STUN_BINDING_SUCCESS).is_some() {
            self.mark(to, now);
        }
    }

    fn mark(&mut self, address: SocketAddr, now: Instant) {
        if let Some(entry) = self.checked.iter_mut().find(|(known, _)| *known == address) {
            entry.1 = now;
        } else if self.checked.len() < MAX_CHECKED_ADDRESSES {
            self.checked.push((address, now));
        } else if let Some(oldest) = self.checked.iter_mut().min_by_key(|(_, at)| *at) {
            *oldest = (address, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn stun(kind: [u8; 2], transaction: u8) -> Vec<u8> {
        let mut message = vec![kind[0], kind[1], 0, 0, 0x21, 0x12, 0xA4, 0x42];
        message.resize(20, transaction);
        message
    }

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 2], port))
    }

    const DTLS: [u8; 14] = [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1];

    #[test]
    fn dtls_passes_only_from_addresses_that_passed_a_check() {
        let mut checked = CheckedAddresses::default();
        let now = Instant::now();
        assert!(!checked.admits(address(1), &DTLS));
        assert!(checked.admits(address(1), &stun(STUN_BINDING_REQUEST, 1)), "STUN always passes");
        assert!(checked.admits(address(1), &[0x40, 0, 0, 4]), "so does what is not DTLS");
        checked.on_sent(address(1), &stun(STUN_BINDING_SUCCESS, 1), now);
        assert!(checked.admits(address(1), &DTLS), "we answered its check");
        checked.on_sent(address(2), &stun(STUN_BINDING_REQUEST, 2), now);
        checked.on_received(address(3), &stun(STUN_BINDING_SUCCESS, 2), now);
        checked.on_received(address(2), &stun(STUN_BINDING_SUCCESS, 9), now);
        assert!(!checked.admits(address(2), &DTLS), "an answer from elsewhere or to another check");
        assert!(!checked.admits(address(3), &DTLS));
        checked.on_received(address(2), &stun(STUN_BINDING_SUCCESS, 2), now);
        assert!(checked.admits(address(2), &DTLS), "it answered our check");
    }

    #[test]
    fn the_address_confirmed_longest_ago_makes_room() {
        let mut checked = CheckedAddresses::default();
        let start = Instant::now();
        for port in 0..MAX_CHECKED_ADDRESSES as u16 {
            checked.on_sent(address(port), &stun(STUN_BINDING_SUCCESS, 1), start + Duration::from_millis(port.into()));
        }
        let later = start + Duration::from_secs(1);
        checked.on_sent(address(0), &stun(STUN_BINDING_SUCCESS, 1), later);
        checked.on_sent(address(100), &stun(STUN_BINDING_SUCCESS, 1), later);
        assert_eq!(checked.checked.len(), MAX_CHECKED_ADDRESSES);
        assert!(checked.admits(address(0), &DTLS), "refreshed");
        assert!(!checked.admits(address(1), &DTLS), "confirmed longest ago");
        assert!(checked.admits(address(100), &DTLS));
    }

    #[test]
    fn few_checks_are_awaited() {
        let mut checked = CheckedAddresses::default();
        for transaction in 0..=255 {
            checked.on_sent(address(1), &stun(STUN_BINDING_REQUEST, transaction), Instant::now());
        }
        assert_eq!(checked.awaited.len(), MAX_AWAITED_CHECKS);
    }
}
