//! Two `Connection`s joined by two simulated networks on virtual time, for `relay_path.rs`: the
//! direct one (ICE's pair, one host address each) and the relay (a member both reach: its
//! latency is the two hops'). Datagrams from `poll_transmit` go on the direct network, those from
//! `poll_relay_transmit` on the relay network; what arrives goes to `handle_datagram` and
//! `handle_relayed_datagram`. A tap keeps what crossed the relay, for a hostile relay to replay.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::channels::{ChannelId, ChannelOptions};
use connection::connection::{Connection, ConnectionConfig, ConnectionEvent, ConnectionState, DescriptionKind};
use connection::ice_dtls::{LocalCandidate, LocalCertificate};
use connection::sctp::SctpError;
use connection::sdp::CandidateKind;
use netsim::{LinkConfig, Network, Side};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Most steps one run takes (each moves time or delivers something).
const MAX_STEPS: usize = 2_000_000;
/// Most datagrams taken from one side per step and path.
const MAX_TRANSMITS: usize = 10_000;
/// Datagrams the tap keeps at most.
const MAX_TAPPED: usize = 4096;

/// One side: its connection and what it saw.
pub struct End {
    pub conn: Connection,
    pub address: SocketAddr,
    pub remote: SocketAddr,
    /// Every event but messages, with the time since the start.
    pub events: Vec<(Duration, ConnectionEvent)>,
    /// The sequence numbers of messages received, with the time since the start.
    pub arrivals: Vec<(Duration, u32)>,
    /// The channel messages are sent on (the one A opened, on both sides).
    pub channel: Option<ChannelId>,
    /// Messages sent so far by the pacer or the bulk sender.
    pub sent: u32,
}

impl End {
    fn take_events(&mut self, since: Duration) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ConnectionEvent::Message { data, .. } => {
                    let seq = data.get(..4).map_or(u32::MAX, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    self.arrivals.push((since, seq));
                }
                ConnectionEvent::RemoteChannel { id, .. } => {
                    self.channel = Some(id);
                    self.events.push((since, ConnectionEvent::RemoteChannel { id, options: Default::default() }));
                }
                ConnectionEvent::ChannelOpened(id) => {
                    self.channel = Some(id);
                    self.events.push((since, ConnectionEvent::ChannelOpened(id)));
                }
                event => self.events.push((since, event)),
            }
        }
    }

    /// When the first event matching `matches` came.
    pub fn first(&self, matches: impl Fn(&ConnectionEvent) -> bool) -> Option<Duration> {
        self.events.iter().find(|(_, event)| matches(event)).map(|(at, _)| *at)
    }

    /// Every event matching `matches`, with its time.
    pub fn all(&self, matches: impl Fn(&ConnectionEvent) -> bool) -> Vec<(Duration, ConnectionEvent)> {
        self.events.iter().filter(|(_, event)| matches(event)).cloned().collect()
    }

    pub fn failure(&self) -> Option<(Duration, ConnectionEvent)> {
        self.all(|event| matches!(event, ConnectionEvent::Failed(_))).into_iter().next()
    }

    pub fn connected_at(&self) -> Option<Duration> {
        self.first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Connected))
    }

    pub fn is_open(&self) -> bool {
        self.channel.is_some()
    }

    /// Sends message `seq` (its first 4 bytes) of `size` bytes; false when the send buffer is full.
    fn send(&mut self, now: Instant, seq: u32, size: usize) -> bool {
        let Some(channel) = self.channel else { return false };
        let mut data = vec![0x5A; size.max(4)];
        data[..4].copy_from_slice(&seq.to_be_bytes());
        match self.conn.send(now, channel, Bytes::from(data), true) {
            Ok(()) => true,
            Err(connection::connection::ConnectionError::Sctp(SctpError::SendBufferFull)) => false,
            Err(error) => panic!("send refused: {error}"),
        }
    }
}

/// What A sends, besides what the test does by hand.
#[derive(Debug, Clone, Copy)]
pub enum Workload {
    Idle,
    /// One message of `size` bytes every `interval` until `until` (since the start).
    Paced {
        interval: Duration,
        size: usize,
        until: Duration,
    },
    /// `total` messages of `size` bytes as fast as the send buffer takes them.
    Bulk {
        total: u32,
        size: usize,
    },
}

/// The two sides, the two networks, the virtual clock.
pub struct Relayed {
    pub a: End,
    pub c: End,
    pub direct: Network,
    pub relay: Network,
    pub start: Instant,
    pub now: Instant,
    pub workload: Workload,
    next_paced: Instant,
    /// Datagrams that crossed the relay (side sent from, bytes), up to [`MAX_TAPPED`].
    pub tapped: Vec<(Side, Vec<u8>)>,
    /// Every DTLS application-data datagram sent (first byte 23), up to [`MAX_SIZES`]: when
    /// (since the start), whether by the relay, its size.
    pub sizes: Vec<(Duration, bool, usize)>,
}

/// Datagram sizes [`Relayed::sizes`] keeps at most.
const MAX_SIZES: usize = 1_000_000;

/// One certificate per side for the whole test binary.
fn certificates() -> &'static (LocalCertificate, LocalCertificate) {
    static CERTIFICATES: OnceLock<(LocalCertificate, LocalCertificate)> = OnceLock::new();
    CERTIFICATES.get_or_init(|| {
        let make = || LocalCertificate::generate().expect("a certificate");
        (make(), make())
    })
}

/// How the pair is made.
#[derive(Clone, Copy)]
pub struct Options {
    pub seed: u64,
    /// A's `ConnectionConfig::relay`.
    pub a_relay: bool,
    /// C's `ConnectionConfig::relay`.
    pub c_relay: bool,
    pub direct: LinkConfig,
    pub relay: LinkConfig,
}

impl Options {
    /// Both announce relay; direct 15 ms one way (3 ms jitter), the relay 2 x 15 ms plus 1 ms of
    /// forwarding (5 ms jitter).
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            a_relay: true,
            c_relay: true,
            direct: LinkConfig::default().with_latency(Duration::from_millis(15)).with_jitter(Duration::from_millis(3)),
            relay: LinkConfig::default().with_latency(Duration::from_millis(31)).with_jitter(Duration::from_millis(5)),
        }
    }
}

impl Relayed {
    /// A offers (with one ordered reliable channel), C answers; candidates exchanged.
    pub fn new(options: Options) -> Self {
        let start = Instant::now();
        let a_address: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let c_address: SocketAddr = "10.0.0.3:50000".parse().unwrap();
        let (a_certificate, c_certificate) = certificates().clone();
        let config = |certificate: LocalCertificate, seed: u64, relay: bool| ConnectionConfig {
            certificate: Some(certificate),
            dtls_seed_for_tests: Some(seed),
            relay,
            ..ConnectionConfig::default()
        };
        let mut rng = StdRng::seed_from_u64(options.seed);
        let mut a = Connection::new(config(a_certificate, options.seed, options.a_relay), &mut rng, start).unwrap();
        let mut c =
            Connection::new(config(c_certificate, options.seed ^ 0x5555, options.c_relay), &mut rng, start).unwrap();
        a.open_channel(start, ChannelOptions { label: "game".into(), ..ChannelOptions::default() }).unwrap();
        let host = |address| LocalCandidate { kind: CandidateKind::Host, address, base: address };
        let offer = a.create_offer().unwrap();
        let a_candidate = a.add_local_candidate(start, host(a_address)).unwrap();
        c.set_remote_description(start, DescriptionKind::Offer, &offer).unwrap();
        c.add_remote_candidate(start, &a_candidate, Some("0"), Some(0)).unwrap();
        let answer = c.create_answer().unwrap();
        let c_candidate = c.add_local_candidate(start, host(c_address)).unwrap();
        a.set_remote_description(start, DescriptionKind::Answer, &answer).unwrap();
        a.add_remote_candidate(start, &c_candidate, Some("0"), Some(0)).unwrap();
        let end = |conn, address, remote| End {
            conn,
            address,
            remote,
            events: Vec::new(),
            arrivals: Vec::new(),
            channel: None,
            sent: 0,
        };
        let mut pair = Self {
            a: end(a, a_address, c_address),
            c: end(c, c_address, a_address),
            direct: Network::new(options.seed, options.direct, options.direct),
            relay: Network::new(options.seed ^ 0xAAAA, options.relay, options.relay),
            start,
            now: start,
            workload: Workload::Idle,
            next_paced: start,
            tapped: Vec::new(),
            sizes: Vec::new(),
        };
        pair.a.take_events(Duration::ZERO);
        pair.c.take_events(Duration::ZERO);
        pair
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Both sides say the relay exists (or not).
    pub fn set_relay(&mut self, available: bool) {
        let now = self.now;
        self.a.conn.set_relay_path(now, available);
        self.c.conn.set_relay_path(now, available);
        self.take_events();
    }

    /// Blocks or restores the direct network both ways.
    pub fn set_direct(&mut self, link: LinkConfig) {
        self.direct.set_link(Side::A, link);
        self.direct.set_link(Side::B, link);
    }

    /// Blocks or restores the relay network both ways.
    pub fn set_relay_link(&mut self, link: LinkConfig) {
        self.relay.set_link(Side::A, link);
        self.relay.set_link(Side::B, link);
    }

    /// Starts A's workload now.
    pub fn start_workload(&mut self, workload: Workload) {
        self.workload = workload;
        self.next_paced = self.now;
    }

    fn take_events(&mut self) {
        let since = self.elapsed();
        self.a.take_events(since);
        self.c.take_events(since);
    }

    fn run_workload(&mut self) {
        let now = self.now;
        match self.workload {
            Workload::Idle => {}
            Workload::Paced { interval, size, until } => {
                while self.next_paced <= now && self.next_paced < self.start + until {
                    if self.a.send(now, self.a.sent, size) {
                        self.a.sent += 1;
                    }
                    self.next_paced += interval;
                }
            }
            Workload::Bulk { total, size } => {
                while self.a.sent < total && self.a.send(now, self.a.sent, size) {
                    self.a.sent += 1;
                }
            }
        }
    }

    fn drain(&mut self) {
        let now = self.now;
        let since = now - self.start;
        let note = |sizes: &mut Vec<(Duration, bool, usize)>, relayed: bool, data: &[u8]| {
            if data.first() == Some(&23) && sizes.len() < MAX_SIZES {
                sizes.push((since, relayed, data.len()));
            }
        };
        for (end, side) in [(&mut self.a, Side::A), (&mut self.c, Side::B)] {
            for _ in 0..MAX_TRANSMITS {
                let Some(transmit) = end.conn.poll_transmit(now) else { break };
                assert_eq!((transmit.local, transmit.to), (end.address, end.remote), "a path the test lacks");
                note(&mut self.sizes, false, &transmit.data);
                self.direct.send(now, side, transmit.data);
            }
            for _ in 0..MAX_TRANSMITS {
                let Some(data) = end.conn.poll_relay_transmit(now) else { break };
                if self.tapped.len() < MAX_TAPPED {
                    self.tapped.push((side, data.clone()));
                }
                note(&mut self.sizes, true, &data);
                self.relay.send(now, side, data);
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let paced = match self.workload {
            Workload::Paced { until, .. } if self.next_paced < self.start + until => Some(self.next_paced),
            _ => None,
        };
        [
            self.a.conn.poll_timeout(),
            self.c.conn.poll_timeout(),
            self.direct.next_delivery(),
            self.relay.next_delivery(),
            paced,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// One step: send, move time to the next thing due (at most `end`), deliver, time out.
    fn step(&mut self, end: Instant) -> bool {
        self.run_workload();
        self.drain();
        let Some(next) = self.next_event().filter(|next| *next <= end) else {
            self.now = self.now.max(end);
            return false;
        };
        // A deadline in the past moves time by a millisecond, so a stuck one cannot spin.
        self.now = if next <= self.now { self.now + Duration::from_millis(1) } else { next };
        let now = self.now;
        while let Some((to, datagram)) = self.direct.poll_delivery(now) {
            let end = if to == Side::A { &mut self.a } else { &mut self.c };
            let (local, remote) = (end.address, end.remote);
            end.conn.handle_datagram(now, local, remote, &datagram);
        }
        while let Some((to, datagram)) = self.relay.poll_delivery(now) {
            let end = if to == Side::A { &mut self.a } else { &mut self.c };
            end.conn.handle_relayed_datagram(now, &datagram);
        }
        for end in [&mut self.a, &mut self.c] {
            if end.conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
                end.conn.handle_timeout(now);
            }
        }
        self.run_workload();
        self.take_events();
        true
    }

    /// Runs until `cond` holds or `limit` of virtual time passed; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&Relayed) -> bool) -> bool {
        let end = self.now + limit;
        for _ in 0..MAX_STEPS {
            if cond(self) {
                return true;
            }
            if !self.step(end) {
                return cond(self);
            }
        }
        cond(self)
    }

    /// Runs through `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_| false);
    }

    /// Puts `datagram` on the relay network as if `from` had sent it (a hostile relay).
    pub fn inject_relayed(&mut self, from: Side, datagram: Vec<u8>) {
        self.relay.send(self.now, from, datagram);
    }
}

/// Checks that `arrivals` are exactly 0..n in order; returns n and the longest gap between two
/// consecutive arrivals within `window` (since the start), if any fall in it.
pub fn check_in_order(arrivals: &[(Duration, u32)], window: (Duration, Duration)) -> (usize, Duration) {
    for (index, (_, seq)) in arrivals.iter().enumerate() {
        assert_eq!(*seq as usize, index, "message {index} arrived as {seq}: lost, repeated or reordered");
    }
    let longest = arrivals
        .windows(2)
        .filter(|pair| pair[1].0 >= window.0 && pair[0].0 <= window.1)
        .map(|pair| pair[1].0 - pair[0].0)
        .max()
        .unwrap_or_default();
    (arrivals.len(), longest)
}
