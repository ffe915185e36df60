//! Strangers' datagrams sent at a connection that is still connecting cost it little memory: the
//! issue's two attacks (50,000 ClientHellos from as many addresses; one 64 KB ClientHello and
//! 1000 fake 20-byte STUN success responses from one address), then the connection still
//! connects and carries messages. One test per binary, so that the process's peak resident memory
//! is this test's.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{hand_over, loopback_config};
use transport::{ChannelOptions, ChannelState, PeerConnection, PeerEvent, SdpKind};

const DEADLINE: Duration = Duration::from_secs(30);
/// Spoofed ClientHellos, each from its own address.
const HELLOS: usize = 50_000;
/// Bytes of each of those.
const HELLO_BYTES: usize = 1200;
/// Bytes of the one large ClientHello (about the most one UDP datagram carries).
const LARGE_HELLO_BYTES: usize = 65_000;
/// Fake STUN success responses sent behind it.
const FAKE_ANSWERS: usize = 1000;
/// Peak resident memory the attacks may add, in bytes: the stores hold a few kilobytes, and
/// the rest is slack for the allocator, the sockets' buffers and the runtime (generous, for a
/// loaded machine). Before the stores were capped, the attacks added about 60 and 65 MB.
const MAX_GROWTH: u64 = 16 * 1024 * 1024;

/// A DTLS record carrying a ClientHello with message_seq 0, `length` bytes in all.
fn client_hello(length: usize) -> Vec<u8> {
    let body = u16::try_from(length - 13).unwrap_or(u16::MAX);
    let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
    record.extend(body.to_be_bytes());
    record.extend([1, 0, 0, 30, 0, 0]);
    record.resize(length, 7);
    record
}

/// A 20-byte STUN binding success response with transaction id `n`.
fn fake_answer(n: usize) -> Vec<u8> {
    let mut message = vec![0x01, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42];
    message.extend_from_slice(&(n as u64).to_be_bytes());
    message.resize(20, 0);
    message
}

/// A field of /proc/self/status, in bytes.
fn memory(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kilobytes| kilobytes * 1024)
}

/// The port of the first host candidate among `events`.
fn host_port(events: &[PeerEvent]) -> Option<u16> {
    events.iter().find_map(|event| match event {
        PeerEvent::IceCandidateCreated { candidate, .. } => candidate.split_whitespace().nth(5)?.parse().ok(),
        _ => None,
    })
}

/// Sends the two attacks at `port` on 127.0.0.1, pumping `target` now and then.
fn attack(target: &mut PeerConnection, port: u16) {
    let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
    let attacker = UdpSocket::bind((Ipv4Addr::new(127, 2, 0, 1), 0)).expect("a socket");
    let _ = attacker.send_to(&client_hello(LARGE_HELLO_BYTES), to);
    std::thread::sleep(Duration::from_millis(2));
    for n in 0..FAKE_ANSWERS {
        let _ = attacker.send_to(&fake_answer(n), to);
    }
    for _ in 0..50 {
        target.poll();
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "a {LARGE_HELLO_BYTES}-byte hello and {FAKE_ANSWERS} fake answers sent: peak resident memory now {} KiB",
        memory("VmHWM") / 1024
    );
    let hello = client_hello(HELLO_BYTES);
    let started = Instant::now();
    for n in 0..HELLOS {
        // Each from its own address in 127.1.0.0/16 (all of 127/8 is this machine's).
        let [high, low] = u16::try_from(n + 1).unwrap_or(u16::MAX).to_be_bytes();
        let Ok(socket) = UdpSocket::bind((Ipv4Addr::new(127, 1, high, low), 0)) else { continue };
        let _ = socket.send_to(&hello, to);
        if n % 1000 == 0 {
            target.poll();
        }
    }
    for _ in 0..20 {
        target.poll();
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!(
        "{HELLOS} hellos of {HELLO_BYTES} bytes sent in {:?}: peak resident memory now {} KiB",
        started.elapsed(),
        memory("VmHWM") / 1024
    );
}

#[test]
fn strangers_datagrams_cost_a_connecting_connection_little_and_it_still_connects() {
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let negotiated = ChannelOptions { negotiated_id: Some(3), ..Default::default() };
    let ca = a.create_data_channel("data", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("data", negotiated).expect("channel");
    a.create_offer().expect("offer");
    // `a` applies its offer and gathers its candidate; `b` hears nothing of it yet.
    let (mut offer, mut held) = (None, Vec::new());
    let started = Instant::now();
    let port = loop {
        assert!(started.elapsed() < DEADLINE, "no host candidate");
        for event in a.poll() {
            match event {
                PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp } => {
                    a.set_local_description(SdpKind::Offer, sdp.clone()).expect("local offer");
                    offer = Some(sdp);
                }
                other => held.push(other),
            }
        }
        if let Some(port) = host_port(&held) {
            break port;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let before = (memory("VmHWM"), memory("VmRSS"));
    attack(&mut a, port);
    let after = (memory("VmHWM"), memory("VmRSS"));
    let growth = after.0.saturating_sub(before.0);
    eprintln!(
        "peak resident memory {} -> {} KiB (+{} KiB); resident {} -> {} KiB",
        before.0 / 1024,
        after.0 / 1024,
        growth / 1024,
        before.1 / 1024,
        after.1 / 1024
    );
    // The connection still connects, and carries messages both ways.
    b.set_remote_description(SdpKind::Offer, offer.expect("an offer")).expect("remote offer");
    hand_over(held, &a, &b);
    let started = Instant::now();
    let connected_in = loop {
        assert!(started.elapsed() < DEADLINE, "the connection did not open after the attacks");
        let events = a.poll();
        hand_over(events, &a, &b);
        let events = b.poll();
        hand_over(events, &b, &a);
        if ca.ready_state() == ChannelState::Open && cb.ready_state() == ChannelState::Open {
            break started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    eprintln!("connected {connected_in:?} after the attacks");
    ca.send(b"ping", false).expect("send");
    cb.send(b"pong", false).expect("send");
    let (mut got_a, mut got_b) = (false, false);
    let started = Instant::now();
    while !(got_a && got_b) {
        assert!(started.elapsed() < DEADLINE, "no message after the attacks");
        hand_over(a.poll(), &a, &b);
        hand_over(b.poll(), &b, &a);
        got_a |= ca.recv().is_some_and(|packet| packet.data[..] == b"pong"[..]);
        got_b |= cb.recv().is_some_and(|packet| packet.data[..] == b"ping"[..]);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(growth < MAX_GROWTH, "the attacks added {} KiB of peak resident memory", growth / 1024);
}
