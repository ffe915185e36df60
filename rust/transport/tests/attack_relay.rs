//! A relay that lies and floods (issue 21): members A and C have no direct path, and B, the one
//! member both reach, is hostile. B is no transport `PeerConnection` but a bare sans-IO
//! `connection::Connection` on its own sockets, driven by this test, so that it can put anything
//! on the relay channel: it forwards A<->C's datagrams (or the pair could not connect at all) and
//! meanwhile sends forged, garbage, replayed and bit-flipped datagrams, envelopes that are no
//! envelopes, envelopes of an unknown version, for unknown members or of a kind a relay may not
//! send, REACHes naming strangers or malformed, and ICE restarts it never negotiated; then floods
//! A with forged datagrams as fast as its association takes them. (B's core takes every SCTP
//! stream id, as the transport's do: with the default 1024 the relay channel's DATA, stream
//! 65534, is refused as an invalid stream.)
//!
//! A and C are the transport's, each with its hub. Checked: 1000 reliable ordered messages A->C
//! and 200 C->A arrive intact, once and in order; A's hub counts the malformed envelopes and the
//! dropped ones; the flood is cut at the relay inbox ([`MAX_RELAY_INBOX_BYTES`]), so A's memory
//! stays bounded (its resident size is printed and must grow far less than the flood's size); no
//! forged RESTART restarted ICE.

mod common;

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{loopback_config, LOOPBACK};
use connection::channels::{ChannelId, ChannelOptions as CoreChannelOptions};
use connection::connection::{Connection, ConnectionConfig, ConnectionEvent, DescriptionKind};
use connection::ice_dtls::LocalCandidate;
use connection::sctp::{Reliability, SctpConfig};
use connection::sdp::CandidateKind;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use transport::relay::envelope::{Envelope, ENVELOPE_VERSION, MAX_REACH_IDS, MAX_RELAYED_DATAGRAM};
use transport::relay::{MAX_RELAY_INBOX_BYTES, RELAY_STREAM_ID};
use transport::{
    ChannelOptions, ChannelState, ConnectionState, DataChannel, PathKind, PeerConnection, PeerEvent, RelayHub, SdpKind,
    TransportConfig,
};

/// The members' peer ids, as the hubs know them.
const A: i32 = 2;
const B: i32 = 3;
const C: i32 = 4;
/// A member nobody registered.
const STRANGER: i32 = 99;
/// How long the test waits for anything.
const DEADLINE: Duration = Duration::from_secs(60);
/// Envelopes B holds unhandled at most.
const MAX_B_INBOX: usize = 4096;
/// Datagrams B keeps to replay.
const KEPT_FOR_REPLAY: usize = 256;
/// How long B floods A.
const FLOOD_FOR: Duration = Duration::from_secs(2);
/// Forged datagrams per flood step at most (B's association refuses more when its buffer is full).
const FLOOD_BURST: usize = 64;

fn relay_config() -> TransportConfig {
    TransportConfig { relay: true, ..loopback_config() }
}

/// One of B's connections: a bare core on its own socket.
struct RawEnd {
    conn: Connection,
    socket: UdpSocket,
    local: SocketAddr,
    relay: Option<ChannelId>,
    open: bool,
    /// Envelopes that came on the relay channel, not yet handled.
    inbox: VecDeque<Bytes>,
}

impl RawEnd {
    fn new(seed: u64, now: Instant) -> Self {
        let socket = UdpSocket::bind((LOOPBACK, 0)).expect("socket");
        socket.set_nonblocking(true).expect("non-blocking");
        let local = socket.local_addr().expect("address");
        // Every stream id, as the transport's cores take: the relay channel's is 65534, past the
        // default 1024, and DATA on a stream past the bound is refused.
        let sctp = SctpConfig { max_streams: u16::MAX, ..SctpConfig::default() };
        let config = ConnectionConfig { relay: true, sctp, ..ConnectionConfig::default() };
        let conn = Connection::new(config, &mut StdRng::seed_from_u64(seed), now).expect("connection");
        Self { conn, socket, local, relay: None, open: false, inbox: VecDeque::new() }
    }

    /// Answers `offer` (from `peer`), opens the relay channel and gives `peer` our candidate.
    fn answer(&mut self, peer: &PeerConnection, offer: &str, now: Instant) {
        self.conn.set_remote_description(now, DescriptionKind::Offer, offer).expect("offer");
        let options = CoreChannelOptions {
            label: "webrtc-mesh-relay".to_owned(),
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            negotiated_id: Some(RELAY_STREAM_ID),
            ..CoreChannelOptions::default()
        };
        self.relay = Some(self.conn.open_channel(now, options).expect("relay channel"));
        let answer = self.conn.create_answer().expect("answer");
        peer.set_remote_description(SdpKind::Answer, answer).expect("answer applied");
        let host = LocalCandidate { kind: CandidateKind::Host, address: self.local, base: self.local };
        let line = self.conn.add_local_candidate(now, host).expect("candidate");
        peer.add_ice_candidate("0", 0, &line).expect("candidate applied");
    }

    /// Reads the socket, runs timers, takes events, sends.
    fn pump(&mut self, now: Instant) {
        let mut buffer = [0u8; 2048];
        for _ in 0..512 {
            let Ok((len, from)) = self.socket.recv_from(&mut buffer) else { break };
            self.conn.handle_datagram(now, self.local, from, &buffer[..len]);
        }
        if self.conn.poll_timeout().is_some_and(|deadline| deadline <= now) {
            self.conn.handle_timeout(now);
        }
        while let Some(event) = self.conn.poll_event() {
            match event {
                ConnectionEvent::ChannelOpened(id) if Some(id) == self.relay => self.open = true,
                ConnectionEvent::ChannelRenumbered { from, to } if Some(from) == self.relay => self.relay = Some(to),
                // Past its bound B's inbox drops (a relay may; the relayed SCTP recovers).
                ConnectionEvent::Message { id, data, .. }
                    if Some(id) == self.relay && self.inbox.len() < MAX_B_INBOX =>
                {
                    self.inbox.push_back(data);
                }
                _ => {}
            }
        }
        self.flush(now);
    }

    fn flush(&mut self, now: Instant) {
        while let Some(transmit) = self.conn.poll_transmit(now) {
            let _ = self.socket.send_to(&transmit.data, transmit.to);
        }
    }

    /// Puts `message` on the relay channel; false when the association's buffer is full.
    fn send(&mut self, message: Bytes, now: Instant) -> bool {
        let Some(id) = self.relay.filter(|_| self.open) else { return false };
        self.conn.send(now, id, message, true).is_ok()
    }
}

/// The hostile member: its two connections and what it has seen.
struct HostileRelay {
    to_a: RawEnd,
    to_c: RawEnd,
    rng: StdRng,
    /// Datagrams it forwarded, each with the side it went to (true: A).
    kept: VecDeque<(bool, Bytes)>,
    last_reach: Option<Instant>,
    lies: u64,
    flood_sent: u64,
    flood_bytes: u64,
}

impl HostileRelay {
    /// One step: pump both connections, announce reach, forward honestly, and lie (`lying`) or
    /// flood A (`flooding`).
    fn step(&mut self, now: Instant, lying: bool, flooding: bool) {
        self.to_a.pump(now);
        self.to_c.pump(now);
        if self.to_a.open && self.to_c.open && self.last_reach.is_none_or(|at| now - at > Duration::from_millis(500)) {
            self.last_reach = Some(now);
            let reach = |member| Envelope::Reach { members: vec![member] }.encode().expect("reach");
            self.to_a.send(reach(C), now);
            self.to_c.send(reach(A), now);
        }
        while let Some(message) = self.to_a.inbox.pop_front() {
            if let Some(Envelope::To { peer: C, datagram }) = Envelope::parse(&message) {
                self.forward(false, A, datagram, now);
            }
        }
        while let Some(message) = self.to_c.inbox.pop_front() {
            if let Some(Envelope::To { peer: A, datagram }) = Envelope::parse(&message) {
                self.forward(true, C, datagram, now);
            }
        }
        if lying {
            for to_a in [true, false] {
                let lie = self.lie(to_a);
                let end = if to_a { &mut self.to_a } else { &mut self.to_c };
                if end.send(lie, now) {
                    self.lies += 1;
                }
            }
        }
        if flooding {
            for _ in 0..FLOOD_BURST {
                let datagram = forged_record(&mut self.rng, 1100);
                let envelope = Envelope::From { peer: C, datagram }.encode().expect("envelope");
                let len = envelope.len() as u64;
                if !self.to_a.send(envelope, now) {
                    break;
                }
                self.flood_sent += 1;
                self.flood_bytes += len;
            }
        }
        self.to_a.flush(now);
        self.to_c.flush(now);
    }

    /// Forwards `datagram` from member `from` to A (`to_a`) or C, and keeps it to replay.
    fn forward(&mut self, to_a: bool, from: i32, datagram: Bytes, now: Instant) {
        if self.kept.len() == KEPT_FOR_REPLAY {
            self.kept.pop_front();
        }
        self.kept.push_back((to_a, datagram.clone()));
        let envelope = Envelope::From { peer: from, datagram }.encode().expect("envelope");
        let end = if to_a { &mut self.to_a } else { &mut self.to_c };
        end.send(envelope, now);
    }

    /// One lie for A (`to_a`) or C, of a kind drawn at random.
    fn lie(&mut self, to_a: bool) -> Bytes {
        let claimed = if to_a { C } else { A };
        let rng = &mut self.rng;
        // Written by hand: `Envelope::encode` refuses what is no DTLS, as a relay must not send.
        let from = |peer: i32, datagram: Vec<u8>| raw_envelope(KIND_FROM, peer, &datagram);
        match rng.random_range(0..12) {
            // A forged DTLS record "from" the true peer.
            0 => Envelope::From { peer: claimed, datagram: forged_record(rng, 300) }.encode().expect("envelope"),
            // A datagram the relay carried to this side, replayed as is or with a bit flipped.
            1 | 2 => {
                let kept: Vec<&Bytes> = self.kept.iter().filter(|(side, _)| *side == to_a).map(|(_, d)| d).collect();
                let Some(original) = kept.get(rng.random_range(0..kept.len().max(1))).map(|d| d.to_vec()) else {
                    return from(claimed, forged_record(rng, 100).to_vec());
                };
                let mut datagram = original;
                if rng.random_range(0..2) == 0 {
                    let at = rng.random_range(13..datagram.len().max(14)).min(datagram.len() - 1);
                    datagram[at] ^= 0x40;
                }
                from(claimed, datagram)
            }
            // STUN through the relay (it carries no ICE).
            3 => from(claimed, [&[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42][..], &random_bytes(rng, 40)].concat()),
            // From a member nobody registered, and "from" the receiver itself.
            4 => from(STRANGER, forged_record(rng, 200).to_vec()),
            5 => from(if to_a { A } else { C }, forged_record(rng, 200).to_vec()),
            // No envelope at all; another version; a datagram past the bound.
            6 => {
                let len = 1 + rng.random_range(0..600);
                Bytes::from(random_bytes(rng, len))
            }
            7 => {
                let mut envelope = from(claimed, forged_record(rng, 200).to_vec()).to_vec();
                envelope[0] = ENVELOPE_VERSION + 1;
                Bytes::from(envelope)
            }
            8 => from(claimed, forged_record(rng, MAX_RELAYED_DATAGRAM).to_vec()),
            // A relay envelope sent to an endpoint: "carry this to the other side for me".
            9 => raw_envelope(KIND_TO, claimed, &forged_record(rng, MAX_RELAYED_DATAGRAM / 2)),
            // REACH abuse: more members than B reaches (strangers, the receiver itself; the true
            // one kept, so that this lie is no refusal to relay), or a REACH no member may send
            // (a member twice, past the bound).
            10 => match rng.random_range(0..3) {
                0 => {
                    let receiver = if to_a { A } else { C };
                    Envelope::Reach { members: vec![STRANGER, receiver, claimed] }.encode().expect("reach")
                }
                1 => raw_envelope(KIND_REACH, 0, &[claimed.to_be_bytes(), claimed.to_be_bytes()].concat()),
                _ => raw_envelope(KIND_REACH, 0, &vec![0x11; 4 * (MAX_REACH_IDS + 1)]),
            },
            // An ICE restart B never negotiated: garbage on the A<->B (or C<->B) connection itself
            // (and A and C offered theirs to B, so no offer of B's would be followed anyway).
            _ => {
                let len = 1 + rng.random_range(0..300);
                raw_envelope(KIND_RESTART, 0, &random_bytes(rng, len))
            }
        }
    }
}

/// The kind byte of an envelope to the relay ("to C").
const KIND_TO: u8 = 1;
/// The kind byte of an envelope from the relay ("from A").
const KIND_FROM: u8 = 2;
/// The kind byte of a REACH envelope.
const KIND_REACH: u8 = 3;
/// The kind byte of a RESTART envelope.
const KIND_RESTART: u8 = 4;

/// An envelope's bytes as the format has them (version, kind, peer id, payload), whatever the
/// payload.
fn raw_envelope(kind: u8, peer: i32, payload: &[u8]) -> Bytes {
    let mut bytes = vec![ENVELOPE_VERSION, kind];
    bytes.extend_from_slice(&peer.unsigned_abs().to_be_bytes());
    bytes.extend_from_slice(payload);
    Bytes::from(bytes)
}

/// Random bytes.
fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A DTLS 1.2 application-data record of epoch 1 with `len` bytes of garbage ciphertext.
fn forged_record(rng: &mut StdRng, len: usize) -> Bytes {
    let body = random_bytes(rng, len);
    let length = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    let sequence = random_bytes(rng, 6);
    Bytes::from([&[23, 0xfe, 0xfd, 0, 1][..], &sequence, &length, &body].concat())
}

/// The resident set size of this process, in KiB (Linux).
fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Hands `from`'s events to `to`, both the transport's; candidates only if `candidates`.
fn signal(from: &mut PeerConnection, to: &PeerConnection, candidates: bool) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                to.set_remote_description(kind, sdp).expect("remote description");
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } if candidates => {
                to.add_ice_candidate(&mid, index, &candidate).expect("candidate");
            }
            _ => {}
        }
    }
}

/// Hands `from`'s events to B's bare end `to` (it answers the offer).
fn signal_to_raw(from: &mut PeerConnection, to: &mut RawEnd, now: Instant) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp } => {
                from.set_local_description(SdpKind::Offer, sdp.clone()).expect("local offer");
                to.answer(from, &sdp, now);
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                let _ = to.conn.add_remote_candidate(now, &candidate, Some(&mid), Some(index));
            }
            _ => {}
        }
    }
}

fn reliable(id: u16) -> ChannelOptions {
    ChannelOptions { negotiated_id: Some(id), ..Default::default() }
}

fn seq_of(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[0], data[1], data[2], data[3]])
}

/// Drains `channel`, checking each message's bytes; appends the sequence numbers to `got`.
fn receive(channel: &DataChannel, got: &mut Vec<u32>) {
    for packet in channel.recv_all() {
        let seq = seq_of(&packet.data);
        assert!(packet.data[4..].iter().all(|byte| *byte == (seq % 251) as u8), "message {seq} altered");
        got.push(seq);
    }
}

fn message(seq: u32) -> Vec<u8> {
    let mut data = vec![(seq % 251) as u8; 200];
    data[..4].copy_from_slice(&seq.to_be_bytes());
    data
}

#[test]
fn a_relay_that_lies_and_floods_neither_corrupts_nor_reorders_and_costs_a_bounded_memory() {
    let start = Instant::now();
    let mut ab = PeerConnection::new(relay_config()).expect("connection");
    let mut cb = PeerConnection::new(relay_config()).expect("connection");
    let mut ac = PeerConnection::new(relay_config()).expect("connection");
    let mut ca = PeerConnection::new(relay_config()).expect("connection");
    let (hub_a, hub_c) = (RelayHub::new(50 * 1024 * 1024), RelayHub::new(50 * 1024 * 1024));
    hub_a.register(B, &ab).expect("register");
    hub_a.register(C, &ac).expect("register");
    hub_c.register(B, &cb).expect("register");
    hub_c.register(A, &ca).expect("register");
    let a_channel = ac.create_data_channel("game", reliable(1)).expect("channel");
    let c_channel = ca.create_data_channel("game", reliable(1)).expect("channel");
    let mut b = HostileRelay {
        to_a: RawEnd::new(11, start),
        to_c: RawEnd::new(12, start),
        rng: StdRng::seed_from_u64(21),
        kept: VecDeque::new(),
        last_reach: None,
        lies: 0,
        flood_sent: 0,
        flood_bytes: 0,
    };
    ab.create_offer().expect("offer");
    cb.create_offer().expect("offer");
    ac.create_offer().expect("offer");

    // Everybody connects; A<->C only through B, which already lies.
    let step = |b: &mut HostileRelay, ab: &mut PeerConnection, cb: &mut PeerConnection, lying, flooding| {
        let now = Instant::now();
        signal_to_raw(ab, &mut b.to_a, now);
        signal_to_raw(cb, &mut b.to_c, now);
        b.step(now, lying, flooding);
        std::thread::sleep(Duration::from_micros(300));
    };
    while !(a_channel.ready_state() == ChannelState::Open && c_channel.ready_state() == ChannelState::Open) {
        assert!(start.elapsed() < DEADLINE, "A<->C never connected through B");
        signal(&mut ac, &ca, false);
        signal(&mut ca, &ac, false);
        let lying = b.to_a.open && b.to_c.open;
        step(&mut b, &mut ab, &mut cb, lying, false);
    }
    let connected = start.elapsed();
    assert_eq!(ac.stats().path, Some(PathKind::Relayed));
    assert_eq!(ac.connection_state(), ConnectionState::Connected);

    // 1000 messages A->C and 200 C->A while B lies, then floods A.
    let mut to_c = Vec::new();
    let mut to_a = Vec::new();
    let (mut sent_ac, mut sent_ca) = (0u32, 0u32);
    let rss_before = resident_kib();
    let mut rss_peak = rss_before;
    let mut flood_started: Option<Instant> = None;
    while to_c.len() < 1000 || to_a.len() < 200 {
        assert!(start.elapsed() < DEADLINE, "stalled: {} / {} arrived", to_c.len(), to_a.len());
        while sent_ac < 1000 && a_channel.buffered_amount() < 64 * 1024 {
            a_channel.send(&message(sent_ac), false).expect("send");
            sent_ac += 1;
        }
        if sent_ca < 200 {
            c_channel.send(&message(sent_ca), false).expect("send");
            sent_ca += 1;
        }
        receive(&c_channel, &mut to_c);
        receive(&a_channel, &mut to_a);
        let flooding = to_c.len() >= 300 && flood_started.is_none_or(|at| at.elapsed() < FLOOD_FOR);
        if flooding {
            flood_started.get_or_insert_with(Instant::now);
        }
        signal(&mut ac, &ca, false);
        signal(&mut ca, &ac, false);
        step(&mut b, &mut ab, &mut cb, true, flooding);
        rss_peak = rss_peak.max(resident_kib());
    }
    // The flood went on for its whole time even if the messages were through before.
    while flood_started.is_none_or(|at| at.elapsed() < FLOOD_FOR) {
        flood_started.get_or_insert_with(Instant::now);
        step(&mut b, &mut ab, &mut cb, true, true);
        rss_peak = rss_peak.max(resident_kib());
    }
    assert_eq!(to_c, (0..1000).collect::<Vec<_>>(), "A->C: intact, once each, in order");
    assert_eq!(to_a, (0..200).collect::<Vec<_>>(), "C->A: intact, once each, in order");

    // The pair is still up and relayed; the hubs counted what they refused.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ac.connection_state(), ConnectionState::Connected);
    assert_eq!(ca.connection_state(), ConnectionState::Connected);
    let stats_a = hub_a.stats();
    let stats_c = hub_c.stats();
    assert!(stats_a.malformed > 0 && stats_c.malformed > 0, "{stats_a:?} / {stats_c:?}");
    assert!(stats_a.sources[&B].dropped_no_route > 0, "relay envelopes to an endpoint are refused: {stats_a:?}");
    assert!(
        stats_a.relayed_dropped > 0,
        "forged datagrams for no member, and the flood past A's relay inbox, dropped: {stats_a:?}"
    );
    assert_eq!(stats_a.sources[&B].packets, 0, "A carried nothing for B");
    assert_eq!(ab.stats().ice_restarts + cb.stats().ice_restarts, 0, "B's forged RESTARTs restarted nothing");
    let growth = rss_peak.zip(rss_before).map(|(peak, before)| peak.saturating_sub(before));
    println!(
        "FIGURE hostile relay: A<->C connected via B in {connected:?}; B told {} lies and flooded A with {} forged \
         datagrams ({} KiB) in {FLOOD_FOR:?}; A's hub: {} malformed, {} relayed dropped (inbox {} KiB), {} received; \
         C's hub: {} malformed, {} relayed dropped; resident size grew by {growth:?} KiB; 1000 + 200 messages in order",
        b.lies,
        b.flood_sent,
        b.flood_bytes / 1024,
        stats_a.malformed,
        stats_a.relayed_dropped,
        MAX_RELAY_INBOX_BYTES / 1024,
        stats_a.relayed_received,
        stats_c.malformed,
        stats_c.relayed_dropped,
    );
    assert!(b.flood_bytes > 4 * 1024 * 1024, "the flood was a flood: {} bytes", b.flood_bytes);
    if let Some(growth) = growth {
        // The flood's bytes go through bounded queues; a few MiB of allocator slack at most.
        assert!(growth < 32 * 1024, "resident size grew by {growth} KiB");
    }
}
