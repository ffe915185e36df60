//! Checks the ICE agent cannot answer yet are held and answered as soon as it can, instead of
//! costing the peer a retransmission (see `held_checks.rs`).

mod ice_dtls_support;

use std::time::Duration;

use ice_dtls_support::{Setup, TestPair};
use netsim::{Side, Verdict};

/// STUN attribute USE-CANDIDATE.
const USE_CANDIDATE: u16 = 0x0025;

/// Whether a STUN datagram carries the attribute `wanted`.
fn has_attribute(datagram: &[u8], wanted: u16) -> bool {
    let mut at = 20;
    while let Some(header) = datagram.get(at..at + 4) {
        let kind = u16::from_be_bytes([header[0], header[1]]);
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if kind == wanted {
            return true;
        }
        at += 4 + length.div_ceil(4) * 4;
    }
    false
}

fn is_success(datagram: &[u8]) -> bool {
    datagram.starts_with(&[0x01, 0x01])
}

#[test]
fn a_check_before_the_credentials_is_answered_when_they_come() {
    let mut pair = TestPair::new(Setup { a_credentials_late: true, ..Setup::default() });
    // B checks A from the start; A learns B's credentials 300 ms later.
    pair.run_until(Duration::from_millis(300), |_, _| false);
    let now = pair.now();
    pair.sim.a.path.set_remote_credentials(now, "bbbb", "bbbb-password-0123456789").expect("credentials");
    let mut answered = 0;
    while let Some(transmit) = pair.sim.a.path.poll_transmit(now) {
        answered += usize::from(is_success(&transmit.data));
        pair.sim.net.send(now, Side::A, transmit.data);
    }
    println!("credentials at 300 ms: {answered} held checks answered at once");
    assert!(answered >= 1, "no held check was answered");
    let connected = pair.connect(Duration::from_secs(5)).expect("connects");
    assert!(connected < Duration::from_millis(300 + 150), "{connected:?}");
}

#[test]
fn a_nomination_before_the_pair_succeeded_is_answered_when_it_does() {
    // A's answers to B's checks are lost until A nominates, so A's first nomination finds B's
    // pair not yet succeeded; every later nomination of A is lost too. B must answer the first
    // once its next check succeeds, or it never selects the pair.
    let mut pair = TestPair::new(Setup::default());
    let mut nominations = 0;
    pair.sim.net.set_filter(Side::A, move |_, datagram| {
        if is_success(datagram) && nominations == 0 {
            return Verdict::Drop;
        }
        if datagram.starts_with(&[0x00, 0x01]) && has_attribute(datagram, USE_CANDIDATE) {
            nominations += 1;
            if nominations > 1 {
                return Verdict::Drop;
            }
        }
        Verdict::Pass
    });
    let connected = pair.connect(Duration::from_secs(5));
    println!(
        "one nomination, to a pair not yet succeeded: connected after {connected:?} ({} datagrams of A dropped)",
        pair.sim.net.stats(Side::A).filtered.datagrams
    );
    assert!(connected.is_some(), "a {:?}\nb {:?}", pair.sim.a.events, pair.sim.b.events);
}
