//! A hostile or broken peer over netsim: wrong verification tags, bad checksums, forged
//! cookies, an INIT flood, garbage. The association stays up (or never starts) and bounded.

mod sctp_common;

use std::time::{Duration, Instant};

use connection::sctp::Role;
use netsim::{Side, Verdict};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use sctp_common::*;

/// An SCTP packet (ports 5000) with `tag` and raw `chunks`, its CRC32c written.
fn sctp_packet(tag: u32, chunks: &[u8]) -> Vec<u8> {
    let mut packet = [&[0x13, 0x88, 0x13, 0x88][..], &tag.to_be_bytes(), &[0; 4], chunks].concat();
    let crc = crc32c::crc32c(&packet);
    packet[8..12].copy_from_slice(&crc.to_le_bytes());
    packet
}

/// An INIT chunk with this initiate tag.
fn init_chunk(initiate_tag: u32) -> Vec<u8> {
    [&[1, 0, 0, 20][..], &initiate_tag.to_be_bytes(), &65536u32.to_be_bytes(), &[0, 16, 0, 16], &[0, 0, 0, 1]].concat()
}

/// A packet's verification tag.
fn tag_of(packet: &[u8]) -> u32 {
    u32::from_be_bytes(packet[4..8].try_into().unwrap())
}

#[test]
fn corrupted_datagrams_are_dropped_and_the_transfer_completes() {
    let link = game_link(0.0).with_corrupt(0.1);
    let mut pair = connected(1, link, link);
    for i in 0..200 {
        pair.a.queue(1, message(i, 3000), RELIABLE);
    }
    assert!(pair.run_until(Duration::from_secs(60), |_, b| b.messages.len() == 200));
    assert_eq!(pair.b.payloads(1), (0..200).map(|i| message(i, 3000)).collect::<Vec<_>>());
    let dropped = pair.b.assoc.stats().packets_dropped;
    println!("10% corrupted datagrams: b dropped {dropped}");
    assert!(dropped > 0);
}

#[test]
fn packets_with_a_wrong_tag_are_dropped() {
    let mut pair = connected(2, game_link(0.0), game_link(0.0));
    // Every packet from A has its tag changed on the way (and its checksum made right again).
    pair.net.set_filter(Side::A, |_, packet| {
        let tag = tag_of(packet).wrapping_add(1);
        packet[4..8].copy_from_slice(&tag.to_be_bytes());
        packet[8..12].fill(0);
        let crc = crc32c::crc32c(packet);
        packet[8..12].copy_from_slice(&crc.to_le_bytes());
        Verdict::Pass
    });
    pair.a.queue(1, message(1, 100), RELIABLE);
    pair.run_for(Duration::from_secs(2));
    assert!(pair.b.messages.is_empty());
    assert!(pair.b.assoc.stats().packets_dropped > 0);
    // Once the path is honest again, the retransmission gets through.
    pair.net.clear_filter(Side::A);
    assert!(pair.run_until(Duration::from_secs(10), |_, b| b.messages.len() == 1));
}

#[test]
fn forged_cookies_and_aborts_change_nothing() {
    let mut pair = connected(3, game_link(0.0), game_link(0.0));
    let mut rng = StdRng::seed_from_u64(3);
    // Learn B's tag the way an on-path observer would: from a packet A sends it.
    let seen = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen_in_filter = seen.clone();
    pair.net.set_filter(Side::A, move |_, packet| {
        seen_in_filter.set(tag_of(packet));
        Verdict::Pass
    });
    pair.a.queue(1, message(1, 10), RELIABLE);
    assert!(pair.run_until(Duration::from_secs(1), |_, b| b.messages.len() == 1));
    let b_tag = seen.get();
    for len in [0usize, 4, 61, 300] {
        let mut cookie = vec![0; len];
        rng.fill_bytes(&mut cookie);
        let chunk_len = (4 + len) as u16;
        let mut chunk = [&[10, 0][..], &chunk_len.to_be_bytes(), &cookie].concat();
        chunk.resize(chunk.len().next_multiple_of(4), 0);
        pair.net.send(pair.now, Side::A, sctp_packet(b_tag, &chunk));
    }
    // An ABORT with a wrong tag, and one with the T bit and B's own tag (it must carry A's).
    pair.net.send(pair.now, Side::A, sctp_packet(b_tag ^ 1, &[6, 0, 0, 4]));
    pair.net.send(pair.now, Side::A, sctp_packet(b_tag, &[6, 1, 0, 4]));
    pair.run_for(Duration::from_secs(1));
    assert!(pair.b.is_connected());
    pair.a.queue(1, message(2, 10), RELIABLE);
    assert!(pair.run_until(Duration::from_secs(1), |_, b| b.messages.len() == 2));
    // A fresh server given forged cookies establishes nothing.
    let start = Instant::now();
    let mut server = Peer::new(Role::Server, 9, start);
    for _ in 0..100 {
        let mut cookie = vec![0; 61];
        rng.fill_bytes(&mut cookie);
        let packet = sctp_packet(rng.random(), &[&[10, 0, 0, 65][..], &cookie, &[0, 0, 0]].concat());
        server.assoc.handle_packet(start, &packet);
    }
    server.pump(start);
    assert!(server.connected_at.is_none());
    assert!(server.assoc.poll_transmit(start).is_none());
}

#[test]
fn an_init_flood_costs_bounded_memory_and_the_real_peer_still_connects() {
    let mut pair = pair(4, game_link(0.0), game_link(0.0));
    let mut rng = StdRng::seed_from_u64(4);
    // 10 000 INITs with random tags reach B before A's, without B sending anything in between.
    let now = pair.now;
    for _ in 0..10_000 {
        let packet = sctp_packet(0, &init_chunk(rng.random_range(1..u32::MAX)));
        pair.b.assoc.handle_packet(now, &packet);
    }
    let mut answers = 0;
    while pair.b.assoc.poll_transmit(now).is_some() {
        answers += 1;
    }
    println!("10 000 INITs at once: {answers} INIT-ACKs held and sent");
    assert!(answers <= 16, "{answers}");
    // A connects all the same.
    assert!(pair.run_until(Duration::from_secs(10), |a, b| a.is_connected() && b.is_connected()));
}

#[test]
fn garbage_from_the_wire_never_breaks_an_association() {
    let mut pair = connected(6, game_link(0.0), game_link(0.0));
    let mut rng = StdRng::seed_from_u64(6);
    pair.a.queue(1, message(1, 50_000), RELIABLE);
    for round in 0..2000 {
        let len = rng.random_range(0..300);
        let mut bytes = vec![0; len];
        rng.fill_bytes(&mut bytes);
        let packet = if round % 2 == 0 || len < 16 { bytes } else { sctp_packet(rng.random(), &bytes[12..]) };
        pair.net.send(pair.now, Side::A, packet);
        if round % 100 == 0 {
            pair.run_for(Duration::from_millis(10));
        }
    }
    assert!(pair.run_until(Duration::from_secs(10), |_, b| b.messages.len() == 1));
    assert!(pair.a.is_connected() && pair.b.is_connected());
}
