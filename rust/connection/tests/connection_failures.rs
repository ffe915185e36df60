//! What goes wrong: signaling out of turn, hostile descriptions, candidates and datagrams, a
//! certificate that does not match, a peer that vanishes.

mod connection_support;

use std::time::{Duration, Instant};

use connection::channels::ChannelId;
use connection::connection::{
    Connection, ConnectionConfig, ConnectionError, ConnectionEvent, ConnectionFailure, ConnectionState,
    DescriptionKind, SignalingState,
};
use connection::ice_dtls::FailureReason;
use connection::sdp::limits::MAX_REMOTE_CANDIDATES;
use connection_support::{pair, reliable, run_until_open, Peer, Setup};
use netsim::{LinkConfig, Side};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn two(seed: u64) -> (Connection, Connection, Instant) {
    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let b = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    (a, b, now)
}

#[test]
fn signaling_out_of_turn_is_refused_and_changes_nothing() {
    let (mut a, mut b, now) = two(1);
    let a_offer = a.create_offer().unwrap();
    let b_offer = b.create_offer().unwrap();
    // Glare: both offered; each refuses the other's offer and keeps waiting for an answer.
    assert_eq!(a.set_remote_description(now, DescriptionKind::Offer, &b_offer), Err(ConnectionError::Glare));
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    // An answer nobody asked for.
    let (mut c, mut d, _) = two(2);
    let c_offer = c.create_offer().unwrap();
    d.set_remote_description(now, DescriptionKind::Offer, &c_offer).unwrap();
    assert_eq!(
        d.create_offer(),
        Err(ConnectionError::WrongSignalingState { call: "create_offer", state: SignalingState::HaveRemoteOffer })
    );
    let answer = d.create_answer().unwrap();
    let _ = &mut b;
    let (mut e, _, _) = two(3);
    assert_eq!(
        e.set_remote_description(now, DescriptionKind::Answer, &answer),
        Err(ConnectionError::AnswerWithoutOffer { state: SignalingState::Stable })
    );
    assert_eq!(
        e.create_answer(),
        Err(ConnectionError::WrongSignalingState { call: "create_answer", state: SignalingState::Stable })
    );
    // The offer given back as an answer: its setup is actpass, which an answer may not say.
    assert!(matches!(a.set_remote_description(now, DescriptionKind::Answer, &a_offer), Err(ConnectionError::Sdp(_))));
    assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
    assert_eq!(a.state(), ConnectionState::New);
    // Closed: nothing more.
    a.close(now);
    assert_eq!(a.signaling_state(), SignalingState::Closed);
    assert_eq!(a.create_offer(), Err(ConnectionError::Closed));
    assert_eq!(a.set_remote_description(now, DescriptionKind::Offer, &b_offer), Err(ConnectionError::Closed));
    assert_eq!(a.open_channel(now, reliable("late")), Err(ConnectionError::Closed));
}

#[test]
fn hostile_descriptions_are_refused_without_a_panic() {
    let (mut a, mut b, now) = two(4);
    let offer = a.create_offer().unwrap();
    let mut rng = StdRng::seed_from_u64(99);
    for round in 0..2000 {
        let mut text = offer.clone().into_bytes();
        match round % 4 {
            0 => text.truncate(rng.random_range(0..text.len())),
            1 => {
                for _ in 0..8 {
                    let at = rng.random_range(0..text.len());
                    text[at] = rng.random();
                }
            }
            2 => text = (0..rng.random_range(0..4096)).map(|_| rng.random()).collect(),
            _ => text.extend(std::iter::repeat_n(b'a', 100_000)),
        }
        let text = String::from_utf8_lossy(&text);
        let _ = b.set_remote_description(now, DescriptionKind::Offer, &text);
        let _ = b.add_remote_candidate(now, &text, Some("0"), None);
    }
    // Whatever was taken, the real offer still works (or was taken already, if a mutation left
    // it readable), and an answer can be made.
    let _ = b.set_remote_description(now, DescriptionKind::Offer, &offer);
    if b.signaling_state() == SignalingState::HaveRemoteOffer {
        assert!(b.create_answer().is_ok());
    }
}

#[test]
fn remote_candidates_are_bounded_and_checked() {
    let (mut a, mut b, now) = two(5);
    let offer = a.create_offer().unwrap();
    b.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    assert!(matches!(b.add_remote_candidate(now, "candidate:garbage", Some("0"), None), Err(ConnectionError::Sdp(_))));
    assert_eq!(b.add_remote_candidate(now, "", Some("0"), None), Ok(()), "end of candidates");
    assert_eq!(b.add_remote_candidate(now, "a=end-of-candidates", None, None), Ok(()));
    // For a section that is not the data channel's: ignored, not counted.
    for port in 0..10 {
        let line = format!("candidate:1 1 udp 2122260223 192.0.2.9 {} typ host", 6000 + port);
        assert_eq!(b.add_remote_candidate(now, &line, Some("video"), None), Ok(()));
    }
    for port in 0..MAX_REMOTE_CANDIDATES {
        let line = format!("candidate:1 1 udp 2122260223 192.0.2.1 {} typ host", 5000 + port);
        assert_eq!(b.add_remote_candidate(now, &line, Some("0"), Some(0)), Ok(()), "{port}");
    }
    let one_more = "candidate:1 1 udp 2122260223 192.0.2.1 4999 typ host";
    assert_eq!(
        b.add_remote_candidate(now, one_more, Some("0"), None),
        Err(ConnectionError::TooManyRemoteCandidates(MAX_REMOTE_CANDIDATES))
    );
    // Before any description, candidates wait, bounded alike.
    let (_, mut c, _) = two(6);
    for port in 0..MAX_REMOTE_CANDIDATES {
        let line = format!("candidate:1 1 udp 2122260223 192.0.2.1 {} typ host", 5000 + port);
        c.add_remote_candidate(now, &line, None, Some(0)).unwrap();
    }
    assert!(c.add_remote_candidate(now, one_more, None, Some(0)).is_err());
}

#[test]
fn garbage_datagrams_change_nothing() {
    let setup = Setup::new(7, LinkConfig::default()).with_channel(reliable("chat"));
    let (mut pair, channels) = pair(&setup);
    // Garbage before anything is connected (and a flood of it).
    let mut rng = StdRng::seed_from_u64(7);
    let garbage = |rng: &mut StdRng| -> Vec<u8> {
        let len = rng.random_range(0..1500);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        // Now and then, the first byte of a STUN or DTLS record, so it reaches ICE or DTLS.
        if let (Some(first), true) = (bytes.first_mut(), len % 3 == 0) {
            *first = [0, 1, 22, 23][len % 4];
        }
        bytes
    };
    for _ in 0..200 {
        let forged = garbage(&mut rng);
        pair.net.send(pair.now, Side::B, forged);
    }
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(5)), "{:?}", pair.a.events);
    for _ in 0..2000 {
        let forged = garbage(&mut rng);
        pair.net.send(pair.now, Side::B, forged);
        let forged = garbage(&mut rng);
        pair.net.send(pair.now, Side::A, forged);
    }
    pair.run_for(Duration::from_secs(1));
    let now = pair.now;
    pair.a.conn.send(now, channels[0], bytes::Bytes::from_static(b"still fine"), true).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |_, b| b.arrivals.len() == 1));
    assert_eq!((pair.a.conn.state(), pair.b.conn.state()), (ConnectionState::Connected, ConnectionState::Connected));
}

fn failed_with(peer: &Peer) -> Option<ConnectionFailure> {
    peer.events.iter().find_map(|(_, event)| match event {
        ConnectionEvent::Failed(failure) => Some(failure.clone()),
        _ => None,
    })
}

#[test]
fn a_certificate_that_does_not_match_its_fingerprint_fails_the_connection() {
    // The pair's connections are replaced by two whose signaling the test tampers with.
    let (mut pair, _) = pair(&Setup::new(8, LinkConfig::default()));
    // Rebuild B's answer with a fingerprint one digit off, as if signaling was tampered with.
    let (mut a, mut b, now) = two(8);
    let offer = a.create_offer().unwrap();
    b.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let answer = b.create_answer().unwrap();
    let fingerprint = b.local_fingerprint().to_string();
    // "sha-256 AB:..." with its first byte changed.
    let first = if &fingerprint[8..10] == "00" { "01" } else { "00" };
    let wrong = format!("{}{first}{}", &fingerprint[..8], &fingerprint[10..]);
    let tampered = answer.replace(&fingerprint, &wrong);
    assert_ne!(answer, tampered);
    a.set_remote_description(now, DescriptionKind::Answer, &tampered).unwrap();
    pair.a.conn = a;
    pair.b.conn = b;
    let host = |address: &str| connection::ice_dtls::LocalCandidate {
        kind: connection::sdp::CandidateKind::Host,
        address: address.parse().unwrap(),
        base: address.parse().unwrap(),
    };
    let a_line = pair.a.conn.add_local_candidate(now, host(connection_support::A_ADDRESS)).unwrap();
    let b_line = pair.b.conn.add_local_candidate(now, host(connection_support::B_ADDRESS)).unwrap();
    pair.a.conn.add_remote_candidate(now, &b_line, Some("0"), None).unwrap();
    pair.b.conn.add_remote_candidate(now, &a_line, Some("0"), None).unwrap();
    assert!(pair.run_until(Duration::from_secs(20), |a, b| a.conn.state() == ConnectionState::Failed
        && matches!(b.conn.state(), ConnectionState::Failed | ConnectionState::Closed)));
    assert_eq!(failed_with(&pair.a), Some(ConnectionFailure::Path(FailureReason::FingerprintMismatch)));
    assert_eq!(failed_with(&pair.b), Some(ConnectionFailure::Path(FailureReason::CertificateRefusedByPeer)));
    assert!(!pair
        .a
        .events
        .iter()
        .any(|(_, event)| *event == ConnectionEvent::StateChanged(ConnectionState::Connected)));
    assert_eq!(pair.a.conn.poll_timeout(), None);
}

#[test]
fn a_peer_that_vanishes_is_disconnected_then_failed_and_its_channels_close() {
    let setup = Setup::new(9, LinkConfig::default()).with_channel(reliable("chat"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(2)));
    let vanished = pair.now;
    pair.net.set_link(Side::B, LinkConfig::outage());
    pair.net.set_link(Side::A, LinkConfig::outage());
    assert!(pair.run_until(Duration::from_secs(60), |a, _| a.conn.state() == ConnectionState::Failed));
    let disconnected = pair.a.first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Disconnected));
    let failed = pair.a.first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Failed));
    let since = |at: Option<Duration>| at.map(|at| (pair.a.start + at) - vanished);
    println!("FIGURE peer vanished: disconnected after {:?}, failed after {:?}", since(disconnected), since(failed));
    assert!(disconnected.is_some() && disconnected < failed);
    assert!(matches!(failed_with(&pair.a), Some(ConnectionFailure::Path(_))), "{:?}", failed_with(&pair.a));
    assert!(pair.a.events.iter().any(|(_, event)| *event == ConnectionEvent::ChannelClosed(channels[0])));
    assert_eq!(pair.a.conn.send(pair.now, ChannelId(1), bytes::Bytes::new(), true), Err(ConnectionError::Closed));
}
