//! Congestion control measured over netsim: bulk transfers at random loss (which must not shrink
//! the window), through a bottleneck without loss (which must bound it), at light loss (what
//! recovery costs in bytes) and through bursts of loss. Each figure printed on its own line
//! (`cargo test --test sctp_congestion -- --nocapture`).

mod sctp_common;

use std::time::Duration;

use connection::sctp::AssociationStats;
use netsim::{BurstLoss, LinkConfig, LinkStats, Side};
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
                "loss {name}, 15 ms one way, bottleneck, seed {seed}: {:?} ({} window cuts, {} taken as random, {} T3)",
                run.took, run.a.window_reductions, run.a.random_losses, run.a.t3_timeouts
            );
            times.push(run.took);
        }
        times.sort();
        println!("loss {name}, 1000 x 1 KiB each way, 5 seeds: {times:?}");
        assert!(times[4] < Duration::from_secs(10), "{name}: {times:?}");
    }
}

#[test]
#[ignore]
fn trace() {
    let link = unlimited(Duration::from_millis(25));
    let mut pair = connected(102, link.with_loss(0.1), link.with_loss(0.1));
    let start = pair.now;
    for i in 0..1000 {
        pair.a.queue(1, message(i, 1024), RELIABLE);
        pair.b.queue(1, message(i, 1024), RELIABLE);
    }
    for _ in 0..80 {
        pair.run_for(Duration::from_millis(50));
        let s = pair.a.assoc.stats();
        println!(
            "{:?}: a got {} (b cwnd {} t3 {} tlp {} rtx {}), b got {}, a cwnd {} srtt {:?} fr {} cuts {} rtx {} t3 {} tlp {} sent {} buffered {}",
            pair.now - start,
            pair.a.messages.len(),
            pair.b.assoc.stats().cwnd,
            pair.b.assoc.stats().t3_timeouts,
            pair.b.assoc.stats().tail_probes,
            pair.b.assoc.stats().data_retransmissions,
            pair.b.messages.len(),
            s.cwnd,
            s.srtt,
            s.fast_retransmits,
            s.window_reductions,
            s.data_retransmissions,
            s.t3_timeouts,
            s.tail_probes,
            pair.net.stats(Side::A).sent.datagrams,
            pair.a.assoc.buffered_amount(1)
        );
        if pair.b.messages.len() == 1000 && pair.a.messages.len() == 1000 {
            break;
        }
    }
}
