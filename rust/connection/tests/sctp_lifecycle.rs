//! The association's life over netsim: the handshake under loss and at once from both sides,
//! stream reset, graceful shutdown with data in flight, abort, and a peer that goes silent.

mod sctp_common;

use std::time::{Duration, Instant};

use connection::sctp::{Role, SctpError};
use netsim::{LinkConfig, Network, Pair};
use sctp_common::*;

fn handshake_times(loss: f64, seeds: u64) -> Vec<Duration> {
    let mut times = Vec::new();
    for seed in 0..seeds {
        let mut pair = pair(seed, game_link(loss), game_link(loss));
        let start = pair.now;
        assert!(
            pair.run_until(Duration::from_secs(60), |a, b| a.is_connected() && b.is_connected()),
            "seed {seed} did not connect at {loss} loss: a {:?} {:?}, b {:?} {:?}, now {:?}",
            pair.a.connected_at.map(|t| t - start),
            pair.a.closed,
            pair.b.connected_at.map(|t| t - start),
            pair.b.closed,
            pair.now - start
        );
        times.push(pair.now - start);
    }
    times.sort();
    times
}

#[test]
fn the_handshake_survives_heavy_loss() {
    for (loss, median_bound, worst_bound) in [(0.1, 0.5, 2.0), (0.3, 2.0, 45.0)] {
        let times = handshake_times(loss, 20);
        let median = times[10];
        println!(
            "handshake at {:.0}% loss (30 ms RTT), 20 seeds: median {median:?}, 18th {:?}, worst {:?}",
            loss * 100.0,
            times[17],
            times[19]
        );
        assert!(median < Duration::from_secs_f64(median_bound), "{times:?}");
        assert!(times[19] < Duration::from_secs_f64(worst_bound), "{times:?}");
    }
}

#[test]
fn both_sides_opening_at_once_connect_and_talk() {
    for seed in 0..10 {
        let start = Instant::now();
        let a = Peer::new(Role::Client, seed * 2 + 1, start);
        let b = Peer::new(Role::Client, seed * 2 + 2, start);
        let mut pair = Pair::new(a, b, Network::new(seed, game_link(0.1), game_link(0.1)), start);
        assert!(pair.run_until(Duration::from_secs(30), |a, b| a.is_connected() && b.is_connected()), "seed {seed}");
        pair.a.queue(0, message(1, 3000), RELIABLE);
        pair.b.queue(1, message(2, 3000), RELIABLE);
        assert!(pair.run_until(Duration::from_secs(30), |a, b| a.messages.len() == 1 && b.messages.len() == 1));
        assert_eq!(pair.b.payloads(0), vec![message(1, 3000)]);
        assert_eq!(pair.a.payloads(1), vec![message(2, 3000)]);
    }
}

#[test]
fn a_reset_stream_delivers_everything_first_then_starts_again() {
    let mut pair = connected(3, game_link(0.1), game_link(0.1));
    for i in 0..50 {
        pair.a.queue(5, message(i, 2000), RELIABLE);
    }
    pair.a.pump(pair.now);
    let now = pair.now;
    pair.a.assoc.reset_streams(now, &[5]);
    // A message queued during the reset is refused.
    assert_eq!(pair.a.assoc.send(now, 5, 53, message(0, 10), RELIABLE), Err(SctpError::StreamResetting));
    assert!(pair.run_until(Duration::from_secs(30), |_, b| !b.resets.is_empty()));
    assert_eq!(pair.b.resets, vec![vec![5]]);
    assert_eq!(pair.b.payloads(5), (0..50).map(|i| message(i, 2000)).collect::<Vec<_>>());
    // The stream works again, from sequence number 0 on both sides.
    assert!(pair.run_until(Duration::from_secs(10), |a, _| {
        let now = Instant::now().max(a.connected_at.unwrap());
        a.assoc.send(now, 5, 53, message(77, 100), RELIABLE).is_ok()
    }));
    assert!(pair.run_until(Duration::from_secs(10), |_, b| b.payloads(5).len() == 51));
    assert_eq!(pair.b.payloads(5).last(), Some(&message(77, 100)));
}

#[test]
fn shutdown_delivers_what_was_queued_then_closes_both_sides() {
    for seed in 0..5 {
        let mut pair = connected(10 + seed, game_link(0.1), game_link(0.1));
        for i in 0..100 {
            pair.a.queue(1, message(i, 1500), RELIABLE);
        }
        pair.a.pump(pair.now);
        let now = pair.now;
        pair.a.assoc.close(now);
        assert!(pair.run_until(Duration::from_secs(60), |a, b| a.closed.is_some() && b.closed.is_some()));
        assert_eq!(pair.b.payloads(1), (0..100).map(|i| message(i, 1500)).collect::<Vec<_>>(), "seed {seed}");
        assert_eq!(pair.a.closed, Some(SctpError::ShutDown));
        assert_eq!(pair.b.closed, Some(SctpError::ShutDown));
        assert_eq!(pair.a.assoc.poll_timeout(), None);
        assert_eq!(pair.b.assoc.poll_timeout(), None);
    }
}

#[test]
fn abort_closes_both_sides_at_once() {
    let mut pair = connected(20, game_link(0.0), game_link(0.0));
    pair.a.queue(1, message(1, 100_000), RELIABLE);
    pair.run_for(Duration::from_millis(20));
    let now = pair.now;
    pair.a.assoc.abort(now);
    pair.a.pump(now);
    assert_eq!(pair.a.closed, Some(SctpError::AbortedLocally));
    assert!(pair.run_until(Duration::from_secs(1), |_, b| b.closed.is_some()));
    assert_eq!(pair.b.closed, Some(SctpError::Aborted));
}

#[test]
fn a_silent_peer_ends_the_association() {
    let mut pair = connected(21, game_link(0.0), game_link(0.0));
    pair.net.set_link(netsim::Side::A, LinkConfig::outage());
    pair.net.set_link(netsim::Side::B, LinkConfig::outage());
    pair.a.queue(1, message(1, 1000), RELIABLE);
    let start = pair.now;
    assert!(pair.run_until(Duration::from_secs(120), |a, _| a.closed.is_some()));
    println!("a silent peer is given up after {:?}", pair.now - start);
    assert_eq!(pair.a.closed, Some(SctpError::TooManyRetransmissions));
    // The other side, with nothing to send, notices nothing: DTLS and ICE consent watch the path.
    assert_eq!(pair.b.closed, None);
}

#[test]
fn an_idle_association_does_not_wake_up() {
    let mut pair = connected(22, game_link(0.0), game_link(0.0));
    for i in 0..20 {
        pair.a.queue(1, message(i, 500), RELIABLE);
        pair.b.queue(1, message(i, 500), RELIABLE);
    }
    assert!(pair.run_until(Duration::from_secs(5), |a, b| a.messages.len() == 20 && b.messages.len() == 20));
    pair.run_for(Duration::from_secs(1));
    let (a_before, b_before) = (pair.timeouts(netsim::Side::A), pair.timeouts(netsim::Side::B));
    pair.run_for(Duration::from_secs(60));
    let wakeups = pair.timeouts(netsim::Side::A) - a_before + pair.timeouts(netsim::Side::B) - b_before;
    println!("wake-ups over an idle minute: {wakeups}");
    assert_eq!(wakeups, 0);
    assert_eq!(pair.a.assoc.poll_timeout(), None);
}

#[test]
fn both_sides_resetting_a_stream_at_once_close_it_both_ways() {
    // A data channel's close resets its stream in both directions (RFC 8831 §6.7); the two
    // requests cross.
    for seed in 0..5 {
        let mut pair = connected(30 + seed, game_link(0.2), game_link(0.2));
        pair.a.queue(2, message(1, 5000), RELIABLE);
        pair.b.queue(2, message(2, 5000), RELIABLE);
        pair.a.pump(pair.now);
        pair.b.pump(pair.now);
        let now = pair.now;
        pair.a.assoc.reset_streams(now, &[2]);
        pair.b.assoc.reset_streams(now, &[2]);
        assert!(
            pair.run_until(Duration::from_secs(30), |a, b| !a.resets.is_empty() && !b.resets.is_empty()),
            "seed {seed}"
        );
        assert_eq!(pair.a.resets, vec![vec![2]]);
        assert_eq!(pair.b.resets, vec![vec![2]]);
        assert_eq!(pair.a.payloads(2), vec![message(2, 5000)]);
        assert_eq!(pair.b.payloads(2), vec![message(1, 5000)]);
        assert!(pair.a.is_connected() && pair.b.is_connected());
    }
}
