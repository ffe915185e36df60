//! DTLS handshakes that fail say so, on both sides and within 10 s; what the handshake carries
//! (certificates of their own per connection, AEAD cipher suites only); fingerprints as the
//! remote description may write them.

mod common;

use std::time::{Duration, Instant};

use common::loopback_config;
use common::relay::RelayedPair;
use transport::{
    ChannelOptions, ChannelState, ConnectionState, DataChannel, PeerConnection, PeerEvent, SdpKind, TransportError,
};

/// How long a test waits for anything (generous: the machine may be loaded).
const DEADLINE: Duration = Duration::from_secs(30);
/// How long a failure may take to show, as the README promises it, plus slack for a loaded
/// machine; the figure itself is printed.
const FAILURE_BOUND: Duration = Duration::from_secs(15);

/// Two connections wired as Godot's webrtc_minimal demo wires them, with a rewrite of the
/// descriptions on their way (what someone on the signaling path can do).
struct Pair {
    sides: [PeerConnection; 2],
    channels: [DataChannel; 2],
    errors: [Vec<TransportError>; 2],
    rewrite: fn(SdpKind, String) -> String,
}

impl Pair {
    /// Starts connecting: side 0 offers.
    fn new(rewrite: fn(SdpKind, String) -> String) -> Self {
        let mut sides = [0, 1].map(|_| PeerConnection::new(loopback_config()).expect("connection"));
        let options = || ChannelOptions { negotiated_id: Some(1), ..Default::default() };
        let channels = [0, 1].map(|side| sides[side].create_data_channel("data", options()).unwrap());
        sides[0].create_offer().unwrap();
        Self { sides, channels, errors: Default::default(), rewrite }
    }

    fn pump(&mut self) {
        for (from, to) in [(0, 1), (1, 0)] {
            for event in self.sides[from].poll() {
                match event {
                    PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                        if kind == SdpKind::Offer {
                            self.sides[from].set_local_description(kind, sdp.clone()).expect("local offer");
                        }
                        let sdp = (self.rewrite)(kind, sdp);
                        self.sides[to].set_remote_description(kind, sdp).expect("remote description");
                    }
                    PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                        self.sides[to].add_ice_candidate(&mid, index, &candidate).expect("candidate");
                    }
                    PeerEvent::Error(error) => self.errors[from].push(error),
                    _ => {}
                }
            }
        }
    }

    fn pump_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) -> Duration {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}: errors {:?}", self.errors);
            self.pump();
            std::thread::sleep(Duration::from_millis(2));
        }
        start.elapsed()
    }

    fn states(&self) -> [ConnectionState; 2] {
        [0, 1].map(|side| self.sides[side].connection_state())
    }
}

/// The description with the last digit of its fingerprint changed.
fn swap_fingerprint(sdp: String) -> String {
    sdp.lines()
        .map(|line| match line.strip_prefix("a=fingerprint:sha-256 ") {
            Some(value) => {
                let last = if value.ends_with('0') { '1' } else { '0' };
                format!("a=fingerprint:sha-256 {}{last}", &value[..value.len() - 1])
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

fn swap_in_offer(kind: SdpKind, sdp: String) -> String {
    if kind == SdpKind::Offer {
        swap_fingerprint(sdp)
    } else {
        sdp
    }
}

fn swap_in_answer(kind: SdpKind, sdp: String) -> String {
    if kind == SdpKind::Answer {
        swap_fingerprint(sdp)
    } else {
        sdp
    }
}

/// Runs a pair whose side `checker` gets a changed fingerprint until both sides fail; checks the
/// errors: the checking side names the fingerprint, the other the refusal.
fn both_fail_naming_the_cause(rewrite: fn(SdpKind, String) -> String, checker: usize) {
    let mut pair = Pair::new(rewrite);
    let took = pair.pump_until("both sides to fail", |pair| pair.states() == [ConnectionState::Failed; 2]);
    // Errors arrive with the state: one more poll takes any that came after.
    pair.pump();
    eprintln!("both sides failed after {took:?}: {:?}", pair.errors);
    assert!(took < FAILURE_BOUND, "took {took:?}");
    assert_eq!(pair.errors[checker], vec![TransportError::CertificateMismatch]);
    assert_eq!(pair.errors[1 - checker], vec![TransportError::HandshakeRefused { alert: "bad_certificate".into() }]);
    let text = pair.errors[checker][0].to_string();
    assert!(text.contains("the remote certificate does not match the fingerprint in its description"), "{text}");
    let text = pair.errors[1 - checker][0].to_string();
    assert!(text.contains("the remote side refused the DTLS handshake (alert: bad_certificate)"), "{text}");
    assert!(pair.channels.iter().all(|channel| channel.ready_state() != ChannelState::Open));
}

#[test]
fn a_fingerprint_changed_in_the_offer_fails_both_sides_and_the_answerer_names_it() {
    both_fail_naming_the_cause(swap_in_offer, 1);
}

#[test]
fn a_fingerprint_changed_in_the_answer_fails_both_sides_and_the_offerer_names_it() {
    both_fail_naming_the_cause(swap_in_answer, 0);
}

#[test]
fn fingerprint_hash_names_in_any_case_connect() {
    fn shout(kind: SdpKind, sdp: String) -> String {
        let name = if kind == SdpKind::Offer { "SHA-256" } else { "Sha-256" };
        sdp.replace("a=fingerprint:sha-256", &format!("a=fingerprint:{name}"))
    }
    let mut pair = Pair::new(shout);
    pair.pump_until("both channels open", |pair| {
        pair.channels.iter().all(|channel| channel.ready_state() == ChannelState::Open)
    });
    assert!(pair.errors.iter().all(Vec::is_empty), "{:?}", pair.errors);
}

#[test]
fn a_fingerprint_the_stack_cannot_check_is_refused_naming_its_hash() {
    let mut offerer = PeerConnection::new(loopback_config()).unwrap();
    let answerer = PeerConnection::new(loopback_config()).unwrap();
    offerer.create_data_channel("data", ChannelOptions::default()).unwrap();
    offerer.create_offer().unwrap();
    let offer = loop {
        if let Some(sdp) = offerer.poll().into_iter().find_map(|event| match event {
            PeerEvent::SessionDescriptionCreated { sdp, .. } => Some(sdp),
            _ => None,
        }) {
            break sdp;
        }
    };
    let sha1 = offer
        .lines()
        .map(|line| if line.starts_with("a=fingerprint:") { "a=fingerprint:SHA-1 01:02:03:04" } else { line })
        .collect::<Vec<_>>()
        .join("\r\n");
    let error = answerer.set_remote_description(SdpKind::Offer, sha1).unwrap_err();
    assert_eq!(error, TransportError::UnsupportedFingerprint("sha-1".into()));
    eprintln!("{error}");
}

/// The fingerprint line of a description.
fn fingerprint_of(sdp: &str) -> String {
    sdp.lines().find(|line| line.starts_with("a=fingerprint:")).expect("a fingerprint").to_owned()
}

#[test]
fn each_connection_presents_a_certificate_of_its_own() {
    let offer = |connection: &mut PeerConnection| {
        connection.create_data_channel("data", ChannelOptions::default()).unwrap();
        connection.create_offer().unwrap();
        loop {
            let created = connection.poll().into_iter().find_map(|event| match event {
                PeerEvent::SessionDescriptionCreated { sdp, .. } => Some(sdp),
                _ => None,
            });
            if let Some(sdp) = created {
                return sdp;
            }
        }
    };
    let mut fingerprints: Vec<String> =
        (0..3).map(|_| fingerprint_of(&offer(&mut PeerConnection::new(loopback_config()).unwrap()))).collect();
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), 3, "{fingerprints:?}");
}

/// The epoch-0 handshake messages in a run of DTLS records: (type, body).
fn handshake_messages(mut records: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut messages = Vec::new();
    while records.len() >= 13 {
        let length = usize::from(u16::from_be_bytes([records[11], records[12]]));
        let Some(body) = records.get(13..13 + length) else { break };
        if records[0] == 22 && records[3..5] == [0, 0] && body.len() >= 12 {
            messages.push((body[0], body[12..].to_vec()));
        }
        records = &records[13 + length..];
    }
    messages
}

/// The cipher suites a ClientHello offers (RFC 6347 4.2.1: version, random, session id, cookie,
/// suites).
fn offered_suites(hello: &[u8]) -> Vec<u16> {
    let session = 34;
    let cookie = session + 1 + usize::from(hello[session]);
    let suites = cookie + 1 + usize::from(hello[cookie]);
    let length = usize::from(u16::from_be_bytes([hello[suites], hello[suites + 1]]));
    hello[suites + 2..suites + 2 + length].chunks(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect()
}

/// TLS_ECDHE_{ECDSA,RSA}_WITH_AES_{128_GCM_SHA256,256_GCM_SHA384} and
/// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.
const AEAD_SUITES: [u16; 5] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9];

#[test]
fn the_handshake_offers_only_aead_suites_and_shows_random_certificate_names() {
    let pair = RelayedPair::connected(7);
    // The answerer (side 1) is the DTLS client: it answers `a=setup:active` (JSEP).
    let [server, client] = [0, 1].map(|side| handshake_messages(&pair.relay.handshake(side)));
    let hello = client.iter().find(|(kind, _)| *kind == 1).expect("a ClientHello");
    let suites = offered_suites(&hello.1);
    eprintln!("offered: {suites:04x?}");
    assert!(!suites.is_empty() && suites.iter().all(|suite| AEAD_SUITES.contains(suite)), "{suites:04x?}");
    let server_hello = server.iter().find(|(kind, _)| *kind == 2).expect("a ServerHello");
    let session = 34;
    let chosen = session + 1 + usize::from(server_hello.1[session]);
    let chosen = u16::from_be_bytes([server_hello.1[chosen], server_hello.1[chosen + 1]]);
    eprintln!("chosen: {chosen:04x}");
    assert!(AEAD_SUITES.contains(&chosen));

    let certificate =
        |messages: &[(u8, Vec<u8>)]| messages.iter().find(|(kind, _)| *kind == 11).expect("a Certificate").1.clone();
    let (ours, theirs) = (certificate(&client), certificate(&server));
    assert_ne!(ours, theirs, "two connections of one process, two certificates");
    for certificate in [&ours, &theirs] {
        assert!(!certificate.windows(11).any(|window| window == b"webrtc-mesh"), "named after the addon");
    }
}

/// Makes a ClientHello in `datagram` (one record, the first flight) offer only CBC suites:
/// TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA and TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA.
fn offer_only_cbc(datagram: &mut [u8]) {
    if datagram.len() < 13 + 12 || datagram[0] != 22 || datagram[13] != 1 {
        return;
    }
    let hello = &mut datagram[13 + 12..];
    let session = 34;
    let cookie = session + 1 + usize::from(hello[session]);
    let suites = cookie + 1 + usize::from(hello[cookie]);
    let length = usize::from(u16::from_be_bytes([hello[suites], hello[suites + 1]]));
    for (index, pair) in hello[suites + 2..suites + 2 + length].chunks_mut(2).enumerate() {
        pair.copy_from_slice(if index % 2 == 0 { &[0xc0, 0x0a] } else { &[0xc0, 0x14] });
    }
}

#[test]
fn a_client_that_offers_only_cbc_suites_is_refused() {
    // The answerer (DTLS client) seems to offer CBC suites only: the offerer has no suite in
    // common and refuses, both sides fail naming the alert.
    let mut pair = RelayedPair::connecting(5);
    pair.relay.set_rewrite(1, offer_only_cbc);
    let started = Instant::now();
    pair.pump_until("both sides to fail", |pair| pair.states() == [ConnectionState::Failed; 2]);
    let took = started.elapsed();
    pair.pump_until("the errors", |pair| pair.errors.iter().all(|errors| !errors.is_empty()));
    eprintln!("both failed after {took:?}: {:?}", pair.errors);
    assert!(took < FAILURE_BOUND, "took {took:?}");
    // No suite in common: no session is made. rtc-dtls answered with an `insufficient_security`
    // alert that both sides named; dimpl drops a ClientHello whose suites it cannot read, so
    // both sides fail at the handshake deadline instead, each with a handshake failure.
    for errors in &pair.errors {
        assert!(
            matches!(
                errors[..],
                [TransportError::HandshakeFailed
                    | TransportError::HandshakeRejected { .. }
                    | TransportError::HandshakeRefused { .. }]
            ),
            "{errors:?}"
        );
    }
    assert!(pair.channels.iter().all(|channel| channel.ready_state() != ChannelState::Open));
}

#[test]
fn a_path_that_drops_dtls_fails_both_sides_each_with_its_own_cause() {
    // The client's ClientHellos never arrive: it gives up on them (HandshakeFailed), and the
    // server, which never hears a DTLS record, stops waiting (HandshakeNeverStarted). The
    // answerer (side 1) is the client: it answers `a=setup:active` (JSEP).
    let mut pair = RelayedPair::connecting(21);
    pair.relay.set_drop_dtls(true);
    let started = Instant::now();
    pair.pump_until("both sides to fail", |pair| pair.states() == [ConnectionState::Failed; 2]);
    let took = started.elapsed();
    pair.pump_until("the errors", |pair| pair.errors.iter().all(|errors| !errors.is_empty()));
    eprintln!("both failed after {took:?}: {:?}", pair.errors);
    assert!(took < FAILURE_BOUND, "took {took:?}");
    assert_eq!(pair.errors[1], vec![TransportError::HandshakeFailed]);
    assert!(matches!(pair.errors[0][..], [TransportError::HandshakeNeverStarted { .. }]), "{:?}", pair.errors[0]);
}

#[test]
fn connecting_and_making_connections_costs_this_much() {
    // Figures for the README (printed, not asserted): making a connection (its certificate
    // included) and connecting a pair over 127.0.0.1 until its channels open.
    const PAIRS: u32 = 10;
    let started = Instant::now();
    let made: Vec<PeerConnection> = (0..20).map(|_| PeerConnection::new(loopback_config()).unwrap()).collect();
    let per_connection = started.elapsed() / 20;
    drop(made);
    let mut connect = Duration::ZERO;
    for _ in 0..PAIRS {
        let mut pair = Pair::new(|_, sdp| sdp);
        connect += pair.pump_until("both channels open", |pair| {
            pair.channels.iter().all(|channel| channel.ready_state() == ChannelState::Open)
        });
    }
    eprintln!(
        "PeerConnection::new: {per_connection:?} each; a pair connects in {:?} (mean of {PAIRS})",
        connect / PAIRS
    );
}
