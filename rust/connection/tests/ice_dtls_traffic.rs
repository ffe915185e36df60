//! Application data over the secure path, and how often an idle or busy path wakes its timer.

mod ice_dtls_support;

use std::time::Duration;

use connection::ice_dtls::{SecurePathError, SecurePathEvent};
use ice_dtls_support::{Setup, TestPair};

#[test]
fn application_data_both_ways() {
    let mut pair = TestPair::new(Setup::default());
    let now = pair.now;
    assert_eq!(pair.a.path.send_application_data(now, b"early"), Err(SecurePathError::NotConnected));
    pair.connect(Duration::from_secs(5)).expect("connects");
    let now = pair.now;
    for index in 0..100u32 {
        let message = index.to_be_bytes().repeat(250);
        pair.a.path.send_application_data(now, &message).expect("a sends");
        pair.b.path.send_application_data(now, &message[..500]).expect("b sends");
    }
    let big = vec![7u8; 64 * 1024];
    assert!(matches!(pair.a.path.send_application_data(now, &big), Err(SecurePathError::TooLarge(_))));
    pair.run_until(Duration::from_secs(10), |pair| pair.a.received().len() == 100 && pair.b.received().len() == 100);
    let at_b = pair.b.received();
    let at_a = pair.a.received();
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
    let now = pair.now;
    pair.a.path.close(now);
    pair.run_until(Duration::from_secs(6), |pair| {
        pair.b.events.iter().any(|(_, event)| *event == SecurePathEvent::Closed)
    });
    assert!(pair.b.events.iter().any(|(_, event)| *event == SecurePathEvent::Closed), "{:?}", pair.b.events);
    assert!(pair.a.path.poll_timeout().is_none() && pair.b.path.poll_timeout().is_none());
    assert!(pair.b.failure().is_none());
}

#[test]
fn idle_wakeups_per_minute() {
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let settled = pair.elapsed() + Duration::from_secs(5);
    pair.run_until(settled, |_| false);
    let (a_before, b_before) = (pair.a.wakeups, pair.b.wakeups);
    let (a_sent, b_sent) = (pair.a.sent, pair.b.sent);
    pair.run_until(settled + Duration::from_secs(60), |_| false);
    let a = pair.a.wakeups - a_before;
    let b = pair.b.wakeups - b_before;
    println!(
        "idle minute: handle_timeout wake-ups a {a}, b {b}; datagrams sent a {}, b {} (rtc-ice alone: 300 wake-ups)",
        pair.a.sent - a_sent,
        pair.b.sent - b_sent
    );
    assert!(a <= 60 && b <= 60, "more than one wake-up a second");
    assert!(pair.a.failure().is_none() && pair.b.failure().is_none());
}

#[test]
fn busy_wakeups_per_minute() {
    // A message each way every 50 ms (a game's state at 20 Hz): authenticated data keeps the
    // peer alive, consent checks go at their own pace.
    let mut pair = TestPair::new(Setup::default());
    pair.connect(Duration::from_secs(5)).expect("connects");
    let start = pair.elapsed();
    let (a_before, b_before) = (pair.a.wakeups, pair.b.wakeups);
    let (a_sent, b_sent) = (pair.a.sent, pair.b.sent);
    let (a_stun, b_stun) = (pair.a.stun_sent, pair.b.stun_sent);
    let mut at = start;
    let mut messages = 0;
    while at < start + Duration::from_secs(60) {
        at += Duration::from_millis(50);
        pair.run_until(at, |_| false);
        let now = pair.now;
        pair.a.path.send_application_data(now, b"state").expect("a sends");
        pair.b.path.send_application_data(now, b"state").expect("b sends");
        messages += 1;
    }
    let a = pair.a.wakeups - a_before;
    let b = pair.b.wakeups - b_before;
    pair.run_until(at + Duration::from_millis(100), |_| false);
    let a_checks = pair.a.sent - a_sent - messages;
    let b_checks = pair.b.sent - b_sent - messages;
    println!(
        "busy minute (20 Hz each way): wake-ups a {a}, b {b}; other than data sent a {a_checks}, b {b_checks}, of which STUN a {}, b {}",
        pair.a.stun_sent - a_stun,
        pair.b.stun_sent - b_stun
    );
    assert!(a <= 20 && b <= 20, "consent pace is one check per 4-6 s");
    assert_eq!(pair.b.received().len(), messages);
}
