//! Soak: many short-lived connection pairs in one process must not leak sockets, threads or
//! memory, whether they are closed, dropped without `close()`, or dropped mid-handshake; and
//! handshakes interrupted at seeded random moments end without a hang or a leak.
//!
//! `SOAK_CYCLES=N` in the environment sets the number of measured cycles (300 by default;
//! `tools/faults` runs 1000 and shows the figures with `--nocapture`).

mod common;

use std::time::{Duration, Instant};

use common::{forward, loopback_config};
use transport::{ChannelOptions, ChannelState, DataChannel, PeerConnection};

/// Cycles run before the baseline is taken (the runtime, its thread and the shared certificate
/// are made once per process).
const WARM_UP: usize = 30;
/// Cycles measured after the baseline, unless `SOAK_CYCLES` says otherwise.
const CYCLES: usize = 300;
/// Samples of the process taken along the measured cycles.
const SAMPLES: usize = 10;
/// Resident memory the measured cycles may add: the allocator keeps freed pages for reuse, so a
/// little growth is not a leak; a leaked connection (~70 KiB with its socket buffers' bookkeeping)
/// per cycle would add over 10 MiB.
const RSS_GROWTH_LIMIT_KB: u64 = 2048;
const DEADLINE: Duration = Duration::from_secs(10);

/// The tests count the process's sockets and threads, so they run one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How a cycle ends.
#[derive(Clone, Copy)]
enum End {
    /// Both connected, one message each way, then `close()` on both.
    Closed,
    /// The same, then both dropped without `close()`.
    Dropped,
    /// Both dropped while the offer/answer exchange is under way.
    DroppedMidHandshake,
}

/// A pair of connections with a negotiated channel each, the offer under way.
fn pair() -> (PeerConnection, PeerConnection, DataChannel, DataChannel) {
    let mut a = PeerConnection::new(loopback_config()).expect("connection");
    let mut b = PeerConnection::new(loopback_config()).expect("connection");
    let negotiated = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let ca = a.create_data_channel("soak", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("soak", negotiated).expect("channel");
    a.create_offer().expect("offer");
    (a, b, ca, cb)
}

fn cycle(end: End) {
    let (mut a, mut b, ca, cb) = pair();
    if let End::DroppedMidHandshake = end {
        forward(&mut a, &b);
        return;
    }
    let started = Instant::now();
    let (mut sent, mut got_a, mut got_b) = (false, false, false);
    while !(got_a && got_b) {
        assert!(started.elapsed() < DEADLINE, "a cycle did not complete");
        forward(&mut a, &b);
        forward(&mut b, &a);
        if !sent && ca.ready_state() == ChannelState::Open && cb.ready_state() == ChannelState::Open {
            ca.send(b"ping", false).expect("send");
            cb.send(b"pong", false).expect("send");
            sent = true;
        }
        got_a |= ca.recv().is_some();
        got_b |= cb.recv().is_some();
        std::thread::sleep(Duration::from_micros(500));
    }
    if let End::Closed = end {
        a.close();
        b.close();
    }
}

fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0)
}

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Waits until the open file descriptors and threads come back to `fds` and `threads` (the
/// connections' tasks end shortly after the connections do), or the deadline passes.
fn settled(fds: usize, threads: usize) -> (usize, usize) {
    let started = Instant::now();
    loop {
        let now = (count("/proc/self/fd"), count("/proc/self/task"));
        if now.0 <= fds && now.1 <= threads || started.elapsed() > DEADLINE {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
#[cfg(target_os = "linux")]
fn connections_closed_dropped_or_abandoned_mid_handshake_leak_nothing() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let ends = [End::Closed, End::Dropped, End::DroppedMidHandshake];
    for i in 0..WARM_UP {
        cycle(ends[i % ends.len()]);
    }
    let (fds, threads) = settled(usize::MAX, usize::MAX);
    let rss = resident_kb();
    let cycles = std::env::var("SOAK_CYCLES").ok().and_then(|value| value.parse().ok()).unwrap_or(CYCLES);
    let every = (cycles / SAMPLES).max(1);
    let mut samples = Vec::new();
    let started = Instant::now();
    for i in 0..cycles {
        cycle(ends[i % ends.len()]);
        if (i + 1) % every == 0 {
            samples.push(format!(
                "{}:{}/{}/{}",
                i + 1,
                resident_kb() / 1024,
                count("/proc/self/fd"),
                count("/proc/self/task")
            ));
        }
    }
    let took = started.elapsed();
    let (fds_after, threads_after) = settled(fds, threads);
    let grown = resident_kb().saturating_sub(rss);
    eprintln!(
        "soak: {cycles} cycles in {took:?}; file descriptors {fds} -> {fds_after}, threads {threads} -> \
         {threads_after}, resident memory +{grown} KiB (bound {RSS_GROWTH_LIMIT_KB})"
    );
    eprintln!("soak samples (cycle:MiB/fds/threads): {}", samples.join(" "));
    assert!(fds_after <= fds, "sockets leaked: {fds} file descriptors before, {fds_after} after");
    assert!(threads_after <= threads, "threads leaked: {threads} before, {threads_after} after");
    assert!(grown < RSS_GROWTH_LIMIT_KB, "resident memory grew by {grown} KiB over {cycles} cycles");
}

/// What an interrupted handshake trial does to its pair.
#[derive(Clone, Copy, Debug)]
enum Interruption {
    CloseOfferer,
    CloseAnswerer,
    DropOfferer,
    DropBoth,
}

/// One trial: a pair starts connecting, and after `delay` (somewhere in offer/answer, ICE, DTLS
/// or SCTP on loopback) one side is closed or dropped; the other is pumped a little longer.
fn interrupted(delay: Duration, interruption: Interruption) {
    let (mut a, mut b, _ca, _cb) = pair();
    let started = Instant::now();
    while started.elapsed() < delay {
        forward(&mut a, &b);
        forward(&mut b, &a);
        std::thread::sleep(Duration::from_micros(200));
    }
    let survivor = match interruption {
        Interruption::CloseOfferer => {
            a.close();
            Some(b)
        }
        Interruption::CloseAnswerer => {
            b.close();
            Some(a)
        }
        Interruption::DropOfferer => {
            drop(a);
            Some(b)
        }
        Interruption::DropBoth => None,
    };
    if let Some(mut survivor) = survivor {
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(30) {
            let _ = survivor.poll();
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn handshakes_interrupted_at_any_moment_end_without_a_hang_or_a_leak() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    const TRIALS: u64 = 50;
    let kinds =
        [Interruption::CloseOfferer, Interruption::CloseAnswerer, Interruption::DropOfferer, Interruption::DropBoth];
    // Warm-up, as above.
    for _ in 0..WARM_UP {
        cycle(End::Closed);
    }
    let (fds, threads) = settled(usize::MAX, usize::MAX);
    let mut seed: u64 = 0x0bad_5eed;
    let started = Instant::now();
    for _ in 0..TRIALS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // A loopback handshake takes ~10-20 ms: delays of 0-40 ms land in every step of it.
        let delay = Duration::from_micros((seed >> 33) % 40_000);
        let kind = kinds[usize::try_from((seed >> 20) % 4).unwrap_or(0)];
        interrupted(delay, kind);
    }
    let took = started.elapsed();
    let (fds_after, threads_after) = settled(fds, threads);
    eprintln!(
        "interrupted handshakes: {TRIALS} trials in {took:?}; file descriptors {fds} -> {fds_after}, threads \
         {threads} -> {threads_after}"
    );
    assert!(fds_after <= fds, "sockets leaked: {fds} file descriptors before, {fds_after} after");
    assert!(threads_after <= threads, "threads leaked: {threads} before, {threads_after} after");
}
