//! Congestion control measured over netsim: bulk transfers at random loss (which must not shrink
//! the window), through a bottleneck without loss (which must bound it), at light loss (what
//! recovery costs in bytes) and through bursts of loss. Each figure printed on its own line
//! (`cargo test --test sctp_congestion -- --nocapture`).

mod sctp_common;

use std::time::{Duration, Instant};

use connection::sctp::{AssociationStats, Role};
use netsim::{BurstLoss, Endpoint, LinkConfig, LinkStats, Network, Pair, Side};
use sctp_common::*;

/// What one bulk transfer took.
struct Bulk {
    took: Duration,
    a: AssociationStats,
    b: AssociationStats,
    a_to_b: LinkStats,
    b_to_a: LinkStats,
}

/// `count` reliable messages of 1 KiB each way, queued at once and fed as fast as the
/// associations take them; the time until both sides have them all.
fn bulk_each_way(seed: u64, link: LinkConfig, count: usize) -> Bulk {
    let mut pair = connected(seed, link, link);
    let start = pair.now;
    for i in 0..count {
        pair.a.queue(1, message(i, 1024), RELIABLE);
        pair.b.queue(1, message(i, 1024), RELIABLE);
    }
    let done = pair.run_until(Duration::from_secs(120), |a, b| a.messages.len() == count && b.messages.len() == count);
    assert!(done, "seed {seed}: a got {}, b got {}", pair.a.messages.len(), pair.b.messages.len());
    assert_eq!(pair.b.payloads(1), (0..count).map(|i| message(i, 1024)).collect::<Vec<_>>());
    let took = pair.now - start;
    // Let the last SACKs cross before counting bytes.
    pair.run_for(Duration::from_secs(1));
    Bulk {
        took,
        a: pair.a.assoc.stats(),
        b: pair.b.assoc.stats(),
        a_to_b: pair.net.stats(Side::A),
        b_to_a: pair.net.stats(Side::B),
    }
}

/// No bandwidth limit: `latency` one way, 2 ms jitter.
fn unlimited(latency: Duration) -> LinkConfig {
    LinkConfig::default().with_latency(latency).with_jitter(Duration::from_millis(2))
}

/// A 20 Mbit/s home uplink with a 128 KiB drop-tail queue, `latency` one way, 5 ms jitter.
fn bottleneck(latency: Duration) -> LinkConfig {
    LinkConfig::home(latency).with_jitter(Duration::from_millis(5))
}

#[test]
fn random_loss_does_not_hold_the_window_down() {
    // Issue 20's goal: 1000 × 1 KiB reliable each way at 10% loss in < 3 s, 5 of 5.
    let ms = Duration::from_millis;
    let links = [
        ("1 ms one way, no bottleneck", unlimited(ms(1))),
        ("1 ms one way, 20 Mbit/s bottleneck", bottleneck(ms(1))),
        ("15 ms one way, 20 Mbit/s bottleneck", bottleneck(ms(15))),
        ("25 ms one way, no bottleneck", unlimited(ms(25))),
        ("25 ms one way, 20 Mbit/s bottleneck", bottleneck(ms(25))),
    ];
    for (name, link) in links {
        let mut times = Vec::new();
        for seed in 0..5 {
            let run = bulk_each_way(100 + seed, link.with_loss(0.1), 1000);
            println!(
                "10% loss, {name}, seed {seed}: {:?} ({} fast retransmits: {} cut the window, {} taken as random; {} T3 (b: {}); {} retransmitted; srtt {:?}; cwnd at the end {})",
                run.took,
                run.a.fast_retransmits,
                run.a.window_reductions,
                run.a.random_losses,
                run.a.t3_timeouts,
                run.b.t3_timeouts,
                run.a.data_retransmissions,
                run.a.srtt,
                run.a.cwnd,
            );
            times.push(run.took);
        }
        times.sort();
        println!("10% loss, {name}, 1000 x 1 KiB each way, 5 seeds: {times:?}");
        assert!(times[4] < Duration::from_secs(3), "{name}: {times:?}");
    }
}

#[test]
fn a_bottleneck_without_loss_bounds_the_window() {
    // 4 MB each way through 20 Mbit/s (1.6 s at the link's rate): the window grows until the
    // queue shows, and drops at the tail of the queue stay few.
    for seed in 0..3 {
        let run = bulk_each_way(200 + seed, bottleneck(Duration::from_millis(15)), 4000);
        let packets = run.a_to_b.sent.datagrams;
        let drops = run.a_to_b.dropped_queue.datagrams;
        let rate = 4000.0 * 1024.0 / run.took.as_secs_f64() / 1e6;
        println!(
            "20 Mbit/s bottleneck, no loss, 4000 x 1 KiB each way, seed {seed}: {:?} ({rate:.2} MB/s), {drops} of {packets} packets dropped at the queue (b to a {}), max queue delay {:?} (b to a {:?}), {} window cuts, {} T3, cwnd at the end {}",
            run.took,
            run.b_to_a.dropped_queue.datagrams,
            run.a_to_b.max_queue_delay,
            run.b_to_a.max_queue_delay,
            run.a.window_reductions,
            run.a.t3_timeouts,
            run.a.cwnd,
        );
        assert!(drops * 20 < packets, "drops bounded: {drops} of {packets}");
        assert_eq!(run.a.t3_timeouts, 0);
        assert!(rate > 1.25, "at least half the link's 2.5 MB/s: {rate:.2}");
    }
}

#[test]
fn light_loss_costs_about_the_loss_in_bytes() {
    // Issue 20's lab goal: at 2% loss, the bytes sent both ways at most 1.25 times those of the
    // same transfer without loss.
    let mut totals = [0u64; 2];
    for (slot, loss) in [0.0, 0.02].into_iter().enumerate() {
        for seed in 0..5 {
            let run = bulk_each_way(300 + seed, bottleneck(Duration::from_millis(15)).with_loss(loss), 1000);
            let bytes = run.a_to_b.sent.bytes + run.b_to_a.sent.bytes;
            println!(
                "{}% loss, 1000 x 1 KiB each way, seed {seed}: {bytes} B sent both ways in {:?} ({} retransmitted by a)",
                loss * 100.0,
                run.took,
                run.a.data_retransmissions
            );
            totals[slot] += bytes;
        }
    }
    let ratio = totals[1] as f64 / totals[0] as f64;
    println!("bytes sent both ways at 2% loss against none: {ratio:.3}x");
    assert!(ratio <= 1.25, "{ratio}");
}

#[test]
fn bursts_of_loss_do_not_stall_bulk() {
    for (name, burst) in [
        ("5% in bursts of 40 ms", BurstLoss::timed(0.05, Duration::from_millis(40))),
        ("10% in bursts of 30 ms", BurstLoss::timed(0.1, Duration::from_millis(30))),
    ] {
        let mut times = Vec::new();
        for seed in 0..5 {
            let run = bulk_each_way(400 + seed, bottleneck(Duration::from_millis(15)).with_burst(burst), 1000);
            println!(
                "loss {name}, 15 ms one way, bottleneck, seed {seed}: {:?} ({} window cuts, {} taken as random, {} T3; b: {} cuts, {} random, {} T3)",
                run.took,
                run.a.window_reductions,
                run.a.random_losses,
                run.a.t3_timeouts,
                run.b.window_reductions,
                run.b.random_losses,
                run.b.t3_timeouts
            );
            times.push(run.took);
        }
        times.sort();
        println!("loss {name}, 1000 x 1 KiB each way, 5 seeds: {times:?}");
        assert!(times[4] < Duration::from_secs(10), "{name}: {times:?}");
    }
}

/// Two associations behind one address: each datagram carries which one it belongs to in a
/// first byte, so both share the links (and their bottleneck).
struct Shared {
    peers: [Peer; 2],
    /// Whose datagram goes first at the next transmit: turns alternate.
    next: usize,
}

impl Endpoint for Shared {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        if let Some((&which, rest)) = datagram.split_first() {
            if let Some(peer) = self.peers.get_mut(usize::from(which)) {
                peer.receive(now, rest);
            }
        }
    }

    fn timeout(&mut self, now: Instant) {
        for peer in &mut self.peers {
            if peer.deadline().is_some_and(|deadline| deadline <= now) {
                peer.timeout(now);
            }
        }
    }

    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        for turn in 0..2 {
            let which = (self.next + turn) % 2;
            if let Some(datagram) = self.peers[which].transmit(now) {
                self.next = (which + 1) % 2;
                let mut framed = vec![which as u8];
                framed.extend_from_slice(&datagram);
                return Some(framed);
            }
        }
        None
    }

    fn deadline(&self) -> Option<Instant> {
        self.peers.iter().filter_map(|peer| peer.deadline()).min()
    }
}

#[test]
fn two_associations_through_one_bottleneck_share_it() {
    // Two bulk transfers from A to B through one 20 Mbit/s bottleneck: each gets a fair part
    // of it, with and without random loss.
    for (seed, loss) in [(500, 0.0), (501, 0.02), (502, 0.1)] {
        let start = Instant::now();
        let link = bottleneck(Duration::from_millis(15)).with_loss(loss);
        let a = Shared { peers: [0, 1].map(|i| Peer::new(Role::Client, seed * 4 + i, start)), next: 0 };
        let b = Shared { peers: [2, 3].map(|i| Peer::new(Role::Server, seed * 4 + i, start)), next: 0 };
        let mut pair = Pair::new(a, b, Network::new(seed, link, link), start);
        assert!(pair.run_until(Duration::from_secs(30), |a, b| a.peers.iter().chain(&b.peers).all(Peer::is_connected)));
        for peer in &mut pair.a.peers {
            for i in 0..20_000 {
                peer.queue(1, message(i, 1024), RELIABLE);
            }
        }
        pair.run_for(Duration::from_secs(4));
        let got: Vec<usize> = pair.b.peers.iter().map(|peer| peer.messages.len()).collect();
        let share = got[0].min(got[1]) as f64 / got[0].max(got[1]).max(1) as f64;
        let rate = (got[0] + got[1]) as f64 * 1024.0 / 4.0 / 1e6;
        let stats = pair.net.stats(Side::A);
        println!(
            "two associations, one 20 Mbit/s bottleneck, {}% loss, 4 s: {got:?} messages ({share:.2} the smaller of the larger), {rate:.2} MB/s together, {} drops at the queue, max queue delay {:?}",
            loss * 100.0,
            stats.dropped_queue.datagrams,
            stats.max_queue_delay,
        );
        assert!(share > 0.5, "{got:?}");
        assert!(rate > 1.0, "{rate:.2} MB/s");
    }
}
