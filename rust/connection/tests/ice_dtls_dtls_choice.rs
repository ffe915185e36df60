//! The measurement behind the DTLS choice (`src/ice_dtls/dtls.rs`): DTLS 1.2 handshakes alone
//! over netsim (20 ms one way, 20 seeds per loss rate), `rtc-dtls` 0.21.1 (what `rtc` runs
//! today) against `dimpl` 0.9 with its defaults and as `ice_dtls` configures it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netsim::{Endpoint, LinkConfig, Network, Pair};

/// One DTLS endpoint, either crate.
trait Handshake {
    fn read(&mut self, now: Instant, datagram: &[u8]);
    fn time_out(&mut self, now: Instant);
    fn next_datagram(&mut self) -> Option<Vec<u8>>;
    fn next_timeout(&self) -> Option<Instant>;
    fn done(&self) -> bool;
    fn failed(&self) -> bool;
}

struct Side(Box<dyn Handshake>);

impl Endpoint for Side {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        self.0.read(now, datagram);
    }
    fn timeout(&mut self, now: Instant) {
        self.0.time_out(now);
    }
    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.0.next_datagram()
    }
    fn deadline(&self) -> Option<Instant> {
        self.0.next_timeout()
    }
}

struct Dimpl {
    dtls: dimpl::Dtls,
    out: std::collections::VecDeque<Vec<u8>>,
    at: Option<Instant>,
    done: bool,
    failed: bool,
    buffer: Vec<u8>,
}

impl Dimpl {
    fn new(client: bool, rto: Duration, cookie: bool, now: Instant, seed: u64) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let params = rcgen::CertificateParams::new(vec!["x".to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        let certificate = dimpl::DtlsCertificate { certificate: cert.der().to_vec(), private_key: key.serialize_der() };
        let config = dimpl::Config::builder()
            .mtu(1200)
            .flight_start_rto(rto)
            .flight_retries(6)
            .handshake_timeout(Duration::from_secs(15))
            .use_server_cookie(cookie)
            .dangerously_set_rng_seed(seed)
            .build()
            .expect("config");
        let mut dtls = dimpl::Dtls::new_12(Arc::new(config), certificate, now);
        if client {
            dtls.set_active(true);
        }
        let mut this =
            Self { dtls, out: Default::default(), at: None, done: false, failed: false, buffer: vec![0; 4096] };
        this.drain();
        this
    }

    fn drain(&mut self) {
        loop {
            match self.dtls.poll_output(&mut self.buffer) {
                dimpl::Output::Packet(packet) => self.out.push_back(packet.to_vec()),
                dimpl::Output::Timeout(at) => {
                    self.at = Some(at);
                    break;
                }
                dimpl::Output::Connected => self.done = true,
                _ => {}
            }
        }
    }
}

impl Handshake for Dimpl {
    fn read(&mut self, now: Instant, datagram: &[u8]) {
        if !self.failed {
            self.failed = self.dtls.handle_timeout(now).and_then(|()| self.dtls.handle_packet(datagram)).is_err();
            self.drain();
        }
    }
    fn time_out(&mut self, now: Instant) {
        if !self.failed {
            self.failed = self.dtls.handle_timeout(now).is_err();
            self.drain();
        }
    }
    fn next_datagram(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.at.filter(|_| !self.failed && !self.done)
    }
    fn done(&self) -> bool {
        self.done
    }
    fn failed(&self) -> bool {
        self.failed
    }
}

struct RtcDtls {
    endpoint: rtc_dtls::endpoint::Endpoint,
    remote: SocketAddr,
    done: bool,
    failed: bool,
}

impl RtcDtls {
    fn new(client: bool, now: Instant) -> Self {
        use rtc_dtls::cipher_suite::CipherSuiteId;
        let provider = rtc_crypto::default_provider().expect("provider");
        let certificate =
            rtc_dtls::crypto::Certificate::generate_self_signed(vec!["x".to_owned()], provider.crypto()).expect("cert");
        let config = rtc_dtls::config::ConfigBuilder::default()
            .with_crypto_provider(provider.clone())
            .with_certificates(vec![certificate])
            .with_cipher_suites(vec![
                CipherSuiteId::Tls_Ecdhe_Ecdsa_With_Aes_128_Gcm_Sha256,
                CipherSuiteId::Tls_Ecdhe_Ecdsa_With_ChaCha20_Poly1305_Sha256,
            ])
            .with_client_auth(rtc_dtls::config::ClientAuthType::RequireAnyClientCert)
            .with_insecure_skip_verify(true);
        let server: SocketAddr = ([10, 0, 0, 1], 1).into();
        let client_address: SocketAddr = ([10, 0, 0, 2], 2).into();
        let (local, remote) = if client { (client_address, server) } else { (server, client_address) };
        let server_config = (!client).then(|| Arc::new(config.clone().build(false, None).expect("server config")));
        let mut endpoint = rtc_dtls::endpoint::Endpoint::new(local, rtc_shared::TransportProtocol::UDP, server_config);
        if client {
            let client_config = Arc::new(config.build(true, Some(remote)).expect("client config"));
            endpoint.connect(now, remote, client_config, None).expect("connect");
        }
        Self { endpoint, remote, done: false, failed: false }
    }
}

impl Handshake for RtcDtls {
    fn read(&mut self, now: Instant, datagram: &[u8]) {
        if let Ok(events) = self.endpoint.read(now, self.remote, None, bytes::BytesMut::from(datagram)) {
            self.done |=
                events.iter().any(|event| matches!(event, rtc_dtls::endpoint::EndpointEvent::HandshakeComplete));
        }
    }
    fn time_out(&mut self, now: Instant) {
        self.failed |= self.endpoint.handle_timeout(self.remote, now).is_err();
    }
    fn next_datagram(&mut self) -> Option<Vec<u8>> {
        self.endpoint.poll_transmit().map(|transmit| transmit.message.to_vec())
    }
    fn next_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout(&self.remote).filter(|_| !self.failed && !self.done)
    }
    fn done(&self) -> bool {
        self.done
    }
    fn failed(&self) -> bool {
        self.failed
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    RtcDtls,
    DimplDefaults,
    DimplAsConfigured,
}

/// Sorted handshake times over 20 seeds (`None`: not within 30 s).
fn handshakes(kind: Kind, loss: f64) -> Vec<Option<Duration>> {
    let mut times: Vec<Option<Duration>> = (0..20u64)
        .map(|seed| {
            let start = Instant::now();
            let make = |client: bool| -> Box<dyn Handshake> {
                let seed = seed * 2 + u64::from(client);
                match kind {
                    Kind::RtcDtls => Box::new(RtcDtls::new(client, start)),
                    Kind::DimplDefaults => Box::new(Dimpl::new(client, Duration::from_secs(1), true, start, seed)),
                    Kind::DimplAsConfigured => {
                        Box::new(Dimpl::new(client, Duration::from_millis(250), false, start, seed))
                    }
                }
            };
            let link = LinkConfig::default().with_latency(Duration::from_millis(20)).with_loss(loss);
            let mut pair = Pair::new(Side(make(false)), Side(make(true)), Network::new(seed, link, link), start);
            pair.run_until(Duration::from_secs(30), |a, b| (a.0.done() && b.0.done()) || a.0.failed() || b.0.failed());
            (pair.a.0.done() && pair.b.0.done()).then(|| pair.now - start)
        })
        .collect();
    times.sort_by_key(|time| time.unwrap_or(Duration::MAX));
    times
}

/// Median and how many under 2 s; prints the line.
fn report(kind: Kind, loss: f64) -> (Duration, usize) {
    let times = handshakes(kind, loss);
    let all: Vec<String> =
        times.iter().map(|time| time.map_or("never".to_owned(), |time| time.as_millis().to_string())).collect();
    let median = times[10].unwrap_or(Duration::MAX);
    let under_2s = times.iter().filter(|time| time.is_some_and(|time| time < Duration::from_secs(2))).count();
    println!(
        "{:>3.0}% {kind:?}: median {median:?}, {under_2s}/20 under 2 s; all (ms): {}",
        loss * 100.0,
        all.join(" ")
    );
    (median, under_2s)
}

#[test]
fn dimpl_as_configured_beats_rtc_dtls_under_loss() {
    for loss in [0.0, 0.1, 0.3] {
        let (rtc_median, rtc_under) = report(Kind::RtcDtls, loss);
        report(Kind::DimplDefaults, loss);
        let (ours_median, ours_under) = report(Kind::DimplAsConfigured, loss);
        assert!(ours_median <= rtc_median, "median {ours_median:?} against {rtc_median:?}");
        assert!(ours_under >= rtc_under, "{ours_under} against {rtc_under} under 2 s");
    }
}
