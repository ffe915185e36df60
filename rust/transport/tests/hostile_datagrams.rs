//! A connection keeps working while another socket floods it with garbage datagrams, including
//! ones that look like STUN, DTLS and TURN ChannelData (seeded, so a failure can be replayed);
//! DTLS reaches the core only from addresses that passed a connectivity check (a third socket's
//! is dropped; a relay's, which passed, is not).

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{forward, loopback_config, LOOPBACK};
use transport::{ChannelOptions, ChannelState, DataChannel, PeerConnection};

const DEADLINE: Duration = Duration::from_secs(20);
/// Garbage datagrams sent to each side.
const DATAGRAMS: usize = 20_000;

/// A small seeded generator (xorshift64*), so that the flood is the same on every run.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// One garbage datagram: random bytes behind a STUN, DTLS, ChannelData or no header.
fn garbage(random: &mut Seeded) -> Vec<u8> {
    let length = match random.below(4) {
        0 => random.below(24),
        1 => random.below(200),
        _ => random.below(1500),
    };
    let mut datagram: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
    let header: &[u8] = match random.below(5) {
        0 => &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42],
        1 => &[0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42],
        2 => &[0x16, 0xfe, 0xfd, 0x00, 0x00],
        3 => &[0x17, 0xfe, 0xfd, 0x00, 0x01],
        _ => &[0x40, 0x00, 0x00, 0x10],
    };
    for (slot, byte) in datagram.iter_mut().zip(header) {
        *slot = *byte;
    }
    datagram
}

fn pump_until(a: &mut PeerConnection, b: &mut PeerConnection, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        forward(a, b);
        forward(b, a);
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn exchange(a: &mut PeerConnection, b: &mut PeerConnection, ca: &DataChannel, cb: &DataChannel, round: u8) {
    ca.send(&[round; 100], false).expect("send");
    cb.send(&[round; 200], false).expect("send");
    let (mut got_a, mut got_b) = (false, false);
    pump_until(a, b, "a message each way", || {
        got_a |= ca.recv().is_some_and(|packet| packet.data.len() == 200);
        got_b |= cb.recv().is_some_and(|packet| packet.data.len() == 100);
        got_a && got_b
    });
}

/// Panics on any thread, the runtime's included (whose panics would otherwise only end a task).
static PANICS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn garbage_datagrams_neither_crash_nor_stop_a_connection() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        report(info);
    }));
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let negotiated = ChannelOptions { negotiated_id: Some(2), ..Default::default() };
    let ca = a.create_data_channel("hostile", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("hostile", negotiated).expect("channel");
    a.create_offer().expect("offer");
    pump_until(&mut a, &mut b, "open channels", || {
        ca.ready_state() == ChannelState::Open && cb.ready_state() == ChannelState::Open
    });
    exchange(&mut a, &mut b, &ca, &cb, 1);
    let ports: Vec<u16> =
        [&a, &b].iter().filter_map(|connection| Some(connection.stats().selected_pair?.local.port)).collect();
    assert_eq!(ports.len(), 2, "both sides name their socket");
    let attacker = UdpSocket::bind((LOOPBACK, 0)).expect("a socket");
    let mut random = Seeded(0x5eed_1234_abcd_0001);
    for i in 0..DATAGRAMS {
        for port in &ports {
            let _ = attacker.send_to(&garbage(&mut random), SocketAddr::new(LOOPBACK, *port));
        }
        if i % 500 == 0 {
            forward(&mut a, &b);
            forward(&mut b, &a);
        }
    }
    // The connection is still up and carries messages both ways.
    exchange(&mut a, &mut b, &ca, &cb, 2);
    assert_eq!(ca.ready_state(), ChannelState::Open);
    assert_eq!(cb.ready_state(), ChannelState::Open);
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a thread panicked");
}

/// A DTLS record of `content_type` (handshake 22, alert 21, application data 23), epoch
/// `epoch`, carrying `body`.
fn dtls_record(content_type: u8, epoch: u16, body: &[u8]) -> Vec<u8> {
    let mut record = vec![content_type, 0xfe, 0xfd];
    record.extend(epoch.to_be_bytes());
    record.extend([0, 0, 0, 0, 0, 1]);
    record.extend(u16::try_from(body.len()).unwrap_or(u16::MAX).to_be_bytes());
    record.extend_from_slice(body);
    record
}

#[test]
fn dtls_from_an_address_that_passed_no_check_never_reaches_a_connected_pair() {
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let negotiated = ChannelOptions { negotiated_id: Some(4), ..Default::default() };
    let ca = a.create_data_channel("checked", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("checked", negotiated).expect("channel");
    a.create_offer().expect("offer");
    pump_until(&mut a, &mut b, "open channels", || {
        ca.ready_state() == ChannelState::Open && cb.ready_state() == ChannelState::Open
    });
    exchange(&mut a, &mut b, &ca, &cb, 1);
    let port = a.stats().selected_pair.expect("a selected pair").local.port;
    let before = a.stats();
    // ClientHellos (a new handshake), fatal alerts, and records of the connection's epoch: from
    // a third socket, which never took part in a check.
    let mut hello = vec![1, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0, 40];
    hello.resize(52, 7);
    let flood = [dtls_record(22, 0, &hello), dtls_record(21, 0, &[2, 40]), dtls_record(23, 1, &[9; 200])];
    let stranger = UdpSocket::bind((LOOPBACK, 0)).expect("a socket");
    let (mut sent_bytes, mut sent) = (0, 0);
    for round in 0..3000 {
        let datagram = &flood[round % flood.len()];
        if stranger.send_to(datagram, SocketAddr::new(LOOPBACK, port)).is_ok() {
            sent_bytes += datagram.len();
            sent += 1;
        }
        if round % 300 == 0 {
            forward(&mut a, &b);
            forward(&mut b, &a);
        }
    }
    exchange(&mut a, &mut b, &ca, &cb, 2);
    let after = a.stats();
    // The statistics count datagrams at the socket, the stranger's too; what matters is that the
    // core took none of them as the peer's: it answered none (no HelloVerifyRequest, no alert)
    // and the connection carried on.
    let (received, answered) =
        (after.packets_received - before.packets_received, after.packets_sent - before.packets_sent);
    eprintln!(
        "{sent} DTLS datagrams ({sent_bytes} bytes) from a stranger; {received} received, {answered} sent meanwhile"
    );
    assert_eq!(ca.ready_state(), ChannelState::Open);
    assert_eq!(a.connection_state(), transport::ConnectionState::Connected);
    assert!(answered < 100, "the stranger's datagrams were not answered ({answered} datagrams sent meanwhile)");
}

#[test]
fn a_pair_connects_and_talks_through_a_relay_whose_address_differs_from_the_peers() {
    // Each side's checks and DTLS come from a relay socket, not from the other side's own: that
    // address passes the checks, so its DTLS reaches the core.
    let mut pair = common::relay::RelayedPair::connected(21);
    pair.channels[0].send(b"through the relay", false).expect("send");
    pair.pump_until("the message", |pair| {
        pair.channels[1].recv().is_some_and(|packet| packet.data[..] == b"through the relay"[..])
    });
    assert_eq!(pair.errors, [vec![], vec![]]);
}
