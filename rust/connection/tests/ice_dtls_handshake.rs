//! The secure path's handshake (ICE, then DTLS) on a clean and a lossy link, on virtual time.

mod ice_dtls_support;

use std::time::Duration;

use ice_dtls_support::{Setup, TestPair};

#[test]
fn handshake_on_a_clean_link() {
    let mut pair = TestPair::new(Setup::default());
    let connected = pair.connect(Duration::from_secs(5));
    println!(
        "clean link, 20 ms one way: connected after {connected:?} (a at {:?}, b at {:?}); datagrams a {} b {}",
        pair.sim.a.connected_at(),
        pair.sim.b.connected_at(),
        pair.sim.a.sent,
        pair.sim.b.sent
    );
    let connected = connected.expect("both sides connect");
    assert!(connected < Duration::from_millis(500), "{connected:?}");
}

/// Connects over 20 seeds at `loss` each way (20 ms one way); returns the sorted setup times
/// (`None`: not connected within 20 s).
fn setup_times(loss: f64) -> Vec<Option<Duration>> {
    setup_times_on(|seed| Setup::lossy(seed, loss))
}

/// Connects over 20 seeds with `setup(seed)`; the sorted setup times.
fn setup_times_on(setup: impl Fn(u64) -> Setup) -> Vec<Option<Duration>> {
    let mut times: Vec<Option<Duration>> = (0..20)
        .map(|seed| {
            let mut pair = TestPair::new(setup(seed));
            let connected = pair.connect(Duration::from_secs(20));
            if connected.is_none() {
                println!("seed {seed}: a {:?}\n  b {:?}", pair.sim.a.events, pair.sim.b.events);
            }
            connected
        })
        .collect();
    times.sort_by_key(|time| time.unwrap_or(Duration::MAX));
    times
}

fn report(loss: f64, times: &[Option<Duration>]) -> (Duration, usize) {
    let median = times[times.len() / 2].unwrap_or(Duration::MAX);
    let worst = times.last().copied().flatten();
    let under_2s = times.iter().filter(|time| time.is_some_and(|time| time < Duration::from_secs(2))).count();
    let all: Vec<String> =
        times.iter().map(|time| time.map_or("never".to_owned(), |time| format!("{}", time.as_millis()))).collect();
    println!(
        "{:.0}% loss each way, 20 seeds: median {median:?}, worst {worst:?}, {under_2s}/20 under 2 s; all (ms): {}",
        loss * 100.0,
        all.join(" ")
    );
    (median, under_2s)
}

#[test]
fn handshake_at_10_percent_loss() {
    let times = setup_times(0.10);
    let (median, under_2s) = report(0.10, &times);
    // The goal: median < 1 s, 18 of 20 under 2 s.
    assert!(median < Duration::from_secs(1), "median {median:?}");
    assert!(under_2s >= 18, "{under_2s} of 20 under 2 s");
}

#[test]
fn handshake_at_30_percent_loss() {
    let times = setup_times(0.30);
    let (median, _) = report(0.30, &times);
    // No goal in the issue at 30 %: most tries connect, the median within two seconds. (A try
    // can fail: past the first retries DTLS waits 4 s, then 8 s, and the handshake deadline is
    // the failed timeout, 15 s.)
    let connected = times.iter().filter(|time| time.is_some()).count();
    assert!(connected >= 18, "{connected} of 20 connected");
    assert!(median < Duration::from_secs(2), "median {median:?}");
}

#[test]
fn a_client_hello_before_the_pair_is_selected_is_kept() {
    // B (controlled, DTLS client) selects the pair when A's nominating check arrives and sends
    // its ClientHello at once, beside its answer. Dropping that answer (B's second success
    // response) leaves A without a selected pair when the ClientHello arrives: A keeps it and
    // answers it once its repeated nomination succeeds, 50 ms later. Lost, it would cost B a
    // retransmission timeout (250 ms).
    let mut pair = TestPair::new(Setup::default());
    let mut successes = 0;
    pair.sim.net.set_filter(netsim::Side::B, move |_, datagram| {
        if datagram.starts_with(&[0x01, 0x01]) {
            successes += 1;
            if successes == 2 {
                return netsim::Verdict::Drop;
            }
        }
        netsim::Verdict::Pass
    });
    let connected = pair.connect(Duration::from_secs(5));
    println!("B's answer to the nomination lost: connected after {connected:?}");
    let connected = connected.expect("connects");
    assert_eq!(pair.sim.net.stats(netsim::Side::B).filtered.datagrams, 1);
    assert!(connected < Duration::from_millis(250), "{connected:?}: the ClientHello was lost");
}

#[test]
fn handshake_at_10_percent_bursty_loss() {
    // The same average loss in bursts of 40 ms on average: whole flights go at once.
    let times = setup_times_on(|seed| {
        let default = Setup::default();
        Setup {
            seed,
            link: default.link.with_burst(netsim::BurstLoss::timed(0.10, Duration::from_millis(40))),
            ..default
        }
    });
    let (median, under_2s) = report(0.10, &times);
    println!("(the line above: bursts of 40 ms on average)");
    assert!(median < Duration::from_secs(1), "median {median:?}");
    assert!(under_2s >= 16, "{under_2s} of 20 under 2 s");
}
