//! A lobby member (it may signal to us) trickles 64 candidates, one at a time, all pointing at
//! a victim's addresses: how many connectivity checks do we aim there in the first second and
//! over the pairs' lives? RFC 8445 section 14 paces checks at one per Ta (5 ms at the least).

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
    let (mut first_second, mut in_all) = (0usize, 0usize);
    let mut count = |transmit: connection::ice_dtls::Transmit, at: std::time::Instant| {
        if victims.contains(&transmit.to) && transmit.data.starts_with(&[0, 1]) {
            in_all += 1;
            if at - start < Duration::from_secs(1) {
                first_second += 1;
            }
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
    println!("63 trickled candidates at a victim: {first_second} checks there in the first second, {in_all} in 30 s");
    // One per 5 ms at most over time (200 a second), plus a tick's burst when candidates come.
    assert!(first_second <= 300, "{first_second} checks in the first second");
}
