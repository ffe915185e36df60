//! A stranger (an address that never passed a check) floods a connecting path with DTLS-looking
//! datagrams before ICE selected a pair: the store of early datagrams (8 kept) must not let
//! the flood push out the peer's own early ClientHello, or every handshake waits a DTLS
//! retransmission longer. (Held: in these runs the ClientHello never came early enough to
//! be pushed out; the test stays as the measurement.)

mod ice_dtls_support;

use std::net::SocketAddr;
use std::time::Duration;

use ice_dtls_support::{Setup, TestPair};

/// Connects a pair of `seed` with 10 ms one way, with or without the flood; the time it took.
fn connect(seed: u64, flood: bool) -> Duration {
    let link =
        netsim::LinkConfig::default().with_latency(Duration::from_millis(10)).with_jitter(Duration::from_millis(8));
    let mut pair = TestPair::new(Setup { seed, link, ..Setup::default() });
    let stranger: SocketAddr = ([10, 0, 0, 9], 9999).into();
    for _ in 0..3000 {
        if let Some(connected) = pair.connect(Duration::ZERO) {
            return connected;
        }
        if flood {
            let now = pair.now();
            for peer in [&mut pair.sim.a, &mut pair.sim.b] {
                let local = peer.address;
                for index in 0..8u8 {
                    let hello = [22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, index, 0, 1, 1];
                    peer.path.handle_datagram(now, local, stranger, &hello);
                }
            }
        }
        pair.sim.run_for(Duration::from_millis(1));
    }
    panic!("seed {seed}: not connected in 3 s (flood {flood})");
}

#[test]
fn a_flood_of_early_datagrams_from_a_stranger_delays_no_handshake() {
    let mut worst_delay = Duration::ZERO;
    for seed in 0..10 {
        let (calm, flooded) = (connect(seed, false), connect(seed, true));
        println!("seed {seed}: connected in {calm:?}, {flooded:?} under the flood");
        worst_delay = worst_delay.max(flooded.saturating_sub(calm));
    }
    assert!(worst_delay <= Duration::from_millis(20), "the flood delayed a handshake by {worst_delay:?}");
}
