//! A stranger who can send datagrams to a player's port, with the source address of the peer
//! (spoofed, or a host on the peer's network): DTLS records that are garbage, forged alerts, a
//! new ClientHello, records of a wrong epoch, STUN garbage. None of them is authenticated, so
//! none may end, stall or slow a connected pair: each costs the stranger a datagram and us at
//! most reading it.

mod connection_support;

use std::time::Duration;

use connection::connection::{ConnectionEvent, ConnectionState};
use connection_support::{message, pair, reliable, run_until_open, Setup};
use netsim::LinkConfig;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

/// A DTLS record: content type, version DTLS 1.2, `epoch`, a sequence number, then `body`.
fn record(content_type: u8, epoch: u16, sequence: u64, body: &[u8]) -> Vec<u8> {
    let mut out = vec![content_type, 0xfe, 0xfd];
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&sequence.to_be_bytes()[2..]);
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Forged datagrams of every kind a stranger would try, from `rng`.
fn forged(rng: &mut StdRng) -> Vec<u8> {
    let mut body = vec![0; rng.random_range(0..200)];
    rng.fill_bytes(&mut body);
    let sequence = rng.random_range(0..1 << 48);
    match rng.random_range(0..8) {
        // Application data in the connection's epoch, and in others: garbage ciphertext.
        0 => record(23, 1, sequence, &body),
        1 => record(23, rng.random(), sequence, &body),
        // A fatal alert in the clear (epoch 0) and an encrypted-looking one (epoch 1).
        2 => record(21, 0, sequence, &[2, 40]),
        3 => record(21, 1, sequence, &body),
        // A new handshake: a ClientHello-looking record in epoch 0, and handshake garbage.
        4 => record(22, 0, rng.random_range(0..4), &[&[1, 0, 0, 60, 0, 0, 0, 0, 0, 0, 0, 60][..], &body].concat()),
        5 => record(20, rng.random_range(0..2), sequence, &[1]),
        // Truncated and oversized length fields.
        6 => {
            let mut bytes = record(23, 1, sequence, &body);
            bytes.truncate(rng.random_range(1..bytes.len().max(2)));
            bytes
        }
        _ => {
            let mut bytes = record(22, 1, sequence, &body);
            bytes[11] = 0xff;
            bytes[12] = 0xff;
            bytes
        }
    }
}

#[test]
fn forged_datagrams_from_the_peers_address_change_nothing() {
    let setup =
        Setup::new(3, LinkConfig::default().with_latency(Duration::from_millis(10))).with_channel(reliable("ordered"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(5)), "{:?}", pair.a.events);
    let channel = channels[0];
    let mut rng = StdRng::seed_from_u64(9);
    let mut forged_count = 0;
    for round in 0..50u32 {
        // 40 forged datagrams at each side, claiming to come from the other.
        for _ in 0..40 {
            let now = pair.now;
            for peer in [&mut pair.a, &mut pair.b] {
                let datagram = forged(&mut rng);
                let (local, remote) = (peer.address, peer.remote);
                peer.conn.handle_datagram(now, local, remote, &datagram);
                forged_count += 1;
            }
        }
        pair.a.conn.send(pair.now, channel, message(round, 100), true).unwrap();
        pair.run_for(Duration::from_millis(200));
        for peer in [&pair.a, &pair.b] {
            let failure = peer.events.iter().find(|(_, event)| {
                matches!(event, ConnectionEvent::Failed(_) | ConnectionEvent::StateChanged(ConnectionState::Closed))
            });
            assert!(failure.is_none(), "round {round}, {forged_count} forged datagrams: {failure:?}");
        }
    }
    let delivered = pair.b.arrivals.iter().filter(|arrival| arrival.channel == channel).count();
    println!("{forged_count} forged datagrams; {delivered} of 50 messages delivered");
    assert_eq!(delivered, 50);
}

/// During the handshake, every forged kind but a well-formed fatal alert in the clear (DTLS 1.2
/// cannot tell a forged one from the peer's, and browsers abort on one too: the README says so).
fn forged_in_handshake(rng: &mut StdRng) -> Vec<u8> {
    loop {
        let datagram = forged(rng);
        if datagram.first() != Some(&21) {
            return datagram;
        }
    }
}

/// Open: a stranger who spoofs the peer's own (checked) address ends the handshake in all 20
/// seeds: `dimpl` 0.9 makes every error final, and forged handshake fragments fill its receive
/// queue ("receive queue full") or fail decryption once keys are set. A spoofer of that address
/// can end a handshake with a forged fatal alert anyway (DTLS 1.2 alerts are not authenticated
/// during the handshake; the README says so), so this widens nothing; once connected, the same
/// datagrams change nothing (the test above).
#[test]
#[ignore = "open: dimpl ends a handshake on forged datagrams from the peer's address"]
fn forged_datagrams_from_the_peers_address_during_the_handshake_change_nothing() {
    let open = |peer: &connection_support::Peer| {
        peer.events.iter().any(|(_, event)| {
            matches!(event, ConnectionEvent::ChannelOpened(_) | ConnectionEvent::RemoteChannel { .. })
        })
    };
    let mut failed = Vec::new();
    for seed in 0..20 {
        let setup = Setup::new(seed, LinkConfig::default().with_latency(Duration::from_millis(10)))
            .with_channel(reliable("ordered"));
        let (mut pair, _) = pair(&setup);
        let mut rng = StdRng::seed_from_u64(seed);
        // A forged datagram at each side every millisecond of the handshake.
        for _ in 0..2000 {
            if open(&pair.a) && open(&pair.b) {
                break;
            }
            let now = pair.now;
            for peer in [&mut pair.a, &mut pair.b] {
                let datagram = forged_in_handshake(&mut rng);
                let (local, remote) = (peer.address, peer.remote);
                peer.conn.handle_datagram(now, local, remote, &datagram);
            }
            pair.run_for(Duration::from_millis(1));
        }
        if !(open(&pair.a) && open(&pair.b)) {
            failed.push((seed, pair.a.failure().or(pair.b.failure()).cloned()));
        }
    }
    assert!(failed.is_empty(), "{} of 20 handshakes ended by forged datagrams: {failed:?}", failed.len());
}

/// Where a stranger sits: at an address the peer listed as one of its candidates (its private
/// host address, which on our network is someone else's machine) but that never passed an
/// authenticated ICE check.
const STRANGER: &str = "10.0.0.9:9999";

#[test]
fn dtls_from_a_listed_candidate_that_never_passed_a_check_is_dropped() {
    let stranger: std::net::SocketAddr = STRANGER.parse().unwrap();
    let open = |peer: &connection_support::Peer| {
        peer.events.iter().any(|(_, event)| {
            matches!(event, ConnectionEvent::ChannelOpened(_) | ConnectionEvent::RemoteChannel { .. })
        })
    };
    let mut failed = Vec::new();
    for seed in 0..20 {
        let setup = Setup::new(seed, LinkConfig::default().with_latency(Duration::from_millis(10)))
            .with_channel(reliable("ordered"));
        let (mut pair, _) = pair(&setup);
        for peer in [&mut pair.a, &mut pair.b] {
            let line = format!("candidate:9 1 udp 2130706431 {} {} typ host", stranger.ip(), stranger.port());
            peer.conn.add_remote_candidate(pair.now, &line, Some("0"), Some(0)).unwrap();
            peer.allow_stray_paths = true;
        }
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..2000 {
            if open(&pair.a) && open(&pair.b) {
                break;
            }
            let now = pair.now;
            for peer in [&mut pair.a, &mut pair.b] {
                let datagram = forged(&mut rng);
                let local = peer.address;
                peer.conn.handle_datagram(now, local, stranger, &datagram);
            }
            pair.run_for(Duration::from_millis(1));
        }
        if !(open(&pair.a) && open(&pair.b)) {
            failed.push((seed, pair.a.failure().or(pair.b.failure()).cloned()));
        }
    }
    assert!(failed.is_empty(), "{} of 20 handshakes ended by a stranger: {failed:?}", failed.len());
}
