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
