//! How the secure path fails: a certificate that does not match its fingerprint (both sides see
//! a distinct reason), consent lost after an outage, hostile bytes (never a panic).

mod ice_dtls_support;

use std::time::Duration;

use connection::ice_dtls::{FailureReason, IceState, SecurePathEvent};
use ice_dtls_support::{Setup, TestPair};

fn failure_of(events: &[(Duration, SecurePathEvent)]) -> Option<(Duration, FailureReason)> {
    events.iter().find_map(|(at, event)| match event {
        SecurePathEvent::Failed(reason) => Some((*at, reason.clone())),
        _ => None,
    })
}

#[test]
fn fingerprint_mismatch_fails_both_sides_distinctly() {
    // B (the DTLS client) signals a fingerprint that is not its certificate's: A, the server,
    // finds out from B's certificate in flight 5 and alerts B.
    let mut pair = TestPair::new(Setup { b_signals_wrong_fingerprint: true, ..Setup::default() });
    pair.run_until(Duration::from_secs(20), |a, b| a.failure().is_some() && b.failure().is_some());
    let a = failure_of(&pair.sim.a.events);
    let b = failure_of(&pair.sim.b.events);
    println!("mismatch of B's certificate: a {a:?}, b {b:?}");
    assert_eq!(a.as_ref().map(|(_, reason)| reason), Some(&FailureReason::FingerprintMismatch));
    assert_eq!(b.as_ref().map(|(_, reason)| reason), Some(&FailureReason::CertificateRefusedByPeer));
    assert!(b.is_some_and(|(at, _)| at < Duration::from_secs(1)), "the alert, not a timeout, ends B");
    assert!(pair.sim.a.connected_at().is_none() && pair.sim.b.connected_at().is_none());
    assert!(pair.sim.a.path.send_application_data(pair.now(), b"x").is_err());
}

#[test]
fn consent_expires_after_an_outage() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let outage_start = Duration::from_secs(10);
    pair.run_until(outage_start, |_, _| false);
    pair.start_outage();
    pair.run_until(Duration::from_secs(40), |a, b| a.failure().is_some() && b.failure().is_some());
    for (name, peer) in [("a", &pair.sim.a), ("b", &pair.sim.b)] {
        let disconnected = peer.events.iter().find_map(|(at, event)| {
            (*event == SecurePathEvent::IceStateChanged(IceState::Disconnected)).then_some(*at)
        });
        let failed = failure_of(&peer.events);
        println!("outage from {outage_start:?}: {name} disconnected at {disconnected:?}, failed {failed:?}");
        // Last heard at most one consent interval (+20 %) before the outage.
        let disconnected = disconnected.expect("disconnected").saturating_sub(outage_start);
        assert!(disconnected <= Duration::from_secs(5) + Duration::from_millis(100), "{disconnected:?}");
        let (failed_at, reason) = failed.expect("failed");
        assert_eq!(reason, FailureReason::ConsentExpired);
        let failed_after = failed_at.saturating_sub(outage_start);
        assert!(
            failed_after > Duration::from_secs(9)
                && failed_after <= Duration::from_secs(15) + Duration::from_millis(100),
            "{failed_after:?}"
        );
    }
}

#[test]
fn a_short_outage_passes() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    pair.run_until(Duration::from_secs(10), |_, _| false);
    pair.start_outage();
    pair.run_until(Duration::from_secs(17), |_, _| false);
    pair.end_outage();
    pair.run_until(Duration::from_secs(30), |_, _| false);
    for (name, peer) in [("a", &pair.sim.a), ("b", &pair.sim.b)] {
        assert!(peer.failure().is_none(), "{:?}", peer.events);
        let states: Vec<(Duration, IceState)> = peer
            .events
            .iter()
            .filter_map(|(at, event)| match event {
                SecurePathEvent::IceStateChanged(state) => Some((*at, *state)),
                _ => None,
            })
            .collect();
        println!("outage 10-17 s: {name}'s ICE states {states:?}");
        let back = states.iter().rev().find(|(_, state)| *state == IceState::Connected).map(|(at, _)| *at);
        assert_eq!(states.last().map(|(_, state)| *state), Some(IceState::Connected));
        assert!(states.iter().any(|(_, state)| *state == IceState::Disconnected), "the outage was seen");
        // Quiet probes go once a second: the way back is noticed within about one.
        assert!(back.is_some_and(|at| at < Duration::from_millis(18_500)), "connected again at {back:?}");
    }
    let now = pair.now();
    pair.sim.a.path.send_application_data(now, b"after the outage").expect("send");
    pair.run_until(Duration::from_secs(31), |_, b| !b.received().is_empty());
    assert_eq!(pair.sim.b.received(), vec![b"after the outage".to_vec()]);
}

#[test]
fn hostile_bytes_never_panic_and_do_not_stop_the_handshake() {
    let mut pair = TestPair::new(Setup::default());
    let from = pair.sim.b.address;
    let local = pair.sim.a.address;
    let stranger = ([192, 0, 2, 9], 9).into();
    let mut garbage: Vec<Vec<u8>> =
        vec![vec![], vec![0], vec![1, 1], vec![22], vec![22, 0xfe, 0xfd], vec![23; 13], vec![255; 2000]];
    // Truncations of a STUN header with the magic cookie, and of a DTLS record header.
    let stun = [
        0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x80, 0x22, 0, 4, 1, 2,
        3, 4,
    ];
    let dtls = [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 0, 0, 36, 0, 0, 0, 0, 0, 0, 0, 36];
    for cut in 0..=stun.len() {
        garbage.push(stun[..cut].to_vec());
    }
    for cut in 0..=dtls.len() {
        garbage.push(dtls[..cut].to_vec());
    }
    let mut state = 0x1234_5678_u32;
    for length in [1, 7, 20, 21, 64, 300, 1200] {
        for _ in 0..20 {
            let bytes = (0..length)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state as u8
                })
                .collect();
            garbage.push(bytes);
        }
    }
    let now = pair.now();
    for bytes in &garbage {
        pair.sim.a.path.handle_datagram(now, local, from, bytes);
        pair.sim.a.path.handle_datagram(now, local, stranger, bytes);
    }
    pair.connect(Duration::from_secs(5)).expect("connects despite the garbage");
    let now = pair.now();
    for bytes in &garbage {
        pair.sim.a.path.handle_datagram(now, local, from, bytes);
        pair.sim.a.path.handle_datagram(now, local, stranger, bytes);
    }
    pair.sim.a.path.send_application_data(now, b"still here").expect("send");
    pair.run_until(Duration::from_secs(6), |_, b| !b.received().is_empty());
    assert_eq!(pair.sim.b.received(), vec![b"still here".to_vec()]);
    assert!(pair.sim.a.failure().is_none() && pair.sim.b.failure().is_none());
}

#[test]
fn remote_candidates_are_bounded_and_checks_paced() {
    let mut pair = TestPair::new(Setup::default());
    let start = pair.now();
    let path = &mut pair.sim.a.path;
    // One candidate is in already; 63 more to addresses that never answer.
    let candidate = |line: &str| connection::sdp::Candidate::parse(line).expect("a candidate");
    for index in 0..63u16 {
        let line =
            format!("candidate:{index} 1 udp 2130706431 192.0.2.{} {} typ host", index % 250 + 1, 50_000 + index);
        path.add_remote_candidate(start, &candidate(&line)).expect("within the cap");
    }
    let line = "candidate:99 1 udp 2130706431 192.0.2.99 60000 typ host";
    assert_eq!(
        path.add_remote_candidate(start, &candidate(line)),
        Err(connection::ice_dtls::SecurePathError::TooManyRemoteCandidates)
    );
    // mDNS and TCP candidates are taken (and counted) but not used.
    let mut other = TestPair::new(Setup::default());
    let now = other.now();
    for line in [
        "candidate:1 1 udp 2130706431 3f1c0d6e-5b8c-4c11-9a36-0a0b0c0d0e0f.local 5000 typ host",
        "candidate:2 1 tcp 2130706431 192.0.2.7 9 typ host tcptype active",
    ] {
        other.sim.a.path.add_remote_candidate(now, &candidate(line)).expect("taken");
    }
    // Checks to the 64 pairs over the first two seconds, driven directly (not through netsim: most
    // go to addresses the test network lacks).
    let mut now = start;
    let mut checks = 0;
    let mut wakeups = 0;
    while now < start + Duration::from_secs(2) {
        while let Some(transmit) = path.poll_transmit(now) {
            checks += usize::from(transmit.data.starts_with(&[0x00, 0x01]));
        }
        let Some(next) = path.poll_timeout() else { break };
        now = next.max(now);
        path.handle_timeout(now);
        wakeups += 1;
    }
    println!("64 remote candidates: {checks} checks, {wakeups} wake-ups in the first 2 s");
    // One check per 5 ms over time (RFC 8445's Ta), plus the first round.
    assert!(checks <= 2 * 200 + 64, "{checks} checks in 2 s");
}

#[test]
fn ice_fails_when_the_peer_never_answers() {
    let mut pair = TestPair::new(Setup::default());
    pair.start_outage();
    pair.run_until(Duration::from_secs(30), |a, b| a.failure().is_some() && b.failure().is_some());
    for peer in [&pair.sim.a, &pair.sim.b] {
        let failed = failure_of(&peer.events);
        println!("no answer at all: {failed:?}");
        let (at, reason) = failed.expect("fails");
        assert_eq!(reason, FailureReason::IceFailed);
        assert!(at >= Duration::from_secs(15) && at < Duration::from_secs(17), "{at:?}");
    }
}

#[test]
fn dtls_retransmits_with_backoff_then_reports_its_failure() {
    // ICE works; every DTLS datagram is lost.
    let mut pair = TestPair::new(Setup::default());
    pair.sim.net.set_filter(netsim::Side::A, |_, datagram| match datagram.first() {
        Some(20..=63) => netsim::Verdict::Drop,
        _ => netsim::Verdict::Pass,
    });
    let mut client_hellos = Vec::new();
    let start = pair.start;
    pair.sim.net.set_filter(netsim::Side::B, move |at, datagram| {
        if datagram.first() == Some(&22) {
            client_hellos.push(at - start);
            println!("ClientHello sent at {:?}", at - start);
            return netsim::Verdict::Drop;
        }
        if datagram.first().is_some_and(|byte| (20..=63).contains(byte)) {
            return netsim::Verdict::Drop;
        }
        netsim::Verdict::Pass
    });
    pair.run_until(Duration::from_secs(30), |a, b| a.failure().is_some() && b.failure().is_some());
    let server = failure_of(&pair.sim.a.events);
    let client = failure_of(&pair.sim.b.events);
    println!("every DTLS datagram lost: the client {client:?}; the server {server:?}");
    for failed in [client, server] {
        let (at, reason) = failed.expect("fails");
        assert_eq!(reason, FailureReason::HandshakeTimeout);
        assert!(at > Duration::from_secs(14) && at < Duration::from_secs(17), "{at:?}");
    }
    let sent = pair.sim.net.stats(netsim::Side::B).filtered.datagrams;
    // 0.25 s doubling (±25 %) within 15 s: the first send and 5 or 6 retransmissions.
    assert!((5..=8).contains(&sent), "{sent} ClientHellos");
}
