//! Two `Connection`s wired through `netsim` on virtual time, for the `connection_*` tests: each
//! side has one fixed address (one host candidate); offers, answers and candidates go from one
//! side to the other as strings inside the test, at once.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::channels::{ChannelId, ChannelOptions};
use connection::connection::{Connection, ConnectionConfig, ConnectionEvent, ConnectionState, DescriptionKind};
use connection::ice_dtls::{LocalCandidate, LocalCertificate};
use connection::sctp::{Reliability, SctpError};
use connection::sdp::CandidateKind;
use netsim::{Endpoint, LinkConfig, Network, Pair};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// A message as it arrived.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// When, since the start.
    pub at: Duration,
    pub channel: ChannelId,
    /// The sequence number the test's workloads put in the first four bytes (0 if shorter).
    pub seq: u32,
    pub len: usize,
}

/// Messages sent every `interval` on `channel` while the pacer runs (a game's state updates).
#[derive(Debug)]
pub struct Pacer {
    pub channel: ChannelId,
    pub interval: Duration,
    pub size: usize,
    pub next: Instant,
    pub until: Instant,
    /// When each message (by sequence number) was handed to the connection.
    pub sent_at: Vec<Instant>,
    /// Messages the connection refused (send buffer full).
    pub refused: usize,
}

/// `total` messages of `size` bytes sent on `channel` as fast as it takes them: topped up
/// whenever its buffered amount is under `low_water`.
#[derive(Debug)]
pub struct Bulk {
    pub channel: ChannelId,
    pub size: usize,
    pub total: u32,
    pub low_water: usize,
    pub sent: u32,
}

/// One side: its connection, address, and what it saw.
pub struct Peer {
    pub conn: Connection,
    pub address: SocketAddr,
    pub remote: SocketAddr,
    pub start: Instant,
    /// Every event but messages, with the virtual time since the start.
    pub events: Vec<(Duration, ConnectionEvent)>,
    pub arrivals: Vec<Arrival>,
    pub pacer: Option<Pacer>,
    pub bulk: Option<Bulk>,
    /// A second bulk transfer, on another channel, fed the same way.
    pub second_bulk: Option<Bulk>,
    /// Calls to `handle_timeout` made for the connection.
    pub wakeups: u64,
    /// The answer and the answerer's candidate, when the setup holds them back (apply them
    /// with [`deliver_answer`]).
    pub pending_answer: Option<(String, String)>,
    /// The other side's candidate, when the setup holds it back (apply it with
    /// [`deliver_offerer_candidate`]).
    pub pending_candidate: Option<String>,
    /// Datagrams taken from the connection right after a timeout, as a pump does, for the
    /// pair's next `transmit`.
    outbox: std::collections::VecDeque<Vec<u8>>,
    /// Datagrams to other paths are dropped and counted in `stray_sent` instead of failing the
    /// test (a test that gives a side a remote candidate no host answers at).
    pub allow_stray_paths: bool,
    /// Datagrams dropped for going to another path (with `allow_stray_paths`).
    pub stray_sent: usize,
}

fn sequence(data: &[u8]) -> u32 {
    data.get(..4).map_or(0, |bytes| u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// A message of `size` bytes (at least 4) starting with `seq`.
pub fn message(seq: u32, size: usize) -> Bytes {
    let mut data = vec![0xA5; size.max(4)];
    data[..4].copy_from_slice(&seq.to_be_bytes());
    Bytes::from(data)
}

impl Peer {
    fn take_events(&mut self, now: Instant) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                ConnectionEvent::Message { id, data, .. } => self.arrivals.push(Arrival {
                    at: now - self.start,
                    channel: id,
                    seq: sequence(&data),
                    len: data.len(),
                }),
                event => self.events.push((now - self.start, event)),
            }
        }
    }

    /// When the first event matching `matches` came.
    pub fn first(&self, matches: impl Fn(&ConnectionEvent) -> bool) -> Option<Duration> {
        self.events.iter().find(|(_, event)| matches(event)).map(|(at, _)| *at)
    }

    pub fn connected_at(&self) -> Option<Duration> {
        self.first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Connected))
    }

    /// When a channel opened here (ours acknowledged, or the other side's arrived).
    pub fn channel_open_at(&self) -> Option<Duration> {
        self.first(|event| matches!(event, ConnectionEvent::ChannelOpened(_) | ConnectionEvent::RemoteChannel { .. }))
    }

    /// The channel the other side opened, once it arrived.
    pub fn remote_channel(&self) -> Option<ChannelId> {
        self.events.iter().find_map(|(_, event)| match event {
            ConnectionEvent::RemoteChannel { id, .. } => Some(*id),
            _ => None,
        })
    }

    pub fn failure(&self) -> Option<&ConnectionEvent> {
        self.events.iter().map(|(_, event)| event).find(|event| matches!(event, ConnectionEvent::Failed(_)))
    }

    /// The connection's next datagram, checked to leave from our address to the other side's.
    fn poll_datagram(&mut self, now: Instant) -> Option<Vec<u8>> {
        let mut transmit = self.conn.poll_transmit(now)?;
        while self.allow_stray_paths && (transmit.local, transmit.to) != (self.address, self.remote) {
            self.stray_sent += 1;
            transmit = self.conn.poll_transmit(now)?;
        }
        assert_eq!((transmit.local, transmit.to), (self.address, self.remote), "sent on a path the test lacks");
        Some(transmit.data)
    }

    fn run_pacer(&mut self, now: Instant) {
        let Some(pacer) = self.pacer.as_mut() else { return };
        while pacer.next <= now && pacer.next < pacer.until {
            let seq = pacer.sent_at.len() as u32;
            pacer.sent_at.push(pacer.next);
            match self.conn.send(now, pacer.channel, message(seq, pacer.size), true) {
                Ok(()) => {}
                Err(connection::connection::ConnectionError::Sctp(SctpError::SendBufferFull)) => pacer.refused += 1,
                Err(error) => panic!("paced send refused: {error}"),
            }
            pacer.next += pacer.interval;
        }
    }

    fn run_bulk(&mut self, now: Instant) {
        for bulk in [self.bulk.as_mut(), self.second_bulk.as_mut()].into_iter().flatten() {
            while bulk.sent < bulk.total && self.conn.buffered_amount(bulk.channel) < bulk.low_water {
                match self.conn.send(now, bulk.channel, message(bulk.sent, bulk.size), true) {
                    Ok(()) => bulk.sent += 1,
                    Err(connection::connection::ConnectionError::Sctp(SctpError::SendBufferFull)) => break,
                    Err(error) => panic!("bulk send refused: {error}"),
                }
            }
        }
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let (local, remote) = (self.address, self.remote);
        self.conn.handle_datagram(now, local, remote, datagram);
        self.take_events(now);
    }

    fn timeout(&mut self, now: Instant) {
        if self.conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            self.wakeups += 1;
            self.conn.handle_timeout(now);
        }
        self.run_pacer(now);
        self.take_events(now);
        // What the timeout made due goes now, as a pump sends after each timeout (a delayed
        // SACK keeps the association's deadline at `now` until it is sent).
        while let Some(data) = self.poll_datagram(now) {
            self.outbox.push_back(data);
        }
    }

    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.run_bulk(now);
        let transmit = self.outbox.pop_front().or_else(|| self.poll_datagram(now));
        self.take_events(now);
        transmit
    }

    fn deadline(&self) -> Option<Instant> {
        let pacer = self.pacer.as_ref().filter(|pacer| pacer.next < pacer.until).map(|pacer| pacer.next);
        [self.conn.poll_timeout(), pacer].into_iter().flatten().min()
    }
}

/// One certificate per side for the whole test binary (making one costs a key pair).
fn certificates() -> &'static (LocalCertificate, LocalCertificate) {
    static CERTIFICATES: OnceLock<(LocalCertificate, LocalCertificate)> = OnceLock::new();
    CERTIFICATES.get_or_init(|| {
        let make = || LocalCertificate::generate().expect("a certificate");
        (make(), make())
    })
}

pub const A_ADDRESS: &str = "10.0.0.1:40000";
pub const B_ADDRESS: &str = "10.0.0.2:50000";

/// How a test pair is set up.
#[derive(Clone)]
pub struct Setup {
    pub seed: u64,
    /// A to B.
    pub a_link: LinkConfig,
    /// B to A.
    pub b_link: LinkConfig,
    pub config: ConnectionConfig,
    /// Channels A (the offerer) opens before its offer.
    pub a_channels: Vec<ChannelOptions>,
    /// The answer is not given to A: the test does, later (signaling slower than the network).
    pub hold_answer: bool,
    /// A's candidate is not given to B: the test does, later (trickled after the offer).
    pub hold_offerer_candidate: bool,
}

impl Setup {
    pub fn new(seed: u64, link: LinkConfig) -> Self {
        Self {
            seed,
            a_link: link,
            b_link: link,
            config: ConnectionConfig::default(),
            a_channels: Vec::new(),
            hold_answer: false,
            hold_offerer_candidate: false,
        }
    }

    pub fn with_channel(mut self, options: ChannelOptions) -> Self {
        self.a_channels.push(options);
        self
    }
}

/// An unordered channel that never retransmits (a game's state updates).
pub fn unreliable(label: &str) -> ChannelOptions {
    ChannelOptions {
        label: label.into(),
        ordered: false,
        reliability: Reliability::MaxRetransmits(0),
        ..ChannelOptions::default()
    }
}

/// An ordered reliable channel.
pub fn reliable(label: &str) -> ChannelOptions {
    ChannelOptions { label: label.into(), ..ChannelOptions::default() }
}

/// Two connections made, their channels opened by A, offer and answer and candidates exchanged:
/// A offers (ICE controlling, DTLS server), B answers (DTLS client, sends the SCTP INIT).
pub fn pair(setup: &Setup) -> (Pair<Peer, Peer>, Vec<ChannelId>) {
    let start = Instant::now();
    let (a_address, b_address): (SocketAddr, SocketAddr) = (A_ADDRESS.parse().unwrap(), B_ADDRESS.parse().unwrap());
    let (a_certificate, b_certificate) = certificates().clone();
    let config = |certificate: LocalCertificate, seed: u64| ConnectionConfig {
        certificate: Some(certificate),
        dtls_seed_for_tests: Some(seed),
        ..setup.config.clone()
    };
    let mut rng = StdRng::seed_from_u64(setup.seed);
    let mut a = Connection::new(config(a_certificate, setup.seed), &mut rng, start).unwrap();
    let mut b = Connection::new(config(b_certificate, setup.seed ^ 0x5555), &mut rng, start).unwrap();
    let channels: Vec<ChannelId> =
        setup.a_channels.iter().map(|options| a.open_channel(start, options.clone()).unwrap()).collect();
    let host = |address| LocalCandidate { kind: CandidateKind::Host, address, base: address };

    let offer = a.create_offer().unwrap();
    let a_candidate = a.add_local_candidate(start, host(a_address)).unwrap();
    b.set_remote_description(start, DescriptionKind::Offer, &offer).unwrap();
    let (mid, index) = a.local_candidate_section().expect("we offered");
    let held_candidate = setup.hold_offerer_candidate.then(|| a_candidate.clone());
    if !setup.hold_offerer_candidate {
        b.add_remote_candidate(start, &a_candidate, mid, Some(index)).unwrap();
    }
    let answer = b.create_answer().unwrap();
    let b_candidate = b.add_local_candidate(start, host(b_address)).unwrap();
    assert_eq!(b.local_candidate_section(), Some((Some("0"), 0)), "the offer's data section");
    let pending_answer = if setup.hold_answer {
        Some((answer, b_candidate))
    } else {
        a.set_remote_description(start, DescriptionKind::Answer, &answer).unwrap();
        a.add_remote_candidate(start, &b_candidate, Some("0"), Some(0)).unwrap();
        None
    };

    let peer = |conn, address, remote| Peer {
        conn,
        address,
        remote,
        start,
        events: Vec::new(),
        arrivals: Vec::new(),
        pacer: None,
        bulk: None,
        second_bulk: None,
        wakeups: 0,
        pending_answer: None,
        pending_candidate: None,
        outbox: std::collections::VecDeque::new(),
        allow_stray_paths: false,
        stray_sent: 0,
    };
    let mut a = peer(a, a_address, b_address);
    a.pending_answer = pending_answer;
    let mut b = peer(b, b_address, a_address);
    b.pending_candidate = held_candidate;
    a.take_events(start);
    b.take_events(start);
    let net = Network::new(setup.seed, setup.a_link, setup.b_link);
    (Pair::new(a, b, net, start), channels)
}

/// Gives A the answer and candidate the setup held back.
pub fn deliver_answer(pair: &mut Pair<Peer, Peer>) {
    let (answer, candidate) = pair.a.pending_answer.take().expect("an answer held back");
    let now = pair.now;
    pair.a.conn.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();
    pair.a.conn.add_remote_candidate(now, &candidate, Some("0"), Some(0)).unwrap();
    pair.a.take_events(now);
}

/// Gives B the offerer's candidate the setup held back.
pub fn deliver_offerer_candidate(pair: &mut Pair<Peer, Peer>) {
    let candidate = pair.b.pending_candidate.take().expect("a candidate held back");
    let now = pair.now;
    pair.b.conn.add_remote_candidate(now, &candidate, Some("0"), Some(0)).unwrap();
    pair.b.take_events(now);
}

/// Runs until A's channels are open on both sides (at most `limit`); returns whether they are.
pub fn run_until_open(pair: &mut Pair<Peer, Peer>, channels: usize, limit: Duration) -> bool {
    pair.run_until(limit, |a, b| {
        let opened = |peer: &Peer| {
            peer.events
                .iter()
                .filter(|(_, event)| {
                    matches!(event, ConnectionEvent::ChannelOpened(_) | ConnectionEvent::RemoteChannel { .. })
                })
                .count()
        };
        opened(a) >= channels && opened(b) >= channels
    })
}

/// The channel on B that A opened as `a_channel` (the same stream id).
pub fn counterpart(b: &Peer, a_channel: ChannelId) -> ChannelId {
    b.events
        .iter()
        .find_map(|(_, event)| match event {
            ConnectionEvent::RemoteChannel { id, .. } if *id == a_channel => Some(*id),
            _ => None,
        })
        .expect("the channel arrived")
}

/// The `q` quantile (0..=1) of `values`, sorted in place.
pub fn quantile(values: &mut [Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index.min(values.len() - 1)]
}

/// Latencies of the messages `sender`'s pacer sent that `receiver` got on `channel`, and how
/// many arrived.
pub fn paced_latencies(sender: &Peer, receiver: &Peer, channel: ChannelId) -> Vec<Duration> {
    let Some(pacer) = &sender.pacer else { return Vec::new() };
    let mut seen = HashMap::new();
    for arrival in receiver.arrivals.iter().filter(|arrival| arrival.channel == channel) {
        seen.entry(arrival.seq).or_insert(arrival.at);
    }
    seen.iter()
        .filter_map(|(seq, at)| {
            let sent = pacer.sent_at.get(*seq as usize)?;
            Some((receiver.start + *at).saturating_duration_since(*sent))
        })
        .collect()
}
