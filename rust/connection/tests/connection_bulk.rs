//! Reliable bulk under loss, measured on virtual time (issue 20's goal: at 10 % loss, 1000
//! reliable 1 KiB messages each way, sent as fast as the channel takes them, in under 3 s, in 5
//! of 5 runs), on a home link: 20 ms each way, 20 Mbit/s with a 128 KiB bottleneck queue.

mod connection_support;

use std::time::Duration;

use connection::channels::ChannelId;
use connection_support::{pair, reliable, run_until_open, Bulk, Peer, Setup};
use netsim::{LinkConfig, Side};

const MESSAGES: u32 = 1000;
const SIZE: usize = 1024;

fn bulk(channel: ChannelId) -> Bulk {
    Bulk { channel, size: SIZE, total: MESSAGES, low_water: usize::MAX, sent: 0 }
}

/// Whether `peer` received every message, in order, on `channel`.
fn received_all(peer: &Peer, channel: ChannelId) -> bool {
    peer.arrivals.iter().filter(|arrival| arrival.channel == channel).count() == MESSAGES as usize
}

/// Sends 1000 x 1 KiB each way over `link` for each seed; returns the times taken.
fn transfer_times(name: &str, link: LinkConfig, seeds: impl IntoIterator<Item = u64>) -> Vec<Duration> {
    let mut times = Vec::new();
    for seed in seeds {
        let setup = Setup::new(seed, link).with_channel(reliable("bulk"));
        let (mut pair, channels) = pair(&setup);
        assert!(run_until_open(&mut pair, 1, Duration::from_secs(10)), "seed {seed} did not connect");
        let channel = channels[0];
        let start = pair.now;
        pair.a.bulk = Some(bulk(channel));
        pair.b.bulk = Some(bulk(channel));
        let done = pair.run_until(Duration::from_secs(60), |a, b| received_all(a, channel) && received_all(b, channel));
        let took = pair.now - start;
        let in_order =
            |peer: &Peer| peer.arrivals.iter().enumerate().all(|(index, arrival)| arrival.seq == index as u32);
        let stats = pair.a.conn.stats().sctp.unwrap();
        let lost = pair.net.stats(Side::A).lost.datagrams + pair.net.stats(Side::B).lost.datagrams;
        println!(
            "  {name}, seed {seed}: {} ms (datagrams lost {lost}; A's SCTP: {} DATA retransmissions, {} fast \
             retransmits, {} tail probes, {} T3 \
             timeouts, rto {:?}, srtt {:?}, cwnd {})",
            took.as_millis(),
            stats.data_retransmissions,
            stats.fast_retransmits,
            stats.tail_probes,
            stats.t3_timeouts,
            stats.rto,
            stats.srtt,
            stats.cwnd,
        );
        assert!(done, "seed {seed}: A got {}, B got {}", pair.a.arrivals.len(), pair.b.arrivals.len());
        assert!(in_order(&pair.a) && in_order(&pair.b), "seed {seed}: a reliable ordered channel delivers in order");
        times.push(took);
    }
    let worst = times.iter().max().copied().unwrap_or_default();
    let shown: Vec<String> = times.iter().map(|time| time.as_millis().to_string()).collect();
    println!("FIGURE {name}: worst {} ms (ms per seed: {})", worst.as_millis(), shown.join(" "));
    times
}

fn home_link(loss: f64) -> LinkConfig {
    LinkConfig::home(Duration::from_millis(20)).with_loss(loss)
}

#[test]
fn a_thousand_reliable_messages_each_way_cross_a_clean_home_link_at_its_rate() {
    let times = transfer_times("bulk 1000 x 1 KiB each way, no loss, home link 20 ms", home_link(0.0), 1..=1);
    // 2 MB over two 20 Mbit/s directions: 0.4 s at the bottleneck's rate, plus slow start.
    assert!(times[0] < Duration::from_secs(1), "{times:?}");
}

#[test]
fn a_thousand_reliable_messages_each_way_at_10_percent_loss_all_arrive_in_order() {
    let times = transfer_times("bulk 1000 x 1 KiB each way, 10% loss, home link 20 ms", home_link(0.10), 1..=5);
    // What RFC 9260's congestion control gives at 10 % loss and a 44 ms round trip (about
    // 100 KB/s each way, as Mathis's formula predicts): a regression bound, not the goal.
    assert!(times.iter().all(|time| *time < Duration::from_secs(15)), "{times:?}");
}

/// Issue 20's goal, on this home link (the lab's short path is the test below): with
/// the loss response by delay the window is not halved by random loss (1.2-1.4 s over 5 seeds).
#[test]
fn goal_a_thousand_reliable_messages_each_way_at_10_percent_loss_take_under_3_s() {
    let times = transfer_times("bulk goal", home_link(0.10), 1..=5);
    assert!(times.iter().all(|time| *time < Duration::from_secs(3)), "{times:?}");
}

/// The goal on the lab's path (`tools/netlab --only goals`: 0.15 ms each way, no bottleneck),
/// where the RTO's 400 ms floor is over a thousand round trips: a tail-loss probe lost, or its
/// SACK, must not leave the transfer waiting for the T3-rtx timer. Before the probes were
/// repeated with backoff: up to 2.6 s over seeds 1-30 (one or two timeouts in most); after:
/// 62-252 ms. Seeds 141 and 279 lose the handshake's RTT sample (an INIT or COOKIE-ECHO goes
/// twice): with no RTT, no probe could be armed and the first losses waited for the 500 ms
/// initial RTO and its backoff (2.9 and 2.1 s); ICE's round trip now stands in (0.10 and 0.15 s).
/// Over seeds 1-400, with the repeated probes: p99 1069 ms, max 2864 ms without the ICE seed;
/// p99 362 ms, max 412 ms with it.
#[test]
fn a_thousand_reliable_messages_each_way_at_10_percent_loss_on_a_short_path_never_wait_for_the_rto() {
    let link = LinkConfig::lossy(0.10).with_latency(Duration::from_micros(150));
    let seeds = (1..=30).chain([141, 279]);
    let times = transfer_times("bulk 1000 x 1 KiB each way, 10% loss, 0.15 ms each way", link, seeds);
    assert!(times.iter().all(|time| *time < Duration::from_millis(400)), "{times:?}");
}

/// Every datagram fits an IPv6 minimum MTU link (1280 bytes): SCTP packets of 1200 bytes in
/// one DTLS record each, never split.
#[test]
fn everything_fits_a_1280_byte_mtu() {
    let link = LinkConfig::home(Duration::from_millis(20)).with_mtu(1280);
    let setup = Setup::new(3, link).with_channel(reliable("bulk"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(5)));
    pair.a.bulk = Some(Bulk { channel: channels[0], size: 10_000, total: 100, low_water: 64 * 1024, sent: 0 });
    assert!(pair.run_until(Duration::from_secs(10), |_, b| b.arrivals.len() == 100));
    assert_eq!(pair.net.stats(Side::A).dropped_mtu.datagrams + pair.net.stats(Side::B).dropped_mtu.datagrams, 0);
}
