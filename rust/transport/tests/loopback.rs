//! Two connections in one process over 127.0.0.1, wired the way Godot's webrtc_minimal demo
//! wires them: every event of one side is handed to the other.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::{forward, loopback_config, LOOPBACK};

use transport::{
    CandidateType, ChannelOptions, ChannelState, ConnectionState, DataChannel, IceServer, IceTransportPolicy,
    PeerConnection, PeerEvent, PeerStats, SdpKind, TransportConfig,
};

const DEADLINE: Duration = Duration::from_secs(20);

fn connection() -> PeerConnection {
    PeerConnection::new(loopback_config()).expect("connection")
}

struct Pair {
    offerer: PeerConnection,
    answerer: PeerConnection,
    received_by_answerer: Vec<DataChannel>,
}

impl Pair {
    fn new() -> Self {
        Self { offerer: connection(), answerer: connection(), received_by_answerer: Vec::new() }
    }

    fn pump(&mut self) {
        forward(&mut self.offerer, &self.answerer);
        let received = forward(&mut self.answerer, &self.offerer);
        self.received_by_answerer.extend(received);
    }

    fn pump_until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            self.pump();
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn negotiated(id: u16) -> ChannelOptions {
    ChannelOptions { negotiated_id: Some(id), ..Default::default() }
}

#[test]
fn negotiated_channel_carries_1000_ordered_reliable_messages_both_ways() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("reliable", negotiated(1)).unwrap();
    let b = pair.answerer.create_data_channel("reliable", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("both channels open", |_| {
        a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open
    });
    // Channel states are read from memory, the connection state from polled events: the event
    // can still be on its way when the channels read open.
    pair.pump_until("the offerer's connection to report connected", |pair| {
        pair.offerer.connection_state() == ConnectionState::Connected
    });
    assert_eq!((a.id(), b.id()), (1, 1));

    for i in 0..1000u32 {
        a.send(&i.to_le_bytes(), false).unwrap();
    }
    b.send("hello".as_bytes(), true).unwrap();
    let mut got = Vec::new();
    pair.pump_until("1000 messages", |_| {
        while let Some(packet) = b.recv() {
            assert!(!packet.is_string);
            got.push(u32::from_le_bytes(packet.data[..].try_into().unwrap()));
        }
        got.len() == 1000
    });
    assert_eq!(got, (0..1000).collect::<Vec<_>>());
    pair.pump_until("the text reply", |_| a.available_packets() == 1);
    let reply = a.recv().unwrap();
    assert!(reply.is_string);
    assert_eq!(&reply.data[..], b"hello");
}

/// What the bench's mesh connect figure is made of, per connection: a negotiated channel open on
/// both sides over 127.0.0.1, the two sides polled every millisecond as the bench polls its
/// meshes. Prints the time of each try (the figure depends on the machine; no bound on it).
#[test]
fn connecting_over_loopback_prints_its_time() {
    let mut times = Vec::new();
    for _ in 0..10 {
        let mut pair = Pair::new();
        let a = pair.offerer.create_data_channel("reliable", negotiated(1)).unwrap();
        let b = pair.answerer.create_data_channel("reliable", negotiated(1)).unwrap();
        let start = Instant::now();
        pair.offerer.create_offer().unwrap();
        while a.ready_state() != ChannelState::Open || b.ready_state() != ChannelState::Open {
            assert!(start.elapsed() < DEADLINE, "timed out connecting");
            pair.pump();
            std::thread::sleep(Duration::from_millis(1));
        }
        times.push(start.elapsed());
        pair.offerer.close();
        pair.answerer.close();
    }
    let shown: Vec<String> = times.iter().map(|time| format!("{:.1}", time.as_secs_f64() * 1000.0)).collect();
    times.sort();
    println!(
        "FIGURE connect over loopback, negotiated channel open both sides, 10 tries: median {:.1} ms ({} ms)",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        shown.join(" ")
    );
}

#[test]
fn a_game_polling_once_a_frame_gets_every_message_from_the_connections_task() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("state", negotiated(1)).unwrap();
    let b = pair.answerer.create_data_channel("state", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("both channels open", |_| {
        a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open
    });
    // Polls 16 ms apart do not pump the connection themselves: its task receives, acknowledges
    // and hands over; each frame's poll only takes what is ready.
    let mut got = Vec::new();
    for frame in 0..90u32 {
        pair.offerer.poll();
        pair.answerer.poll();
        while let Some(packet) = b.recv() {
            got.push(u32::from_le_bytes(packet.data[..].try_into().unwrap()));
        }
        if frame < 60 {
            a.send(&frame.to_le_bytes(), false).unwrap();
        }
        std::thread::sleep(Duration::from_millis(16));
    }
    assert_eq!(got, (0..60).collect::<Vec<_>>());
    assert_eq!(a.buffered_amount(), 0, "every message acknowledged");
}

#[test]
fn in_band_channel_arrives_with_its_options() {
    let mut pair = Pair::new();
    let options =
        ChannelOptions { ordered: false, max_retransmits: Some(3), protocol: "game".into(), ..Default::default() };
    let a = pair.offerer.create_data_channel("chat", options).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("the channel to arrive", |pair| !pair.received_by_answerer.is_empty());
    let b = pair.received_by_answerer[0].clone();
    assert_eq!(b.label(), "chat");
    assert!(!b.options().ordered);
    // The remote end keeps the reliability its opener asked for (rtc 0.21 lost it).
    assert_eq!(a.options().max_retransmits, Some(3));
    assert_eq!(b.options().max_retransmits, Some(3));
    assert_eq!(b.options().max_packet_life_time, None);
    assert_eq!(b.options().protocol, "game");
    pair.pump_until("both ends open", |_| {
        a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open
    });
    // Both ends name the same SCTP stream once the DTLS roles are settled.
    assert!(a.id() >= 0, "the opener's channel has a stream id: {}", a.id());
    assert_eq!(a.id(), b.id());
    b.send(b"pong", false).unwrap();
    pair.pump_until("pong", |_| a.available_packets() == 1);
    assert_eq!(&a.recv().unwrap().data[..], b"pong");
}

#[test]
fn unreliable_options_are_applied_and_oversized_packets_refused() {
    let mut pair = Pair::new();
    let lifetime =
        ChannelOptions { ordered: false, max_packet_life_time: Some(1), negotiated_id: Some(3), ..Default::default() };
    let a = pair.offerer.create_data_channel("unreliable", lifetime.clone()).unwrap();
    let b = pair.answerer.create_data_channel("unreliable", lifetime).unwrap();
    assert!(!a.options().ordered);
    assert_eq!(a.options().max_packet_life_time, Some(1));
    pair.offerer.create_offer().unwrap();
    pair.pump_until("open", |_| a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open);
    let too_big = vec![0u8; a.max_message_size() + 1];
    assert!(a.send(&too_big, false).is_err());
    a.send(b"small", false).unwrap();
    pair.pump_until("a small unreliable packet", |_| b.available_packets() == 1);
    assert_eq!(&b.recv().unwrap().data[..], b"small");
}

#[test]
fn the_largest_packet_crosses_a_reliable_channel() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("reliable", negotiated(1)).unwrap();
    let b = pair.answerer.create_data_channel("reliable", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("open", |_| a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open);
    let largest: Vec<u8> = (0..a.max_message_size()).map(|i| i as u8).collect();
    a.send(&largest, false).unwrap();
    pair.pump_until("the largest packet", |_| b.available_packets() == 1);
    assert_eq!(&b.recv().unwrap().data[..], &largest[..]);
    // Twenty more in a burst (over a segmented send's 64 KiB); all arrive, and once the other
    // side has acknowledged them nothing counts as buffered any more.
    for _ in 0..20 {
        a.send(&largest, false).unwrap();
    }
    assert!(a.buffered_amount() > 0);
    let mut received = 0;
    pair.pump_until("twenty more", |_| {
        received += b.recv_all().len();
        received == 20
    });
    pair.pump_until("the buffered amount to drain", |_| a.buffered_amount() == 0);
}

/// Eight reliable channels that each fill their send window at once hold more than the
/// association's send buffer (1 MiB): a message it refuses waits in its channel for room, it is
/// never dropped.
#[test]
fn reliable_messages_past_the_association_send_buffer_wait_and_all_arrive() {
    const CHANNELS: u16 = 8;
    const MESSAGES: usize = 20;
    const SIZE: usize = 64 * 1024;
    let mut pair = Pair::new();
    let (mut there, mut back) = (Vec::new(), Vec::new());
    for id in 1..=CHANNELS {
        there.push(pair.offerer.create_data_channel("bulk", negotiated(id)).unwrap());
        back.push(pair.answerer.create_data_channel("bulk", negotiated(id)).unwrap());
    }
    pair.offerer.create_offer().unwrap();
    pair.pump_until("open", |_| there.iter().chain(&back).all(|channel| channel.ready_state() == ChannelState::Open));
    let message = |channel: usize, index: usize| vec![(channel * MESSAGES + index) as u8; SIZE];
    for index in 0..MESSAGES {
        for (channel, sender) in there.iter().enumerate() {
            sender.send(&message(channel, index), false).unwrap();
        }
    }
    let mut got: Vec<Vec<Vec<u8>>> = vec![Vec::new(); there.len()];
    pair.pump_until("every message on every channel", |_| {
        for (channel, receiver) in back.iter().enumerate() {
            got[channel].extend(receiver.recv_all().into_iter().map(|packet| packet.data.to_vec()));
        }
        got.iter().all(|messages| messages.len() >= MESSAGES)
    });
    for (channel, messages) in got.iter().enumerate() {
        let expected: Vec<Vec<u8>> = (0..MESSAGES).map(|index| message(channel, index)).collect();
        assert!(messages == &expected, "channel {channel}: {} messages, not in order or altered", messages.len());
    }
}

#[test]
fn closing_one_side_is_seen_by_the_other() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("reliable", negotiated(1)).unwrap();
    let b = pair.answerer.create_data_channel("reliable", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("open", |_| a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open);
    // Less than the receiving channel holds (64 KiB): a full channel nobody reads holds its
    // connection's events (back-pressure), the close among them, until the hold limit.
    for _ in 0..50 {
        a.send(&[1; 1000], false).unwrap();
    }
    pair.offerer.close();
    assert_eq!(a.ready_state(), ChannelState::Closed);
    assert!(a.send(b"late", false).is_err());
    let closed_at = Instant::now();
    pair.pump_until("the remote side to close", |pair| pair.answerer.connection_state() == ConnectionState::Closed);
    assert!(closed_at.elapsed() < Duration::from_millis(500), "took {:?}", closed_at.elapsed());
    assert_eq!(b.ready_state(), ChannelState::Closed);
    assert!(pair.answerer.create_data_channel("late", ChannelOptions::default()).is_err());
}

#[test]
fn candidates_name_the_media_line_of_the_offer() {
    let mut offerer = connection();
    let _channel = offerer.create_data_channel("probe", ChannelOptions::default()).unwrap();
    offerer.create_offer().unwrap();
    let (mut offer, mut mids) = (String::new(), Vec::new());
    let start = Instant::now();
    while offer.is_empty() || mids.is_empty() {
        assert!(start.elapsed() < DEADLINE, "no offer or candidate");
        for event in offerer.poll() {
            match event {
                PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                    offerer.set_local_description(kind, sdp.clone()).unwrap();
                    offer = sdp;
                }
                PeerEvent::IceCandidateCreated { mid, index, .. } => mids.push((mid, index)),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for (mid, index) in mids {
        assert!(offer.contains(&format!("a=mid:{mid}\r\n")), "candidate mid {mid} is not in the offer:\n{offer}");
        assert_eq!(index, 0, "a data-only offer has one media line");
    }
}

#[test]
fn malformed_input_is_refused_synchronously() {
    let pair = Pair::new();
    assert!(pair.offerer.set_remote_description(SdpKind::Offer, "not sdp".into()).is_err());
    assert!(pair.offerer.add_ice_candidate("0", 0, "candidate:garbage").is_err());
    assert!(SdpKind::parse("bogus").is_err());
}

#[test]
fn a_negotiated_id_in_use_is_refused_and_the_first_channel_keeps_working() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("chat", negotiated(1)).unwrap();
    let again = pair.offerer.create_data_channel("chat", negotiated(1));
    assert_eq!(again.err(), Some(transport::TransportError::IdInUse(1)));
    let b = pair.answerer.create_data_channel("chat", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("both channels open", |_| {
        a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open
    });
    b.send(b"Hi from P2", false).unwrap();
    a.send(b"Hi from P1", false).unwrap();
    pair.pump_until("both messages", |_| a.available_packets() == 1 && b.available_packets() == 1);
    assert_eq!(&a.recv().unwrap().data[..], b"Hi from P2");
    assert_eq!(&b.recv().unwrap().data[..], b"Hi from P1");
    a.close();
    pair.pump_until("the channel closes", |_| a.ready_state() == ChannelState::Closed);
    assert!(pair.offerer.create_data_channel("chat", negotiated(1)).is_ok(), "a closed channel's id is free again");
}

#[test]
fn create_data_channel_follows_the_w3c_type_checks() {
    let mut connection = connection();
    let refused = |result: Result<DataChannel, transport::TransportError>| {
        matches!(result, Err(transport::TransportError::InvalidConfig(_)))
    };
    assert!(refused(connection.create_data_channel("x", negotiated(65535))), "id 65535 is reserved");
    assert!(connection.create_data_channel("x", negotiated(65534)).is_ok(), "65534 is the largest id");
    let both = ChannelOptions { max_packet_life_time: Some(10), max_retransmits: Some(2), ..Default::default() };
    assert!(refused(connection.create_data_channel("x", both)), "lifetime and retransmits together");
    assert!(
        refused(connection.create_data_channel(&"l".repeat(65536), ChannelOptions::default())),
        "a label over 65535 bytes"
    );
    assert!(
        connection.create_data_channel(&"l".repeat(65535), ChannelOptions::default()).is_ok(),
        "a label of 65535 bytes"
    );
    let long_protocol = ChannelOptions { protocol: "p".repeat(65536), ..Default::default() };
    assert!(refused(connection.create_data_channel("x", long_protocol)), "a protocol over 65535 bytes");
}

#[test]
fn stats_after_100_messages_count_the_traffic_and_name_the_host_pair() {
    let mut pair = Pair::new();
    let a = pair.offerer.create_data_channel("reliable", negotiated(1)).unwrap();
    let b = pair.answerer.create_data_channel("reliable", negotiated(1)).unwrap();
    pair.offerer.create_offer().unwrap();
    pair.pump_until("both channels open", |_| {
        a.ready_state() == ChannelState::Open && b.ready_state() == ChannelState::Open
    });
    for i in 0..100u32 {
        a.send(&[i as u8; 100], false).unwrap();
    }
    let mut received = 0;
    pair.pump_until("100 messages", |_| {
        received += b.recv_all().len();
        received == 100
    });
    // The round-trip time is the SCTP association's estimate, measured on data a side sent: the
    // receiver answers once.
    b.send(b"thanks", false).unwrap();
    pair.pump_until("the answer", |_| a.recv().is_some());
    pair.pump_until("the answer's acknowledgement", |pair| pair.answerer.stats().round_trip_time.is_some());

    // Statistics are taken from the core when asked.
    let after_the_messages = Instant::now();
    let (sender, receiver) = (pair.offerer.stats(), pair.answerer.stats());
    assert!(sender.taken_at.is_some_and(|taken| taken >= after_the_messages));
    for (side, stats) in [("offerer", &sender), ("answerer", &receiver)] {
        assert!(stats.bytes_sent > 0 && stats.bytes_received > 0, "{side}: {stats:?}");
        assert!(stats.packets_sent > 0 && stats.packets_received > 0, "{side}: {stats:?}");
        let rtt = stats.round_trip_time.unwrap_or_else(|| panic!("{side}: no round-trip time: {stats:?}"));
        assert!((0.0..1.0).contains(&rtt), "{side}: round-trip time {rtt} s");
        let retransmissions = stats.retransmissions.unwrap_or_else(|| panic!("{side}: no SCTP counters: {stats:?}"));
        assert!(retransmissions <= 5, "{side}: {retransmissions} retransmissions on loopback");
        let selected = stats.selected_pair.as_ref().unwrap_or_else(|| panic!("{side}: no selected pair"));
        assert_eq!(selected.protocol, "udp");
        for end in [&selected.local, &selected.remote] {
            assert_eq!(end.candidate_type, CandidateType::Host, "{side}: {selected:?}");
            assert_eq!(end.candidate_type.name(), "host");
            assert_eq!(end.address, "127.0.0.1", "{side}: {selected:?}");
            assert_ne!(end.port, 0);
        }
        assert_ne!(selected.local.port, selected.remote.port, "two sockets");
    }
    assert_eq!(
        sender.selected_pair.as_ref().map(|p| p.local.port),
        receiver.selected_pair.as_ref().map(|p| p.remote.port)
    );
    assert!(sender.bytes_sent >= 100 * 100, "the payload went out: {sender:?}");
    assert!(receiver.bytes_received >= 100 * 100, "and came in: {receiver:?}");

    // Later statistics follow the traffic.
    for _ in 0..100 {
        a.send(&[0; 1000], false).unwrap();
    }
    let before = sender.bytes_sent;
    pair.pump_until("statistics to count 100 kB more", |pair| pair.offerer.stats().bytes_sent >= before + 100 * 1000);
}

#[test]
fn stats_of_a_closed_connection_are_the_defaults() {
    let mut connection = connection();
    connection.close();
    let stats = connection.stats();
    assert_eq!(stats, PeerStats::default());
    assert_eq!((stats.bytes_sent, stats.packets_received, stats.round_trip_time), (0, 0, None));
    assert!(stats.selected_pair.is_none() && stats.taken_at.is_none());
}

#[test]
fn relay_policy_without_a_reachable_turn_server_gathers_no_host_candidate_and_never_connects() {
    // A TURN "server" that never answers: the port is ours, so nobody else answers either.
    let silent = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let turn = IceServer {
        urls: vec![format!("turn:127.0.0.1:{}", silent.local_addr().unwrap().port())],
        username: "user".into(),
        credential: "secret".into(),
    };
    let relay = TransportConfig {
        ice_servers: vec![turn],
        ice_transport_policy: IceTransportPolicy::Relay,
        ..loopback_config()
    };
    let mut offerer = PeerConnection::new(relay).unwrap();
    let mut answerer = connection();
    let a = offerer.create_data_channel("reliable", negotiated(1)).unwrap();
    let _b = answerer.create_data_channel("reliable", negotiated(1)).unwrap();
    offerer.create_offer().unwrap();
    let (mut offerer_candidates, mut answerer_candidates) = (Vec::new(), 0);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        for event in offerer.poll() {
            match event {
                PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                    offerer.set_local_description(kind, sdp.clone()).unwrap();
                    answerer.set_remote_description(kind, sdp).unwrap();
                }
                PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                    answerer.add_ice_candidate(&mid, index, &candidate).unwrap();
                    offerer_candidates.push(candidate);
                }
                _ => {}
            }
        }
        for event in answerer.poll() {
            match event {
                PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                    offerer.set_remote_description(kind, sdp).unwrap()
                }
                PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                    offerer.add_ice_candidate(&mid, index, &candidate).unwrap();
                    answerer_candidates += 1;
                }
                _ => {}
            }
        }
        assert_ne!(offerer.connection_state(), ConnectionState::Connected, "a relay-only connection connected");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(answerer_candidates > 0, "the other side did offer its host candidates");
    assert!(
        offerer_candidates.iter().all(|candidate| candidate.contains(" typ relay")),
        "only relayed candidates may be gathered under the relay policy: {offerer_candidates:?}"
    );
    assert!(offerer_candidates.is_empty(), "the silent TURN server relays nothing: {offerer_candidates:?}");
    assert_ne!(a.ready_state(), ChannelState::Open);
    assert!(offerer.stats().selected_pair.is_none());
}

#[test]
fn relay_policy_without_a_turn_server_is_refused_at_once() {
    let relay = TransportConfig { ice_transport_policy: IceTransportPolicy::Relay, ..loopback_config() };
    assert!(matches!(PeerConnection::new(relay), Err(transport::TransportError::InvalidConfig(_))));
}
