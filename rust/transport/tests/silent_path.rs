//! A path that goes silent: two connections talk through a UDP relay on 127.0.0.1 that can drop
//! everything. A short silence must pass unseen; a lasting one must read `disconnected`.

mod common;

use std::time::{Duration, Instant};

use common::relay::RelayedPair;

use transport::{ChannelState, ConnectionState};

#[test]
fn consent_checks_go_at_rfc_7675s_pace_on_an_idle_path() {
    let mut pair = RelayedPair::connected(1);
    let before = [0, 1].map(|side| pair.relay.seen(side).binding_requests);
    let start = Instant::now();
    pair.pump_until("12 s to pass", |_| start.elapsed() >= Duration::from_secs(12));
    for (side, before) in before.into_iter().enumerate() {
        let sent = pair.relay.seen(side).binding_requests - before;
        println!("side {side}: {sent} binding requests in 12 s");
        // Every 5 s ±20 %, or 3.5 s after the peer was last heard (the quiet probe): 2 to 4 in
        // 12 s (rtc-ice's controlled agent also answered each check with a triggered one, up to
        // 7 on that side, until the secure path dropped those). Never every 1.25 s (9-10), 500 ms
        // or every tick.
        assert!((1..=5).contains(&sent), "side {side} sent {sent} binding requests in 12 s");
    }
}

#[test]
fn a_four_second_silence_passes_unseen_and_loses_nothing() {
    let mut pair = RelayedPair::connected(2);
    // Not at once: the checks that connected the pair would make any interval look short. The
    // last exchange is then about 1.2 s old, so 4 s of silence stay under the 7 s disconnected
    // timeout (on an idle path a silence of up to 3.5 s passes unseen whenever it starts).
    let connected = Instant::now();
    pair.pump_until("1.2 s to pass", |_| connected.elapsed() >= Duration::from_millis(1200));
    pair.relay.set_loss(100);
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
    pair.relay.set_loss(0);
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
    let mut pair = RelayedPair::connected(3);
    pair.relay.set_loss(100);
    let silence = Instant::now();
    pair.pump_until("both sides to read disconnected", |pair| pair.states() == [ConnectionState::Disconnected; 2]);
    assert!(silence.elapsed() >= Duration::from_secs(4), "disconnected after {:?}", silence.elapsed());
    assert_eq!(pair.channels[0].ready_state(), ChannelState::Open, "only the mesh above closes the peer");
}
