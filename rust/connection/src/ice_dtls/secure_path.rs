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
        self.after_dtls();
        result
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
        [self.ice.poll_timeout(), dtls].into_iter().flatten().min()
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
            self.after_dtls();
        }
    }

    /// Closes the path: DTLS sends close_notify (once, as RFC 6347 has it), ICE stops.
    pub fn close(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close(now);
            self.after_dtls();
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
        let authenticated = self.after_dtls();
        if authenticated {
            self.ice.heard_authenticated(now, local, from);
        }
    }

    /// Takes ICE's events: starts DTLS on the first selected pair, fails the path with ICE.
    fn after_ice(&mut self, now: Instant) {
        while let Some(event) = self.ice.poll_event() {
            match event {
                IceEvent::State(state) => {
                    self.events.push_back(SecurePathEvent::IceStateChanged(state));
                    if state == IceState::Failed {
                        let reason =
                            if self.connected { FailureReason::ConsentExpired } else { FailureReason::IceFailed };
                        self.fail(reason);
                        return;
                    }
                }
                IceEvent::Selected(local, remote) => {
                    self.events.push_back(SecurePathEvent::SelectedPair { local, remote });
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
        self.after_dtls();
        for (local, from, datagram) in self.early.take() {
            self.handle_dtls(now, local, from, &datagram);
        }
    }

    /// Takes DTLS's datagrams and events; returns whether the peer authenticated something
    /// (handshake completed or application data arrived).
    fn after_dtls(&mut self) -> bool {
        let Some(dtls) = self.dtls.as_mut() else { return false };
        let mut authenticated = false;
        if let Some((local, to)) = self.ice.selected() {
            while let Some(data) = dtls.poll_transmit() {
                self.transmits.push_back(Transmit { local, to, data });
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
    }
}
