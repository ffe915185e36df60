//! DTLS 1.2 over the selected pair, on str0m's `dimpl` 0.9.
//!
//! Why `dimpl` and not `rtc-dtls` 0.21.1 (what `rtc` runs today), from reading both:
//! - `rtc-dtls` retransmits a flight at a fixed 1 s, never doubling, 7 times, and cancels its
//!   timer whenever any handshake datagram arrives, so a peer that repeats its flight because ours
//!   was lost stalls the handshake (`rust/transport/src/wire_repairs/handshake_resend.rs` repairs
//!   that at the socket); its retransmission timer is `pub(crate)`, so no caller can change it.
//!   `dimpl` doubles its timeout from a configurable start with jitter, bounds the retries and the
//!   whole handshake by a deadline, reports either as an error, and resends its flight when the
//!   peer repeats its own (RFC 6347 4.2.4).
//! - `rtc-dtls` offers a CBC suite by default; `dimpl` has AEAD suites only (AES-GCM,
//!   ChaCha20-Poly1305 with ECDHE-ECDSA), which is what `AEAD_CIPHER_SUITES` in
//!   `rust/transport/src/core.rs` restricts `rtc` to. (Lost: ECDHE-RSA; every browser and
//!   libdatachannel make ECDSA certificates for WebRTC.)
//! - `dimpl` hands the peer's certificate to its caller, whose check (the fingerprint) decides;
//!   a fatal alert received is an error carrying its description. Every error is final.
//!
//! Measured (`tests/ice_dtls_dtls_choice.rs`: the DTLS handshake alone over netsim, 20 ms one
//! way, 20 seeds): at 10 % loss `rtc-dtls` has a median of 120 ms but 3 of 20 handshakes never
//! complete (the stall above) and 15 of 20 under 2 s; `dimpl` with its defaults (1 s doubling,
//! cookie) 17 of 20, as configured here (250 ms doubling, no cookie) median 80 ms, worst 0.96 s,
//! 20 of 20. At 30 %: medians 4.1 s (10 of 20 never), 3.6 s and 0.35 s (18 of 20 under 2 s).
//! With ICE in front, the whole path's times are in `tests/ice_dtls_handshake.rs`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use dimpl::{Config, Dtls, DtlsCertificate, Output};

use super::alert::{fatal_alert, BAD_CERTIFICATE};
use super::config::Timeouts;
use super::dtls_config::{shared_config, DtlsSettings};
use super::error::{FailureReason, SecurePathError};
use super::fingerprint::fingerprint_of;
use crate::sdp::Fingerprint;
use crate::DtlsRole;

/// The largest datagram DTLS sends, in bytes: 1200 leaves room for IPv6, UDP and a TURN channel
/// header on a 1280-byte path (the IPv6 minimum), as browsers assume.
const MTU: usize = 1200;
/// Retransmissions of one flight at most; with the default 250 ms start they span ~16 s, just
/// past the handshake deadline (the failed timeout), which ends a hopeless handshake first.
const FLIGHT_RETRIES: usize = 6;
/// The largest output `dimpl` may ask a buffer for (a handshake datagram is at most [`MTU`], an
/// application-data record [`super::MAX_APPLICATION_DATA`] plus its overhead).
const MAX_OUTPUT_BYTES: usize = 4096;

/// Where the DTLS session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Handshaking,
    Connected,
    Closed,
    Failed,
}

/// What the DTLS session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DtlsEvent {
    /// Handshake done, the peer's certificate matched.
    Connected,
    /// Decrypted application data (authenticated).
    ApplicationData(Vec<u8>),
    /// The peer sent close_notify.
    Closed,
    /// The session failed.
    Failed(FailureReason),
}

/// One DTLS session.
pub(super) struct DtlsSession {
    dtls: Dtls,
    remote_fingerprints: Vec<Fingerprint>,
    stage: Stage,
    certificate_matched: bool,
    outgoing: VecDeque<Vec<u8>>,
    events: VecDeque<DtlsEvent>,
    timeout: Option<Instant>,
    /// The handshake fails at this instant if not done: `dimpl`'s own deadline starts only at a
    /// server's first ClientHello, and a server whose client never gets through must fail too.
    handshake_deadline: Instant,
    buffer: Vec<u8>,
}

/// `dimpl`'s configuration for `settings` (see `dtls_config.rs` for why it is shared).
fn build_config(settings: DtlsSettings, seed_for_tests: Option<u64>) -> Result<Config, SecurePathError> {
    let mut builder = Config::builder();
    if let Some(seed) = seed_for_tests {
        builder = builder.dangerously_set_rng_seed(seed);
    }
    builder
        .mtu(MTU)
        .flight_start_rto(settings.flight_start_rto)
        .flight_retries(FLIGHT_RETRIES)
        // No HelloVerifyRequest: the cookie round trip proves the client owns its address,
        // which ICE's authenticated checks already proved (DTLS only hears from addresses
        // ICE knows). It saves a round trip and a flight that loss can hit; browsers'
        // DTLS answers ClientHello directly too.
        .use_server_cookie(false)
        .handshake_timeout(settings.handshake_timeout)
        .build()
        .map_err(|error| SecurePathError::InvalidConfig(error.to_string()))
}

impl DtlsSession {
    /// Starts a session in `role` at `now` (a client's ClientHello is ready at once).
    pub(super) fn start(
        role: DtlsRole,
        certificate: DtlsCertificate,
        remote_fingerprints: Vec<Fingerprint>,
        timeouts: &Timeouts,
        seed_for_tests: Option<u64>,
        now: Instant,
    ) -> Result<Self, SecurePathError> {
        let settings = DtlsSettings {
            flight_start_rto: timeouts.dtls_initial_rto.max(Duration::from_millis(1)),
            handshake_timeout: timeouts.failed.max(Duration::from_millis(1)),
        };
        let config = shared_config(settings, seed_for_tests, build_config)?;
        let mut dtls = Dtls::new_12(config, certificate, now);
        if role == DtlsRole::Client {
            dtls.set_active(true);
        }
        let mut session = Self {
            dtls,
            remote_fingerprints,
            stage: Stage::Handshaking,
            certificate_matched: false,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
            timeout: None,
            handshake_deadline: now + timeouts.failed,
            buffer: vec![0; 2048],
        };
        session.drain();
        Ok(session)
    }

    /// Handles a DTLS datagram from the peer.
    pub(super) fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        if !self.is_live() {
            return;
        }
        // `dimpl` reads the time only from `handle_timeout`: bring it to `now` first.
        let result = self.dtls.handle_timeout(now).and_then(|()| self.dtls.handle_packet(datagram));
        self.after(result);
    }

    /// Runs the retransmission timers if due.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.stage == Stage::Handshaking && now >= self.handshake_deadline {
            self.fail(FailureReason::HandshakeTimeout);
            return;
        }
        if !self.is_live() || self.timeout.is_none_or(|due| due > now) {
            return;
        }
        let result = self.dtls.handle_timeout(now);
        self.after(result);
    }

    /// Sends `data` as one application-data record.
    pub(super) fn send(&mut self, now: Instant, data: &[u8]) -> Result<(), SecurePathError> {
        if self.stage != Stage::Connected {
            return Err(SecurePathError::NotConnected);
        }
        let result = self.dtls.handle_timeout(now).and_then(|()| self.dtls.send_application_data(data).map(|_| ()));
        self.after(result);
        if self.stage == Stage::Connected {
            Ok(())
        } else {
            Err(SecurePathError::NotConnected)
        }
    }

    /// Sends close_notify (connected) or stops the handshake.
    pub(super) fn close(&mut self, now: Instant) {
        if !self.is_live() {
            return;
        }
        let result = self.dtls.handle_timeout(now).and_then(|()| self.dtls.close());
        self.after(result);
        self.stage = Stage::Closed;
        self.timeout = None;
    }

    /// When [`DtlsSession::handle_timeout`] must run next.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        let deadline = (self.stage == Stage::Handshaking).then_some(self.handshake_deadline);
        [self.timeout, deadline].into_iter().flatten().min()
    }

    /// Whether application data may be sent.
    pub(super) fn is_connected(&self) -> bool {
        self.stage == Stage::Connected
    }

    /// The next datagram to send to the peer.
    pub(super) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outgoing.pop_front()
    }

    /// The next event.
    pub(super) fn poll_event(&mut self) -> Option<DtlsEvent> {
        self.events.pop_front()
    }

    fn is_live(&self) -> bool {
        matches!(self.stage, Stage::Handshaking | Stage::Connected)
    }

    /// Reports an engine error (every one is final), then takes what the engine has for us.
    fn after(&mut self, result: Result<(), dimpl::Error>) {
        if let Err(error) = result {
            self.fail(reason_for(&error));
        }
        self.drain();
    }

    fn fail(&mut self, reason: FailureReason) {
        if self.is_live() {
            log::debug!("DTLS failed: {reason:?}");
            self.stage = Stage::Failed;
            self.timeout = None;
            self.events.push_back(DtlsEvent::Failed(reason));
        }
    }

    /// Takes the engine's output until it names its next timeout. Datagrams of a poll in which
    /// the peer's certificate was refused are dropped, and a fatal alert goes instead.
    fn drain(&mut self) {
        let mut packets = Vec::new();
        loop {
            let (live, connected) = (self.is_live(), self.stage == Stage::Connected);
            match self.dtls.poll_output(&mut self.buffer) {
                Output::Packet(packet) => packets.push(packet.to_vec()),
                Output::BufferTooSmall { needed } if needed <= MAX_OUTPUT_BYTES => self.buffer.resize(needed, 0),
                Output::BufferTooSmall { needed } => {
                    self.fail(FailureReason::Dtls(format!("output of {needed} bytes")));
                    break;
                }
                Output::Timeout(at) => {
                    if self.is_live() {
                        self.timeout = Some(at);
                    }
                    break;
                }
                Output::PeerCert(der) => {
                    let fingerprint = fingerprint_of(der);
                    if self.remote_fingerprints.contains(&fingerprint) {
                        self.certificate_matched = true;
                    } else if self.is_live() {
                        log::debug!("the peer's certificate {fingerprint:?} matches no signaled fingerprint");
                        self.fail(FailureReason::FingerprintMismatch);
                        packets.clear();
                        self.outgoing.push_back(fatal_alert(BAD_CERTIFICATE));
                    }
                }
                Output::Connected => {
                    if self.stage != Stage::Handshaking {
                        continue;
                    }
                    if self.certificate_matched {
                        self.stage = Stage::Connected;
                        self.events.push_back(DtlsEvent::Connected);
                    } else {
                        self.fail(FailureReason::NoPeerCertificate);
                        packets.clear();
                        self.outgoing.push_back(fatal_alert(BAD_CERTIFICATE));
                    }
                }
                Output::ApplicationData(data) if connected => {
                    self.events.push_back(DtlsEvent::ApplicationData(data.to_vec()));
                }
                Output::CloseNotify if live => {
                    self.stage = Stage::Closed;
                    self.timeout = None;
                    self.events.push_back(DtlsEvent::Closed);
                }
                _ => {}
            }
        }
        if self.stage != Stage::Failed {
            self.outgoing.extend(packets);
        }
    }
}

/// The failure an engine error means.
fn reason_for(error: &dimpl::Error) -> FailureReason {
    match error {
        dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { description: BAD_CERTIFICATE }) => {
            FailureReason::CertificateRefusedByPeer
        }
        dimpl::Error::SecurityError(dimpl::SecurityError::FatalAlert { description }) => {
            FailureReason::PeerAlert(*description)
        }
        dimpl::Error::Timeout(_) => FailureReason::HandshakeTimeout,
        other => FailureReason::Dtls(other.to_string()),
    }
}
