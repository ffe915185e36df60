//! Seeded random lives of a pair over a hostile link (loss, bursts, jitter, reordering,
//! duplication, corruption): channels opened, used and closed from both sides at random while the
//! offerer streams on a reliable ordered channel, and the connection closed at the end. Nothing
//! panics, no deadline sticks, messages on reliable channels arrive whole and in order, and both
//! sides end closed with nothing left to do.

mod connection_support;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use connection::channels::{ChannelId, ChannelOptions};
use connection::connection::{ConnectionEvent, ConnectionState};
use connection_support::{message, pair, reliable, run_until_open, unreliable, Peer, Setup};
use netsim::{BurstLoss, LinkConfig};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn hostile() -> LinkConfig {
    LinkConfig::default()
        .with_latency(Duration::from_millis(15))
        .with_jitter(Duration::from_millis(10))
        .with_loss(0.03)
        .with_burst(BurstLoss::timed(0.02, Duration::from_millis(30)))
        .with_reorder(0.02, Duration::from_millis(30))
        .with_duplicate(0.01)
        .with_corrupt(0.01)
}

/// The channels open on `peer`, by the events it saw.
fn open_channels(peer: &Peer) -> Vec<ChannelId> {
    let mut open = BTreeMap::new();
    for (_, event) in &peer.events {
        match event {
            ConnectionEvent::ChannelOpened(id) | ConnectionEvent::RemoteChannel { id, .. } => {
                open.insert(*id, ());
            }
            ConnectionEvent::ChannelClosed(id) => {
                open.remove(id);
            }
            _ => {}
        }
    }
    open.into_keys().collect()
}

#[test]
fn random_lives_over_a_hostile_link_end_cleanly() {
    for seed in 1..=8 {
        let setup = Setup::new(seed, hostile()).with_channel(reliable("ordered"));
        let (mut pair, channels) = pair(&setup);
        assert!(run_until_open(&mut pair, 1, Duration::from_secs(20)), "seed {seed}: {:?}", pair.a.events);
        let ordered = channels[0];
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sent_on_ordered = 0_u32;
        for _ in 0..300 {
            let now = pair.now;
            let me = if rng.random_bool(0.5) { &mut pair.a } else { &mut pair.b };
            match rng.random_range(0..10) {
                0 => {
                    let options: ChannelOptions = if rng.random_bool(0.5) { reliable("r") } else { unreliable("u") };
                    let _ = me.conn.open_channel(now, options);
                }
                1 => {
                    let open = open_channels(me);
                    if let Some(id) = open.get(rng.random_range(0..open.len().max(1))).filter(|id| **id != ordered) {
                        let _ = me.conn.close_channel(now, *id);
                    }
                }
                2..=5 => {
                    for id in open_channels(me).into_iter().filter(|id| *id != ordered) {
                        let size = rng.random_range(0..3000);
                        let _ = me.conn.send(now, id, Bytes::from(vec![7; size]), rng.random_bool(0.5));
                    }
                }
                // The offerer streams on the ordered channel (a reliable sequence to check).
                _ => {
                    if pair.a.conn.send(now, ordered, message(sent_on_ordered, 600), true).is_ok() {
                        sent_on_ordered += 1;
                    }
                }
            }
            pair.run_for(Duration::from_millis(rng.random_range(1..60)));
        }
        // Everything sent on the reliable ordered channel arrives, whole and in order.
        let ordered_arrivals = |b: &Peer| b.arrivals.iter().filter(|arrival| arrival.channel == ordered).count();
        assert!(
            pair.run_until(Duration::from_secs(30), |_, b| ordered_arrivals(b) == sent_on_ordered as usize),
            "seed {seed}: {} of {sent_on_ordered}",
            ordered_arrivals(&pair.b)
        );
        let in_order: Vec<u32> =
            pair.b.arrivals.iter().filter(|arrival| arrival.channel == ordered).map(|arrival| arrival.seq).collect();
        assert_eq!(in_order, (0..sent_on_ordered).collect::<Vec<_>>(), "seed {seed}");
        assert!(pair.b.arrivals.iter().filter(|arrival| arrival.channel == ordered).all(|arrival| arrival.len == 600));
        assert_eq!(
            (pair.a.conn.state(), pair.b.conn.state()),
            (ConnectionState::Connected, ConnectionState::Connected),
            "seed {seed}"
        );
        let now = pair.now;
        pair.a.conn.close(now);
        pair.run_for(Duration::from_secs(30));
        assert!(matches!(pair.b.conn.state(), ConnectionState::Closed | ConnectionState::Failed), "seed {seed}");
        assert_eq!((pair.a.conn.poll_timeout(), pair.b.conn.poll_timeout()), (None, None), "seed {seed}");
        assert_eq!(pair.stuck_deadlines(), 0, "seed {seed}");
        println!(
            "chaos seed {seed}: {} events on A, {} on B, {sent_on_ordered} ordered messages, B ended {:?}",
            pair.a.events.len(),
            pair.b.events.len(),
            pair.b.conn.state()
        );
    }
}
