//! An idle connected pair: how often each side's timer wakes it (issue 20: `rtc` woke every
//! connection five times a second; consent checks go at RFC 7675's pace, and authenticated data
//! counts as the peer being alive).

mod connection_support;

use std::time::Duration;

use bytes::Bytes;
use connection::connection::ConnectionState;
use connection_support::{pair, reliable, run_until_open, Setup};
use netsim::{LinkConfig, Side};

#[test]
fn an_idle_connection_wakes_a_few_times_a_minute_and_stays_connected() {
    let setup = Setup::new(1, LinkConfig::home(Duration::from_millis(20))).with_channel(reliable("chat"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(2)));
    // Let what the opening left (delayed SACKs, the last retransmission timers) settle.
    pair.run_for(Duration::from_secs(5));
    let (a_before, b_before) = (pair.a.wakeups, pair.b.wakeups);
    let sent_before = pair.net.stats(Side::A).sent.datagrams + pair.net.stats(Side::B).sent.datagrams;
    pair.run_for(Duration::from_secs(60));
    let (a, b) = (pair.a.wakeups - a_before, pair.b.wakeups - b_before);
    let sent = pair.net.stats(Side::A).sent.datagrams + pair.net.stats(Side::B).sent.datagrams - sent_before;
    println!("FIGURE idle wake-ups per minute once connected: offerer {a}, answerer {b} ({sent} datagrams both ways)");
    assert!(a <= 60 && b <= 60, "at most one a second: {a} / {b}");
    // Consent checks each way every 4-6 s and their answers: about 50 a minute. rtc-ice's
    // controlled agent followed each of the offerer's checks with one of its own, answered too:
    // 122 before the session dropped those.
    assert!(sent <= 100, "{sent} datagrams in an idle minute");
    assert_eq!((pair.a.conn.state(), pair.b.conn.state()), (ConnectionState::Connected, ConnectionState::Connected));
    // Still usable.
    let now = pair.now;
    pair.a.conn.send(now, channels[0], Bytes::from_static(b"still here"), false).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |_, b| b.arrivals.len() == 1));
    assert_eq!(pair.stuck_deadlines(), 0);
}
