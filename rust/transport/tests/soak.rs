//! Soak: many short-lived connection pairs in one process must not leak sockets, threads or
//! memory, whether they are closed, dropped without `close()`, or dropped mid-handshake.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use transport::{ChannelOptions, ChannelState, PeerConnection, PeerEvent, TransportConfig};

/// Cycles run before the baseline is taken (the runtime, its thread and the shared certificate
/// are made once per process).
const WARM_UP: usize = 30;
/// Cycles measured after the baseline.
const CYCLES: usize = 300;
/// Resident memory the measured cycles may add: the allocator keeps freed pages for reuse, so a
/// little growth is not a leak; a leaked connection (~70 KiB with its socket buffers' bookkeeping)
/// per cycle would add over 10 MiB.
const RSS_GROWTH_LIMIT_KB: u64 = 2048;
const DEADLINE: Duration = Duration::from_secs(10);

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

fn config() -> TransportConfig {
    TransportConfig { bind_address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), ..Default::default() }
}

fn forward(from: &mut PeerConnection, to: &PeerConnection, offerer: bool) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if offerer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                to.set_remote_description(kind, sdp).expect("remote description");
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                to.add_ice_candidate(&mid, index, &candidate).expect("candidate")
            }
            PeerEvent::Error(error) => panic!("transport error: {error}"),
            _ => {}
        }
    }
}

fn cycle(end: End) {
    let mut a = PeerConnection::new(config()).expect("connection");
    let mut b = PeerConnection::new(config()).expect("connection");
    let negotiated = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let ca = a.create_data_channel("soak", negotiated.clone()).expect("channel");
    let cb = b.create_data_channel("soak", negotiated).expect("channel");
    a.create_offer().expect("offer");
    if let End::DroppedMidHandshake = end {
        forward(&mut a, &b, true);
        return;
    }
    let started = Instant::now();
    let (mut sent, mut got_a, mut got_b) = (false, false, false);
    while !(got_a && got_b) {
        assert!(started.elapsed() < DEADLINE, "a cycle did not complete");
        forward(&mut a, &b, true);
        forward(&mut b, &a, false);
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
    let ends = [End::Closed, End::Dropped, End::DroppedMidHandshake];
    for i in 0..WARM_UP {
        cycle(ends[i % ends.len()]);
    }
    let (fds, threads) = settled(usize::MAX, usize::MAX);
    let rss = resident_kb();
    let started = Instant::now();
    for i in 0..CYCLES {
        cycle(ends[i % ends.len()]);
    }
    let took = started.elapsed();
    let (fds_after, threads_after) = settled(fds, threads);
    let grown = resident_kb().saturating_sub(rss);
    eprintln!(
        "soak: {CYCLES} cycles in {took:?}; file descriptors {fds} -> {fds_after}, threads {threads} -> \
         {threads_after}, resident memory +{grown} KiB"
    );
    assert!(fds_after <= fds, "sockets leaked: {fds} file descriptors before, {fds_after} after");
    assert!(threads_after <= threads, "threads leaked: {threads} before, {threads_after} after");
    assert!(grown < RSS_GROWTH_LIMIT_KB, "resident memory grew by {grown} KiB over {CYCLES} cycles");
}
