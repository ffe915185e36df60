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
//! addresses 16, the awaited checks 128 transaction ids, the paced paths 256, the remembered
//! paths 64; the loss cover keeps a fixed few words.
//!
//! All are upstream defects of `rtc`; the changes that make this module unnecessary are written
//! down in `docs/upstream/rtc-interop-and-loss-defects.md`.

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
use peek::{stun_transaction, STUN_BINDING_REQUEST};
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
        if self.paths.len() < MAX_REMEMBERED_PATHS || self.paths.contains_key(&from) {
            self.paths.insert(from, local);
        }
        self.checked.on_received(from, datagram, now);
        self.replay.on_received(from, datagram);
        self.roles.on_received(datagram);
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
