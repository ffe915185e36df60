//! Two connections of one process talking through a UDP relay on 127.0.0.1 that drops a share
//! of what it forwards (all of it, for a silence) and counts what it sees.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use transport::{
    ChannelOptions, ChannelState, ConnectionState, DataChannel, PeerConnection, PeerEvent, SdpKind, TransportError,
};

use super::{loopback_config, LOOPBACK};

/// How long a test waits for anything.
const DEADLINE: Duration = Duration::from_secs(30);
/// How long the relay runs at most.
const RELAY_LIMIT: Duration = Duration::from_secs(180);
/// Bytes of DTLS handshake datagrams kept per side (a handshake's are a few KiB).
const MAX_HANDSHAKE_BYTES: usize = 64 * 1024;

/// What one side of the relay stands for: the socket the other connection talks to, the real
/// address behind it, and what came from that address.
struct Side {
    socket: UdpSocket,
    real: Mutex<Option<SocketAddr>>,
    binding_requests: AtomicUsize,
    data_datagrams: AtomicUsize,
    repeated_data_datagrams: AtomicUsize,
    handshake: Mutex<Vec<u8>>,
    /// Changes the relay makes to what the connection sent, before forwarding it.
    rewrite: Mutex<Option<Rewrite>>,
}

/// A change the relay makes to a datagram before forwarding it.
pub(crate) type Rewrite = fn(&mut [u8]);

/// What a side sent that the relay saw (before it dropped any).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    /// STUN binding requests.
    pub(crate) binding_requests: usize,
    /// DTLS application-data datagrams.
    pub(crate) data_datagrams: usize,
    /// Of those, the ones that repeated the previous datagram byte for byte.
    pub(crate) repeated_data_datagrams: usize,
}

/// Two sockets standing in for two connections, forwarding between them; `loss_percent` of the
/// datagrams (a seeded choice) are dropped, and every DTLS datagram while `drop_dtls`.
pub(crate) struct Relay {
    sides: Arc<[Side; 2]>,
    loss_percent: Arc<AtomicU8>,
    drop_dtls: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    pub(crate) fn new(seed: u64) -> Self {
        let side = || {
            let socket = UdpSocket::bind((LOOPBACK, 0)).expect("relay socket");
            socket.set_nonblocking(true).expect("nonblocking");
            Side {
                socket,
                real: Mutex::new(None),
                binding_requests: AtomicUsize::new(0),
                data_datagrams: AtomicUsize::new(0),
                repeated_data_datagrams: AtomicUsize::new(0),
                handshake: Mutex::new(Vec::new()),
                rewrite: Mutex::new(None),
            }
        };
        let sides = Arc::new([side(), side()]);
        let loss_percent = Arc::new(AtomicU8::new(0));
        let drop_dtls = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (sides, loss_percent, drop_dtls, stop) =
                (sides.clone(), loss_percent.clone(), drop_dtls.clone(), stop.clone());
            std::thread::spawn(move || forward_datagrams(&sides, &loss_percent, &drop_dtls, &stop, seed))
        };
        Self { sides, loss_percent, drop_dtls, stop, thread: Some(thread) }
    }

    /// Drops `percent` of the datagrams each way from now on (100: a silence).
    pub(crate) fn set_loss(&self, percent: u8) {
        self.loss_percent.store(percent, Ordering::Relaxed);
    }

    /// Drops every DTLS datagram (first byte 20-63, RFC 7983) from now on, or none.
    pub(crate) fn set_drop_dtls(&self, drop: bool) {
        self.drop_dtls.store(drop, Ordering::Relaxed);
    }

    /// What connection `side` sent so far.
    pub(crate) fn seen(&self, side: usize) -> Seen {
        let side = &self.sides[side];
        Seen {
            binding_requests: side.binding_requests.load(Ordering::Relaxed),
            data_datagrams: side.data_datagrams.load(Ordering::Relaxed),
            repeated_data_datagrams: side.repeated_data_datagrams.load(Ordering::Relaxed),
        }
    }

    /// Changes every datagram connection `side` sends from now on with `rewrite` (after counting
    /// it), as someone on the path could.
    pub(crate) fn set_rewrite(&self, side: usize, rewrite: Rewrite) {
        *self.sides[side].rewrite.lock().unwrap() = Some(rewrite);
    }

    /// The DTLS handshake datagrams (content type 22) connection `side` sent, one after the other
    /// (the first 64 KiB).
    pub(crate) fn handshake(&self, side: usize) -> Vec<u8> {
        self.sides[side].handshake.lock().unwrap().clone()
    }

    /// Rewrites a candidate of connection `side` to the relay's address for it.
    pub(crate) fn stand_in(&self, side: usize, candidate: &str) -> String {
        let mut fields: Vec<String> = candidate.split(' ').map(str::to_owned).collect();
        let real: SocketAddr = format!("{}:{}", fields[4], fields[5]).parse().expect("a host candidate");
        *self.sides[side].real.lock().unwrap() = Some(real);
        fields[4] = LOOPBACK.to_string();
        fields[5] = self.sides[side].socket.local_addr().unwrap().port().to_string();
        fields.join(" ")
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

/// The relay's loop: a datagram on side `to`'s socket comes from the other connection and goes
/// to connection `to` from the other side's socket, so each connection sees the address it was
/// told.
fn forward_datagrams(sides: &[Side; 2], loss_percent: &AtomicU8, drop_dtls: &AtomicBool, stop: &AtomicBool, seed: u64) {
    let started = Instant::now();
    let mut buffer = [0u8; 2048];
    let mut previous: [Vec<u8>; 2] = Default::default();
    let mut random = seed | 1;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < RELAY_LIMIT {
        let mut idle = true;
        for (to, from) in [(0, 1), (1, 0)] {
            while let Ok((len, _)) = sides[to].socket.recv_from(&mut buffer) {
                idle = false;
                let datagram = &mut buffer[..len];
                count(&sides[from], datagram, &mut previous[from]);
                if let Some(rewrite) = *sides[from].rewrite.lock().unwrap() {
                    rewrite(datagram);
                }
                let datagram = &buffer[..len];
                // xorshift64: a repeatable choice of what to drop.
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                let dropped = random % 100 < u64::from(loss_percent.load(Ordering::Relaxed))
                    || (drop_dtls.load(Ordering::Relaxed) && matches!(datagram.first(), Some(20..=63)));
                let destination = *sides[to].real.lock().unwrap();
                if let (false, Some(destination)) = (dropped, destination) {
                    let _ = sides[from].socket.send_to(datagram, destination);
                }
            }
        }
        if idle {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Counts a datagram `side` sent.
fn count(side: &Side, datagram: &[u8], previous: &mut Vec<u8>) {
    let is_binding_request =
        datagram.len() >= 8 && datagram[..2] == [0, 1] && datagram[4..8] == [0x21, 0x12, 0xa4, 0x42];
    if is_binding_request {
        side.binding_requests.fetch_add(1, Ordering::Relaxed);
    }
    if datagram.first() == Some(&22) {
        let mut handshake = side.handshake.lock().unwrap();
        if handshake.len() + datagram.len() <= MAX_HANDSHAKE_BYTES {
            handshake.extend_from_slice(datagram);
        }
    }
    if datagram.first() == Some(&23) {
        side.data_datagrams.fetch_add(1, Ordering::Relaxed);
        if datagram == &previous[..] {
            side.repeated_data_datagrams.fetch_add(1, Ordering::Relaxed);
        }
    }
    previous.clear();
    previous.extend_from_slice(datagram);
}

/// Two connected connections with an open negotiated channel each, through a relay.
pub(crate) struct RelayedPair {
    pub(crate) connections: [PeerConnection; 2],
    pub(crate) channels: [DataChannel; 2],
    pub(crate) relay: Relay,
    /// The errors each side reported.
    pub(crate) errors: [Vec<TransportError>; 2],
}

impl RelayedPair {
    /// Starts connecting two connections through a new relay whose drops follow `seed`.
    pub(crate) fn connecting(seed: u64) -> Self {
        let mut connections = [0, 1].map(|_| PeerConnection::new(loopback_config()).expect("connection"));
        let options = || ChannelOptions { negotiated_id: Some(1), ..Default::default() };
        let channels = [0, 1].map(|side| connections[side].create_data_channel("data", options()).unwrap());
        connections[0].create_offer().unwrap();
        Self { connections, channels, relay: Relay::new(seed), errors: Default::default() }
    }

    /// Connects two connections through a new relay whose drops follow `seed`.
    pub(crate) fn connected(seed: u64) -> Self {
        let mut pair = Self::connecting(seed);
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
                    PeerEvent::Error(error) => self.errors[from].push(error),
                    _ => {}
                }
            }
        }
    }

    /// Pumps both sides every 2 ms until `done`, then once more (states read live may change
    /// before a poll hands over the events that came with them); panics after 30 s. Errors the
    /// sides report are kept in `errors`.
    pub(crate) fn pump_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            self.pump();
            std::thread::sleep(Duration::from_millis(2));
        }
        self.pump();
    }

    /// Both sides' connection states.
    pub(crate) fn states(&self) -> [ConnectionState; 2] {
        [0, 1].map(|side| self.connections[side].connection_state())
    }
}
