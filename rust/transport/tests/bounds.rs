//! What a remote side may make a connection hold: received messages nobody reads (per channel,
//! within the receive limit), channels it opens in-band, and messages our side sends that it
//! never acknowledges (within the send limit).

mod common;

use std::time::{Duration, Instant};

use common::relay::RelayedPair;
use common::{loopback_config, LOOPBACK};

use transport::channel::{MAX_BUFFERED_AMOUNT, MESSAGE_OVERHEAD, MIN_RECEIVE_LIMIT};
use transport::remote_channels::{MAX_REMOTE_CHANNELS, MAX_REMOTE_OPENS};
use transport::{
    ChannelOptions, ChannelState, ConnectionState, DataChannel, PeerConnection, PeerEvent, SdpKind, TransportConfig,
    TransportError,
};

const DEADLINE: Duration = Duration::from_secs(30);

/// The size of the flood's messages (the attack).
const FLOOD_MESSAGE: usize = 16 * 1024;

/// Two connections over loopback; the events each side reported besides signaling.
struct Pair {
    sides: [PeerConnection; 2],
    /// Channels each side received in-band.
    received: [Vec<DataChannel>; 2],
    errors: [Vec<TransportError>; 2],
}

impl Pair {
    fn new(receiver: TransportConfig) -> Self {
        let sides = [PeerConnection::new(loopback_config()).unwrap(), PeerConnection::new(receiver).unwrap()];
        Self { sides, received: Default::default(), errors: Default::default() }
    }

    fn pump(&mut self) {
        for (from, to) in [(0, 1), (1, 0)] {
            for event in self.sides[from].poll() {
                match event {
                    PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                        if kind == SdpKind::Offer {
                            self.sides[from].set_local_description(kind, sdp.clone()).unwrap();
                        }
                        self.sides[to].set_remote_description(kind, sdp).unwrap();
                    }
                    PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                        self.sides[to].add_ice_candidate(&mid, index, &candidate).unwrap();
                    }
                    PeerEvent::DataChannelReceived(channel) => self.received[from].push(channel),
                    PeerEvent::Error(error) => self.errors[from].push(error),
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
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Connects with a channel made by `options` on the sender (side 0) and, if negotiated, on the
    /// receiver (side 1); returns both ends once open.
    fn connect(&mut self, options: ChannelOptions) -> [DataChannel; 2] {
        let sender = self.sides[0].create_data_channel("flooded", options.clone()).unwrap();
        let negotiated = options.negotiated_id.is_some();
        let mut receiver = negotiated.then(|| self.sides[1].create_data_channel("flooded", options).unwrap());
        self.sides[0].create_offer().unwrap();
        self.pump_until("the channel open on both sides", |pair| {
            if receiver.is_none() {
                receiver = pair.received[1].first().cloned();
            }
            sender.ready_state() == ChannelState::Open
                && receiver.as_ref().is_some_and(|channel| channel.ready_state() == ChannelState::Open)
        });
        [sender, receiver.unwrap()]
    }

    /// Sends `total` bytes in [`FLOOD_MESSAGE`]s as fast as the sender's buffer allows, pumping
    /// both sides; stops early once the sender's channel is no longer open. Calls `watch` after
    /// every pump. Returns the bytes sent.
    fn flood(&mut self, sender: &DataChannel, total: usize, mut watch: impl FnMut(&mut Self)) -> usize {
        let message = vec![7u8; FLOOD_MESSAGE];
        let mut sent = 0;
        let start = Instant::now();
        while sent < total && sender.ready_state() == ChannelState::Open {
            assert!(start.elapsed() < DEADLINE, "the flood did not finish");
            match sender.send(&message, false) {
                Ok(()) => sent += message.len(),
                Err(TransportError::SendBufferFull { .. }) => {
                    self.pump();
                    watch(self);
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TransportError::ChannelNotOpen) => break,
                Err(error) => panic!("send failed: {error}"),
            }
        }
        // What is in flight arrives.
        let settle = Instant::now();
        while settle.elapsed() < Duration::from_millis(500) {
            self.pump();
            watch(self);
            std::thread::sleep(Duration::from_millis(5));
        }
        sent
    }
}

/// Bytes `channel`'s received packets count for against its limit.
fn held(channel: &DataChannel) -> usize {
    channel.available_packets() * (FLOOD_MESSAGE + MESSAGE_OVERHEAD)
}

fn overflows(errors: &[TransportError]) -> usize {
    errors.iter().filter(|error| matches!(error, TransportError::ReceiveBufferOverflow { .. })).count()
}

/// A reliable channel whose receiver never reads holds the connection (the sender is held back)
/// and is closed with one error after the hold limit; what it holds never grows past its limit.
fn flood_a_reliable_channel(options: ChannelOptions) {
    let mut pair = Pair::new(loopback_config());
    let [sender, receiver] = pair.connect(options);
    assert_eq!(receiver.receive_limit(), MIN_RECEIVE_LIMIT);
    let mut most_held = 0;
    // More than the receiver's core can hold while the channel holds the connection (SCTP's
    // 1 MiB window and the core's queue) and the sender's 4 MiB send limit together.
    let total = 32 * 1024 * 1024;
    let sent = pair.flood(&sender, total, |_| most_held = most_held.max(held(&receiver)));
    let start = Instant::now();
    pair.pump_until("the flooded channel closed", |pair| {
        most_held = most_held.max(held(&receiver));
        !pair.errors[1].is_empty()
    });
    println!(
        "sent {sent} bytes; the receiver held at most {most_held} bytes; closed {:.1} s after the flood",
        start.elapsed().as_secs_f64()
    );
    assert_eq!(receiver.ready_state(), ChannelState::Closed, "the flooded channel is closed");
    assert!(most_held <= MIN_RECEIVE_LIMIT, "held {most_held} bytes");
    assert!(sent < total, "the sender was held back, then its channel closed, before the flood ended");
    pair.pump_until("the sender to see its channel closed", |_| sender.ready_state() == ChannelState::Closed);
    assert_eq!(overflows(&pair.errors[1]), 1, "one error: {:?}", pair.errors[1]);
    let message = pair.errors[1][0].to_string();
    assert!(message.contains("'flooded'") && message.contains(&MIN_RECEIVE_LIMIT.to_string()), "{message}");
    assert!(pair.errors[0].is_empty(), "the sender reports nothing: {:?}", pair.errors[0]);
    assert_eq!(pair.sides[1].connection_state(), ConnectionState::Connected, "the connection lives on");
}

#[test]
fn an_unread_negotiated_reliable_channel_is_closed_with_one_error() {
    flood_a_reliable_channel(ChannelOptions { negotiated_id: Some(1), ..Default::default() });
}

#[test]
fn an_unread_in_band_channel_is_closed_with_one_error() {
    flood_a_reliable_channel(ChannelOptions::default());
}

#[test]
fn an_unread_unreliable_channel_keeps_the_newest_messages() {
    let options = ChannelOptions { negotiated_id: Some(1), max_retransmits: Some(0), ..Default::default() };
    let mut pair = Pair::new(loopback_config());
    let [sender, receiver] = pair.connect(options);
    // Numbered messages, a few at a time so that none is lost on the way.
    let count = 3 * MIN_RECEIVE_LIMIT / 1024;
    for number in 0..count as u32 {
        let mut message = vec![0u8; 1000];
        message[..4].copy_from_slice(&number.to_le_bytes());
        sender.send(&message, false).unwrap();
        if number % 8 == 7 {
            pair.pump_until("the sender's buffer to drain", |_| sender.buffered_amount() == 0);
        }
    }
    pair.pump_until("every message to arrive or be dropped", |_| {
        receiver.available_packets() + receiver.dropped_packets() >= count
    });
    let kept: Vec<u32> =
        receiver.recv_all().iter().map(|packet| u32::from_le_bytes(packet.data[..4].try_into().unwrap())).collect();
    println!("kept {} of {count} messages, dropped {}", kept.len(), receiver.dropped_packets());
    assert_eq!(kept.len(), MIN_RECEIVE_LIMIT / (1000 + MESSAGE_OVERHEAD), "as many as fit");
    assert_eq!(kept.last(), Some(&(count as u32 - 1)), "the newest is kept");
    assert!(kept.windows(2).all(|pair| pair[0] + 1 == pair[1]), "the newest ones, in order");
    assert_eq!(receiver.ready_state(), ChannelState::Open, "an unreliable channel stays open");
    assert!(pair.errors[1].is_empty(), "no error: {:?}", pair.errors[1]);
}

/// Bursts far larger than the receive limit, read a little at a time: the channel holds the
/// connection while it is full (the sender waits), so nothing is lost or closed, and every
/// message arrives in order.
#[test]
fn a_burst_larger_than_the_limit_read_slowly_arrives_whole_and_in_order() {
    let mut pair = Pair::new(loopback_config());
    let [sender, receiver] = pair.connect(ChannelOptions { negotiated_id: Some(1), ..Default::default() });
    assert_eq!(receiver.receive_limit(), MIN_RECEIVE_LIMIT);
    // 1000 small messages at once (~96 KiB as counted), then 2 MiB of 16 KiB messages.
    let mut expected: Vec<Vec<u8>> = (0..1000u32).map(|n| n.to_le_bytes().repeat(16)).collect();
    expected.extend((0..128u32).map(|n| [n.to_le_bytes().as_slice(), &[9u8; FLOOD_MESSAGE - 4]].concat()));
    let mut to_send = expected.iter();
    let mut got: Vec<Vec<u8>> = Vec::new();
    let mut most_held = 0;
    let start = Instant::now();
    while got.len() < expected.len() {
        assert!(start.elapsed() < DEADLINE, "only {} of {} messages arrived", got.len(), expected.len());
        for message in to_send.by_ref() {
            if sender.send(message, false).is_err() {
                panic!("the sender's buffer is 4 MiB: everything fits");
            }
        }
        pair.pump();
        most_held = most_held.max(receiver.available_packets() * MESSAGE_OVERHEAD);
        // The game reads a few messages a frame.
        for _ in 0..20 {
            match receiver.recv() {
                Some(packet) => got.push(packet.data.to_vec()),
                None => break,
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("{} messages in {:.2} s", got.len(), start.elapsed().as_secs_f64());
    assert!(got == expected, "every message, in order");
    assert!(pair.errors[1].is_empty(), "no error: {:?}", pair.errors[1]);
    assert_eq!(receiver.ready_state(), ChannelState::Open);
}

#[test]
fn the_receive_limit_follows_the_configuration_but_never_goes_below_one_message() {
    let limit = 256 * 1024;
    let mut pair = Pair::new(TransportConfig { channel_receive_limit: limit, ..loopback_config() });
    let [sender, receiver] = pair.connect(ChannelOptions { negotiated_id: Some(1), ..Default::default() });
    assert_eq!(receiver.receive_limit(), limit);
    let mut most_held = 0;
    pair.flood(&sender, 2 * 1024 * 1024, |_| most_held = most_held.max(held(&receiver)));
    pair.pump_until("the flooded channel closed", |pair| {
        most_held = most_held.max(held(&receiver));
        !pair.errors[1].is_empty()
    });
    assert!(most_held > MIN_RECEIVE_LIMIT && most_held <= limit, "held {most_held} bytes");
    assert_eq!(overflows(&pair.errors[1]), 1);

    let small = PeerConnection::new(TransportConfig { channel_receive_limit: 1024, ..loopback_config() }).unwrap();
    let mut small = small;
    let channel = small.create_data_channel("c", ChannelOptions::default()).unwrap();
    assert_eq!(channel.receive_limit(), MIN_RECEIVE_LIMIT);
}

#[test]
fn a_connection_that_refuses_remote_channels_closes_them_at_once() {
    let mut pair = Pair::new(loopback_config());
    pair.sides[1].refuse_remote_channels();
    let negotiated = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let [_, _] = pair.connect(negotiated);
    let in_band = pair.sides[0].create_data_channel("unwanted", ChannelOptions::default()).unwrap();
    pair.pump_until("the in-band channel closed by the receiver", |_| in_band.ready_state() == ChannelState::Closed);
    assert!(pair.received[1].is_empty(), "never handed to the receiver");
    assert_eq!(in_band.send(b"x", false), Err(TransportError::ChannelNotOpen));
}

#[test]
fn remote_opened_channels_are_capped_live_and_over_the_connection_life() {
    let mut pair = Pair::new(loopback_config());
    let [_, _] = pair.connect(ChannelOptions { negotiated_id: Some(1), ..Default::default() });
    let open_some = |pair: &mut Pair, count: usize| -> Vec<DataChannel> {
        let made: Vec<DataChannel> = (0..count)
            .map(|i| pair.sides[0].create_data_channel(&format!("c{i}"), ChannelOptions::default()).unwrap())
            .collect();
        pair.pump_until("every opening answered", |_| {
            made.iter().all(|channel| channel.ready_state() != ChannelState::Connecting)
        });
        made
    };
    // Too many at once: the receiver keeps MAX_REMOTE_CHANNELS.
    let first = open_some(&mut pair, MAX_REMOTE_CHANNELS + 6);
    pair.pump_until("the extra ones closed, the others received", |pair| {
        first.iter().filter(|channel| channel.ready_state() == ChannelState::Closed).count() == 6
            && pair.received[1].len() >= MAX_REMOTE_CHANNELS
    });
    pair.pump();
    assert_eq!(pair.received[1].len(), MAX_REMOTE_CHANNELS);
    // Closed and opened again, up to the life's limit: then no more.
    let mut opened = first.len();
    for channel in &first {
        channel.close();
    }
    pair.pump_until("the receiver's channels closed", |pair| {
        pair.received[1].iter().all(|channel| channel.ready_state() == ChannelState::Closed)
    });
    // The sender opens twice the limit, so that the receiver's limit over the connection's life
    // is reached whatever it refused on the way.
    while opened < 2 * MAX_REMOTE_OPENS {
        let batch = open_some(&mut pair, 50);
        opened += batch.len();
        for channel in &batch {
            channel.close();
        }
        pair.pump_until("the receiver's channels closed", |pair| {
            pair.received[1].iter().all(|channel| channel.ready_state() == ChannelState::Closed)
        });
    }
    let adopted = pair.received[1].len();
    println!("{opened} channels opened in-band; the receiver took {adopted}");
    assert!(adopted <= MAX_REMOTE_OPENS - 6, "refused ones count too: {adopted}");
    assert!(adopted > MAX_REMOTE_OPENS / 2, "openings went through until the limit: {adopted}");
    // Refused from now on, though none is live.
    let late = open_some(&mut pair, 3);
    pair.pump_until("the late ones closed", |_| {
        late.iter().all(|channel| channel.ready_state() == ChannelState::Closed)
    });
    pair.pump();
    assert_eq!(pair.received[1].len(), adopted);
}

#[test]
fn sending_to_a_peer_that_never_acknowledges_stops_at_the_send_limit() {
    let mut pair = RelayedPair::connected(19);
    pair.relay.set_loss(100);
    let sender = &pair.channels[0];
    let message = vec![1u8; FLOOD_MESSAGE];
    let mut accepted = 0;
    let refusal = loop {
        match sender.send(&message, false) {
            Ok(()) => accepted += message.len(),
            Err(error) => break error,
        }
        assert!(sender.buffered_amount() <= MAX_BUFFERED_AMOUNT, "{} bytes buffered", sender.buffered_amount());
        assert!(accepted <= MAX_BUFFERED_AMOUNT + FLOOD_MESSAGE, "accepted {accepted} bytes");
    };
    assert!(matches!(refusal, TransportError::SendBufferFull { .. }), "{refusal}");
    // The task keeps pumping; what is buffered stays within the limit and more stays refused.
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(10));
        assert!(sender.buffered_amount() <= MAX_BUFFERED_AMOUNT + FLOOD_MESSAGE);
        let _ = pair.connections[0].poll();
    }
    println!("accepted {accepted} bytes; buffered {}", sender.buffered_amount());
    assert!(accepted + FLOOD_MESSAGE > MAX_BUFFERED_AMOUNT, "accepted up to the limit: {accepted}");
    // Tail-loss probes may carry a few new packets out of the queue meanwhile (they are lost
    // too), which lets at most one more message in; then sending is refused again.
    let mut more = 0;
    let refused = loop {
        match sender.send(&message, false) {
            Ok(()) => more += 1,
            Err(error) => break error,
        }
        assert!(more <= 1, "{more} more messages accepted after the limit");
    };
    assert!(matches!(refused, TransportError::SendBufferFull { .. }), "{refused}");
    assert!(sender.buffered_amount() <= MAX_BUFFERED_AMOUNT + FLOOD_MESSAGE);
    let _ = LOOPBACK;
}
