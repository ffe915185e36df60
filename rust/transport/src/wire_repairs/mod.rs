//! Repairs what the `rtc` core gets wrong on the wire with other stacks, at the pump's edge: every
//! datagram the core sends or receives passes [`WireRepairs`] first.
//!
//! - It lets DTLS datagrams reach the core only from addresses that passed an ICE connectivity
//!   check ([`checked_addresses`]);
//! - paces the connectivity checks the core sends ([`check_pacing`]);
//! - hands the core again the checks and the ClientHello it dropped for coming before its ICE
//!   agent was ready ([`early_datagrams`]);
//! - holds back the wrong ICE role-conflict answers it sends ([`role_conflict`]);
//! - sends our DTLS handshake flight again when the peer repeats the message it answers, which
//!   `rtc-dtls` does not do ([`handshake_resend`]);
//! - sends our data twice while the path loses datagrams, as `rtc-sctp` recovers a loss by a
//!   1 s timeout ([`loss_cover`]).
//!
//! Everything here sees datagrams from anyone, so every store is bounded by a named limit: the
//! early datagrams 8 x 1500 bytes, the remembered flights 4 addresses x 8 of our datagrams x 1500
//! bytes (and 8 digests of theirs), the role-conflict checks 16 transaction ids, the checked
//! addresses 16, the awaited checks 128 transaction ids, the paced paths 128, the remembered
//! paths 64; the loss cover keeps a fixed few words. Checks are remembered only when addressed to
//! our ICE username fragment, DTLS only from checked addresses: a stranger who never saw our
//! description makes a connection keep nothing.
//!
//! The repairs mend upstream defects of `rtc`; the changes that make them unnecessary are
//! written down in `docs/upstream/rtc-interop-and-loss-defects.md`.

mod check_pacing;
mod checked_addresses;
mod early_datagrams;
mod handshake_resend;
mod loss_cover;
mod peek;
mod role_conflict;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use check_pacing::CheckPacing;
use checked_addresses::CheckedAddresses;
use early_datagrams::ReplayState;
use handshake_resend::HandshakeResend;
use loss_cover::LossCover;
use peek::{is_dtls, stun_addressed_to, stun_transaction, STUN_BINDING_REQUEST};
use role_conflict::{RoleConflicts, Verdict};

/// Remote addresses whose local address is remembered, at most (for replays); ~3 KB.
const MAX_REMEMBERED_PATHS: usize = 64;

/// One datagram: the local address it was received on or is sent from, the remote address, bytes.
pub(crate) type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// What a connection's repairs remember.
#[derive(Default)]
pub(crate) struct WireRepairs {
    checked: CheckedAddresses,
    pacing: CheckPacing,
    /// The checks the core sent since the last [`WireRepairs::paced_checks`], waiting for it.
    checks: Vec<Datagram>,
    replay: ReplayState,
    roles: RoleConflicts,
    resend: HandshakeResend,
    cover: LossCover,
    /// The local address each remote address was last heard on, to tag replayed datagrams.
    paths: HashMap<SocketAddr, SocketAddr>,
    /// Our ICE username fragment (from the local description), which checks addressed to us
    /// carry: checks without it are not remembered (a stranger who never saw our description
    /// cannot make us keep anything).
    local_ufrag: Option<Vec<u8>>,
}

impl WireRepairs {
    /// Looks at a datagram the core is about to send from `local` to `to`; returns how many times
    /// to send it (0: not at all, or later: a check waits for [`WireRepairs::paced_checks`]).
    pub(crate) fn on_sending(&mut self, local: SocketAddr, to: SocketAddr, datagram: &[u8], now: Instant) -> usize {
        if self.roles.on_sending(datagram) == Verdict::HoldBack {
            log::debug!("not sending {to}: rtc switched roles and answers the check anyway");
            return 0;
        }
        if stun_transaction(datagram, STUN_BINDING_REQUEST).is_some() {
            self.checks.push((local, to, datagram.to_vec()));
            return 0;
        }
        self.on_sent(to, datagram, now);
        self.cover.copies(to, datagram, now)
    }

    /// The checks the core sent since the last call that go now (the others are dropped, as if
    /// lost: the core retries on its own).
    pub(crate) fn paced_checks(&mut self, now: Instant) -> Vec<Datagram> {
        let waiting = std::mem::take(&mut self.checks);
        let asked = waiting.len();
        let checked = &self.checked;
        let going = self.pacing.admit(waiting, now, |to| checked.passed(to));
        if going.len() < asked {
            log::trace!("{} of {asked} connectivity checks left out by the pacing", asked - going.len());
        }
        for (_, to, datagram) in &going {
            self.on_sent(*to, datagram, now);
        }
        going
    }

    fn on_sent(&mut self, to: SocketAddr, datagram: &[u8], now: Instant) {
        self.checked.on_sent(to, datagram, now);
        self.replay.on_sent(to, datagram);
        self.resend.on_sent(to, datagram);
    }

    /// Whether a datagram from `from` (directly or through a TURN relay) may reach the core:
    /// DTLS only from an address that passed a connectivity check.
    pub(crate) fn admits(&self, from: SocketAddr, datagram: &[u8]) -> bool {
        self.checked.admits(from, datagram)
    }

    /// Looks at a datagram received on `local` from `from` (one [`WireRepairs::admits`]);
    /// returns our datagrams to send again.
    pub(crate) fn on_received(
        &mut self,
        local: SocketAddr,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) -> Vec<Datagram> {
        self.checked.on_received(from, datagram, now);
        let check = stun_transaction(datagram, STUN_BINDING_REQUEST).is_some();
        let addressed_to_us =
            !check || self.local_ufrag.as_deref().is_some_and(|ufrag| stun_addressed_to(datagram, ufrag));
        if addressed_to_us {
            self.replay.on_received(from, datagram);
            self.roles.on_received(datagram);
        }
        // Only the senders of what may be kept for a replay: checks addressed to us, and DTLS
        // (which comes only from checked addresses).
        let replayable = (check && addressed_to_us) || is_dtls(datagram);
        if replayable && (self.paths.len() < MAX_REMEMBERED_PATHS || self.paths.contains_key(&from)) {
            self.paths.insert(from, local);
        }
        self.cover.on_received(from, datagram);
        let again = self.resend.on_received(from, datagram);
        if !again.is_empty() {
            log::debug!("sending our DTLS handshake flight to {from} again: it repeated what the flight answers");
        }
        again.into_iter().map(|datagram| (local, from, datagram)).collect()
    }

    /// Looks at a datagram that came from `from` through a TURN relay (one
    /// [`WireRepairs::admits`]).
    pub(crate) fn on_received_relayed(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        self.checked.on_received(from, datagram, now);
        self.cover.on_received(from, datagram);
    }

    /// Whether the repairs wait to hear that ICE has selected a pair ([`WireRepairs::on_selected`]).
    pub(crate) fn waits_for_selection(&self) -> bool {
        self.replay.waits_for_selection()
    }

    /// Learns our ICE username fragment from the local description just applied.
    pub(crate) fn on_local_description(&mut self, sdp: &str) {
        let ufrag = sdp.lines().find_map(|line| line.trim().strip_prefix("a=ice-ufrag:"));
        self.local_ufrag = ufrag.map(|ufrag| ufrag.trim().as_bytes().to_vec());
    }

    /// ICE has selected a pair: the ClientHellos it dropped before can be handed back.
    pub(crate) fn on_selected(&mut self) {
        self.replay.on_selected();
    }

    /// The connection is connected: no early datagram is kept from now on.
    pub(crate) fn on_connected(&mut self) {
        self.replay.on_connected();
    }

    /// Whether datagrams wait to be handed to the core again.
    pub(crate) fn has_due(&self) -> bool {
        !self.replay.due.is_empty()
    }

    /// Datagrams to hand the core again now.
    pub(crate) fn due(&mut self) -> Vec<Datagram> {
        self.replay
            .due
            .drain(..)
            .filter_map(|(from, datagram)| {
                log::debug!("handing rtc again a datagram from {from} it came too early for");
                Some((*self.paths.get(&from)?, from, datagram))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request with transaction id `transaction` and USERNAME `username`.
    fn check(transaction: u8, username: &[u8]) -> Vec<u8> {
        let mut message = vec![0x00, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        message.resize(20, transaction);
        message.extend([0x00, 0x06]);
        message.extend(u16::try_from(username.len()).expect("short").to_be_bytes());
        message.extend(username);
        message.resize(message.len().next_multiple_of(4), 0);
        let length = u16::try_from(message.len() - 20).expect("short");
        message[2..4].copy_from_slice(&length.to_be_bytes());
        message
    }

    fn address(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 2], port))
    }

    #[test]
    fn only_checks_addressed_to_our_username_fragment_are_kept_for_replay() {
        let (local, now) = (address(1), Instant::now());
        let mut repairs = WireRepairs::default();
        repairs.on_received(local, address(2), &check(1, b"ours:theirs"), now);
        repairs.on_local_description("v=0\r\na=ice-ufrag:ours\r\na=ice-pwd:x\r\n");
        repairs.on_received(local, address(3), &check(2, b"other:theirs"), now);
        repairs.on_received(local, address(4), &check(3, b"oursx:theirs"), now);
        repairs.on_received(local, address(5), &check(4, b"ours:theirs"), now);
        for port in 2..=5 {
            repairs.on_sending(local, address(port), &check(9, b"theirs:ours"), now);
        }
        repairs.paced_checks(now);
        let due: Vec<u16> = repairs.due().iter().map(|(_, from, _)| from.port()).collect();
        assert_eq!(due, vec![5], "before our description, or another username: not kept");
    }
}
