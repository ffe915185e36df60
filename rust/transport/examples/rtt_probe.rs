//! Round trips of one 8-byte message over a reliable data channel between two connections on
//! 127.0.0.1, from one thread that busy-polls both, as tools/bench's RTT part does in the engine
//! (the connections' tasks run on the shared runtime as in a game). Prints p50 and p99.
//!
//! Run: `cargo run --release -p transport --example rtt_probe [-- ROUND_TRIPS [POLL_GAP_US]]`
//! (default 10 000 round trips, polled in a tight loop; with a gap, the thread sleeps that long
//! between polls, as a game polling once a frame does, and the tasks do the reading).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use transport::{
    ChannelOptions, ChannelState, DataChannel, PeerConnection, PeerEvent, SdpKind, TransportConfig, TransportError,
};

/// Round trips measured unless the command line says otherwise.
const DEFAULT_ROUND_TRIPS: usize = 10_000;
/// Round trips made before measuring (the path settles).
const WARM_UP: usize = 200;
/// How long one round trip may take before it counts as lost.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(1);

fn forward(from: &mut PeerConnection, to: &PeerConnection) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    let _ = from.set_local_description(kind, sdp.clone());
                }
                let _ = to.set_remote_description(kind, sdp);
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                let _ = to.add_ice_candidate(&mid, index, &candidate);
            }
            _ => {}
        }
    }
}

type Pair = (PeerConnection, PeerConnection, DataChannel, DataChannel);

fn open_pair() -> Result<Pair, TransportError> {
    let config = TransportConfig { bind_address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)), ..Default::default() };
    let mut a = PeerConnection::new(config.clone())?;
    let mut b = PeerConnection::new(config)?;
    let options = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let on_a = a.create_data_channel("reliable", options.clone())?;
    let on_b = b.create_data_channel("reliable", options)?;
    a.create_offer()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while on_a.ready_state() != ChannelState::Open || on_b.ready_state() != ChannelState::Open {
        if Instant::now() > deadline {
            return Err(TransportError::WrongState("the channel did not open in 20 s".into()));
        }
        forward(&mut a, &b);
        forward(&mut b, &a);
        std::thread::sleep(Duration::from_millis(1));
    }
    // Let the handshakes' last datagrams settle.
    let settle = Instant::now() + Duration::from_millis(100);
    while Instant::now() < settle {
        a.poll();
        b.poll();
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok((a, b, on_a, on_b))
}

/// Polls both connections until `channel` has a message, sleeping `gap` before each poll; false
/// past `limit`.
fn await_message(pair: &mut Pair, to_b: bool, gap: Duration, limit: Instant) -> bool {
    let (a, b, on_a, on_b) = pair;
    let channel = if to_b { on_b } else { on_a };
    loop {
        if !gap.is_zero() {
            std::thread::sleep(gap);
        }
        a.poll();
        b.poll();
        if channel.recv().is_some() {
            return true;
        }
        if Instant::now() > limit {
            return false;
        }
    }
}

/// One round trip's time, or `None` if a message did not come within [`ROUND_TRIP_LIMIT`].
fn round_trip(pair: &mut Pair, gap: Duration) -> Result<Option<Duration>, TransportError> {
    let ping = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let started = Instant::now();
    let limit = started + ROUND_TRIP_LIMIT;
    pair.2.send(&ping, false)?;
    if !await_message(pair, true, gap, limit) {
        return Ok(None);
    }
    pair.3.send(&ping, false)?;
    if !await_message(pair, false, gap, limit) {
        return Ok(None);
    }
    Ok(Some(started.elapsed()))
}

/// Context switches of each thread of this process so far, by thread name (Linux; empty
/// elsewhere): voluntary ones count a thread's sleeps (a wake-up each), involuntary ones the times
/// it was preempted.
fn context_switches() -> Vec<(String, u64, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Vec::new() };
    let mut threads = Vec::new();
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else { continue };
        let field =
            |name: &str| status.lines().find_map(|line| line.strip_prefix(name)).map(|value| value.trim().to_owned());
        let count = |name: &str| field(name).and_then(|value| value.parse().ok()).unwrap_or(0);
        let name = field("Name:").unwrap_or_default();
        threads.push((name, count("voluntary_ctxt_switches:"), count("nonvoluntary_ctxt_switches:")));
    }
    threads
}

/// What each thread's context switches grew by from `before` to `after`, one line.
fn switches_between(before: &[(String, u64, u64)], after: &[(String, u64, u64)]) -> String {
    let mut by_name: Vec<(String, u64, u64)> = Vec::new();
    for (index, (name, voluntary, involuntary)) in after.iter().enumerate() {
        let (earlier_voluntary, earlier_involuntary) =
            before.get(index).filter(|earlier| earlier.0 == *name).map_or((0, 0), |earlier| (earlier.1, earlier.2));
        let grown =
            (voluntary - earlier_voluntary.min(*voluntary), involuntary - earlier_involuntary.min(*involuntary));
        match by_name.iter_mut().find(|entry| entry.0 == *name) {
            Some(entry) => {
                entry.1 += grown.0;
                entry.2 += grown.1;
            }
            None => by_name.push((name.clone(), grown.0, grown.1)),
        }
    }
    by_name
        .iter()
        .map(|(name, voluntary, involuntary)| format!("{name}: {voluntary} sleeps, {involuntary} preempted"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn main() -> Result<(), TransportError> {
    let round_trips = std::env::args().nth(1).and_then(|arg| arg.parse().ok()).unwrap_or(DEFAULT_ROUND_TRIPS);
    let gap = Duration::from_micros(std::env::args().nth(2).and_then(|arg| arg.parse().ok()).unwrap_or(0));
    let mut pair = open_pair()?;
    for _ in 0..WARM_UP {
        round_trip(&mut pair, gap)?;
    }
    let mut samples = Vec::with_capacity(round_trips);
    let mut lost = 0;
    let switches_before = context_switches();
    for _ in 0..round_trips {
        match round_trip(&mut pair, gap)? {
            Some(time) => samples.push(time),
            None => lost += 1,
        }
    }
    let switches = switches_between(&switches_before, &context_switches());
    samples.sort();
    let percentile = |share: f64| {
        let index = ((samples.len() as f64 * share) as usize).min(samples.len().saturating_sub(1));
        samples.get(index).map_or(-1.0, |time| time.as_secs_f64() * 1e6)
    };
    println!(
        "rtt over {} round trips: p50 {:.1} us p90 {:.1} us p99 {:.1} us max {:.1} us, {lost} lost",
        samples.len(),
        percentile(0.5),
        percentile(0.9),
        percentile(0.99),
        percentile(1.0),
    );
    println!("context switches meanwhile: {switches}");
    Ok(())
}
