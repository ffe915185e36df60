//! A whole connection pair under a stranger's fire while it connects and carries messages:
//! datagrams of every kind (STUN-looking, DTLS-looking, garbage) from addresses that never passed
//! a check, trickled candidate lines that are garbage or point anywhere, all seeded. Nothing
//! panics, the pair connects, and its channel carries every message.

mod connection_support;

use std::net::SocketAddr;
use std::time::Duration;

use connection::connection::ConnectionEvent;
use connection_support::{message, pair, reliable, Setup};
use netsim::LinkConfig;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

/// A datagram a stranger would send: STUN-looking, DTLS-looking or anything.
fn junk(rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = vec![0; rng.random_range(0..300)];
    rng.fill_bytes(&mut bytes);
    match rng.random_range(0..3) {
        0 if bytes.len() >= 20 => {
            bytes[0] = rng.random_range(0..2);
            bytes[1] = 1;
            bytes[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        }
        1 if !bytes.is_empty() => bytes[0] = rng.random_range(20..64),
        _ => {}
    }
    bytes
}

/// A trickled candidate line a stranger (or a broken peer) would send.
fn junk_candidate(rng: &mut StdRng) -> String {
    match rng.random_range(0..4) {
        0 => format!(
            "candidate:{} 1 udp {} 10.{}.{}.{} {} typ host",
            rng.random::<u16>(),
            rng.random::<u32>(),
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random::<u16>()
        ),
        1 => "candidate:1 1 udp 1 ::1 0 typ relay raddr 0.0.0.0 rport 0".to_owned(),
        2 => (0..rng.random_range(0..80)).map(|_| char::from(rng.random_range(32u8..127))).collect(),
        _ => format!("candidate:x 1 tcp 5 host.local {} typ host tcptype passive", rng.random::<u16>()),
    }
}

/// Runs seed `seed`, with the stranger firing or not; when the channel opened.
fn run(seed: u64, fire: bool) -> Duration {
    {
        let setup = Setup::new(seed, LinkConfig::default().with_latency(Duration::from_millis(10)))
            .with_channel(reliable("ordered"));
        let (mut pair, channels) = pair(&setup);
        pair.a.allow_stray_paths = true;
        pair.b.allow_stray_paths = true;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut refused = 0;
        let mut sent = 0u32;
        for step in 0..3000u32 {
            let now = pair.now;
            for peer in [&mut pair.a, &mut pair.b] {
                if !fire {
                    break;
                }
                let from: SocketAddr = ([192, 0, 2, rng.random()], rng.random()).into();
                let datagram = junk(&mut rng);
                let local = peer.address;
                peer.conn.handle_datagram(now, local, from, &datagram);
                if rng.random_bool(0.01) {
                    let line = junk_candidate(&mut rng);
                    if peer.conn.add_remote_candidate(now, &line, Some("0"), Some(0)).is_err() {
                        refused += 1;
                    }
                }
            }
            let open = pair.a.channel_open_at().is_some();
            if open && step % 10 == 0 && sent < 100 {
                pair.a.conn.send(now, channels[0], message(sent, 200), true).expect("sent");
                sent += 1;
            }
            pair.run_for(Duration::from_millis(1));
        }
        let failure = pair.a.failure().or(pair.b.failure());
        assert!(failure.is_none(), "seed {seed}: {failure:?}");
        let delivered = pair.b.arrivals.iter().filter(|arrival| arrival.channel == channels[0]).count();
        println!(
            "seed {seed}: open at {:?}, {delivered} of {sent} messages, {refused} candidate lines refused, {} datagrams to stray paths",
            pair.a.channel_open_at(),
            pair.a.stray_sent + pair.b.stray_sent
        );
        assert_eq!((sent, delivered), (100, 100), "seed {seed}");
        let errors = pair.a.events.iter().filter(|(_, event)| matches!(event, ConnectionEvent::ChannelError { .. }));
        assert_eq!(errors.count(), 0, "seed {seed}");
        pair.a.channel_open_at().expect("open")
    }
}

#[test]
fn a_stranger_firing_at_a_connecting_pair_changes_nothing() {
    for seed in 0..10 {
        let (calm, fired_at) = (run(seed, false), run(seed, true));
        assert!(fired_at <= calm + Duration::from_millis(5), "seed {seed}: open at {fired_at:?}, calm {calm:?}");
    }
}
