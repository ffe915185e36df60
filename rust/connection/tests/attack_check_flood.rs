//! A lobby member (it may signal to us) trickles 64 candidates, one at a time, all pointing at
//! a victim's addresses: how many connectivity checks do we aim there in the first second and
//! over the pairs' lives, and in the busiest stretch? The budget (the old transport's): 100
//! checks a second with bursts of 20, per connection.

mod ice_dtls_support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use connection::sdp::Candidate;
use ice_dtls_support::{Setup, TestPair};

#[test]
fn trickled_candidates_aimed_at_a_victim_get_paced_checks() {
    let mut pair = TestPair::new(Setup { a_credentials_late: false, ..Setup::default() });
    let a = &mut pair.sim.a;
    let start = pair.sim.now;
    let mut now = start;
    let victims: HashSet<SocketAddr> = (0..63u16).map(|index| ([203, 0, 113, 9], 20_000 + index).into()).collect();
    let mut sent_at = Vec::new();
    let mut count = |transmit: connection::ice_dtls::Transmit, at: std::time::Instant| {
        if victims.contains(&transmit.to) && transmit.data.starts_with(&[0, 1]) {
            sent_at.push(at);
        }
    };
    for victim in &victims {
        let line = format!("candidate:{} 1 udp 2130706431 {} {} typ host", victim.port(), victim.ip(), victim.port());
        let candidate = Candidate::parse(&line).expect("a candidate");
        let _ = a.path.add_remote_candidate(now, &candidate);
        while let Some(transmit) = a.path.poll_transmit(now) {
            count(transmit, now);
        }
    }
    let end = start + Duration::from_secs(30);
    while let Some(deadline) = a.path.poll_timeout().filter(|deadline| *deadline <= end) {
        now = now.max(deadline);
        a.path.handle_timeout(now);
        while let Some(transmit) = a.path.poll_transmit(now) {
            count(transmit, now);
        }
    }
    let first_second = sent_at.iter().filter(|at| **at - start < Duration::from_secs(1)).count();
    // The stretch from the i-th check to the j-th that exceeds the budget the most.
    let mut worst = (0.0f64, 0usize, Duration::ZERO);
    for (i, first) in sent_at.iter().enumerate() {
        for (j, last) in sent_at.iter().enumerate().skip(i) {
            let (checks, span) = (j - i + 1, *last - *first);
            let excess = checks as f64 - 100.0 * span.as_secs_f64();
            if excess > worst.0 {
                worst = (excess, checks, span);
            }
        }
    }
    println!(
        "63 trickled candidates at a victim: {first_second} checks there in the first second, {} in 30 s; \
         busiest stretch: {} checks in {:?} (20 + 100/s allows {:.0})",
        sent_at.len(),
        worst.1,
        worst.2,
        20.0 + 100.0 * worst.2.as_secs_f64()
    );
    assert!(worst.0 <= 20.0 + 1e-9, "{} checks in {:?}: past 20 + 100/s", worst.1, worst.2);
    assert!(first_second <= 120, "{first_second} checks in the first second");
}

/// The same 63 candidates beside the peer's real one: the budget leaves most checks to them
/// unsent, yet the real pair gets its turn and the connection is made.
#[test]
fn a_connection_with_63_stray_candidates_still_connects() {
    let mut pair = TestPair::new(Setup::default());
    let start = pair.sim.now;
    pair.sim.a.strays_allowed = true;
    for index in 0..63u16 {
        let port = 20_000 + index;
        let line = format!("candidate:{port} 1 udp 2130706431 203.0.113.9 {port} typ host");
        let candidate = Candidate::parse(&line).expect("a candidate");
        pair.sim.a.path.add_remote_candidate(start, &candidate).expect("taken");
    }
    let connected = pair.connect(Duration::from_secs(10));
    println!(
        "63 stray candidates beside the real one: connected after {connected:?}; {} checks to the strays",
        pair.sim.a.strays
    );
    let connected = connected.expect("connects");
    // As fast as without them (140 ms): the peer's own check makes its address go first.
    assert!(connected < Duration::from_secs(1), "{connected:?}");
}
