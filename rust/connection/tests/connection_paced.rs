//! Two games exchanging reliable messages at 60 fps under 2 % loss, measured on virtual time
//! (issue 20's lab goal: p99 one-way latency reported against ENet's, and the UDP payload sent
//! both ways at most 1.25x that of the same transfer without loss).

mod connection_support;

use std::time::Duration;

use connection::channels::ChannelId;
use connection_support::{paced_latencies, pair, quantile, reliable, run_until_open, Pacer, Setup};
use netsim::{LinkConfig, Side};

const FRAME: Duration = Duration::from_micros(16_667);
const SIZE: usize = 1024;
const RUN: Duration = Duration::from_secs(10);

/// One run: both sides send a reliable 1 KiB message every frame for 10 s.
struct Run {
    /// One-way latencies A to B and B to A.
    latencies: Vec<Duration>,
    /// UDP payload bytes sent both ways while the messages flowed (and the 2 s after).
    bytes: u64,
    arrived: usize,
    sent: usize,
}

fn run(seed: u64, link: LinkConfig) -> Run {
    let setup = Setup::new(seed, link).with_channel(reliable("frames"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(10)), "seed {seed} did not connect");
    let channel: ChannelId = channels[0];
    let start = pair.now;
    let bytes_before = pair.net.stats(Side::A).sent.bytes + pair.net.stats(Side::B).sent.bytes;
    let pacer = || Pacer {
        channel,
        interval: FRAME,
        size: SIZE,
        next: start,
        until: start + RUN,
        sent_at: Vec::new(),
        refused: 0,
    };
    pair.a.pacer = Some(pacer());
    pair.b.pacer = Some(pacer());
    pair.run_for(RUN + Duration::from_secs(2));
    let bytes = pair.net.stats(Side::A).sent.bytes + pair.net.stats(Side::B).sent.bytes - bytes_before;
    let mut latencies = paced_latencies(&pair.a, &pair.b, channel);
    latencies.extend(paced_latencies(&pair.b, &pair.a, channel));
    let sent =
        pair.a.pacer.as_ref().map_or(0, |p| p.sent_at.len()) + pair.b.pacer.as_ref().map_or(0, |p| p.sent_at.len());
    Run { arrived: latencies.len(), latencies, bytes, sent }
}

#[test]
fn reliable_frames_at_2_percent_loss_cost_little_more_than_without_loss() {
    let clean = LinkConfig::home(Duration::from_millis(20));
    let lossy = clean.with_loss(0.02);
    for seed in 1..=5 {
        let mut without = run(seed, clean);
        let mut with = run(seed, lossy);
        assert_eq!((without.arrived, with.arrived), (without.sent, with.sent), "seed {seed}: every message arrives");
        let ratio = with.bytes as f64 / without.bytes as f64;
        println!(
            "FIGURE 60 fps reliable 1 KiB both ways, home link 20 ms, seed {seed}: 2% loss p50 {} ms p99 {} ms max {} \
             ms \
             (no loss: p50 {} ms p99 {} ms); UDP payload both ways {} vs {} bytes without loss = {ratio:.3}x",
            quantile(&mut with.latencies, 0.5).as_millis(),
            quantile(&mut with.latencies, 0.99).as_millis(),
            with.latencies.last().copied().unwrap_or_default().as_millis(),
            quantile(&mut without.latencies, 0.5).as_millis(),
            quantile(&mut without.latencies, 0.99).as_millis(),
            with.bytes,
            without.bytes,
        );
        assert!(ratio <= 1.25, "seed {seed}: {ratio}");
        // A loss recovered by fast retransmit costs about a round trip and a few frames; a
        // timeout (400 ms floor) would show here.
        assert!(quantile(&mut with.latencies, 0.99) < Duration::from_millis(400), "seed {seed}");
    }
}
