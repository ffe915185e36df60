//! ICE role conflicts (RFC 8445 7.3.1.1): both sides claiming one role still connect, one side
//! switching.

mod ice_dtls_support;

use std::time::Duration;

use connection::ice_dtls::SecurePathEvent;
use ice_dtls_support::{Peer, Setup, TestPair};

fn switches(peer: &Peer) -> usize {
    peer.events.iter().filter(|(_, event)| matches!(event, SecurePathEvent::IceRoleChanged { .. })).count()
}

fn conflict(controlling: bool, loss: f64) {
    for seed in 0..5 {
        let mut pair =
            TestPair::new(Setup { a_controlling: controlling, b_controlling: controlling, ..Setup::lossy(seed, loss) });
        let connected = pair.connect(Duration::from_secs(10));
        let (a, b) = (switches(&pair.sim.a), switches(&pair.sim.b));
        println!("both controlling={controlling}, loss {loss}, seed {seed}: connected after {connected:?}, switches a {a} b {b}");
        assert!(connected.is_some(), "a {:?}\nb {:?}", pair.sim.a.events, pair.sim.b.events);
        assert_eq!(a + b, 1, "exactly one side switches");
    }
}

#[test]
fn both_controlling_connect() {
    conflict(true, 0.0);
}

#[test]
fn both_controlled_connect() {
    conflict(false, 0.0);
}

#[test]
fn role_conflict_under_loss() {
    conflict(true, 0.2);
    conflict(false, 0.2);
}

#[test]
fn a_487_answer_alone_resolves_the_conflict() {
    // Both claim controlling, and B's own checks do not reach A for the first 300 ms: A can learn
    // of the conflict only from B's 487 answers (as from a peer that answers 487 and keeps its
    // role, RFC 8445 7.3.1.1). Whichever side the tie-breakers make switch, it switches before
    // B's checks get through.
    for seed in 0..5 {
        let mut pair = TestPair::new(Setup { a_controlling: true, b_controlling: true, ..Setup::lossy(seed, 0.0) });
        let start = pair.start;
        pair.sim.net.set_filter(netsim::Side::B, move |at, datagram| {
            let check = datagram.starts_with(&[0x00, 0x01]);
            if check && at < start + Duration::from_millis(300) {
                netsim::Verdict::Drop
            } else {
                netsim::Verdict::Pass
            }
        });
        let connected = pair.connect(Duration::from_secs(5));
        let switched_at = [&pair.sim.a, &pair.sim.b]
            .iter()
            .flat_map(|peer| peer.events.iter())
            .find_map(|(at, event)| matches!(event, SecurePathEvent::IceRoleChanged { .. }).then_some(*at));
        println!(
            "B's checks held back 300 ms, seed {seed}: switches a {} b {}, first at {switched_at:?}, connected after {connected:?}",
            switches(&pair.sim.a),
            switches(&pair.sim.b)
        );
        assert!(connected.is_some());
        assert_eq!(switches(&pair.sim.a) + switches(&pair.sim.b), 1);
        assert!(switched_at.is_some_and(|at| at < Duration::from_millis(300)), "{switched_at:?}");
    }
}
