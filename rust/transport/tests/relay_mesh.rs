//! Three members of a mesh in one process over 127.0.0.1 (issue 21): A<->B and B<->C connect
//! directly, A<->C cannot (neither is told the other's candidates, so ICE has no pair to check),
//! and B, a member both reach, carries A<->C's DTLS datagrams on its relay channels. Each member
//! has its own [`RelayHub`] with its two connections registered, as a mesh does.

mod common;

use std::time::{Duration, Instant};

use common::relay::Relay;
use common::{loopback_config, median_round_trip};
use transport::{
    ChannelOptions, ChannelState, ConnectionState, DataChannel, PathKind, PeerConnection, PeerEvent, RelayHub, SdpKind,
    TransportConfig, TransportError,
};

/// The members' peer ids.
const A: i32 = 2;
const B: i32 = 3;
const C: i32 = 4;

/// How long a test waits for anything.
const DEADLINE: Duration = Duration::from_secs(30);

/// A generous budget: nothing the tests send comes near it.
const AMPLE_BUDGET: u64 = 50 * 1024 * 1024;

fn relay_config() -> TransportConfig {
    TransportConfig { relay: true, ..loopback_config() }
}

/// One connection of the mesh and whether its candidates reach the other side.
struct Link {
    offerer: PeerConnection,
    answerer: PeerConnection,
    /// Candidates are handed over (a usable direct path).
    direct: bool,
    /// A UDP forwarder the direct path goes through (so that a test can cut it).
    cut: Option<Relay>,
}

impl Link {
    fn new(offerer: TransportConfig, answerer: TransportConfig, direct: bool) -> Self {
        let offerer = PeerConnection::new(offerer).expect("connection");
        let answerer = PeerConnection::new(answerer).expect("connection");
        Self { offerer, answerer, direct, cut: None }
    }

    /// Hands each side's signaling to the other (candidates only where the path is direct).
    fn signal(&mut self) {
        let events = self.offerer.poll();
        hand_over(events, &self.offerer, &self.answerer, self.candidates(0));
        let events = self.answerer.poll();
        hand_over(events, &self.answerer, &self.offerer, self.candidates(1));
    }

    /// How side `side`'s candidates reach the other: not at all, as they are, or pointed at the
    /// forwarder.
    fn candidates(&self, side: usize) -> Candidates<'_> {
        match (&self.cut, self.direct) {
            (_, false) => Candidates::Dropped,
            (None, true) => Candidates::Given,
            (Some(relay), true) => Candidates::Through(relay, side),
        }
    }

    fn both_connected(&self) -> bool {
        self.offerer.connection_state() == ConnectionState::Connected
            && self.answerer.connection_state() == ConnectionState::Connected
    }
}

/// What happens to a side's candidates on their way to the other.
enum Candidates<'a> {
    Dropped,
    Given,
    /// Rewritten to the forwarder's address for that side.
    Through(&'a Relay, usize),
}

fn hand_over(events: Vec<PeerEvent>, from: &PeerConnection, to: &PeerConnection, candidates: Candidates<'_>) {
    for event in events {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                to.set_remote_description(kind, sdp).expect("remote description");
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                let candidate = match candidates {
                    Candidates::Dropped => continue,
                    Candidates::Given => candidate,
                    Candidates::Through(relay, side) => relay.stand_in(side, &candidate),
                };
                to.add_ice_candidate(&mid, index, &candidate).expect("candidate");
            }
            PeerEvent::Error(error) => log_error(&error),
            _ => {}
        }
    }
}

fn log_error(error: &TransportError) {
    eprintln!("transport error: {error}");
}

/// A, B and C with a hub each: `ab` (A offers), `bc` (B offers) and `ac` (A offers, no direct
/// path).
struct Mesh {
    ab: Link,
    bc: Link,
    ac: Link,
    hub_a: RelayHub,
    hub_b: RelayHub,
    hub_c: RelayHub,
}

impl Mesh {
    /// Every member relaying, B with `budget` per source; C announces relaying if `c_relays`.
    /// A<->C has no direct path.
    fn new(budget: u64, c_relays: bool) -> Self {
        let ac = Link::new(relay_config(), TransportConfig { relay: c_relays, ..loopback_config() }, false);
        Self::with_ac(budget, c_relays, ac)
    }

    /// Every member relaying; A<->C's direct path goes through a forwarder the test can cut.
    fn with_cuttable_ac() -> Self {
        let mut ac = Link::new(relay_config(), relay_config(), true);
        ac.cut = Some(Relay::new(7));
        Self::with_ac(AMPLE_BUDGET, true, ac)
    }

    fn with_ac(budget: u64, c_relays: bool, ac: Link) -> Self {
        let c_config = TransportConfig { relay: c_relays, ..loopback_config() };
        let ab = Link::new(relay_config(), relay_config(), true);
        let bc = Link::new(relay_config(), c_config, true);
        let (hub_a, hub_b, hub_c) = (RelayHub::new(AMPLE_BUDGET), RelayHub::new(budget), RelayHub::new(AMPLE_BUDGET));
        hub_a.register(B, &ab.offerer).expect("register");
        hub_a.register(C, &ac.offerer).expect("register");
        hub_b.register(A, &ab.answerer).expect("register");
        hub_b.register(C, &bc.offerer).expect("register");
        hub_c.register(B, &bc.answerer).expect("register");
        hub_c.register(A, &ac.answerer).expect("register");
        Self { ab, bc, ac, hub_a, hub_b, hub_c }
    }

    fn start(&mut self) {
        for link in [&mut self.ab, &mut self.bc, &mut self.ac] {
            link.offerer.create_offer().expect("offer");
        }
    }

    /// Polls every connection and hands signaling over until `done` or the deadline.
    fn run_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) -> Duration {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            for link in [&mut self.ab, &mut self.bc, &mut self.ac] {
                link.signal();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        start.elapsed()
    }

    /// Polls A<->C only (B's game does not poll: its tasks relay) until `done`.
    fn run_ac_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) -> Duration {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            self.ac.signal();
            std::thread::sleep(Duration::from_millis(1));
        }
        start.elapsed()
    }
}

fn negotiated(id: u16, reliable: bool) -> ChannelOptions {
    if reliable {
        ChannelOptions { negotiated_id: Some(id), ..Default::default() }
    } else {
        ChannelOptions { negotiated_id: Some(id), ordered: false, max_retransmits: Some(0), ..Default::default() }
    }
}

/// A channel on each side of `link` with id `id`.
fn channel_pair(link: &mut Link, id: u16, reliable: bool) -> (DataChannel, DataChannel) {
    let a = link.offerer.create_data_channel("data", negotiated(id, reliable)).expect("channel");
    let c = link.answerer.create_data_channel("data", negotiated(id, reliable)).expect("channel");
    (a, c)
}

fn open(channels: &[&DataChannel]) -> bool {
    channels.iter().all(|channel| channel.ready_state() == ChannelState::Open)
}

/// The median of `samples`.
#[test]
fn a_pair_without_a_direct_path_connects_through_a_common_member_and_keeps_order() {
    let mut mesh = Mesh::new(AMPLE_BUDGET, true);
    let (a_reliable, c_reliable) = channel_pair(&mut mesh.ac, 1, true);
    let (a_unreliable, c_unreliable) = channel_pair(&mut mesh.ac, 3, false);
    let (ab_probe, ba_probe) = channel_pair(&mut mesh.ab, 1, true);
    let started = Instant::now();
    mesh.start();
    mesh.run_until("A<->B and B<->C", |mesh| mesh.ab.both_connected() && mesh.bc.both_connected());
    let direct_at = started.elapsed();
    mesh.run_until("A<->C via B", |mesh| {
        mesh.ac.both_connected() && open(&[&a_reliable, &c_reliable, &a_unreliable, &c_unreliable])
    });
    let relayed_at = started.elapsed();
    println!("figure: direct pairs connected in {direct_at:?}; the relayed pair in {relayed_at:?} (RELAY_AFTER 3 s)");
    let a_stats = mesh.ac.offerer.stats();
    assert_eq!(a_stats.path, Some(PathKind::Relayed));
    assert_eq!(a_stats.relay, Some(B), "A names its relay");
    assert_eq!(mesh.ac.answerer.stats().relay, Some(B), "so does C");
    assert!(a_stats.selected_pair.is_none(), "ICE never had a pair to select");

    // 1000 reliable messages in order, B's game not polling: its tasks relay.
    let sending = Instant::now();
    for i in 0..1000u32 {
        a_reliable.send(&i.to_le_bytes(), false).expect("send");
    }
    let mut got = Vec::new();
    mesh.run_ac_until("1000 relayed messages", |_| {
        got.extend(
            c_reliable.recv_all().into_iter().map(|packet| u32::from_le_bytes(packet.data[..].try_into().unwrap())),
        );
        got.len() == 1000
    });
    let took = sending.elapsed();
    assert_eq!(got, (0..1000).collect::<Vec<_>>(), "in order, none lost or repeated");
    println!("figure: 1000 reliable 4-byte messages crossed the relay in {took:?}");

    // Unreliable too: most of 200 arrive (loss is allowed, nothing is repeated).
    for i in 0..200u32 {
        a_unreliable.send(&i.to_le_bytes(), false).expect("send");
        std::thread::sleep(Duration::from_micros(200));
    }
    let mut unreliable = Vec::new();
    mesh.run_ac_until("unreliable messages", |_| {
        unreliable.extend(
            c_unreliable.recv_all().into_iter().map(|packet| u32::from_le_bytes(packet.data[..].try_into().unwrap())),
        );
        unreliable.len() >= 150
    });
    let mut distinct = unreliable.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), unreliable.len(), "nothing repeated");

    // C -> A works too.
    c_reliable.send(b"back", false).expect("send");
    mesh.run_ac_until("C's reply", |_| a_reliable.available_packets() == 1);
    assert_eq!(&a_reliable.recv().unwrap().data[..], b"back");

    // B's statistics show what it carried for each side; nothing was dropped.
    let carried = mesh.hub_b.stats();
    let (from_a, from_c) = (carried.sources[&A], carried.sources[&C]);
    println!(
        "figure: B carried {} datagrams ({} B) from A and {} ({} B) from C",
        from_a.packets, from_a.bytes, from_c.packets, from_c.bytes
    );
    assert!(from_a.packets > 1000 / 30 && from_c.packets > 10, "{carried:?}");
    assert_eq!(from_a.dropped_over_budget + from_a.dropped_no_route + from_c.dropped_over_budget, 0, "{carried:?}");
    assert!(mesh.hub_a.stats().relayed_sent > 0 && mesh.hub_c.stats().relayed_received > 0);
    assert_eq!(mesh.hub_a.stats().sources.values().map(|source| source.packets).sum::<u64>(), 0, "A relayed nothing");

    // Latency: round trips on the direct A<->B path and on the relayed A<->C one.
    let direct = median_round_trip(&ab_probe, &ba_probe, DEADLINE);
    let relayed = median_round_trip(&a_reliable, &c_reliable, DEADLINE);
    println!(
        "figure: median round trip direct {direct:?}, relayed over two hops {relayed:?}: {:?} added one way",
        relayed.saturating_sub(direct) / 2
    );
}

#[test]
fn past_its_budget_a_source_is_dropped_and_counted() {
    // 30 KiB/s: the handshake fits, 1000 messages of 1 KiB do not.
    let registered = Instant::now();
    let mut mesh = Mesh::new(30 * 1024, true);
    let (a_reliable, c_reliable) = channel_pair(&mut mesh.ac, 1, true);
    mesh.start();
    mesh.run_until("A<->C via B", |mesh| mesh.ac.both_connected() && open(&[&a_reliable, &c_reliable]));
    let mut sent = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        if a_reliable.send(&[7; 1024], false).is_ok() {
            sent += 1;
        }
        mesh.ac.signal();
        while c_reliable.recv().is_some() {}
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = mesh.hub_b.stats().sources[&A];
    println!(
        "figure: over 2 s at a 30 KiB/s budget B carried {} B from A and dropped {} datagrams ({sent} sends)",
        stats.bytes, stats.dropped_over_budget
    );
    assert!(stats.dropped_over_budget > 0, "{stats:?}");
    // A second's burst, then the rate, from the registration on: never more, however long the
    // test took.
    let most = 30.0 * 1024.0 * (1.0 + registered.elapsed().as_secs_f64());
    assert!((stats.bytes as f64) <= most, "at most the burst and the budget's rate: {stats:?}, {most} bytes");
}

#[test]
fn a_member_that_did_not_announce_relaying_is_never_relayed_for() {
    let mut mesh = Mesh::new(AMPLE_BUDGET, false);
    let (a_reliable, c_reliable) = channel_pair(&mut mesh.ac, 1, true);
    mesh.start();
    mesh.run_until("A<->B and B<->C", |mesh| mesh.ab.both_connected() && mesh.bc.both_connected());
    let start = Instant::now();
    mesh.run_until("twice RELAY_AFTER", |_| start.elapsed() > 2 * transport::relay::RELAY_AFTER);
    assert!(!open(&[&a_reliable, &c_reliable]));
    assert_ne!(mesh.ac.offerer.connection_state(), ConnectionState::Connected);
    let carried = mesh.hub_b.stats();
    assert!(carried.sources.values().all(|source| source.packets == 0), "{carried:?}");
    assert_eq!(mesh.hub_a.stats().relayed_sent, 0, "A had no relay to C");
    assert_eq!(mesh.ac.offerer.stats().relay, None);
}

#[test]
fn the_relay_channel_id_is_reserved_where_relaying_is_announced() {
    let mut relaying = PeerConnection::new(relay_config()).expect("connection");
    let id = transport::relay::RELAY_STREAM_ID;
    assert!(
        matches!(relaying.create_data_channel("x", negotiated(id, true)), Err(TransportError::IdInUse(taken)) if taken == id)
    );
    let mut plain = PeerConnection::new(loopback_config()).expect("connection");
    assert!(plain.create_data_channel("x", negotiated(id, true)).is_ok(), "free without relaying");
    let hub = RelayHub::new(1000);
    hub.register(A, &relaying).expect("register");
    assert!(hub.register(B, &relaying).is_err(), "one hub membership per connection");
    assert!(hub.register(A, &plain).is_err(), "one connection per member");
    assert!(hub.register(0, &plain).is_err(), "id out of range");
    relaying.close();
    assert!(RelayHub::new(1000).register(A, &relaying).is_err(), "closed");
}

#[test]
fn a_direct_path_cut_for_10_s_falls_back_to_the_relay_and_comes_back_by_an_ice_restart() {
    let switches = cut_and_restore(Some(Duration::from_secs(10)));
    // ICE failed during the cut; the restart signaled through the relay brings the pair back
    // (on loopback the candidates it carries are the real addresses, so it may be back before
    // the forwarder is restored).
    let back = switches.direct_after_cut.expect("back on a direct path");
    assert!(back < Duration::from_secs(10 + 7), "back within 7 s of the restore: {back:?}");
    assert!(switches.ice_restarts.iter().all(|restarts| *restarts >= 1), "{switches:?}");
}

#[test]
fn a_direct_path_cut_for_3_s_falls_back_and_comes_back_without_loss() {
    let switches = cut_and_restore(Some(Duration::from_secs(3)));
    assert!(switches.direct_after_cut.is_some(), "back on the direct path once it carries again");
    assert_eq!(switches.ice_restarts, [0, 0], "a short cut needs no ICE restart");
}

#[test]
fn a_direct_path_that_breaks_for_good_comes_back_on_new_addresses_by_an_ice_restart() {
    // The forwarder's addresses never carry again (a NAT that forgot its mapping, a player whose
    // network changed): the addresses the restart's candidates carry do.
    let switches = cut_and_restore(None);
    let back = switches.direct_after_cut.expect("back on a direct path");
    assert!(back < Duration::from_secs(17), "{back:?}");
    assert!(switches.ice_restarts.iter().all(|restarts| *restarts >= 1), "{switches:?}");
    let remote = switches.remote_at_end.expect("a selected pair");
    assert_ne!(remote, switches.forwarder_ports, "a new address, not the dead one");
}

/// What [`cut_and_restore`] saw.
#[derive(Debug)]
struct Switches {
    /// How long after the cut records went direct again, if they did.
    direct_after_cut: Option<Duration>,
    /// ICE restarts each side made or followed.
    ice_restarts: [u64; 2],
    /// A's selected pair's remote port at the end.
    remote_at_end: Option<u16>,
    /// The forwarder's port standing in for C.
    forwarder_ports: u16,
}

/// A<->C connected directly with a relay beside; a message every 5 ms from A to C while the
/// direct path is cut, restored after `restore_after` (or never) and run until 17 s after the
/// cut. Checks the fall-back and that every message arrives once and in order, with no
/// disconnection.
fn cut_and_restore(restore_after: Option<Duration>) -> Switches {
    let mut mesh = Mesh::with_cuttable_ac();
    let (a_reliable, c_reliable) = channel_pair(&mut mesh.ac, 1, true);
    mesh.start();
    mesh.run_until("A<->C directly", |mesh| mesh.ac.both_connected() && open(&[&a_reliable, &c_reliable]));
    assert_eq!(mesh.ac.offerer.stats().path, Some(PathKind::Direct));
    let forwarder_ports = mesh.ac.offerer.stats().selected_pair.expect("a pair").remote.port;
    // A relay becomes available beside the direct path after RELAY_AFTER; traffic stays direct.
    let start = Instant::now();
    mesh.run_until("a relay for A<->C", |mesh| {
        start.elapsed() > transport::relay::RELAY_AFTER && mesh.hub_a.relay_for(C) == Some(B)
    });
    assert_eq!(mesh.ac.offerer.stats().path, Some(PathKind::Direct));

    // A message every 5 ms, read as it comes; the direct path cut, then maybe restored.
    let mut next = 0u32;
    let mut got: Vec<u32> = Vec::new();
    let mut last_arrival = Instant::now();
    let mut gaps: Vec<(Instant, Duration)> = Vec::new();
    let mut states = Vec::new();
    let began = Instant::now();
    let cut_at = Duration::from_secs(1);
    let restore_at = restore_after.map(|after| cut_at + after);
    let end_at = cut_at + Duration::from_secs(17);
    let (mut cut, mut restored) = (false, false);
    let mut relayed_at = None;
    let mut direct_again_at = None;
    let relay = mesh.ac.cut.take().expect("the forwarder");
    while began.elapsed() < end_at {
        if !cut && began.elapsed() >= cut_at {
            relay.set_loss(100);
            cut = true;
        }
        if !restored && restore_at.is_some_and(|at| began.elapsed() >= at) {
            relay.set_loss(0);
            restored = true;
        }
        a_reliable.send(&next.to_le_bytes(), false).expect("send");
        next += 1;
        std::thread::sleep(Duration::from_millis(5));
        let packets = c_reliable.recv_all();
        if !packets.is_empty() {
            let now = Instant::now();
            gaps.push((now, now - last_arrival));
            last_arrival = now;
        }
        got.extend(packets.into_iter().map(|packet| u32::from_le_bytes(packet.data[..].try_into().unwrap())));
        for link in [&mut mesh.ab, &mut mesh.bc, &mut mesh.ac] {
            link.signal();
        }
        states.push(mesh.ac.offerer.connection_state());
        states.push(mesh.ac.answerer.connection_state());
        let path = mesh.ac.offerer.stats().path;
        if cut && relayed_at.is_none() && path == Some(PathKind::Relayed) {
            relayed_at = Some(began.elapsed() - cut_at);
        }
        if relayed_at.is_some() && direct_again_at.is_none() && path == Some(PathKind::Direct) {
            direct_again_at = Some(began.elapsed() - cut_at);
        }
    }
    mesh.ac.cut = Some(relay);
    mesh.run_until("every message", |_| {
        got.extend(
            c_reliable.recv_all().into_iter().map(|packet| u32::from_le_bytes(packet.data[..].try_into().unwrap())),
        );
        got.len() >= next as usize
    });
    assert_eq!(got, (0..next).collect::<Vec<_>>(), "none lost, repeated or reordered across the switches");
    assert!(
        states.iter().all(|state| *state == ConnectionState::Connected),
        "never disconnected: {:?}",
        states.iter().find(|state| **state != ConnectionState::Connected)
    );
    let longest = |from: Duration, to: Duration| {
        gaps.iter()
            .filter(|(at, _)| *at >= began + from && *at <= began + to)
            .map(|(_, gap)| *gap)
            .max()
            .unwrap_or_default()
    };
    let fall_back_gap = longest(cut_at, cut_at + Duration::from_secs(5));
    let upgrade_gap =
        direct_again_at.map(|at| longest(cut_at + at - Duration::from_secs(1), cut_at + at + Duration::from_secs(1)));
    let (a_stats, c_stats) = (mesh.ac.offerer.stats(), mesh.ac.answerer.stats());
    let remote_at_end = a_stats.selected_pair.as_ref().map(|pair| pair.remote.port);
    println!(
        "figure: direct path cut (restored after {restore_after:?}): records on the relay after {relayed_at:?}, longest gap in delivery {fall_back_gap:?}; direct again {direct_again_at:?} after the cut, longest gap around it {upgrade_gap:?}; ICE restarts A {} C {}; A's remote port {remote_at_end:?} (forwarder {forwarder_ports}); {next} messages, all in order",
        a_stats.ice_restarts, c_stats.ice_restarts
    );
    assert!(
        relayed_at.is_some_and(|after| after < Duration::from_millis(2500)),
        "fell back to the relay: {relayed_at:?}"
    );
    assert!(fall_back_gap < Duration::from_secs(5), "{fall_back_gap:?}");
    assert!(mesh.hub_b.stats().sources[&A].packets > 100);
    Switches {
        direct_after_cut: direct_again_at,
        ice_restarts: [a_stats.ice_restarts, c_stats.ice_restarts],
        remote_at_end,
        forwarder_ports,
    }
}

#[test]
fn when_the_relay_leaves_another_common_member_takes_over() {
    relay_takeover(false);
}

#[test]
fn when_the_relay_vanishes_another_common_member_takes_over_before_consent_expires() {
    let took_over = relay_takeover(true);
    // Nothing closes: A's link to the relay must be found silent (1.5 s with data outstanding),
    // long before consent (5 s) would say it.
    assert!(took_over < Duration::from_secs(4), "took over after {took_over:?}");
}

/// A and C reach each other only through B or D; whichever relays A<->C leaves (its links
/// close, `vanish` false) or vanishes (every datagram of its links is dropped from then on),
/// and the other takes over without loss, repeat or reorder. Returns how long that took.
fn relay_takeover(vanish: bool) -> Duration {
    const D: i32 = 5;
    let member_link = |seed: u64| {
        let mut link = Link::new(relay_config(), relay_config(), true);
        link.cut = vanish.then(|| Relay::new(seed));
        link
    };
    let mut links = vec![
        (A, B, member_link(11)),
        (A, D, member_link(12)),
        (B, C, member_link(13)),
        (D, C, member_link(14)),
        (A, C, Link::new(relay_config(), relay_config(), false)),
    ];
    let hubs: Vec<(i32, RelayHub)> = [A, B, C, D].into_iter().map(|id| (id, RelayHub::new(AMPLE_BUDGET))).collect();
    let hub = |id: i32| &hubs.iter().find(|(member, _)| *member == id).expect("a hub").1;
    for (offerer, answerer, link) in &links {
        hub(*offerer).register(*answerer, &link.offerer).expect("register");
        hub(*answerer).register(*offerer, &link.answerer).expect("register");
    }
    let (a_reliable, c_reliable) = channel_pair(&mut links[4].2, 1, true);
    for (_, _, link) in &mut links {
        link.offerer.create_offer().expect("offer");
    }
    let run_until = |links: &mut Vec<(i32, i32, Link)>, what: &str, done: &mut dyn FnMut() -> bool| {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            for (_, _, link) in links.iter_mut() {
                if link.offerer.connection_state() != ConnectionState::Closed {
                    link.signal();
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    run_until(&mut links, "A<->C via a relay", &mut || {
        open(&[&a_reliable, &c_reliable]) && hub(A).relay_for(C).is_some()
    });
    // Round-trip times decide between B and D; whichever relays now leaves the mesh.
    let first = hub(A).relay_for(C).expect("a relay");
    let other = if first == B { D } else { B };
    let mut sent = 0u32;
    let mut got = Vec::new();
    let mut send_and_read = |got: &mut Vec<u32>| {
        a_reliable.send(&sent.to_le_bytes(), false).expect("send");
        sent += 1;
        got.extend(
            c_reliable.recv_all().into_iter().map(|packet| u32::from_le_bytes(packet.data[..].try_into().unwrap())),
        );
    };
    for _ in 0..100 {
        send_and_read(&mut got);
        std::thread::sleep(Duration::from_millis(2));
    }
    let left_at = Instant::now();
    for (x, y, link) in links.iter_mut() {
        if *x == first || *y == first {
            match &link.cut {
                Some(forwarder) => forwarder.set_loss(100),
                None => {
                    link.offerer.close();
                    link.answerer.close();
                }
            }
        }
    }
    if !vanish {
        hub(A).unregister(first);
        hub(C).unregister(first);
    }
    let mut took_over = None;
    run_until(&mut links, "the other member to relay", &mut || {
        send_and_read(&mut got);
        if took_over.is_none() && hub(A).relay_for(C) == Some(other) {
            took_over = Some(left_at.elapsed());
        }
        took_over.is_some() && got.len() >= 100 + 100
    });
    let carried = hub(other).stats();
    let how = if vanish { "vanished" } else { "left" };
    println!(
        "figure: relay {first} {how}; {other} relays after {took_over:?} and carried {} datagrams from A; {} messages in order",
        carried.sources[&A].packets,
        got.len()
    );
    assert_eq!(got, (0..got.len() as u32).collect::<Vec<_>>());
    assert!(carried.sources[&A].packets > 0);
    assert_eq!(links[4].2.offerer.connection_state(), ConnectionState::Connected);
    took_over.expect("taken over")
}

#[test]
fn relaying_can_be_announced_until_the_first_description() {
    let mut late = PeerConnection::new(loopback_config()).expect("connection");
    late.announce_relay().expect("before any description");
    let id = transport::relay::RELAY_STREAM_ID;
    assert!(matches!(late.create_data_channel("x", negotiated(id, true)), Err(TransportError::IdInUse(_))));
    late.create_offer().expect("offer");
    let offer = late
        .poll()
        .into_iter()
        .find_map(|event| match event {
            PeerEvent::SessionDescriptionCreated { sdp, .. } => Some(sdp),
            _ => None,
        })
        .expect("an offer");
    assert!(offer.contains("a=x-webrtc-mesh-relay\r\n"), "{offer}");
    assert!(matches!(late.announce_relay(), Err(TransportError::WrongState(_))), "after the offer");
    let mut taken = PeerConnection::new(loopback_config()).expect("connection");
    let _channel = taken.create_data_channel("mine", negotiated(id, true)).expect("free without relaying");
    assert!(matches!(taken.announce_relay(), Err(TransportError::IdInUse(_))));
}

#[test]
fn relayed_datagrams_fit_one_chunk_of_the_relay_channel() {
    let mut mesh = Mesh::new(AMPLE_BUDGET, true);
    let (a_reliable, c_reliable) = channel_pair(&mut mesh.ac, 1, true);
    mesh.start();
    mesh.run_until("A<->C via B", |mesh| mesh.ac.both_connected() && open(&[&a_reliable, &c_reliable]));
    let before = mesh.hub_b.stats().sources[&A];
    // 300 messages of 4000 bytes: every packet of A<->C's association is a full one.
    for i in 0..300u32 {
        let mut message = vec![(i % 251) as u8; 4000];
        message[..4].copy_from_slice(&i.to_le_bytes());
        a_reliable.send(&message, false).expect("send");
    }
    let mut got = Vec::new();
    mesh.run_ac_until("300 relayed messages", |_| {
        for packet in c_reliable.recv_all() {
            assert_eq!(packet.data.len(), 4000);
            got.push(u32::from_le_bytes(packet.data[..4].try_into().unwrap()));
        }
        got.len() == 300
    });
    assert_eq!(got, (0..300).collect::<Vec<_>>());
    let after = mesh.hub_b.stats().sources[&A];
    let (packets, bytes) = (after.packets - before.packets, after.bytes - before.bytes);
    println!(
        "figure: 300 x 4000 B relayed in {packets} datagrams of {} B on average; envelopes split in two chunks: \
         {} during the transfer, {} during the handshake (its flights are up to 1200 B)",
        bytes / packets.max(1),
        after.split_envelopes - before.split_envelopes,
        before.split_envelopes
    );
    assert!(packets >= 1_200_000 / 1100, "{packets} datagrams");
    assert_eq!(after.split_envelopes, before.split_envelopes, "no relayed datagram of the transfer was split");
}
