//! Consent freshness (RFC 7675) exists so that we stop sending to an address that no longer
//! wants our traffic. Someone who saw one of the peer's checks can replay it from the peer's
//! address after the peer is gone: a check the peer sent long ago must not count as the peer's
//! consent, or the replayer keeps our traffic aimed at that address for as long as it likes.

mod ice_dtls_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use connection::ice_dtls::{IceState, SecurePathEvent};
use ice_dtls_support::{Setup, TestPair};
use netsim::{LinkConfig, Side, Verdict};

/// What reaches A from B's address every 500 ms once B is gone.
enum Replay {
    /// Nothing.
    Nothing,
    /// B's first STUN message starting with these bytes (a check, or an answer to one of A's).
    Captured([u8; 2]),
    /// These bytes, made up by someone who never saw B's traffic.
    Forged(Vec<u8>),
}

/// When A read `failed` (or lost consent), with B gone after connecting and `replay` sent to A from
/// B's address every 500 ms; None if not within 40 s.
fn a_fails_after(replay: Replay) -> Option<Duration> {
    let prefix = match &replay {
        Replay::Captured(prefix) => *prefix,
        _ => [0x00, 0x01],
    };
    let mut pair = TestPair::new(Setup::default());
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = Arc::clone(&captured);
    pair.sim.net.set_filter(Side::B, move |_, datagram| {
        let mut kept = keep.lock().unwrap();
        if kept.is_none() && datagram.starts_with(&prefix) {
            *kept = Some(datagram.to_vec());
        }
        Verdict::Pass
    });
    pair.connect(Duration::from_secs(2)).expect("connects");
    let sent = match replay {
        Replay::Nothing => None,
        Replay::Captured(_) => Some(captured.lock().unwrap().clone().expect("B sent a check")),
        Replay::Forged(bytes) => Some(bytes),
    };
    // B is gone: nothing of its reaches A any more.
    pair.sim.net.set_link(Side::B, LinkConfig::outage());
    let gone_at = pair.elapsed();
    let failed = |peer: &ice_dtls_support::Peer| {
        peer.events.iter().any(|(_, event)| {
            matches!(event, SecurePathEvent::Failed(_) | SecurePathEvent::IceStateChanged(IceState::Failed))
        })
    };
    for _ in 0..80 {
        if let Some(sent) = &sent {
            let now = pair.now();
            let a = &mut pair.sim.a;
            let (local, remote) = (a.address, a.remote);
            a.path.handle_datagram(now, local, remote, sent);
        }
        pair.sim.run_for(Duration::from_millis(500));
        if failed(&pair.sim.a) {
            return Some(pair.elapsed() - gone_at);
        }
    }
    None
}

#[test]
fn replayed_checks_and_answers_from_a_gone_peer_do_not_keep_consent_alive() {
    const CHECK: [u8; 2] = [0x00, 0x01];
    const ANSWER: [u8; 2] = [0x01, 0x01];
    let honest = a_fails_after(Replay::Nothing).expect("A notices a gone peer");
    for (kind, prefix) in [("check", CHECK), ("answer", ANSWER)] {
        let replayed = a_fails_after(Replay::Captured(prefix));
        println!("peer gone: A fails after {honest:?}; with its {kind} replayed every 500 ms: {replayed:?}");
        let replayed = replayed.unwrap_or_else(|| panic!("replayed {kind}s kept consent alive for 40 s"));
        // A replayed check within 2 s of its first sighting may be the peer retransmitting it,
        // and counts; none after that. The replays are 500 ms apart.
        let retransmission_window = Duration::from_secs(2);
        assert!(
            replayed <= honest + retransmission_window + Duration::from_millis(500),
            "replayed {kind}s delayed the failure to {replayed:?}"
        );
    }
}

#[test]
fn forged_binding_indications_from_a_gone_peer_do_not_keep_consent_alive() {
    // A Binding indication (a keepalive) needs no integrity: 20 bytes anyone can make.
    let mut indication = vec![0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42];
    indication.extend_from_slice(&[0x5a; 12]);
    let honest = a_fails_after(Replay::Nothing).expect("A notices a gone peer");
    let forged = a_fails_after(Replay::Forged(indication));
    println!("peer gone: A fails after {honest:?}; with a forged indication every 500 ms: {forged:?}");
    assert_eq!(forged, Some(honest), "forged indications changed when A noticed the gone peer");
}

#[test]
fn a_replayed_dtls_record_from_a_gone_peer_does_not_keep_consent_alive() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(2)).expect("connects");
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = Arc::clone(&captured);
    pair.sim.net.set_filter(Side::B, move |_, datagram| {
        let mut kept = keep.lock().unwrap();
        if kept.is_none() && datagram.first() == Some(&23) {
            *kept = Some(datagram.to_vec());
        }
        Verdict::Pass
    });
    let now = pair.now();
    pair.sim.b.path.send_application_data(now, b"the peer's last words").expect("sent");
    pair.sim.run_for(Duration::from_millis(100));
    let record = captured.lock().unwrap().clone().expect("B sent a record");
    let delivered_before = pair.sim.a.received().len();
    pair.sim.net.set_link(Side::B, LinkConfig::outage());
    let gone_at = pair.elapsed();
    let mut failed_after = None;
    for _ in 0..80 {
        let now = pair.now();
        let a = &mut pair.sim.a;
        let (local, remote) = (a.address, a.remote);
        a.path.handle_datagram(now, local, remote, &record);
        pair.sim.run_for(Duration::from_millis(500));
        let failed = pair.sim.a.events.iter().any(|(_, event)| {
            matches!(event, SecurePathEvent::Failed(_) | SecurePathEvent::IceStateChanged(IceState::Failed))
        });
        if failed {
            failed_after = Some(pair.elapsed() - gone_at);
            break;
        }
    }
    let replays_delivered = pair.sim.a.received().len() - delivered_before;
    println!(
        "a DTLS record replayed every 500 ms: A failed after {failed_after:?}, {replays_delivered} replays delivered"
    );
    assert_eq!(replays_delivered, 0, "DTLS handed replayed records up");
    let failed_after = failed_after.expect("the replayed record kept consent alive for 40 s");
    assert!(failed_after <= Duration::from_millis(15_500), "failed after {failed_after:?}");
}

/// Datagrams seen on the network, with the side that sent each.
type Datagrams = Vec<(Side, Vec<u8>)>;

/// Every DTLS datagram of the handshake (both sides' flights), replayed at the other side from
/// the right address once connected: a stranger on the path replays what it saw. The
/// connection must stay up and keep carrying data.
#[test]
fn the_handshake_replayed_once_connected_changes_nothing() {
    let mut pair = TestPair::new(Setup::default());
    let flights: Arc<Mutex<Datagrams>> = Arc::default();
    for side in [Side::A, Side::B] {
        let keep = Arc::clone(&flights);
        pair.sim.net.set_filter(side, move |_, datagram| {
            if datagram.first().is_some_and(|byte| (20..=63).contains(byte)) {
                keep.lock().unwrap().push((side, datagram.to_vec()));
            }
            Verdict::Pass
        });
    }
    pair.connect(Duration::from_secs(2)).expect("connects");
    let flights = flights.lock().unwrap().clone();
    assert!(flights.len() >= 4, "{} handshake datagrams seen", flights.len());
    let now = pair.now();
    for (from, datagram) in &flights {
        let peer = if *from == Side::A { &mut pair.sim.b } else { &mut pair.sim.a };
        let (local, remote) = (peer.address, peer.remote);
        peer.path.handle_datagram(now, local, remote, datagram);
    }
    pair.sim.a.path.send_application_data(now, b"after the replay").expect("A still sends");
    pair.sim.run_for(Duration::from_millis(200));
    let failed = [&pair.sim.a, &pair.sim.b].iter().any(|peer| peer.failure().is_some());
    println!("{} handshake datagrams replayed once connected: failed {failed}", flights.len());
    assert!(!failed, "a {:?}\nb {:?}", pair.sim.a.failure(), pair.sim.b.failure());
    assert!(pair.sim.b.received().iter().any(|data| data == b"after the replay"));
}
