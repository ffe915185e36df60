//! Someone who saw one of the peer's connectivity checks (on the same network, or on the path)
//! replays it from many source addresses. The check's MESSAGE-INTEGRITY does not cover the
//! address it came from, so the agent takes each as the peer's and learns a peer-reflexive
//! candidate: without a bound, the replays grow the agent's candidates and pairs without end
//! and aim our checks at every address the replayer names.

mod ice_dtls_support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ice_dtls_support::{Setup, TestPair};
use netsim::{Side, Verdict};

/// A STUN binding request.
fn is_binding_request(datagram: &[u8]) -> bool {
    datagram.starts_with(&[0x00, 0x01])
}

#[test]
fn replayed_checks_from_many_addresses_aim_few_of_our_checks_there() {
    let mut pair = TestPair::new(Setup::default());
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = Arc::clone(&captured);
    pair.sim.net.set_filter(Side::B, move |_, datagram| {
        let mut kept = keep.lock().unwrap();
        if kept.is_none() && is_binding_request(datagram) {
            *kept = Some(datagram.to_vec());
        }
        Verdict::Pass
    });
    pair.connect(Duration::from_secs(2)).expect("connects");
    let check = captured.lock().unwrap().clone().expect("B sent a check");

    // From here the test drives A alone: 1000 replays from 1000 addresses, then 2 s of A's timers.
    let a = &mut pair.sim.a;
    let mut now = pair.sim.now;
    let replayers: Vec<SocketAddr> = (0..1000u16).map(|index| ([192, 0, 2, 1], 10_000 + index).into()).collect();
    for &from in &replayers {
        a.path.handle_datagram(now, a.address, from, &check);
    }
    let replayer_set: HashSet<SocketAddr> = replayers.iter().copied().collect();
    let (mut answers, mut checks) = (0, 0);
    let mut checked = HashSet::new();
    let end = now + Duration::from_secs(2);
    loop {
        while let Some(transmit) = a.path.poll_transmit(now) {
            if replayer_set.contains(&transmit.to) {
                if is_binding_request(&transmit.data) {
                    checks += 1;
                    checked.insert(transmit.to);
                } else {
                    answers += 1;
                }
            }
        }
        match a.path.poll_timeout() {
            Some(deadline) if deadline <= end => {
                now = now.max(deadline);
                a.path.handle_timeout(now);
            }
            _ => break,
        }
    }
    println!(
        "1000 replayed checks: {answers} answers, {checks} checks of ours at {} replayer addresses in 2 s",
        checked.len()
    );
    // A few peer-reflexive candidates are the peer's own right (NAT rebinding, a new path);
    // a replayer's thousand are not.
    assert!(checked.len() <= 16, "our checks went to {} addresses the replayer chose", checked.len());
    assert!(answers <= 16, "{answers} answers to replays: each replay made a new candidate");
}

#[test]
fn replayed_checks_cost_the_same_however_many_came_before() {
    let mut pair = TestPair::new(Setup::default());
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = Arc::clone(&captured);
    pair.sim.net.set_filter(Side::B, move |_, datagram| {
        let mut kept = keep.lock().unwrap();
        if kept.is_none() && is_binding_request(datagram) {
            *kept = Some(datagram.to_vec());
        }
        Verdict::Pass
    });
    pair.connect(Duration::from_secs(2)).expect("connects");
    let check = captured.lock().unwrap().clone().expect("B sent a check");
    let a = &mut pair.sim.a;
    let now = pair.sim.now;
    let mut batch_times = Vec::new();
    for batch in 0..10u32 {
        let started = std::time::Instant::now();
        for index in 0..1000u32 {
            let n = batch * 1000 + index;
            let from: SocketAddr = ([198, 51, (n >> 16) as u8, (n >> 8) as u8], 1024 + (n & 0xff) as u16).into();
            a.path.handle_datagram(now, a.address, from, &check);
            while a.path.poll_transmit(now).is_some() {}
        }
        batch_times.push(started.elapsed());
    }
    println!("10 000 replays from new addresses, per 1000: {batch_times:?}");
    let (first, last) = (batch_times[0], batch_times[9]);
    assert!(last < first * 4 + Duration::from_millis(5), "the 10th thousand took {last:?}, the first {first:?}");
}

/// Whether a STUN datagram carries USE-CANDIDATE.
fn nominates(datagram: &[u8]) -> bool {
    let mut at = 20;
    while let Some(header) = datagram.get(at..at + 4) {
        let kind = u16::from_be_bytes([header[0], header[1]]);
        if kind == 0x0025 {
            return true;
        }
        at += 4 + usize::from(u16::from_be_bytes([header[2], header[3]])).div_ceil(4) * 4;
    }
    false
}

#[test]
fn a_replayed_nomination_from_another_address_moves_no_traffic_there() {
    use connection::ice_dtls::SecurePathEvent;
    let mut pair = TestPair::new(Setup::default());
    let captured: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let keep = Arc::clone(&captured);
    // A controls: its nominating check to B is what a replayer would want.
    pair.sim.net.set_filter(Side::A, move |_, datagram| {
        let mut kept = keep.lock().unwrap();
        if kept.is_none() && is_binding_request(datagram) && nominates(datagram) {
            *kept = Some(datagram.to_vec());
        }
        Verdict::Pass
    });
    pair.connect(Duration::from_secs(2)).expect("connects");
    let nomination = captured.lock().unwrap().clone().expect("A nominated");
    let b = &mut pair.sim.b;
    let mut now = pair.sim.now;
    let replayer: SocketAddr = ([192, 0, 2, 7], 4444).into();
    let events_before = b.events.len();
    let mut to_replayer = 0;
    for _ in 0..20 {
        b.path.handle_datagram(now, b.address, replayer, &nomination);
        now += Duration::from_millis(50);
        b.path.handle_timeout(now);
        while let Some(transmit) = b.path.poll_transmit(now) {
            if transmit.to == replayer && !transmit.data.starts_with(&[0x01, 0x01]) {
                to_replayer += 1;
            }
        }
    }
    let mut moved = Vec::new();
    while let Some(event) = b.path.poll_event() {
        if let SecurePathEvent::SelectedPair { remote, .. } = event {
            moved.push(remote);
        }
    }
    println!("20 replayed nominations from {replayer}: pair moved to {moved:?}, {to_replayer} datagrams there");
    let _ = events_before;
    assert!(!moved.contains(&replayer), "the replayed nomination moved the selected pair to {replayer}");
}
