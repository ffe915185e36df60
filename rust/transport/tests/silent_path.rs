//! A path that goes silent: two connections talk through a UDP relay on 127.0.0.1 that can drop
//! everything. A short silence must pass unseen; a lasting one must read `disconnected`.

mod common;

use std::time::{Duration, Instant};

use common::relay::RelayedPair;

use transport::{ChannelState, ConnectionState};

#[test]
fn consent_checks_go_about_once_a_second_on_an_idle_path() {
    let mut pair = RelayedPair::connected(1);
    let before = [0, 1].map(|side| pair.relay.seen(side).binding_requests);
    let start = Instant::now();
    pair.pump_until("3 s to pass", |_| start.elapsed() >= Duration::from_secs(3));
    for (side, before) in before.into_iter().enumerate() {
        let sent = pair.relay.seen(side).binding_requests - before;
        // Every second, ±20 %: 2 to 4 in 3 s; never the agent's every-tick checks.
        assert!((2..=5).contains(&sent), "side {side} sent {sent} binding requests in 3 s");
    }
}

#[test]
fn a_four_second_silence_passes_unseen_and_loses_nothing() {
    let mut pair = RelayedPair::connected(2);
    // Not at once: the checks that connected the pair would make any interval look short.
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
