//! The simulated network's behaviour, measured over many datagrams for fixed seeds.

use std::time::{Duration, Instant};

use netsim::{BurstLoss, LinkConfig, Network, Side, Verdict, MAX_IN_FLIGHT};

const MS: Duration = Duration::from_millis(1);

/// A datagram carrying its index, padded to `len` bytes (at least 8).
fn numbered(index: u64, len: usize) -> Vec<u8> {
    let mut datagram = index.to_be_bytes().to_vec();
    datagram.resize(len.max(8), 0);
    datagram
}

/// The index a [`numbered`] datagram carries.
fn index_of(datagram: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&datagram[..8]);
    u64::from_be_bytes(bytes)
}

/// Every delivery still in flight, in delivery order: (when, to, datagram).
fn drain_all(net: &mut Network) -> Vec<(Instant, Side, Vec<u8>)> {
    let mut deliveries = Vec::new();
    while let Some(due) = net.next_delivery() {
        while let Some((to, datagram)) = net.poll_delivery(due) {
            deliveries.push((due, to, datagram));
        }
    }
    deliveries
}

/// Sends `count` numbered datagrams of `len` bytes from A, one every `spacing`, delivering as
/// it goes; returns (send time, delivery time, index) per delivery.
fn send_spaced(
    net: &mut Network,
    start: Instant,
    count: u64,
    spacing: Duration,
    len: usize,
) -> Vec<(Instant, Instant, u64)> {
    let mut deliveries = Vec::new();
    let mut collect = |net: &mut Network, until: Instant| {
        while let Some(due) = net.next_delivery().filter(|due| *due <= until) {
            while let Some((to, datagram)) = net.poll_delivery(due) {
                assert_eq!(to, Side::B);
                let index = index_of(&datagram);
                deliveries.push((start + spacing * index as u32, due, index));
            }
        }
    };
    for index in 0..count {
        let now = start + spacing * index as u32;
        collect(net, now);
        net.send(now, Side::A, numbered(index, len));
    }
    collect(net, start + Duration::from_secs(86_400 * 365));
    deliveries
}

/// Lengths of the runs of consecutive lost datagrams among `count` sent in order.
fn loss_runs(delivered: &[u64], count: u64) -> Vec<u64> {
    let mut arrived = vec![false; count as usize];
    for &index in delivered {
        arrived[index as usize] = true;
    }
    let mut runs = Vec::new();
    let mut run = 0;
    for arrived in arrived {
        if arrived {
            if run > 0 {
                runs.push(run);
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    if run > 0 {
        runs.push(run);
    }
    runs
}

#[test]
fn clean_link_delivers_everything_after_the_latency_in_order() {
    let start = Instant::now();
    let mut net = Network::new(1, LinkConfig::default(), LinkConfig::default().with_latency(25 * MS));
    for index in 0..100 {
        net.send(start, Side::A, numbered(index, 100));
    }
    net.send(start, Side::B, b"back".to_vec());
    assert_eq!(net.in_flight(), 101);
    assert_eq!(net.next_delivery(), Some(start + 10 * MS));
    assert_eq!(net.poll_delivery(start + 9 * MS), None);
    let deliveries = drain_all(&mut net);
    let to_b: Vec<_> = deliveries.iter().filter(|d| d.1 == Side::B).collect();
    assert_eq!(to_b.len(), 100);
    assert!(to_b.iter().all(|d| d.0 == start + 10 * MS));
    assert!(
        to_b.iter().enumerate().all(|(i, d)| index_of(&d.2) == i as u64),
        "same-instant deliveries keep their order"
    );
    assert_eq!(deliveries.last().map(|d| (d.0, d.1, d.2.clone())), Some((start + 25 * MS, Side::A, b"back".to_vec())));
    let stats = net.stats(Side::A);
    assert_eq!((stats.sent.datagrams, stats.sent.bytes), (100, 10_000));
    assert_eq!(stats.delivered, stats.sent);
    assert_eq!(stats.lost.datagrams + stats.dropped_queue.datagrams + stats.dropped_mtu.datagrams, 0);
    assert_eq!(net.stats(Side::B).delivered.datagrams, 1);
    assert_eq!(net.next_delivery(), None);
}

#[test]
fn jitter_is_uniform_between_latency_and_latency_plus_jitter() {
    let start = Instant::now();
    let link = LinkConfig::default().with_latency(30 * MS).with_jitter(20 * MS);
    let mut net = Network::new(2, link, LinkConfig::default());
    // Spaced wider than the jitter, so keeping the order never adds delay.
    let deliveries = send_spaced(&mut net, start, 10_000, 25 * MS, 100);
    assert_eq!(deliveries.len(), 10_000);
    let delays: Vec<f64> = deliveries.iter().map(|(sent, due, _)| (*due - *sent).as_secs_f64() * 1000.0).collect();
    let min = delays.iter().cloned().fold(f64::MAX, f64::min);
    let max = delays.iter().cloned().fold(f64::MIN, f64::max);
    let mean = delays.iter().sum::<f64>() / delays.len() as f64;
    let mut quarters = [0usize; 4];
    for delay in &delays {
        quarters[(((delay - 30.0) / 5.0) as usize).min(3)] += 1;
    }
    println!("jitter 30+[0,20) ms: min {min:.2} max {max:.2} mean {mean:.2} quarters {quarters:?}");
    assert!(min >= 30.0 && max < 50.0);
    assert!((mean - 40.0).abs() < 0.5, "mean {mean}");
    assert!(quarters.iter().all(|&q| (2300..2700).contains(&q)), "{quarters:?}");
}

#[test]
fn jitter_never_reorders() {
    let start = Instant::now();
    let link = LinkConfig::default().with_jitter(30 * MS);
    let mut net = Network::new(3, link, LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 10_000, MS, 100);
    assert_eq!(deliveries.len(), 10_000);
    assert!(deliveries.windows(2).all(|w| w[0].2 < w[1].2 && w[0].1 <= w[1].1));
    assert!(deliveries.iter().all(|(sent, due, _)| *due - *sent >= 10 * MS));
}

#[test]
fn reordering_only_when_asked_and_at_the_asked_rate() {
    let start = Instant::now();
    let link = LinkConfig::default().with_jitter(5 * MS).with_reorder(0.1, 20 * MS);
    let mut net = Network::new(4, link, LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 20_000, MS, 100);
    assert_eq!(deliveries.len(), 20_000);
    // A datagram was held back when one sent after it arrived first.
    let mut held = 0;
    let mut highest = None;
    for &(_, _, index) in &deliveries {
        if highest.is_some_and(|highest| index < highest) {
            held += 1;
        }
        highest = highest.max(Some(index));
    }
    let rate = held as f64 / 20_000.0;
    let max_delay = deliveries.iter().map(|(sent, due, _)| *due - *sent).max();
    println!("reorder 0.1 by 20 ms: {held} datagrams overtaken ({rate:.4}), largest delay {max_delay:?}");
    assert!((0.09..0.11).contains(&rate), "{rate}");
    assert!(max_delay.is_some_and(|delay| delay >= 30 * MS && delay < 60 * MS));
}

#[test]
fn independent_loss_over_100k_datagrams() {
    let start = Instant::now();
    let mut net = Network::new(5, LinkConfig::lossy(0.05), LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 100_000, MS, 100);
    let stats = net.stats(Side::A);
    let rate = stats.lost.datagrams as f64 / 100_000.0;
    let indices: Vec<u64> = deliveries.iter().map(|d| d.2).collect();
    let runs = loss_runs(&indices, 100_000);
    let mean_run = runs.iter().sum::<u64>() as f64 / runs.len() as f64;
    println!("loss 0.05: measured {rate:.4}, mean run of losses {mean_run:.3}");
    assert!((0.047..0.053).contains(&rate), "{rate}");
    assert_eq!(stats.lost.datagrams + stats.delivered.datagrams, 100_000);
    assert_eq!(deliveries.len() as u64, stats.delivered.datagrams);
    assert!(mean_run < 1.1, "independent losses rarely come together: {mean_run}");
}

#[test]
fn burst_loss_clusters_with_the_asked_mean_burst() {
    let start = Instant::now();
    let link = LinkConfig::default().with_burst(BurstLoss::bursts(0.05, 4.0));
    let mut net = Network::new(6, link, LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 100_000, MS, 100);
    let rate = net.stats(Side::A).lost.datagrams as f64 / 100_000.0;
    let indices: Vec<u64> = deliveries.iter().map(|d| d.2).collect();
    let runs = loss_runs(&indices, 100_000);
    let mean_run = runs.iter().sum::<u64>() as f64 / runs.len() as f64;
    println!("bursts (5%, mean 4): measured loss {rate:.4}, {} bursts, mean burst {mean_run:.3}", runs.len());
    assert!((0.04..0.06).contains(&rate), "{rate}");
    assert!((3.6..4.4).contains(&mean_run), "{mean_run}");
}

#[test]
fn burst_loss_in_bad_state_below_one() {
    let start = Instant::now();
    let burst = BurstLoss::PerDatagram { p_enter_bad: 0.02, p_leave_bad: 0.2, loss_in_bad: 0.5 };
    let mut net = Network::new(7, LinkConfig::default().with_burst(burst), LinkConfig::default());
    send_spaced(&mut net, start, 100_000, MS, 100);
    // Bad 0.02 / 0.22 of the time, losing half of it then.
    let expected = 0.02 / 0.22 * 0.5;
    let rate = net.stats(Side::A).lost.datagrams as f64 / 100_000.0;
    println!("bad-state loss 0.5: measured {rate:.4}, expected {expected:.4}");
    assert!((rate - expected).abs() < 0.008, "{rate}");
}

/// Lengths of the bad periods a dense sender (one datagram every `spacing`) saw: each run of
/// consecutive lost datagrams times the spacing.
fn burst_durations(delivered: &[u64], count: u64, spacing: Duration) -> Vec<Duration> {
    loss_runs(delivered, count).into_iter().map(|run| spacing * run as u32).collect()
}

#[test]
fn timed_bursts_have_the_asked_loss_and_mean_duration() {
    let start = Instant::now();
    let link = LinkConfig::default().with_burst(BurstLoss::timed(0.05, 40 * MS));
    let mut net = Network::new(23, link, LinkConfig::default());
    // One datagram a millisecond for 1000 s: about 1250 bursts.
    let count = 1_000_000;
    let deliveries = send_spaced(&mut net, start, count, MS, 20);
    let rate = net.stats(Side::A).lost.datagrams as f64 / count as f64;
    let indices: Vec<u64> = deliveries.iter().map(|d| d.2).collect();
    let bursts = burst_durations(&indices, count, MS);
    let mean = bursts.iter().sum::<Duration>() / bursts.len() as u32;
    let longest = bursts.iter().max().copied().unwrap_or_default();
    println!(
        "timed bursts (5%, mean 40 ms), 1 datagram/ms for 1000 s: measured loss {rate:.4}, {} bursts, mean {mean:?}, longest {longest:?}",
        bursts.len()
    );
    assert!((0.045..0.055).contains(&rate), "{rate}");
    assert!(mean > 36 * MS && mean < 44 * MS, "{mean:?}");
    assert!((1100..1400).contains(&bursts.len()), "{}", bursts.len());
}

#[test]
fn a_sparse_sender_loses_as_much_as_a_dense_one_and_never_for_long() {
    let run = |burst: BurstLoss, spacing: Duration, count: u64| {
        let mut net = Network::new(24, LinkConfig::default().with_burst(burst), LinkConfig::default());
        let indices: Vec<u64> = send_spaced(&mut net, Instant::now(), count, spacing, 20).iter().map(|d| d.2).collect();
        let rate = net.stats(Side::A).lost.datagrams as f64 / count as f64;
        let runs = loss_runs(&indices, count);
        let longest = runs.iter().max().copied().unwrap_or(0);
        (rate, spacing * longest as u32)
    };
    // Over the same 2000 s: one datagram a millisecond, and one every 250 ms (a handshake's or a
    // retransmission timer's pace).
    let timed = BurstLoss::timed(0.05, 40 * MS);
    let (dense, dense_longest) = run(timed, MS, 2_000_000);
    let (sparse, sparse_longest) = run(timed, 250 * MS, 8_000);
    // The same average loss counted in datagrams: bursts of 40 datagrams.
    let (per_datagram, per_datagram_longest) = run(BurstLoss::bursts(0.05, 40.0), 250 * MS, 8_000);
    println!(
        "5% loss, 2000 s: timed bursts of 40 ms: dense (1 ms) loses {dense:.4}, longest {dense_longest:?}; sparse (250 ms) \
         loses {sparse:.4}, longest {sparse_longest:?}; per-datagram bursts of 40, sparse: loses {per_datagram:.4}, longest \
         {per_datagram_longest:?}"
    );
    assert!((dense - sparse).abs() < 0.012, "dense {dense}, sparse {sparse}");
    // A sparse sender's losses in a row are independent draws, so a few at most.
    assert!(sparse_longest < Duration::from_secs(2), "{sparse_longest:?}");
    assert!(per_datagram_longest > Duration::from_secs(20), "the old model holds a sparse sender for seconds");
}

#[test]
fn timed_bursts_are_deterministic_and_keep_each_directions_luck() {
    let link = LinkConfig::default().with_jitter(3 * MS).with_burst(BurstLoss::timed(0.1, 30 * MS));
    let lost_by_a = |seed: u64, b_sends: u64| {
        let start = Instant::now();
        let mut net = Network::new(seed, link, link);
        let mut arrived = Vec::new();
        let mut now = start;
        for index in 0..20_000u64 {
            // Uneven spacing: 0 to 9 ms, sometimes several at one instant.
            now += Duration::from_micros((index * 7_919) % 9_000 / 1_000 * 1_000);
            while let Some((to, datagram)) = net.poll_delivery(now) {
                if to == Side::B {
                    arrived.push(index_of(&datagram));
                }
            }
            net.send(now, Side::A, numbered(index, 100));
            for _ in 0..b_sends {
                net.send(now, Side::B, numbered(index, 100));
            }
        }
        arrived.extend(drain_all(&mut net).into_iter().filter(|d| d.1 == Side::B).map(|d| index_of(&d.2)));
        arrived
    };
    let first = lost_by_a(25, 0);
    assert_eq!(first, lost_by_a(25, 0));
    assert_eq!(first, lost_by_a(25, 3), "B's traffic does not change A's bursts");
    assert_ne!(first, lost_by_a(26, 0));
    let rate = 1.0 - first.len() as f64 / 20_000.0;
    println!("timed bursts (10%, 30 ms), seed 25: A->B lost {rate:.4}");
    assert!((0.07..0.13).contains(&rate), "{rate}");
}

#[test]
fn timed_burst_probabilities_at_the_edges() {
    let start = Instant::now();
    // Always bad, never bad, bursts of no length (independent loss), a burst that never ends.
    let cases = [
        (BurstLoss::timed(1.0, 40 * MS), 1.0, 0.0),
        (BurstLoss::timed(2.0, Duration::ZERO), 1.0, 0.0),
        (BurstLoss::timed(0.0, 40 * MS), 0.0, 0.0),
        (BurstLoss::timed(f64::NAN, 40 * MS), 0.0, 0.0),
        (BurstLoss::timed(-1.0, Duration::MAX), 0.0, 0.0),
        (BurstLoss::timed(0.3, Duration::ZERO), 0.3, 0.03),
    ];
    for (burst, expected, tolerance) in cases {
        let mut net = Network::new(27, LinkConfig::default().with_burst(burst), LinkConfig::default());
        send_spaced(&mut net, start, 10_000, MS, 20);
        let rate = net.stats(Side::A).lost.datagrams as f64 / 10_000.0;
        assert!((rate - expected).abs() <= tolerance, "{burst:?}: {rate}");
    }
    // A burst that never ends: the link stays as its first datagram found it.
    let mut net =
        Network::new(28, LinkConfig::default().with_burst(BurstLoss::timed(0.5, Duration::MAX)), LinkConfig::default());
    send_spaced(&mut net, start, 1_000, MS, 20);
    let lost = net.stats(Side::A).lost.datagrams;
    assert!(lost == 0 || lost == 1_000, "{lost}");
    // Datagrams sent at one instant share their state: all lost or none.
    for seed in 0..20 {
        let mut net =
            Network::new(seed, LinkConfig::default().with_burst(BurstLoss::timed(0.5, MS)), LinkConfig::default());
        for index in 0..50 {
            net.send(start, Side::A, numbered(index, 20));
        }
        let lost = net.stats(Side::A).lost.datagrams;
        assert!(lost == 0 || lost == 50, "seed {seed}: {lost}");
    }
}

#[test]
fn bottleneck_serializes_and_drops_past_the_queue() {
    let start = Instant::now();
    // 100 kB/s: a 1000-byte datagram takes 10 ms; the queue holds five of them.
    let link = LinkConfig::default().with_bandwidth(100_000, 5_000);
    let mut net = Network::new(8, link, LinkConfig::default());
    for index in 0..10 {
        net.send(start, Side::A, numbered(index, 1000));
    }
    let deliveries = drain_all(&mut net);
    let times: Vec<Duration> = deliveries.iter().map(|d| d.0 - start).collect();
    assert_eq!(times, [20 * MS, 30 * MS, 40 * MS, 50 * MS, 60 * MS]);
    let stats = net.stats(Side::A);
    assert_eq!(stats.dropped_queue.datagrams, 5);
    assert_eq!(stats.dropped_queue.bytes, 5000);
    assert_eq!(stats.delivered.datagrams, 5);
    assert_eq!(stats.max_queue_delay, 40 * MS);
    // Drained by 50 ms: the queue takes datagrams again, behind nothing.
    net.send(start + 50 * MS, Side::A, numbered(10, 1000));
    assert_eq!(net.next_delivery(), Some(start + 70 * MS));
    // At 55 ms that one is still in service: room for four more of the ten.
    for index in 11..21 {
        net.send(start + 55 * MS, Side::A, numbered(index, 1000));
    }
    assert_eq!(net.stats(Side::A).dropped_queue.datagrams, 11);
    let times: Vec<Duration> = drain_all(&mut net).iter().map(|d| d.0 - start).collect();
    assert_eq!(times, [70 * MS, 80 * MS, 90 * MS, 100 * MS, 110 * MS]);
}

#[test]
fn bottleneck_overload_keeps_the_rate_and_bounds_the_delay() {
    let start = Instant::now();
    // 1 MB/s with 50 ms of queue; offered 2 MB/s for 2 s.
    let link = LinkConfig::default().with_bandwidth(1_000_000, 50_000);
    let mut net = Network::new(9, link, LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 4_000, Duration::from_micros(500), 1000);
    let stats = net.stats(Side::A);
    let last = deliveries.iter().map(|d| d.1).max().map(|t| t - start);
    let max_delay = deliveries.iter().map(|(sent, due, _)| *due - *sent).max();
    println!(
        "2x overload of 1 MB/s for 2 s: {} delivered, {} dropped by the queue, largest delay {max_delay:?}, last at {last:?}",
        stats.delivered.datagrams, stats.dropped_queue.datagrams
    );
    // The link carries 1 MB/s: about 2000 of the 4000 over 2 s, plus what the queue held.
    assert!((2000..=2060).contains(&stats.delivered.datagrams));
    assert_eq!(stats.delivered.datagrams + stats.dropped_queue.datagrams, 4000);
    // Queueing delay at most the queue's 50 ms plus one datagram, plus the 10 ms latency.
    assert!(max_delay.is_some_and(|delay| delay >= 55 * MS && delay <= 61 * MS));
    assert!(stats.max_queue_delay > 45 * MS && stats.max_queue_delay <= 50 * MS, "{:?}", stats.max_queue_delay);
}

#[test]
fn lost_datagrams_still_use_the_bottleneck() {
    let start = Instant::now();
    let link = LinkConfig::default().with_bandwidth(100_000, 100_000).with_loss(1.0);
    let mut net = Network::new(10, link, LinkConfig::default());
    net.send(start, Side::A, numbered(0, 1000));
    net.set_link(Side::A, LinkConfig::default().with_bandwidth(100_000, 100_000));
    net.send(start, Side::A, numbered(1, 1000));
    // The second waits for the lost first one's 10 ms of serialization.
    assert_eq!(net.next_delivery(), Some(start + 30 * MS));
}

#[test]
fn mtu_drops_and_counts_longer_datagrams() {
    let start = Instant::now();
    let mut net = Network::new(11, LinkConfig::default(), LinkConfig::default().with_mtu(1200));
    net.send(start, Side::A, vec![0; 1500]);
    net.send(start, Side::A, vec![0; 1501]);
    net.send(start, Side::B, vec![0; 1200]);
    net.send(start, Side::B, vec![0; 1201]);
    let deliveries = drain_all(&mut net);
    let lengths: Vec<(Side, usize)> = deliveries.iter().map(|d| (d.1, d.2.len())).collect();
    assert_eq!(lengths, [(Side::B, 1500), (Side::A, 1200)]);
    assert_eq!(net.stats(Side::A).dropped_mtu.datagrams, 1);
    assert_eq!(net.stats(Side::A).dropped_mtu.bytes, 1501);
    assert_eq!(net.stats(Side::B).dropped_mtu.bytes, 1201);
}

#[test]
fn duplication_adds_copies_after_their_originals() {
    let start = Instant::now();
    let link = LinkConfig::default().with_jitter(4 * MS).with_duplicate(0.1);
    let mut net = Network::new(12, link, LinkConfig::default());
    let deliveries = send_spaced(&mut net, start, 20_000, MS, 100);
    let stats = net.stats(Side::A);
    let rate = stats.duplicated.datagrams as f64 / 20_000.0;
    println!("duplicate 0.1: measured {rate:.4}");
    assert!((0.09..0.11).contains(&rate), "{rate}");
    assert_eq!(stats.delivered.datagrams, 20_000 + stats.duplicated.datagrams);
    assert_eq!(deliveries.len() as u64, stats.delivered.datagrams);
    // Without reordering, nothing arrives before what was sent before it (copies included).
    assert!(deliveries.windows(2).all(|w| w[0].2 <= w[1].2));
}

#[test]
fn same_seed_same_deliveries_other_seed_others() {
    let run = |seed: u64| {
        let start = Instant::now();
        let link = LinkConfig::home(20 * MS)
            .with_loss(0.03)
            .with_burst(BurstLoss::timed(0.02, 30 * MS))
            .with_reorder(0.05, 15 * MS)
            .with_duplicate(0.02)
            .with_jitter(8 * MS);
        let mut net = Network::new(seed, link, link);
        let mut deliveries = Vec::new();
        for index in 0..5_000u64 {
            let now = start + Duration::from_micros(300) * index as u32;
            while let Some((to, datagram)) = net.poll_delivery(now) {
                deliveries.push((now - start, to, datagram));
            }
            let from = if index % 3 == 0 { Side::B } else { Side::A };
            net.send(now, from, numbered(index, 200 + (index as usize * 37) % 1200));
        }
        deliveries.extend(drain_all(&mut net).into_iter().map(|(t, to, d)| (t - start, to, d)));
        (deliveries, net.stats(Side::A), net.stats(Side::B))
    };
    let first = run(42);
    assert_eq!(first, run(42));
    assert_ne!(first.0, run(43).0);
    println!("seed 42: A->B {:?}", first.1);
}

#[test]
fn one_direction_does_not_shift_the_other_directions_luck() {
    let lost_by_a = |b_sends: u64| {
        let start = Instant::now();
        let mut net = Network::new(13, LinkConfig::lossy(0.2), LinkConfig::lossy(0.2));
        let mut arrived = Vec::new();
        for index in 0..2_000u64 {
            let now = start + MS * index as u32;
            while let Some((to, datagram)) = net.poll_delivery(now) {
                if to == Side::B {
                    arrived.push(index_of(&datagram));
                }
            }
            net.send(now, Side::A, numbered(index, 100));
            for _ in 0..b_sends {
                net.send(now, Side::B, numbered(index, 100));
            }
        }
        arrived.extend(drain_all(&mut net).into_iter().filter(|d| d.1 == Side::B).map(|d| index_of(&d.2)));
        arrived
    };
    assert_eq!(lost_by_a(0), lost_by_a(3));
}

#[test]
fn the_nth_datagram_meets_the_same_loss_whatever_the_jitter() {
    let arrived = |link: LinkConfig| {
        let mut net = Network::new(14, link, LinkConfig::default());
        let mut indices: Vec<u64> =
            send_spaced(&mut net, Instant::now(), 5_000, 10 * MS, 100).into_iter().map(|d| d.2).collect();
        indices.sort_unstable();
        indices
    };
    assert_eq!(arrived(LinkConfig::lossy(0.1)), arrived(LinkConfig::lossy(0.1).with_jitter(7 * MS)));
}

#[test]
fn outage_loses_new_datagrams_and_keeps_those_in_flight() {
    let start = Instant::now();
    let mut net = Network::new(15, LinkConfig::default(), LinkConfig::default());
    net.send(start, Side::A, numbered(0, 100));
    net.set_link(Side::A, LinkConfig::outage());
    assert_eq!(net.link(Side::A).loss, 1.0);
    for index in 1..=100 {
        net.send(start + MS, Side::A, numbered(index, 100));
    }
    net.set_link(Side::A, LinkConfig::default());
    net.send(start + 2 * MS, Side::A, numbered(101, 100));
    let indices: Vec<u64> = drain_all(&mut net).iter().map(|d| index_of(&d.2)).collect();
    assert_eq!(indices, [0, 101]);
    assert_eq!(net.stats(Side::A).lost.datagrams, 100);
}

#[test]
fn in_flight_is_bounded() {
    let start = Instant::now();
    let mut net = Network::new(16, LinkConfig::default(), LinkConfig::default());
    for _ in 0..MAX_IN_FLIGHT + 5 {
        net.send(start, Side::A, Vec::new());
    }
    assert_eq!(net.in_flight(), MAX_IN_FLIGHT);
    assert_eq!(net.stats(Side::A).dropped_overflow.datagrams, 5);
    assert_eq!(drain_all(&mut net).len(), MAX_IN_FLIGHT);
}

#[test]
fn hostile_configurations_never_panic() {
    let start = Instant::now();
    let extreme = [
        LinkConfig::default().with_latency(Duration::MAX),
        LinkConfig::default().with_jitter(Duration::MAX),
        LinkConfig::default().with_reorder(1.0, Duration::MAX),
        LinkConfig::default().with_bandwidth(0, 1_000),
        LinkConfig::default().with_bandwidth(1, 0),
        LinkConfig::default().with_bandwidth(u64::MAX, usize::MAX),
        LinkConfig::default().with_loss(f64::NAN).with_duplicate(f64::INFINITY).with_reorder(-1.0, MS),
        LinkConfig::default().with_burst(BurstLoss::PerDatagram {
            p_enter_bad: f64::NAN,
            p_leave_bad: 2.0,
            loss_in_bad: -3.0,
        }),
        LinkConfig::default().with_burst(BurstLoss::bursts(1.0, 0.0)),
        LinkConfig::default().with_burst(BurstLoss::bursts(-1.0, f64::NAN)),
        LinkConfig::default().with_burst(BurstLoss::timed(f64::INFINITY, Duration::ZERO)),
        LinkConfig::default().with_burst(BurstLoss::timed(0.5, Duration::MAX)),
        LinkConfig::default().with_mtu(0),
    ];
    for link in extreme {
        let mut net = Network::new(17, link, link);
        for index in 0..100u64 {
            net.send(start + MS * index as u32, Side::A, numbered(index, 100));
        }
        let stats = net.stats(Side::A);
        let ended = stats.lost.datagrams
            + stats.filtered.datagrams
            + stats.dropped_mtu.datagrams
            + stats.dropped_queue.datagrams
            + stats.dropped_overflow.datagrams
            + net.in_flight() as u64
            - stats.duplicated.datagrams;
        assert_eq!(ended, 100, "{link:?}: {stats:?}");
        while net.poll_delivery(start + Duration::from_secs(3600)).is_some() {}
    }
}

#[test]
fn burst_parameters_from_average_loss_and_mean_burst() {
    let BurstLoss::PerDatagram { p_enter_bad, p_leave_bad, loss_in_bad } = BurstLoss::bursts(0.05, 4.0) else {
        panic!("bursts counts datagrams");
    };
    assert_eq!(p_leave_bad, 0.25);
    assert!((p_enter_bad / (p_enter_bad + p_leave_bad) - 0.05).abs() < 1e-12);
    assert_eq!(loss_in_bad, 1.0);
    let always = BurstLoss::bursts(1.0, 3.0);
    assert!(matches!(always, BurstLoss::PerDatagram { p_enter_bad: 1.0, p_leave_bad: 0.0, .. }));
    assert_eq!(BurstLoss::timed(0.05, 40 * MS), BurstLoss::Timed { average_loss: 0.05, mean_burst: 40 * MS });
}

#[test]
fn corruption_flips_exactly_one_bit() {
    let start = Instant::now();
    let mut net = Network::new(18, LinkConfig::default().with_corrupt(0.2), LinkConfig::default());
    for index in 0..10_000u64 {
        net.send(start + MS * index as u32, Side::A, numbered(index, 64));
    }
    // A clean latency keeps the order, so the n-th delivery is the n-th datagram sent.
    let deliveries = drain_all(&mut net);
    assert_eq!(deliveries.len(), 10_000);
    let mut flipped = 0;
    let mut eighths = [0u64; 8];
    for (index, (_, _, datagram)) in deliveries.iter().enumerate() {
        let sent = numbered(index as u64, 64);
        let bits: u32 = sent.iter().zip(datagram).map(|(a, b)| (a ^ b).count_ones()).sum();
        assert!(bits <= 1, "datagram {index}: {bits} bits flipped");
        if let Some(at) = sent.iter().zip(datagram).position(|(a, b)| a != b) {
            flipped += 1;
            eighths[at / 8] += 1;
        }
    }
    let rate = flipped as f64 / 10_000.0;
    println!("corrupt 0.2: measured {rate:.4}, by eighth of the datagram {eighths:?}");
    assert_eq!(flipped, net.stats(Side::A).corrupted.datagrams);
    assert!((0.18..0.22).contains(&rate), "{rate}");
    assert!(eighths.iter().all(|&n| n > 150), "{eighths:?}");
}

#[test]
fn redundancy_through_a_bottleneck_costs_delay_and_drops() {
    // 1000-byte datagrams every 2 ms (500 kB/s) into a 625 kB/s home-like link at 5% loss, sent
    // once or twice: twice offers 1 MB/s, so the queue fills and drops what it cannot carry.
    let run = |copies: u64| {
        let start = Instant::now();
        let link = LinkConfig::default().with_loss(0.05).with_bandwidth(625_000, 32 * 1024);
        let mut net = Network::new(19, link, LinkConfig::default());
        let mut arrived = std::collections::HashSet::new();
        for index in 0..2_000u64 {
            let now = start + 2 * MS * index as u32;
            while let Some((_, datagram)) = net.poll_delivery(now) {
                arrived.insert(index_of(&datagram));
            }
            for _ in 0..copies {
                net.send(now, Side::A, numbered(index, 1000));
            }
        }
        arrived.extend(drain_all(&mut net).iter().map(|d| index_of(&d.2)));
        let stats = net.stats(Side::A);
        println!(
            "each sent {copies}x at 5% loss through 625 kB/s: {} of 2000 arrived, {} dropped by the queue, max queue delay {:?}",
            arrived.len(),
            stats.dropped_queue.datagrams,
            stats.max_queue_delay
        );
        (arrived.len(), stats)
    };
    let (once, once_stats) = run(1);
    let (twice, twice_stats) = run(2);
    assert!((1850..1950).contains(&once), "{once}");
    assert_eq!(once_stats.dropped_queue.datagrams, 0);
    assert!(once_stats.max_queue_delay < 2 * MS);
    assert!(twice_stats.dropped_queue.datagrams > 1000);
    assert!(twice_stats.max_queue_delay > 40 * MS, "the queue stays full");
    assert!(twice < 2_000, "sending everything twice into a full queue does not recover all: {twice}");
}

#[test]
fn home_and_lossy_constructors() {
    let start = Instant::now();
    let home = LinkConfig::home(20 * MS);
    assert_eq!((home.latency, home.jitter, home.bandwidth, home.mtu), (20 * MS, 2 * MS, Some(2_500_000), 1500));
    let mut net = Network::new(20, home, LinkConfig::lossy(1.0));
    // 64 KiB in 1250-byte datagrams: 26.2 ms to serialize at 2.5 MB/s.
    for index in 0..53 {
        net.send(start, Side::A, numbered(index, 1250));
    }
    net.send(start, Side::B, numbered(0, 100));
    let deliveries = drain_all(&mut net);
    assert_eq!(deliveries.len(), 53);
    let last = deliveries.iter().map(|d| d.0 - start).max();
    println!("64 KiB through home(20 ms): last byte after {last:?}");
    assert!(last.is_some_and(|last| last >= 46 * MS && last < 49 * MS));
    assert_eq!(net.stats(Side::B).lost.datagrams, 1);
}

#[test]
fn a_filter_drops_and_rewrites_chosen_datagrams_and_the_link_still_applies() {
    let start = Instant::now();
    let mut net = Network::new(21, LinkConfig::default().with_mtu(100), LinkConfig::default());
    net.set_filter(Side::A, |_now, datagram| match index_of(datagram) {
        2 => Verdict::Drop,
        3 => {
            datagram[7] = 33;
            Verdict::Pass
        }
        4 => {
            datagram.resize(101, 0);
            Verdict::Pass
        }
        _ => Verdict::Pass,
    });
    for index in 0..6 {
        net.send(start, Side::A, numbered(index, 50));
    }
    // The other direction has no filter.
    net.send(start, Side::B, numbered(2, 50));
    let indices: Vec<(Side, u64)> = drain_all(&mut net).iter().map(|d| (d.1, index_of(&d.2))).collect();
    assert_eq!(indices, [(Side::B, 0), (Side::B, 1), (Side::B, 33), (Side::B, 5), (Side::A, 2)]);
    let stats = net.stats(Side::A);
    assert_eq!((stats.filtered.datagrams, stats.filtered.bytes), (1, 50));
    assert_eq!((stats.dropped_mtu.datagrams, stats.dropped_mtu.bytes), (1, 101));
    assert_eq!(stats.sent.bytes, 300);
    net.clear_filter(Side::A);
    net.send(start, Side::A, numbered(2, 50));
    assert_eq!(drain_all(&mut net).len(), 1);
}

#[test]
fn a_filter_does_not_shift_the_luck_of_later_datagrams() {
    let arrived = |filter: bool| {
        let mut net = Network::new(22, LinkConfig::lossy(0.3), LinkConfig::default());
        if filter {
            net.set_filter(
                Side::A,
                |_now, datagram| if index_of(datagram).is_multiple_of(10) { Verdict::Drop } else { Verdict::Pass },
            );
        }
        let indices: Vec<u64> = send_spaced(&mut net, Instant::now(), 1_000, MS, 20).iter().map(|d| d.2).collect();
        indices
    };
    let unfiltered: Vec<u64> = arrived(false).into_iter().filter(|index| !index.is_multiple_of(10)).collect();
    assert_eq!(arrived(true), unfiltered);
}

/// A random link for the invariant sweep: any mix of the features, reordering or not.
fn random_link(rng: &mut impl rand::Rng, reorder: bool) -> LinkConfig {
    use rand::RngExt;
    let mut link = LinkConfig::default()
        .with_latency(MS * rng.random_range(0..50u32))
        .with_jitter(MS * rng.random_range(0..30u32))
        .with_loss(rng.random_range(0.0..0.3))
        .with_duplicate(rng.random_range(0.0..0.1))
        .with_mtu(rng.random_range(200..1500));
    if rng.random() {
        link = link.with_burst(if rng.random() {
            BurstLoss::bursts(rng.random_range(0.0..0.2), rng.random_range(1.0..6.0))
        } else {
            BurstLoss::timed(rng.random_range(0.0..0.2), MS * rng.random_range(0..100u32))
        });
    }
    if rng.random() {
        link = link.with_bandwidth(rng.random_range(50_000..2_000_000), rng.random_range(1_000..100_000));
    }
    if reorder {
        link = link.with_reorder(rng.random_range(0.0..0.3), MS * rng.random_range(1..40u32));
    }
    link
}

#[test]
fn invariants_hold_for_random_links_and_traffic() {
    use rand::{RngExt, SeedableRng};
    for seed in 0..60u64 {
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let reorder = seed % 2 == 1;
        let links = [random_link(&mut rng, reorder), random_link(&mut rng, reorder)];
        let start = Instant::now();
        let mut net = Network::new(seed, links[0], links[1]);
        let mut now = start;
        let mut sent_at = Vec::new();
        let mut deliveries = Vec::new();
        for index in 0..3_000u64 {
            now += Duration::from_micros(rng.random_range(0..3_000));
            while let Some((to, datagram)) = net.poll_delivery(now) {
                deliveries.push((now, to, index_of(&datagram)));
            }
            let from = if rng.random_bool(0.5) { Side::A } else { Side::B };
            sent_at.push((now, from));
            net.send(now, from, numbered(index, rng.random_range(8..1600)));
        }
        while let Some(due) = net.next_delivery() {
            assert!(due >= now, "seed {seed}: due times never fall behind the last poll");
            now = due;
            while let Some((to, datagram)) = net.poll_delivery(now) {
                deliveries.push((now, to, index_of(&datagram)));
            }
        }
        for side in [Side::A, Side::B] {
            let stats = net.stats(side);
            let ended = stats.filtered.datagrams
                + stats.dropped_mtu.datagrams
                + stats.dropped_queue.datagrams
                + stats.dropped_overflow.datagrams
                + stats.lost.datagrams
                + stats.delivered.datagrams
                - stats.duplicated.datagrams;
            assert_eq!(ended, stats.sent.datagrams, "seed {seed} from {side:?}: {stats:?}");
            let link = links[usize::from(side == Side::B)];
            let mut highest = None;
            for &(due, to, index) in deliveries.iter().filter(|d| d.1 == side.other()) {
                let (sent, from) = sent_at[index as usize];
                assert_eq!((from, to), (side, side.other()));
                assert!(due - sent >= link.latency, "seed {seed}: delivered before the latency");
                if !reorder {
                    assert!(highest <= Some(index), "seed {seed}: reordered without being asked");
                }
                highest = highest.max(Some(index));
            }
        }
    }
}
