//! A path that goes silent: two connections talk through a UDP relay on 127.0.0.1 that can drop
//! everything. A short silence must pass unseen; a lasting one must read `disconnected`.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{loopback_config, LOOPBACK};

use transport::{ChannelOptions, ChannelState, ConnectionState, DataChannel, PeerConnection, PeerEvent, SdpKind};

const DEADLINE: Duration = Duration::from_secs(20);

/// What one side of the relay stands for: the socket the other connection talks to, the real
/// address behind it, and how many STUN binding requests came from it.
struct Side {
    socket: UdpSocket,
    real: Mutex<Option<SocketAddr>>,
    binding_requests: AtomicUsize,
}

/// Two sockets standing in for two connections, forwarding between them unless `silent`.
struct Relay {
    sides: Arc<[Side; 2]>,
    silent: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    fn new() -> Self {
        let side = || {
            let socket = UdpSocket::bind((LOOPBACK, 0)).expect("relay socket");
            socket.set_nonblocking(true).expect("nonblocking");
            Side { socket, real: Mutex::new(None), binding_requests: AtomicUsize::new(0) }
        };
        let sides = Arc::new([side(), side()]);
        let silent = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (sides, silent, stop) = (sides.clone(), silent.clone(), stop.clone());
            std::thread::spawn(move || forward_datagrams(&sides, &silent, &stop))
        };
        Self { sides, silent, stop, thread: Some(thread) }
    }

    /// Rewrites a candidate of connection `side` to the relay's address for it.
    fn stand_in(&self, side: usize, candidate: &str) -> String {
        let mut fields: Vec<String> = candidate.split(' ').map(str::to_owned).collect();
        let real: SocketAddr = format!("{}:{}", fields[4], fields[5]).parse().expect("a host candidate");
        *self.sides[side].real.lock().unwrap() = Some(real);
        fields[4] = LOOPBACK.to_string();
        fields[5] = self.sides[side].socket.local_addr().unwrap().port().to_string();
        fields.join(" ")
    }

    fn binding_requests(&self, side: usize) -> usize {
        self.sides[side].binding_requests.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The relay's loop: a datagram on side `s`'s socket comes from the other connection and goes to
/// connection `s` from the other side's socket, so each connection sees the address it was told.
fn forward_datagrams(sides: &[Side; 2], silent: &AtomicBool, stop: &AtomicBool) {
    let started = Instant::now();
    let mut buffer = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(120) {
        let mut idle = true;
        for (to, from) in [(0, 1), (1, 0)] {
            while let Ok((len, _)) = sides[to].socket.recv_from(&mut buffer) {
                idle = false;
                let datagram = &buffer[..len];
                let is_binding_request =
                    len >= 8 && datagram[..2] == [0, 1] && datagram[4..8] == [0x21, 0x12, 0xa4, 0x42];
                if is_binding_request {
                    sides[from].binding_requests.fetch_add(1, Ordering::Relaxed);
                }
                let destination = *sides[to].real.lock().unwrap();
                if let (false, Some(destination)) = (silent.load(Ordering::Relaxed), destination) {
                    let _ = sides[from].socket.send_to(datagram, destination);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Two connected connections with an open negotiated channel each, through a relay.
struct Pair {
    connections: [PeerConnection; 2],
    channels: [DataChannel; 2],
    relay: Relay,
}

impl Pair {
    fn connected() -> Self {
        let mut connections = [0, 1].map(|_| PeerConnection::new(loopback_config()).expect("connection"));
        let options = || ChannelOptions { negotiated_id: Some(1), ..Default::default() };
        let channels = [0, 1].map(|side| connections[side].create_data_channel("data", options()).unwrap());
        connections[0].create_offer().unwrap();
        let mut pair = Self { connections, channels, relay: Relay::new() };
        pair.pump_until("both sides connected with their channels open", |pair| {
            (0..2).all(|side| {
                pair.connections[side].connection_state() == ConnectionState::Connected
                    && pair.channels[side].ready_state() == ChannelState::Open
            })
        });
        pair
    }

    /// Hands each side's signaling to the other, candidates pointed at the relay.
    fn pump(&mut self) {
        for (from, to) in [(0, 1), (1, 0)] {
            for event in self.connections[from].poll() {
                match event {
                    PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                        if kind == SdpKind::Offer {
                            self.connections[from].set_local_description(kind, sdp.clone()).expect("local offer");
                        }
                        let sdp = sdp
                            .lines()
                            .map(|line| match line.strip_prefix("a=") {
                                Some(candidate) if candidate.starts_with("candidate:") => {
                                    format!("a={}", self.relay.stand_in(from, candidate))
                                }
                                _ => line.to_owned(),
                            })
                            .collect::<Vec<_>>()
                            .join("\r\n")
                            + "\r\n";
                        self.connections[to].set_remote_description(kind, sdp).expect("remote description");
                    }
                    PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                        let candidate = self.relay.stand_in(from, &candidate);
                        self.connections[to].add_ice_candidate(&mid, index, &candidate).expect("candidate");
                    }
                    PeerEvent::Error(text) => panic!("transport error: {text}"),
                    _ => {}
                }
            }
        }
    }

    fn pump_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            self.pump();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn states(&self) -> [ConnectionState; 2] {
        [0, 1].map(|side| self.connections[side].connection_state())
    }
}

#[test]
fn consent_checks_go_about_twice_a_second_on_an_idle_path() {
    let mut pair = Pair::connected();
    let before = [0, 1].map(|side| pair.relay.binding_requests(side));
    let start = Instant::now();
    pair.pump_until("3 s to pass", |_| start.elapsed() >= Duration::from_secs(3));
    for (side, before) in before.into_iter().enumerate() {
        let sent = pair.relay.binding_requests(side) - before;
        // Every 500 ms: ~6 in 3 s. At the 2 s of rtc's default, 1 or 2.
        assert!(sent >= 4, "side {side} sent {sent} binding requests in 3 s");
    }
}

#[test]
fn a_four_second_silence_passes_unseen_and_loses_nothing() {
    let mut pair = Pair::connected();
    // Not at once: the checks that connected the pair would make any interval look short.
    let connected = Instant::now();
    pair.pump_until("1.2 s to pass", |_| connected.elapsed() >= Duration::from_millis(1200));
    pair.relay.silent.store(true, Ordering::Relaxed);
    let silence = Instant::now();
    let mut sent = 0u32;
    pair.pump_until("4 s of silence", |pair| {
        assert_eq!(pair.states(), [ConnectionState::Connected; 2], "{:?} into the silence", silence.elapsed());
        if silence.elapsed() >= Duration::from_millis(100) * sent {
            pair.channels[0].send(&sent.to_le_bytes(), false).unwrap();
            sent += 1;
        }
        silence.elapsed() >= Duration::from_secs(4)
    });
    pair.relay.silent.store(false, Ordering::Relaxed);
    let mut received = Vec::new();
    pair.pump_until("every message sent during the silence", |pair| {
        assert_eq!(pair.states(), [ConnectionState::Connected; 2]);
        while let Some(packet) = pair.channels[1].recv() {
            received.push(u32::from_le_bytes(packet.data[..].try_into().unwrap()));
        }
        received.len() == sent as usize
    });
    assert_eq!(received, (0..sent).collect::<Vec<_>>());
}

#[test]
fn a_lasting_silence_reads_disconnected_after_about_five_seconds() {
    let mut pair = Pair::connected();
    pair.relay.silent.store(true, Ordering::Relaxed);
    let silence = Instant::now();
    pair.pump_until("both sides to read disconnected", |pair| pair.states() == [ConnectionState::Disconnected; 2]);
    assert!(silence.elapsed() >= Duration::from_secs(4), "disconnected after {:?}", silence.elapsed());
    assert_eq!(pair.channels[0].ready_state(), ChannelState::Open, "only the mesh above closes the peer");
}
