//! Application data over the secure path, and how often an idle or busy path wakes its timer.

mod ice_dtls_support;

use std::time::Duration;

use connection::ice_dtls::{SecurePathError, SecurePathEvent};
use ice_dtls_support::{Setup, TestPair};

#[test]
fn application_data_both_ways() {
    let mut pair = TestPair::new(Setup::default());
    let now = pair.now();
    assert_eq!(pair.sim.a.path.send_application_data(now, b"early"), Err(SecurePathError::NotConnected));
    pair.connect(Duration::from_secs(5)).expect("connects");
    let now = pair.now();
    for index in 0..100u32 {
        let message = index.to_be_bytes().repeat(250);
        pair.sim.a.path.send_application_data(now, &message).expect("a sends");
        pair.sim.b.path.send_application_data(now, &message[..500]).expect("b sends");
    }
    let big = vec![7u8; 2000];
    assert!(matches!(pair.sim.a.path.send_application_data(now, &big), Err(SecurePathError::TooLarge(_))));
    pair.run_until(Duration::from_secs(10), |a, b| a.received().len() == 100 && b.received().len() == 100);
    let at_b = pair.sim.b.received();
    let at_a = pair.sim.a.received();
    assert_eq!(at_b.len(), 100);
    assert_eq!(at_a.len(), 100);
    for index in 0..100u32 {
        let message = index.to_be_bytes().repeat(250);
        assert_eq!(at_b[index as usize], message);
        assert_eq!(at_a[index as usize], message[..500]);
    }
}

#[test]
fn close_reaches_the_peer() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let now = pair.now();
    pair.sim.a.path.close(now);
    pair.run_until(Duration::from_secs(6), |_, b| b.events.iter().any(|(_, event)| *event == SecurePathEvent::Closed));
    assert!(pair.sim.b.events.iter().any(|(_, event)| *event == SecurePathEvent::Closed), "{:?}", pair.sim.b.events);
    assert!(pair.sim.a.path.poll_timeout().is_none() && pair.sim.b.path.poll_timeout().is_none());
    assert!(pair.sim.b.failure().is_none());
}

#[test]
fn idle_wakeups_per_minute() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let settled = pair.elapsed() + Duration::from_secs(5);
    pair.run_until(settled, |_, _| false);
    let (a_before, b_before) = (pair.sim.a.wakeups, pair.sim.b.wakeups);
    let (a_sent, b_sent) = (pair.sim.a.sent, pair.sim.b.sent);
    pair.run_until(settled + Duration::from_secs(60), |_, _| false);
    let a = pair.sim.a.wakeups - a_before;
    let b = pair.sim.b.wakeups - b_before;
    println!(
        "idle minute: handle_timeout wake-ups a {a}, b {b}; datagrams sent a {}, b {} (rtc-ice alone: 300 wake-ups)",
        pair.sim.a.sent - a_sent,
        pair.sim.b.sent - b_sent
    );
    assert!(a <= 60 && b <= 60, "more than one wake-up a second");
    assert!(pair.sim.a.failure().is_none() && pair.sim.b.failure().is_none());
}

#[test]
fn busy_wakeups_per_minute() {
    // A message each way every 50 ms (a game's state at 20 Hz): authenticated data keeps the
    // peer alive, consent checks go at their own pace.
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let start = pair.elapsed();
    let (a_before, b_before) = (pair.sim.a.wakeups, pair.sim.b.wakeups);
    let (a_sent, b_sent) = (pair.sim.a.sent, pair.sim.b.sent);
    let (a_stun, b_stun) = (pair.sim.a.stun_sent, pair.sim.b.stun_sent);
    let mut at = start;
    let mut messages = 0;
    while at < start + Duration::from_secs(60) {
        at += Duration::from_millis(50);
        pair.run_until(at, |_, _| false);
        let now = pair.now();
        pair.sim.a.path.send_application_data(now, b"state").expect("a sends");
        pair.sim.b.path.send_application_data(now, b"state").expect("b sends");
        messages += 1;
    }
    let a = pair.sim.a.wakeups - a_before;
    let b = pair.sim.b.wakeups - b_before;
    pair.run_until(at + Duration::from_millis(100), |_, _| false);
    let a_checks = pair.sim.a.sent - a_sent - messages;
    let b_checks = pair.sim.b.sent - b_sent - messages;
    println!(
        "busy minute (20 Hz each way): wake-ups a {a}, b {b}; other than data sent a {a_checks}, b {b_checks}, of which STUN a {}, b {}",
        pair.sim.a.stun_sent - a_stun,
        pair.sim.b.stun_sent - b_stun
    );
    assert!(a <= 20 && b <= 20, "consent pace is one check per 4-6 s");
    assert_eq!(pair.sim.b.received().len(), messages);
}

#[test]
fn ice_restart_keeps_dtls_and_selects_again() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    pair.run_until(Duration::from_secs(2), |_, _| false);
    let now = pair.now();
    // Both sides restart (new credentials in a new offer and answer), then learn the other's.
    pair.sim.a.path.restart_ice(now, "aaa2", "aaa2-password-0123456789").expect("restart a");
    pair.sim.b.path.restart_ice(now, "bbb2", "bbb2-password-0123456789").expect("restart b");
    // DTLS goes on over the old pair meanwhile.
    pair.sim.a.path.send_application_data(now, b"during the restart").expect("send");
    let (line_a, line_b) = (pair.sim.a.candidate.clone(), pair.sim.b.candidate.clone());
    pair.sim.a.path.set_remote_credentials(now, "bbb2", "bbb2-password-0123456789").expect("credentials a");
    pair.sim.b.path.set_remote_credentials(now, "aaa2", "aaa2-password-0123456789").expect("credentials b");
    pair.sim.a.path.add_remote_candidate(now, &line_b).expect("candidate a");
    pair.sim.b.path.add_remote_candidate(now, &line_a).expect("candidate b");
    let selected_twice = |peer: &ice_dtls_support::Peer| {
        peer.events.iter().filter(|(_, event)| matches!(event, SecurePathEvent::SelectedPair { .. })).count() == 2
    };
    assert!(
        pair.run_until(Duration::from_secs(5), |a, b| selected_twice(a) && selected_twice(b)),
        "{:?}",
        pair.sim.a.events
    );
    let now = pair.now();
    pair.sim.b.path.send_application_data(now, b"after the restart").expect("send");
    pair.run_until(Duration::from_secs(6), |a, _| !a.received().is_empty());
    assert_eq!(pair.sim.b.received(), vec![b"during the restart".to_vec()]);
    assert_eq!(pair.sim.a.received(), vec![b"after the restart".to_vec()]);
    for peer in [&pair.sim.a, &pair.sim.b] {
        assert!(peer.failure().is_none());
        let handshakes = peer.events.iter().filter(|(_, event)| *event == SecurePathEvent::Connected).count();
        assert_eq!(handshakes, 1, "DTLS is not redone");
    }
}

#[test]
fn each_send_arrives_whole() {
    // One SCTP packet is one record, whatever its size up to the limit.
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let now = pair.now();
    let sizes = [1, 1100, 1200, connection::ice_dtls::MAX_APPLICATION_DATA];
    for size in sizes {
        pair.sim.a.path.send_application_data(now, &vec![size as u8; size]).expect("send");
    }
    let too_large = connection::ice_dtls::MAX_APPLICATION_DATA + 1;
    assert!(pair.sim.a.path.send_application_data(now, &vec![0; too_large]).is_err());
    pair.run_until(Duration::from_secs(6), |_, b| b.received().len() >= sizes.len());
    let received: Vec<usize> = pair.sim.b.received().iter().map(Vec::len).collect();
    println!("sent sizes {sizes:?}, received {received:?}");
    assert_eq!(received, sizes);
    // The largest fits an Ethernet path's datagram (netsim's MTU is 1500).
    assert_eq!(pair.sim.net.stats(netsim::Side::A).dropped_mtu.datagrams, 0);
}
