//! [`SecurePath`]: ICE and DTLS joined, driven by the pump with the time passed in.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use dimpl::DtlsCertificate;

use super::candidates::LocalCandidate;
use super::config::SecurePathConfig;
use super::demux::{classify, DatagramKind};
use super::dtls::{DtlsEvent, DtlsSession};
use super::early_datagrams::EarlyDatagrams;
use super::error::{FailureReason, SecurePathError};
use super::events::{IceState, SecurePathEvent, Transmit};
use super::ice::{IceEvent, IceSession};
use super::path_choice::{PathChoice, PathInputs, PathKind};
use super::relay_path::RelayPath;
use crate::sdp;

/// The largest application data sent in one record, in bytes: what fits one datagram on an
/// Ethernet path (1500 bytes less 28 of IPv4 and UDP, less [`DTLS_RECORD_OVERHEAD`]), since a
/// record is never split across datagrams and IP fragments are often dropped. SCTP above keeps
/// its packets smaller still (the path MTU WebRTC assumes is ~1200).
pub const MAX_APPLICATION_DATA: usize = 1500 - 28 - DTLS_RECORD_OVERHEAD;
/// Bytes DTLS 1.2 adds to a record with an AEAD suite: 13 of header, 8 of explicit nonce and 16
/// of authentication tag (AES-GCM; ChaCha20-Poly1305 has no explicit nonce).
pub const DTLS_RECORD_OVERHEAD: usize = 13 + 8 + 16;

/// One connection's secure path: ICE finds and watches the pair, DTLS runs over it.
///
/// The caller passes every datagram its sockets receive for this connection to
/// [`SecurePath::handle_datagram`], sends what [`SecurePath::poll_transmit`] gives, reads
/// [`SecurePath::poll_event`], and calls [`SecurePath::handle_timeout`] once
/// [`SecurePath::poll_timeout`] has passed. After any call, poll transmits, events and the
/// timeout again.
pub struct SecurePath {
    config: SecurePathConfig,
    ice: IceSession,
    dtls: Option<DtlsSession>,
    early: EarlyDatagrams,
    events: VecDeque<SecurePathEvent>,
    /// DTLS datagrams waiting for [`SecurePath::poll_transmit`], with their pair.
    transmits: VecDeque<Transmit>,
    /// The relayed path beside ICE's, when the pump offers one.
    relay: RelayPath,
    /// Which path records take.
    choice: PathChoice,
    /// ICE failed while a relay had been offered: the path lives on while any path is heard.
    ice_failed: bool,
    /// A keepalive for the relay fell due: the layer above sends one (an SCTP HEARTBEAT).
    keepalive_due: bool,
    /// Whether the peer was last reported silent on both paths (once a relay was offered).
    silent: Option<bool>,
    /// Whether DTLS completed (a later ICE failure is then a consent expiry).
    connected: bool,
    /// Set once the path failed or was closed: it does nothing more.
    finished: bool,
}

impl SecurePath {
    /// A path with `config`, created at `now`. ICE starts once the remote credentials are set.
    pub fn new(config: SecurePathConfig, now: Instant) -> Result<Self, SecurePathError> {
        let ice = IceSession::new(&config, now)?;
        Ok(Self {
            config,
            ice,
            dtls: None,
            early: EarlyDatagrams::default(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            relay: RelayPath::default(),
            choice: PathChoice::default(),
            ice_failed: false,
            keepalive_due: false,
            silent: None,
            connected: false,
            finished: false,
        })
    }

    /// Adds a local candidate the pump gathered; returns it as it is to be signaled.
    pub fn add_local_candidate(
        &mut self,
        now: Instant,
        candidate: LocalCandidate,
    ) -> Result<sdp::Candidate, SecurePathError> {
        let line = self.ice.add_local_candidate(now, candidate)?;
        self.after_ice(now);
        Ok(line)
    }

    /// Adds a candidate the peer signaled; at most [`super::MAX_REMOTE_CANDIDATES`] per ICE
    /// session. mDNS (`.local`) and TCP candidates are counted but not used: resolving a name is
    /// the pump's (it passes the resolved candidate again), and the path speaks UDP only.
    pub fn add_remote_candidate(&mut self, now: Instant, candidate: &sdp::Candidate) -> Result<(), SecurePathError> {
        self.ice.add_remote_candidate(now, candidate)?;
        self.after_ice(now);
        Ok(())
    }

    /// Sets the peer's ICE credentials (from its description) and starts the checks.
    pub fn set_remote_credentials(&mut self, now: Instant, ufrag: &str, pwd: &str) -> Result<(), SecurePathError> {
        self.ice.set_remote_credentials(now, ufrag.to_owned(), pwd.to_owned())?;
        self.after_ice(now);
        Ok(())
    }

    /// Restarts ICE with our new credentials (RFC 8445 9): the pairs are checked anew, DTLS goes
    /// on over the old pair until a new one is selected. The peer's new credentials and
    /// candidates follow through [`SecurePath::set_remote_credentials`] and
    /// [`SecurePath::add_remote_candidate`].
    pub fn restart_ice(&mut self, now: Instant, ufrag: &str, pwd: &str) -> Result<(), SecurePathError> {
        self.ice.restart(now, ufrag.to_owned(), pwd.to_owned())?;
        self.after_ice(now);
        Ok(())
    }

    /// Handles a datagram received on the local socket `local` from `from`: STUN goes to ICE,
    /// DTLS to DTLS (RFC 7983), anything else is dropped.
    pub fn handle_datagram(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        if self.finished {
            return;
        }
        match classify(datagram) {
            DatagramKind::Stun => {
                self.ice.handle_stun(now, local, from, datagram);
                self.after_ice(now);
            }
            DatagramKind::Dtls => self.handle_dtls(now, local, from, datagram),
            DatagramKind::Other => {}
        }
    }

    /// Sends `data` (one SCTP packet) as DTLS application data over the selected pair.
    pub fn send_application_data(&mut self, now: Instant, data: &[u8]) -> Result<(), SecurePathError> {
        if data.len() > MAX_APPLICATION_DATA {
            return Err(SecurePathError::TooLarge(data.len()));
        }
        let dtls = self.dtls.as_mut().filter(|dtls| dtls.is_connected()).ok_or(SecurePathError::NotConnected)?;
        if self.finished {
            return Err(SecurePathError::NotConnected);
        }
        let result = dtls.send(now, data);
        self.after_dtls(now);
        result
    }

    /// Notes that what was just sent awaits an answer (the layer above has data outstanding):
    /// if the direct pair stays silent past [`super::DIRECT_SILENT_AFTER`], records fall back to
    /// the relay.
    pub fn note_awaiting_answer(&mut self, now: Instant) {
        self.choice.sent_direct_awaiting(now, self.ice.last_heard());
    }

    /// The pump says a relay to the peer exists (`available`) or no longer does. DTLS starts
    /// now if it had not (the peer's fingerprint and our role are known: the path is made with
    /// them); records take the relay when the direct pair is not alive.
    pub fn set_relay_available(&mut self, now: Instant, available: bool) {
        if self.finished || !self.relay.set_available(now, available) {
            return;
        }
        self.refresh_path(now);
        if available && self.dtls.is_none() {
            self.start_dtls(now);
        }
        self.check_liveness(now);
    }

    /// Handles a datagram of the peer's that came by the relay: only DTLS is taken (the relay
    /// carries no ICE); before DTLS starts it is kept (bounded).
    pub fn handle_relayed_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if self.finished || classify(datagram) != DatagramKind::Dtls {
            return;
        }
        let Some(dtls) = self.dtls.as_mut() else {
            self.relay.keep_early(datagram);
            return;
        };
        dtls.handle_datagram(now, datagram);
        if self.after_dtls(now) {
            self.relay.heard(now);
            self.choice.peer_relayed(now, self.ice.last_heard());
        }
        self.refresh_path(now);
    }

    /// The next datagram to send by the relay (the pump wraps it for the relaying member).
    pub fn poll_relay_transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.relay.pop()
    }

    /// Whether a keepalive fell due on the relayed path since last asked (the layer above then
    /// sends something the peer answers: an SCTP HEARTBEAT).
    pub fn take_keepalive_due(&mut self) -> bool {
        std::mem::take(&mut self.keepalive_due)
    }

    /// Whether the pump ever offered a relay: the peer's silence is then reported by
    /// [`SecurePathEvent::PeerSilent`] rather than read from ICE's state.
    pub fn relay_was_offered(&self) -> bool {
        self.relay.was_ever_available()
    }

    /// The path records take now, once one was chosen.
    pub fn path_kind(&self) -> Option<PathKind> {
        self.choice.current()
    }

    /// Whether ICE's direct pair is alive: selected, connected, and not silent past
    /// [`super::DIRECT_SILENT_AFTER`] while an answer was due (a dead peer shows within about
    /// 1.5 s while data is outstanding, long before consent expires).
    pub fn direct_alive(&self) -> bool {
        self.choice.direct_alive()
    }

    /// Switches between the direct and the relayed path so far.
    pub fn path_switches(&self) -> u64 {
        self.choice.switches()
    }

    /// Datagrams for the relay dropped because the pump did not take them in time.
    pub fn relay_queue_drops(&self) -> u64 {
        self.relay.dropped()
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        self.ice.poll_transmit().or_else(|| self.transmits.pop_front())
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SecurePathEvent> {
        self.events.pop_front()
    }

    /// The round-trip time of the latest ICE check answered on the selected pair (consent checks
    /// included), once one was: what `RTCIceCandidatePairStats.currentRoundTripTime` reports.
    pub fn round_trip_time(&self, now: Instant) -> Option<std::time::Duration> {
        self.ice.round_trip_time(now)
    }

    /// When [`SecurePath::handle_timeout`] must be called next; `None`: only when a datagram or
    /// a call comes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let dtls = self.dtls.as_ref().and_then(DtlsSession::poll_timeout);
        let keepalive = self.relay.keepalive_due().filter(|_| self.relayed_and_connected());
        let silence = self.silence_deadline().filter(|_| self.silent == Some(false));
        // Without a relay offered, the choice still marks a silent direct pair dead (a relay
        // hub stops relaying through it); it wakes only while an answer is due.
        let choice = self.choice.next_deadline();
        [self.ice.poll_timeout(), dtls, choice, self.liveness_deadline(), keepalive, silence]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.ice.handle_timeout(now);
        self.after_ice(now);
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.handle_timeout(now);
            self.after_dtls(now);
        }
        self.refresh_path(now);
        self.check_liveness(now);
        self.check_silence(now);
        if self.relayed_and_connected() && self.relay.keepalive_due().is_some_and(|due| due <= now) {
            self.relay.keepalive_sent(now);
            self.keepalive_due = true;
        }
    }

    /// Closes the path: DTLS sends close_notify (once, as RFC 6347 has it), ICE stops.
    pub fn close(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close(now);
            self.after_dtls(now);
        }
        self.ice.close();
        self.finish();
        self.events.push_back(SecurePathEvent::IceStateChanged(IceState::Closed));
    }

    fn handle_dtls(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        let Some(dtls) = self.dtls.as_mut() else {
            // Before ICE selected a pair: keep it for then.
            self.early.keep(local, from, datagram);
            return;
        };
        if !self.ice.passed_check(from) {
            log::debug!("DTLS from {from}, which passed no check of ours: dropped");
            return;
        }
        dtls.handle_datagram(now, datagram);
        let authenticated = self.after_dtls(now);
        if authenticated {
            self.ice.heard_authenticated(now, local, from);
        }
        self.refresh_path(now);
    }

    /// Whether records go by the relay and DTLS is up (keepalives are then due).
    fn relayed_and_connected(&self) -> bool {
        self.connected && !self.finished && self.choice.current() == Some(PathKind::Relayed)
    }

    /// What the path choice reads now.
    fn path_inputs(&self) -> PathInputs {
        let state = self.ice.state();
        let selected = self.ice.selected().is_some() && !matches!(state, IceState::Failed | IceState::Closed);
        PathInputs {
            direct_selected: selected,
            direct_connected: state == IceState::Connected,
            direct_heard: self.ice.last_heard(),
            relay_available: self.relay.is_available(),
        }
    }

    /// When the peer counts as silent on both paths if nothing comes before (once a relay was
    /// offered and DTLS is up).
    fn silence_deadline(&self) -> Option<Instant> {
        if !self.connected || self.finished || !self.relay.was_ever_available() {
            return None;
        }
        let last = [self.ice.last_heard(), self.relay.last_alive()].into_iter().flatten().max()?;
        Some(last + self.config.timeouts.disconnected)
    }

    /// Reports whether the peer is silent on both paths, when that changed.
    fn check_silence(&mut self, now: Instant) {
        let Some(deadline) = self.silence_deadline() else { return };
        let silent = deadline <= now;
        if self.silent != Some(silent) {
            self.silent = Some(silent);
            self.events.push_back(SecurePathEvent::PeerSilent(silent));
        }
    }

    /// Applies the path choice at `now`; reports a change.
    fn refresh_path(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        self.check_silence(now);
        let inputs = self.path_inputs();
        if self.choice.decide(now, inputs) {
            if let Some(kind) = self.choice.current() {
                log::debug!("DTLS records now go {kind:?}");
                self.events.push_back(SecurePathEvent::PathChanged(kind));
            }
        }
    }

    /// Once ICE failed with a relay offered: the path fails when no path carried anything
    /// authenticated for the failed timeout.
    fn liveness_deadline(&self) -> Option<Instant> {
        if !self.ice_failed || self.finished {
            return None;
        }
        let last = [self.ice.last_heard(), self.relay.last_alive()].into_iter().flatten().max()?;
        Some(last + self.config.timeouts.failed)
    }

    /// Fails the path if its liveness deadline passed.
    fn check_liveness(&mut self, now: Instant) {
        if !self.ice_failed || self.finished {
            return;
        }
        if self.liveness_deadline().is_none_or(|deadline| deadline <= now) {
            let reason = if self.connected { FailureReason::ConsentExpired } else { FailureReason::IceFailed };
            self.fail(reason);
        }
    }

    /// Takes ICE's events: starts DTLS on the first selected pair, fails the path with ICE.
    fn after_ice(&mut self, now: Instant) {
        while let Some(event) = self.ice.poll_event() {
            match event {
                IceEvent::State(state) => {
                    self.events.push_back(SecurePathEvent::IceStateChanged(state));
                    if state == IceState::Failed && self.relay.was_ever_available() {
                        // The relay may carry on: fail only when no path lived for the timeout.
                        self.ice_failed = true;
                        self.refresh_path(now);
                        self.check_liveness(now);
                    } else if state == IceState::Failed {
                        let reason =
                            if self.connected { FailureReason::ConsentExpired } else { FailureReason::IceFailed };
                        self.fail(reason);
                        return;
                    }
                }
                IceEvent::Selected(local, remote) => {
                    self.events.push_back(SecurePathEvent::SelectedPair { local, remote });
                    self.refresh_path(now);
                    if self.dtls.is_none() {
                        self.start_dtls(now);
                    }
                }
                IceEvent::Role(controlling) => self.events.push_back(SecurePathEvent::IceRoleChanged { controlling }),
            }
        }
    }

    fn start_dtls(&mut self, now: Instant) {
        let certificate = DtlsCertificate {
            certificate: self.config.certificate.der.clone(),
            private_key: self.config.certificate.private_key.clone(),
        };
        let started = DtlsSession::start(
            self.config.dtls_role,
            certificate,
            self.config.remote_fingerprints.clone(),
            &self.config.timeouts,
            self.config.dtls_seed_for_tests,
            now,
        );
        match started {
            Ok(dtls) => self.dtls = Some(dtls),
            Err(error) => {
                self.fail(FailureReason::Dtls(error.to_string()));
                return;
            }
        }
        self.after_dtls(now);
        for (local, from, datagram) in self.early.take() {
            self.handle_dtls(now, local, from, &datagram);
        }
        for datagram in self.relay.take_early() {
            self.handle_relayed_datagram(now, &datagram);
        }
    }

    /// Takes DTLS's datagrams (onto the chosen path; with none, they are dropped as a lost
    /// datagram would be) and events; returns whether the peer authenticated something
    /// (handshake completed or application data arrived).
    fn after_dtls(&mut self, now: Instant) -> bool {
        let Some(dtls) = self.dtls.as_mut() else { return false };
        let mut authenticated = false;
        let selected = self.ice.selected();
        while let Some(data) = dtls.poll_transmit() {
            match (self.choice.current(), selected) {
                (Some(PathKind::Direct), Some((local, to))) => self.transmits.push_back(Transmit { local, to, data }),
                (Some(PathKind::Relayed), _) => self.relay.push(now, data),
                _ => log::debug!("a DTLS datagram with no path to take: dropped"),
            }
        }
        let mut events = Vec::new();
        while let Some(event) = dtls.poll_event() {
            events.push(event);
        }
        for event in events {
            match event {
                DtlsEvent::Connected => {
                    authenticated = true;
                    self.connected = true;
                    self.events.push_back(SecurePathEvent::Connected);
                }
                DtlsEvent::ApplicationData(data) => {
                    authenticated = true;
                    self.events.push_back(SecurePathEvent::ApplicationData(data));
                }
                DtlsEvent::Closed => {
                    self.events.push_back(SecurePathEvent::Closed);
                    self.ice.close();
                    self.finish();
                }
                DtlsEvent::Failed(reason) => {
                    self.fail(reason);
                }
            }
        }
        authenticated
    }

    fn fail(&mut self, reason: FailureReason) {
        if self.finished {
            return;
        }
        self.events.push_back(SecurePathEvent::Failed(reason));
        self.ice.close();
        self.finish();
    }

    fn finish(&mut self) {
        self.finished = true;
        self.early.take();
        self.relay.take_early();
    }
}
