//! State updates on an unreliable channel while a reliable channel carries bulk data on the same
//! connection (issue 20 item 3: a per-stream scheduler keeps unreliable channels from waiting
//! behind bulk reliable data).

mod connection_support;

use std::time::Duration;

use connection_support::{paced_latencies, pair, quantile, reliable, run_until_open, unreliable, Bulk, Pacer, Setup};
use netsim::LinkConfig;

/// Latencies of the state updates, how many were sent, and the bulk bytes that arrived.
fn state_beside_bulk() -> (Vec<Duration>, usize, usize) {
    let link = LinkConfig::home(Duration::from_millis(20));
    let setup = Setup::new(31, link).with_channel(reliable("bulk")).with_channel(unreliable("state"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 2, Duration::from_secs(5)));
    let (bulk, state) = (channels[0], channels[1]);
    let start = pair.now;
    // 16 MB of bulk, kept 1 MiB deep in the association's queue, against 1 KiB every 5 ms.
    pair.a.bulk = Some(Bulk { channel: bulk, size: 16 * 1024, total: 1024, low_water: 1024 * 1024, sent: 0 });
    let run = Duration::from_secs(8);
    let interval = Duration::from_millis(5);
    pair.a.pacer = Some(Pacer {
        channel: state,
        interval,
        size: 1024,
        next: start,
        until: start + run,
        sent_at: Vec::new(),
        refused: 0,
    });
    pair.run_for(run + Duration::from_secs(1));
    let mut latencies = paced_latencies(&pair.a, &pair.b, state);
    let bulk_bytes: usize =
        pair.b.arrivals.iter().filter(|arrival| arrival.channel == bulk).map(|arrival| arrival.len).sum();
    let sent = pair.a.pacer.as_ref().map_or(0, |pacer| pacer.sent_at.len());
    let (p50, p99) = (quantile(&mut latencies, 0.5), quantile(&mut latencies, 0.99));
    println!(
        "FIGURE state updates beside bulk (home link 20 ms, no loss): {} of {sent} arrived, p50 {} ms, p99 {} ms, \
         max {} ms; bulk {} KB/s meanwhile",
        latencies.len(),
        p50.as_millis(),
        p99.as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis(),
        bulk_bytes as u128 / run.as_millis(),
    );
    (latencies, sent, bulk_bytes)
}

/// What the association does today: state updates queue behind the bulk messages in its send
/// queue, more and more (p50 1.1 s, p99 2.1 s after 8 s on a clean link), and the bottleneck
/// drops some; they still arrive, and the bulk moves at the link's rate.
#[test]
fn state_updates_beside_bulk_data_still_arrive() {
    let (latencies, sent, bulk_bytes) = state_beside_bulk();
    assert!(latencies.len() as f64 >= sent as f64 * 0.8, "{} of {sent}", latencies.len());
    assert!(bulk_bytes > 10_000_000, "the bulk moved too: {bulk_bytes}");
}

/// Issue 20 item 3's goal: the scheduler keeps them from waiting behind bulk data; what they
/// may wait behind is the bottleneck's own queue (128 KiB at 20 Mbit/s, 52 ms).
#[test]
#[ignore = "goal not met yet: state updates queue behind 16 KiB bulk messages (p99 2.1 s after 8 s)"]
fn goal_state_updates_do_not_wait_behind_bulk_data() {
    let (mut latencies, sent, _) = state_beside_bulk();
    assert!(latencies.len() as f64 >= sent as f64 * 0.95, "{} of {sent}", latencies.len());
    let p99 = quantile(&mut latencies, 0.99);
    assert!(p99 < Duration::from_millis(150), "p99 {p99:?}");
}
