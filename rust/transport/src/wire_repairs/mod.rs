//! Repairs what the `rtc` core gets wrong on the wire with other stacks, at the pump's edge: every
//! datagram the core sends or receives passes [`WireRepairs`] first.
//!
//! - It hands the core again the checks and the ClientHello it dropped for coming before its ICE
//!   agent was ready ([`early_datagrams`]);
//! - holds back the wrong ICE role-conflict answers it sends ([`role_conflict`]);
//! - sends our DTLS handshake flight again when the peer repeats the message it answers, which
//!   `rtc-dtls` does not do ([`handshake_resend`]);
//! - sends our data twice while the path loses datagrams, as `rtc-sctp` recovers a loss by a
//!   1 s timeout ([`loss_cover`]).
//!
//! All are upstream defects of `rtc`; the changes that make this module unnecessary are written
//! down in `docs/upstream/rtc-interop-and-loss-defects.md`.

mod early_datagrams;
mod handshake_resend;
mod loss_cover;
mod peek;
mod role_conflict;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use early_datagrams::ReplayState;
use handshake_resend::HandshakeResend;
use loss_cover::LossCover;
use role_conflict::{RoleConflicts, Verdict};

/// Remote addresses whose local address is remembered, at most (for replays).
const MAX_REMEMBERED_PATHS: usize = 64;

/// One datagram: the local address it was received on or is sent from, the remote address, bytes.
pub(crate) type Datagram = (SocketAddr, SocketAddr, Vec<u8>);

/// What a connection's repairs remember.
#[derive(Default)]
pub(crate) struct WireRepairs {
    replay: ReplayState,
    roles: RoleConflicts,
    resend: HandshakeResend,
    cover: LossCover,
    /// The local address each remote address was last heard on, to tag replayed datagrams.
    paths: HashMap<SocketAddr, SocketAddr>,
}

impl WireRepairs {
    /// Looks at a datagram the core is about to send; returns how many times to send it (0: not
    /// at all).
    pub(crate) fn on_sending(&mut self, to: SocketAddr, datagram: &[u8], now: Instant) -> usize {
        if self.roles.on_sending(datagram) == Verdict::HoldBack {
            log::debug!("not sending {to}: rtc switched roles and answers the check anyway");
            return 0;
        }
        self.replay.on_sent(to, datagram);
        self.resend.on_sent(to, datagram);
        self.cover.copies(to, datagram, now)
    }

    /// Looks at a datagram received on `local` from `from`; returns our datagrams to send again.
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
        self.replay.on_received(from, datagram, now);
        self.roles.on_received(datagram);
        self.cover.on_received(from, datagram);
        let again = self.resend.on_received(from, datagram);
        if !again.is_empty() {
            log::debug!("sending our DTLS handshake flight to {from} again: it repeated what the flight answers");
        }
        again.into_iter().map(|datagram| (local, from, datagram)).collect()
    }

    /// Looks at a datagram that came from `from` through a TURN relay (only the loss cover reads
    /// those).
    pub(crate) fn on_received_relayed(&mut self, from: SocketAddr, datagram: &[u8]) {
        self.cover.on_received(from, datagram);
    }

    /// Datagrams to hand the core again now, and when the next ones are due.
    pub(crate) fn due(&mut self, now: Instant) -> (Vec<Datagram>, Option<Instant>) {
        let next = self.replay.on_clock(now);
        let due = self
            .replay
            .due
            .drain(..)
            .filter_map(|(from, datagram)| {
                log::debug!("handing rtc again a datagram from {from} it came too early for");
                Some((*self.paths.get(&from)?, from, datagram))
            })
            .collect();
        (due, next)
    }
}
