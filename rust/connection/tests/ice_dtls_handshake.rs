//! The secure path's handshake (ICE, then DTLS) on a clean and a lossy link, on virtual time.

mod ice_dtls_support;

use std::time::Duration;

use ice_dtls_support::{Setup, TestPair};

#[test]
fn handshake_on_a_clean_link() {
    let mut pair = TestPair::new(Setup::default());
    let connected = pair.connect(Duration::from_secs(5));
    println!(
        "clean link, 20 ms one way: connected after {connected:?} (a at {:?}, b at {:?}); datagrams a {} b {}",
        pair.a.connected_at(),
        pair.b.connected_at(),
        pair.a.sent,
        pair.b.sent
    );
    let connected = connected.expect("both sides connect");
    assert!(connected < Duration::from_millis(500), "{connected:?}");
}
