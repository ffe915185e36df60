//! A hostile remote description cannot aim many connectivity checks at addresses of its choosing:
//! an offer with 1000 candidates (in the description, or trickled after it) pointing at sockets
//! of this test, which count the STUN binding requests they receive. Remote candidates past the
//! connection's cap are refused, and the checks per second stay under the connection's ceiling.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{loopback_config, LOOPBACK};
use transport::{PeerConnection, PeerEvent, SdpKind, TransportError};

const DEADLINE: Duration = Duration::from_secs(20);
/// Candidates the hostile offer carries, each at its own socket of the test.
const CANDIDATES: usize = 1000;
/// Remote candidates a connection takes at most (the transport's documented cap).
const MAX_REMOTE_CANDIDATES: usize = 64;
/// Checks a connection sends per second at most, and its burst (the transport's documented
/// ceiling): any one second sees at most their sum.
const CHECKS_PER_SECOND: usize = 100;
const CHECK_BURST: usize = 20;
/// How long the checks are counted.
const WATCH: Duration = Duration::from_secs(3);
/// The counting slots' width.
const SLOT: Duration = Duration::from_millis(50);

/// A valid offer of another connection, with no candidates.
fn offer() -> String {
    let mut other = PeerConnection::new(loopback_config()).expect("connection");
    other.create_data_channel("data", Default::default()).expect("channel");
    other.create_offer().expect("offer");
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < DEADLINE, "no offer");
        for event in other.poll() {
            if let PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp } = event {
                return sdp;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The candidate line for `socket`, the `n`th: a host candidate, priorities falling.
fn candidate(n: usize, socket: &UdpSocket) -> String {
    let port = socket.local_addr().expect("an address").port();
    format!("candidate:{n} 1 udp {} {LOOPBACK} {port} typ host", 2_000_000_000 - n)
}

/// The targets: one socket per candidate.
fn targets() -> Vec<UdpSocket> {
    (0..CANDIDATES)
        .map(|_| {
            let socket = UdpSocket::bind((LOOPBACK, 0)).expect("a socket");
            socket.set_nonblocking(true).expect("nonblocking");
            socket
        })
        .collect()
}

/// What the targets saw.
#[derive(Debug)]
struct Seen {
    /// Binding requests in all.
    requests: usize,
    /// The most in any one second (over a sliding window of slots).
    most_in_a_second: usize,
    /// Targets that received any.
    targets_checked: usize,
}

/// Counts the binding requests the targets receive for [`WATCH`], pumping `connection`.
fn watch(connection: &mut PeerConnection, targets: &[UdpSocket]) -> Seen {
    let slots = usize::try_from(WATCH.as_millis() / SLOT.as_millis()).unwrap_or(1);
    let mut per_slot = vec![0usize; slots];
    let mut checked = vec![false; targets.len()];
    let mut buffer = [0u8; 2048];
    let started = Instant::now();
    while started.elapsed() < WATCH {
        let slot = usize::try_from(started.elapsed().as_millis() / SLOT.as_millis()).unwrap_or(0).min(slots - 1);
        for (index, target) in targets.iter().enumerate() {
            while let Ok((length, _)) = target.recv_from(&mut buffer) {
                if length >= 20 && buffer[..2] == [0x00, 0x01] && buffer[4..8] == [0x21, 0x12, 0xA4, 0x42] {
                    per_slot[slot] += 1;
                    checked[index] = true;
                }
            }
        }
        connection.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    let window = usize::try_from(Duration::from_secs(1).as_millis() / SLOT.as_millis()).unwrap_or(1);
    Seen {
        requests: per_slot.iter().sum(),
        most_in_a_second: per_slot.windows(window).map(|slots| slots.iter().sum()).max().unwrap_or(0),
        targets_checked: checked.iter().filter(|checked| **checked).count(),
    }
}

fn assert_bounded(seen: &Seen) {
    assert!(seen.targets_checked > 0, "the connection checks its remote candidates: {seen:?}");
    assert!(seen.targets_checked <= MAX_REMOTE_CANDIDATES, "candidates past the cap are not checked: {seen:?}");
    assert!(seen.requests >= seen.most_in_a_second);
    // A window of slots spans up to one second and one slot; 10% of slack for timer jitter.
    let ceiling = CHECKS_PER_SECOND * 11 / 10 + CHECK_BURST;
    assert!(seen.most_in_a_second <= ceiling, "checks stay under the ceiling: {seen:?}");
}

#[test]
fn candidates_in_a_hostile_offer_are_capped_and_checked_at_a_bounded_pace() {
    let targets = targets();
    let mut sdp = offer();
    for (n, target) in targets.iter().enumerate() {
        sdp.push_str(&format!("a={}\r\n", candidate(n, target)));
    }
    let mut connection = PeerConnection::new(loopback_config()).expect("connection");
    connection.set_remote_description(SdpKind::Offer, sdp).expect("the offer is taken, up to the cap");
    let seen = watch(&mut connection, &targets);
    eprintln!("{CANDIDATES} candidates in the offer: {seen:?}");
    assert_bounded(&seen);
}

#[test]
fn trickled_candidates_past_the_cap_are_refused_and_checked_at_a_bounded_pace() {
    let targets = targets();
    let mut connection = PeerConnection::new(loopback_config()).expect("connection");
    connection.set_remote_description(SdpKind::Offer, offer()).expect("the offer");
    let (mut taken, mut refused) = (0, 0);
    for (n, target) in targets.iter().enumerate() {
        match connection.add_ice_candidate("0", 0, &candidate(n, target)) {
            Ok(()) => taken += 1,
            Err(TransportError::TooManyCandidates(_)) => refused += 1,
            Err(error) => panic!("unexpected error: {error}"),
        }
    }
    eprintln!("{CANDIDATES} candidates trickled: {taken} taken, {refused} refused");
    let seen = watch(&mut connection, &targets);
    eprintln!("{CANDIDATES} candidates trickled: {seen:?}");
    assert_eq!(taken, MAX_REMOTE_CANDIDATES);
    assert_eq!(refused, CANDIDATES - MAX_REMOTE_CANDIDATES);
    assert_bounded(&seen);
}

/// Hands `from`'s signaling to `to`, the dead candidates in `sinks` before its first candidate.
fn hand_over(from: &mut PeerConnection, to: &PeerConnection, sinks: &[UdpSocket], dead_sent: &mut bool) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                to.set_remote_description(kind, sdp).expect("remote description");
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                if !*dead_sent {
                    *dead_sent = true;
                    for (n, sink) in sinks.iter().enumerate() {
                        to.add_ice_candidate(&mid, index, &self::candidate(1000 + n, sink)).expect("candidate");
                    }
                }
                to.add_ice_candidate(&mid, index, &candidate).expect("candidate");
            }
            PeerEvent::Error(error) => panic!("transport error: {error}"),
            _ => {}
        }
    }
}

/// Connects `a` and `b` over loopback, each first hearing `dead` candidates of the other's that
/// lead nowhere (sockets that never answer), with higher priorities than the real one; returns
/// how long it took, from the offer to both channels open.
fn connect_with_dead_candidates(dead: usize) -> Duration {
    let sinks: Vec<UdpSocket> = (0..dead).map(|_| UdpSocket::bind((LOOPBACK, 0)).expect("a socket")).collect();
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let negotiated = transport::ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let ca = a.create_data_channel("data", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("data", negotiated).expect("channel");
    let started = Instant::now();
    a.create_offer().expect("offer");
    let (mut dead_to_b, mut dead_to_a) = (false, false);
    loop {
        assert!(started.elapsed() < DEADLINE, "no connection with {dead} dead candidates");
        hand_over(&mut a, &b, &sinks, &mut dead_to_b);
        hand_over(&mut b, &a, &sinks, &mut dead_to_a);
        if ca.ready_state() == transport::ChannelState::Open && cb.ready_state() == transport::ChannelState::Open {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The median of `runs` connections' setup times.
fn median_connect(dead: usize, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| connect_with_dead_candidates(dead)).collect();
    times.sort();
    times[runs / 2]
}

#[test]
fn pacing_keeps_setup_fast_with_one_or_many_candidates() {
    let direct = median_connect(0, 15);
    // Dead candidates signaled first to each side (higher priorities, so the agent checks them
    // first): a peer with several unreachable interfaces, and one with far more than any has.
    let few = median_connect(8, 9);
    let many = median_connect(40, 9);
    eprintln!("median setup over loopback: {direct:?} direct, {few:?} behind 8 dead candidates, {many:?} behind 40");
    assert!(many < Duration::from_secs(5), "the working pair is not starved by the dead ones");
}
