//! Two secure paths wired through `netsim` on virtual time, for the `ice_dtls_*` tests: each side
//! has one fixed address (one host candidate), and every datagram of the network is from the
//! other side's address to ours.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use connection::ice_dtls::{
    DtlsRole, LocalCandidate, LocalCertificate, SecurePath, SecurePathConfig, SecurePathEvent, Timeouts,
};
use connection::sdp::{Candidate, CandidateKind, Fingerprint};
use netsim::{Endpoint, LinkConfig, Network, Pair, Side};

/// One side: its path, addresses and what it reported.
pub struct Peer {
    pub path: SecurePath,
    pub address: SocketAddr,
    pub remote: SocketAddr,
    /// Our candidate as signaled.
    pub candidate: Candidate,
    start: Instant,
    /// Events with the virtual time since the start.
    pub events: Vec<(Duration, SecurePathEvent)>,
    /// `handle_timeout` calls.
    pub wakeups: usize,
    /// Datagrams sent.
    pub sent: usize,
    /// STUN datagrams sent (checks and answers).
    pub stun_sent: usize,
    /// Datagrams sent to addresses other than the peer's (dropped), when `strays_allowed`;
    /// otherwise one fails the test.
    pub strays: usize,
    pub strays_allowed: bool,
}

impl Peer {
    pub fn connected_at(&self) -> Option<Duration> {
        self.events.iter().find(|(_, event)| *event == SecurePathEvent::Connected).map(|(at, _)| *at)
    }

    pub fn failure(&self) -> Option<&SecurePathEvent> {
        self.events.iter().map(|(_, event)| event).find(|event| matches!(event, SecurePathEvent::Failed(_)))
    }

    pub fn received(&self) -> Vec<Vec<u8>> {
        self.events
            .iter()
            .filter_map(|(_, event)| match event {
                SecurePathEvent::ApplicationData(data) => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    fn take_events(&mut self, now: Instant) {
        while let Some(event) = self.path.poll_event() {
            self.events.push((now - self.start, event));
        }
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let (local, remote) = (self.address, self.remote);
        self.path.handle_datagram(now, local, remote, datagram);
        self.take_events(now);
    }

    fn timeout(&mut self, now: Instant) {
        self.wakeups += 1;
        self.path.handle_timeout(now);
        self.take_events(now);
    }

    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.take_events(now);
        let mut transmit = self.path.poll_transmit(now)?;
        while self.strays_allowed && (transmit.local, transmit.to) != (self.address, self.remote) {
            self.strays += 1;
            transmit = self.path.poll_transmit(now)?;
        }
        assert_eq!((transmit.local, transmit.to), (self.address, self.remote), "sent on a path the test lacks");
        self.sent += 1;
        if transmit.data.first().is_some_and(|byte| *byte < 4) {
            self.stun_sent += 1;
        }
        Some(transmit.data)
    }

    fn deadline(&self) -> Option<Instant> {
        self.path.poll_timeout()
    }
}

/// Options of a test pair.
#[derive(Clone)]
pub struct Setup {
    pub seed: u64,
    pub link: LinkConfig,
    pub a_controlling: bool,
    pub b_controlling: bool,
    /// B signals a fingerprint that is not its certificate's.
    pub b_signals_wrong_fingerprint: bool,
    /// A is not given B's credentials: the test sets them (as an offerer gets the answer late).
    pub a_credentials_late: bool,
    pub timeouts: Timeouts,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            seed: 1,
            link: LinkConfig::default().with_latency(Duration::from_millis(20)),
            a_controlling: true,
            b_controlling: false,
            b_signals_wrong_fingerprint: false,
            a_credentials_late: false,
            timeouts: Timeouts::default(),
        }
    }
}

impl Setup {
    /// The default setup at `loss` each way, with `seed`.
    pub fn lossy(seed: u64, loss: f64) -> Self {
        let default = Self::default();
        Self { seed, link: default.link.with_loss(loss), ..default }
    }
}

/// Two paths and the network between them.
pub struct TestPair {
    pub start: Instant,
    pub sim: Pair<Peer, Peer>,
    link: LinkConfig,
}

fn config(
    controlling: bool,
    role: DtlsRole,
    ufrag: &str,
    certificate: LocalCertificate,
    remote: Fingerprint,
    setup: &Setup,
) -> SecurePathConfig {
    SecurePathConfig {
        ice_controlling: controlling,
        local_ufrag: ufrag.to_owned(),
        local_pwd: format!("{ufrag}-password-0123456789"),
        dtls_role: role,
        certificate,
        remote_fingerprints: vec![remote],
        timeouts: setup.timeouts,
        jitter_seed: setup.seed ^ u64::from(controlling),
        dtls_seed_for_tests: Some(setup.seed.wrapping_mul(31) ^ u64::from(controlling)),
    }
}

impl TestPair {
    /// A offers (ICE controlling; DTLS server, as the answerer of a browser's `actpass` offer
    /// picks `active`), B answers (DTLS client). Each has one host candidate.
    pub fn new(setup: Setup) -> Self {
        let start = Instant::now();
        let certificate_a = LocalCertificate::generate().expect("certificate");
        let certificate_b = LocalCertificate::generate().expect("certificate");
        let signaled_b = if setup.b_signals_wrong_fingerprint {
            LocalCertificate::generate().expect("certificate").fingerprint()
        } else {
            certificate_b.fingerprint()
        };
        let a_address: SocketAddr = ([10, 0, 0, 1], 40_001).into();
        let b_address: SocketAddr = ([10, 0, 0, 2], 40_002).into();
        let config_a = config(setup.a_controlling, DtlsRole::Server, "aaaa", certificate_a.clone(), signaled_b, &setup);
        let config_b =
            config(setup.b_controlling, DtlsRole::Client, "bbbb", certificate_b, certificate_a.fingerprint(), &setup);
        let mut a = SecurePath::new(config_a, start).expect("path a");
        let mut b = SecurePath::new(config_b, start).expect("path b");
        let host = |address| LocalCandidate { kind: CandidateKind::Host, address, base: address };
        let line_a = a.add_local_candidate(start, host(a_address)).expect("candidate a");
        let line_b = b.add_local_candidate(start, host(b_address)).expect("candidate b");
        a.add_remote_candidate(start, &line_b).expect("remote candidate of a");
        b.add_remote_candidate(start, &line_a).expect("remote candidate of b");
        let (line_a, line_b) = (line_a.clone(), line_b.clone());
        if !setup.a_credentials_late {
            a.set_remote_credentials(start, "bbbb", "bbbb-password-0123456789").expect("credentials");
        }
        b.set_remote_credentials(start, "aaaa", "aaaa-password-0123456789").expect("credentials");
        let peer = |path, address, remote, candidate| Peer {
            path,
            address,
            remote,
            candidate,
            start,
            events: Vec::new(),
            wakeups: 0,
            sent: 0,
            stun_sent: 0,
            strays: 0,
            strays_allowed: false,
        };
        let net = Network::new(setup.seed, setup.link, setup.link);
        Self {
            start,
            sim: Pair::new(peer(a, a_address, b_address, line_a), peer(b, b_address, a_address, line_b), net, start),
            link: setup.link,
        }
    }

    pub fn now(&self) -> Instant {
        self.sim.now
    }

    pub fn elapsed(&self) -> Duration {
        self.sim.now - self.start
    }

    /// Runs until `until` holds or the virtual time `limit` (since the start) is reached.
    pub fn run_until(&mut self, limit: Duration, until: impl FnMut(&mut Peer, &mut Peer) -> bool) -> bool {
        let remaining = (self.start + limit).saturating_duration_since(self.sim.now);
        self.sim.run_until(remaining, until)
    }

    /// Runs until both sides are connected (or one failed, or `limit`); returns when both were.
    pub fn connect(&mut self, limit: Duration) -> Option<Duration> {
        self.run_until(limit, |a, b| {
            (a.connected_at().is_some() && b.connected_at().is_some()) || a.failure().is_some() || b.failure().is_some()
        });
        Some(self.sim.a.connected_at()?.max(self.sim.b.connected_at()?))
    }

    /// Both directions carry nothing from now on.
    pub fn start_outage(&mut self) {
        self.sim.net.set_link(Side::A, LinkConfig::outage());
        self.sim.net.set_link(Side::B, LinkConfig::outage());
    }

    /// Both directions carry as before the outage.
    pub fn end_outage(&mut self) {
        self.sim.net.set_link(Side::A, self.link);
        self.sim.net.set_link(Side::B, self.link);
    }
}
