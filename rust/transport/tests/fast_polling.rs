//! A caller that polls in a tight loop reads its connection's datagrams itself and sends the
//! acknowledgements of what it read with its answers; when it stops polling, the connection's
//! task takes the connection over again.

mod common;

use std::time::{Duration, Instant};

use common::{forward, loopback_config};
use transport::{ChannelOptions, ChannelState, DataChannel, PeerConnection};

const DEADLINE: Duration = Duration::from_secs(20);
const PING: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
/// How soon the tasks must take a connection over from a caller that stopped polling fast (they
/// check back 20 ms after its last poll; generous for a loaded machine).
const TAKE_OVER: Duration = Duration::from_secs(2);

/// Two connections with a negotiated reliable channel, open.
fn open_pair() -> (PeerConnection, PeerConnection, DataChannel, DataChannel) {
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let options = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let on_a = a.create_data_channel("reliable", options.clone()).expect("channel");
    let on_b = b.create_data_channel("reliable", options).expect("channel");
    a.create_offer().expect("offer");
    let start = Instant::now();
    while on_a.ready_state() != ChannelState::Open || on_b.ready_state() != ChannelState::Open {
        assert!(start.elapsed() < DEADLINE, "the channel did not open");
        forward(&mut a, &b);
        forward(&mut b, &a);
        std::thread::sleep(Duration::from_millis(1));
    }
    (a, b, on_a, on_b)
}

/// Polls `peers` in a tight loop until `channel` has a message.
fn poll_until_message(peers: &mut [&mut PeerConnection], channel: &DataChannel) {
    let start = Instant::now();
    loop {
        for peer in peers.iter_mut() {
            peer.poll();
        }
        if channel.recv().is_some() {
            return;
        }
        assert!(start.elapsed() < DEADLINE, "no message came");
    }
}

/// Waits, polling nothing, until `done`.
fn wait_unpolled(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what} without polling");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn answers_carry_the_acknowledgements_of_what_a_fast_polling_caller_read() {
    let (mut a, mut b, on_a, on_b) = open_pair();
    const ROUND_TRIPS: u64 = 300;
    let sent_before = b.stats().packets_sent;
    for _ in 0..ROUND_TRIPS {
        on_a.send(&PING, false).expect("send");
        poll_until_message(&mut [&mut a, &mut b], &on_b);
        on_b.send(&PING, false).expect("send");
        poll_until_message(&mut [&mut a, &mut b], &on_a);
    }
    let sent = b.stats().packets_sent - sent_before;
    // Each ping asks for an immediate acknowledgement (the I bit on a lone message): sent alone it
    // doubles the datagrams; a poll that is not counted as fast (the thread was descheduled)
    // still sends it alone, hence the margin.
    assert!(sent < ROUND_TRIPS * 3 / 2, "{sent} datagrams for {ROUND_TRIPS} answers");
}

#[test]
fn a_connection_lives_on_when_its_fast_polling_caller_stops() {
    let (mut a, mut b, on_a, on_b) = open_pair();
    for _ in 0..100 {
        on_a.send(&PING, false).expect("send");
        poll_until_message(&mut [&mut a, &mut b], &on_b);
        on_b.send(&PING, false).expect("send");
        poll_until_message(&mut [&mut a, &mut b], &on_a);
    }
    // The receiving side's poll takes a message and leaves its acknowledgement for the next call,
    // which never comes: the tasks must deliver it and everything after.
    on_a.send(&PING, false).expect("send");
    poll_until_message(&mut [&mut b], &on_b);
    let stopped = Instant::now();
    wait_unpolled("the acknowledgement", || on_a.buffered_amount() == 0);
    // The task takes over when it checks back (20 ms), not at its next timer (seconds away at
    // times: the consent check's).
    assert!(stopped.elapsed() < TAKE_OVER, "acknowledged after {:?}", stopped.elapsed());
    for i in 0..100u32 {
        on_a.send(&i.to_le_bytes(), false).expect("send");
    }
    let mut got = Vec::new();
    wait_unpolled("100 messages", || {
        while let Some(packet) = on_b.recv() {
            got.push(u32::from_le_bytes(packet.data[..].try_into().expect("4 bytes")));
        }
        got.len() == 100
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    wait_unpolled("every message acknowledged", || on_a.buffered_amount() == 0);
}
