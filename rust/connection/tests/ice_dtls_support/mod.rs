//! Two secure paths wired through a simulated link on virtual time, for the `ice_dtls_*` tests.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use connection::ice_dtls::{
    CandidateKind, DtlsRole, Fingerprint, LocalCandidate, LocalCertificate, SecurePath, SecurePathConfig,
    SecurePathEvent, Timeouts,
};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    A,
    B,
}

/// One side: its path, address and what it reported.
pub struct Peer {
    pub path: SecurePath,
    pub address: SocketAddr,
    pub events: Vec<(Duration, SecurePathEvent)>,
    /// `handle_timeout` calls.
    pub wakeups: usize,
    /// Datagrams sent.
    pub sent: usize,
    /// STUN datagrams sent (checks and answers).
    pub stun_sent: usize,
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
}

/// A link in each direction: fixed latency, seeded independent loss, and an outage window.
pub struct Link {
    pub latency: Duration,
    pub loss: f64,
    /// Datagrams sent in this window (from the start) are dropped.
    pub outage: Option<(Duration, Duration)>,
    rng: SmallRng,
    in_flight: BinaryHeap<Reverse<(Instant, u64, bool, Vec<u8>)>>,
    sequence: u64,
}

impl Link {
    pub fn new(seed: u64, latency: Duration, loss: f64) -> Self {
        Self {
            latency,
            loss,
            outage: None,
            rng: SmallRng::seed_from_u64(seed),
            in_flight: BinaryHeap::new(),
            sequence: 0,
        }
    }
}

/// Options of a test pair.
#[derive(Clone)]
pub struct Setup {
    pub seed: u64,
    pub latency: Duration,
    pub loss: f64,
    pub a_controlling: bool,
    pub b_controlling: bool,
    /// B signals a fingerprint that is not its certificate's.
    pub b_signals_wrong_fingerprint: bool,
    pub timeouts: Timeouts,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            seed: 1,
            latency: Duration::from_millis(20),
            loss: 0.0,
            a_controlling: true,
            b_controlling: false,
            b_signals_wrong_fingerprint: false,
            timeouts: Timeouts::default(),
        }
    }
}

/// Two paths and the link between them, on virtual time.
pub struct TestPair {
    pub start: Instant,
    pub now: Instant,
    pub a: Peer,
    pub b: Peer,
    pub link: Link,
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
    /// A offers (ICE controlling, DTLS server: it answered `actpass` with... as browsers, the
    /// answerer is active), B answers (DTLS client). Both have one host candidate.
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
        a.set_remote_credentials(start, "bbbb", "bbbb-password-0123456789").expect("credentials");
        b.set_remote_credentials(start, "aaaa", "aaaa-password-0123456789").expect("credentials");
        let peer = |path, address| Peer { path, address, events: Vec::new(), wakeups: 0, sent: 0, stun_sent: 0 };
        Self {
            start,
            now: start,
            a: peer(a, a_address),
            b: peer(b, b_address),
            link: Link::new(setup.seed, setup.latency, setup.loss),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn flush(&mut self) {
        let now = self.now;
        let elapsed = self.elapsed();
        for side in [Side::A, Side::B] {
            let (peer, other) = match side {
                Side::A => (&mut self.a, self.b.address),
                Side::B => (&mut self.b, self.a.address),
            };
            while let Some(transmit) = peer.path.poll_transmit(now) {
                peer.sent += 1;
                if transmit.data.first().is_some_and(|byte| *byte < 4) {
                    peer.stun_sent += 1;
                }
                assert_eq!(transmit.to, other, "sent to an address the peer does not have");
                let lost = self.link.rng.random_range(0.0..1.0) < self.link.loss
                    || self.link.outage.is_some_and(|(from, to)| elapsed >= from && elapsed < to);
                if !lost {
                    self.link.sequence += 1;
                    let to_b = side == Side::A;
                    self.link.in_flight.push(Reverse((
                        now + self.link.latency,
                        self.link.sequence,
                        to_b,
                        transmit.data,
                    )));
                }
            }
            while let Some(event) = peer.path.poll_event() {
                peer.events.push((elapsed, event));
            }
        }
    }

    /// Runs until `until` returns true or `limit` of virtual time has passed since the start;
    /// returns whether `until` held.
    pub fn run_until(&mut self, limit: Duration, mut until: impl FnMut(&TestPair) -> bool) -> bool {
        let end = self.start + limit;
        loop {
            self.flush();
            if until(self) {
                return true;
            }
            let next_delivery = self.link.in_flight.peek().map(|Reverse((at, ..))| *at);
            let next =
                [next_delivery, self.a.path.poll_timeout(), self.b.path.poll_timeout()].into_iter().flatten().min();
            let Some(next) = next else { return false };
            if next > end {
                self.now = end;
                return false;
            }
            self.now = self.now.max(next);
            let now = self.now;
            while let Some(Reverse((at, _, _, _))) = self.link.in_flight.peek() {
                if *at > now {
                    break;
                }
                let Some(Reverse((_, _, to_b, data))) = self.link.in_flight.pop() else { break };
                let (to, from) = if to_b { (&mut self.b, self.a.address) } else { (&mut self.a, self.b.address) };
                let local = to.address;
                to.path.handle_datagram(now, local, from, &data);
            }
            for peer in [&mut self.a, &mut self.b] {
                if peer.path.poll_timeout().is_some_and(|due| due <= now) {
                    peer.wakeups += 1;
                    peer.path.handle_timeout(now);
                }
            }
        }
    }

    /// Runs until both sides are connected (or failed, or `limit`); returns the time both were.
    pub fn connect(&mut self, limit: Duration) -> Option<Duration> {
        self.run_until(limit, |pair| {
            (pair.a.connected_at().is_some() && pair.b.connected_at().is_some())
                || pair.a.failure().is_some()
                || pair.b.failure().is_some()
        });
        Some(self.a.connected_at()?.max(self.b.connected_at()?))
    }
}
