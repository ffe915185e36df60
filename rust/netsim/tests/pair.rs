//! Two endpoints driven through the simulated network on virtual time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use netsim::{Endpoint, LinkConfig, Network, Pair, Side, MAX_TRANSMITS_PER_STEP, STUCK_DEADLINE_RETRY};

const MS: Duration = Duration::from_millis(1);

/// Sends ping `n` every `interval` (resending it after `retry` until its pong comes), counting
/// pongs and their round-trip times.
struct Pinger {
    count: u32,
    interval: Duration,
    retry: Duration,
    next_ping: u32,
    /// When the ping awaiting its pong was first sent, and when to send it (again).
    awaiting: Option<(Instant, Instant)>,
    next_start: Instant,
    outbox: VecDeque<Vec<u8>>,
    rtts: Vec<Duration>,
    sends: u32,
}

impl Pinger {
    fn new(start: Instant, count: u32, interval: Duration, retry: Duration) -> Pinger {
        Pinger {
            count,
            interval,
            retry,
            next_ping: 0,
            awaiting: None,
            next_start: start,
            outbox: VecDeque::new(),
            rtts: Vec::new(),
            sends: 0,
        }
    }

    fn done(&self) -> bool {
        self.rtts.len() as u32 == self.count
    }
}

impl Endpoint for Pinger {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let Some((first_sent, _)) = self.awaiting else { return };
        if datagram == format!("pong {}", self.next_ping).as_bytes() {
            self.rtts.push(now - first_sent);
            self.awaiting = None;
            self.next_ping += 1;
        }
    }

    fn timeout(&mut self, now: Instant) {
        match self.awaiting {
            Some((first_sent, resend)) if resend <= now => {
                self.outbox.push_back(format!("ping {}", self.next_ping).into_bytes());
                self.sends += 1;
                self.awaiting = Some((first_sent, now + self.retry));
            }
            None if !self.done() && self.next_start <= now => {
                self.outbox.push_back(format!("ping {}", self.next_ping).into_bytes());
                self.sends += 1;
                self.awaiting = Some((now, now + self.retry));
                self.next_start = now + self.interval;
            }
            _ => {}
        }
    }

    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    fn deadline(&self) -> Option<Instant> {
        match self.awaiting {
            Some((_, resend)) => Some(resend),
            None if !self.done() => Some(self.next_start),
            None => None,
        }
    }
}

/// Answers every ping with its pong; no timers.
#[derive(Default)]
struct Ponger {
    outbox: VecDeque<Vec<u8>>,
    pings: u32,
}

impl Endpoint for Ponger {
    fn receive(&mut self, _now: Instant, datagram: &[u8]) {
        if let Some(n) = datagram.strip_prefix(b"ping ") {
            self.pings += 1;
            self.outbox.push_back([b"pong ", n].concat());
        }
    }

    fn timeout(&mut self, _now: Instant) {}

    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn ping_pong_on_a_clean_link_takes_one_round_trip() {
    let start = Instant::now();
    let net = Network::new(1, LinkConfig::default(), LinkConfig::default().with_latency(15 * MS));
    let mut pair = Pair::new(Pinger::new(start, 10, 100 * MS, Duration::from_secs(1)), Ponger::default(), net, start);
    assert!(pair.run_until(Duration::from_secs(5), |a, _| a.done()));
    assert!(pair.a.rtts.iter().all(|rtt| *rtt == 25 * MS), "{:?}", pair.a.rtts);
    assert_eq!(pair.now, start + 925 * MS, "the tenth ping left at 900 ms");
    assert_eq!(pair.b.pings, 10);
    assert_eq!(pair.stuck_deadlines(), 0);
    // One wake-up per ping (the resend timer never came due).
    assert_eq!(pair.timeouts(Side::A), 10);
    // Nothing pending any more: a step does nothing.
    assert!(!pair.step());
    assert_eq!(pair.now, start + 925 * MS);
}

#[test]
fn ping_pong_recovers_loss_and_replays_from_its_seed() {
    let run = |seed: u64| {
        let start = Instant::now();
        let link = LinkConfig::lossy(0.3).with_jitter(10 * MS);
        let net = Network::new(seed, link, link);
        let mut pair = Pair::new(Pinger::new(start, 50, 20 * MS, 60 * MS), Ponger::default(), net, start);
        assert!(pair.run_until(Duration::from_secs(60), |a, _| a.done()));
        (pair.a.rtts.clone(), pair.a.sends, pair.now - start, pair.steps(), pair.net.stats(Side::A))
    };
    let first = run(7);
    let rtt_max = first.0.iter().max();
    println!(
        "30% loss both ways: 50 pings in {} sends, {:?}, {} steps, max rtt {rtt_max:?}",
        first.1, first.2, first.3
    );
    assert!(first.1 > 60, "at 30% loss each way about half the pings need resending");
    assert_eq!(first, run(7));
    assert_ne!(first.0, run(8).0);
}

#[test]
fn run_until_stops_at_the_time_limit() {
    let start = Instant::now();
    // An outage: no pong ever comes back.
    let net = Network::new(2, LinkConfig::outage(), LinkConfig::default());
    let mut pair = Pair::new(Pinger::new(start, 1, 10 * MS, 100 * MS), Ponger::default(), net, start);
    assert!(!pair.run_until(Duration::from_millis(1050), |a, _| a.done()));
    assert_eq!(pair.now, start + 1050 * MS);
    assert_eq!(pair.a.sends, 11, "sent at 0, 100, ..., 1000 ms");
    pair.net.set_link(Side::A, LinkConfig::default());
    assert!(pair.run_until(Duration::from_secs(1), |a, _| a.done()));
    assert_eq!(pair.now, start + 1120 * MS, "resent at 1100 ms, answered 20 ms later");
}

#[test]
fn run_for_moves_time_even_when_nothing_happens() {
    let start = Instant::now();
    let net = Network::new(3, LinkConfig::default(), LinkConfig::default());
    let mut pair = Pair::new(Ponger::default(), Ponger::default(), net, start);
    assert!(!pair.step());
    pair.run_for(Duration::from_secs(3));
    assert_eq!(pair.now, start + Duration::from_secs(3));
}

/// An endpoint whose deadline stays in the past whatever it is told.
struct Stuck {
    at: Instant,
    timeouts: u32,
}

impl Endpoint for Stuck {
    fn receive(&mut self, _now: Instant, _datagram: &[u8]) {}
    fn timeout(&mut self, _now: Instant) {
        self.timeouts += 1;
    }
    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        None
    }
    fn deadline(&self) -> Option<Instant> {
        Some(self.at)
    }
}

#[test]
fn a_stuck_deadline_is_retried_later_instead_of_spinning() {
    let start = Instant::now();
    let net = Network::new(4, LinkConfig::default(), LinkConfig::default());
    let stuck = Stuck { at: start - Duration::from_secs(1), timeouts: 0 };
    let mut pair = Pair::new(stuck, Ponger::default(), net, start);
    pair.run_for(100 * MS);
    assert_eq!(pair.now, start + 100 * MS);
    let expected = (100 * MS).as_nanos() / STUCK_DEADLINE_RETRY.as_nanos() + 1;
    assert_eq!(u128::from(pair.a.timeouts), expected);
    assert_eq!(u128::from(pair.stuck_deadlines()), expected);
    assert_eq!(u128::from(pair.timeouts(Side::A)), expected);
    assert_eq!(pair.timeouts(Side::B), 0);
}

/// Sends a datagram at every call, never saying it is done.
struct Flooder;

impl Endpoint for Flooder {
    fn receive(&mut self, _now: Instant, _datagram: &[u8]) {}
    fn timeout(&mut self, _now: Instant) {}
    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        Some(vec![0; 10])
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
}

#[test]
fn an_endpoint_that_never_stops_sending_is_bounded_per_step() {
    let start = Instant::now();
    let net = Network::new(5, LinkConfig::default(), LinkConfig::default());
    let mut pair = Pair::new(Flooder, Ponger::default(), net, start);
    pair.run_for(35 * MS);
    let sent = pair.net.stats(Side::A).sent.datagrams;
    println!("flooder over 35 ms: {sent} datagrams in {} steps", pair.steps());
    assert_eq!(pair.now, start + 35 * MS);
    // Sent at 0, 10, 20 and 30 ms (each delivery makes a step), then at the limit.
    assert_eq!(sent, 4 * MAX_TRANSMITS_PER_STEP as u64);
}

#[test]
fn a_past_deadline_is_handled_at_now() {
    let start = Instant::now();
    let net = Network::new(6, LinkConfig::default(), LinkConfig::default());
    // First ping due 5 s before the pair starts: sent at once.
    let pinger = Pinger::new(start - Duration::from_secs(5), 1, 10 * MS, 100 * MS);
    let mut pair = Pair::new(pinger, Ponger::default(), net, start);
    assert!(pair.step());
    assert_eq!(pair.now, start);
    assert!(pair.run_until(Duration::from_secs(1), |a, _| a.done()));
    assert_eq!(pair.now, start + 20 * MS);
    assert_eq!(pair.stuck_deadlines(), 0);
}

/// Records what the pair called, and when; its deadline is fixed.
struct Recorder {
    deadline: Option<Instant>,
    calls: Vec<(&'static str, Instant)>,
    outbox: Option<Vec<u8>>,
}

impl Endpoint for Recorder {
    fn receive(&mut self, now: Instant, _datagram: &[u8]) {
        self.calls.push(("receive", now));
    }
    fn timeout(&mut self, now: Instant) {
        self.calls.push(("timeout", now));
        self.deadline = None;
    }
    fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> {
        self.outbox.take()
    }
    fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

#[test]
fn a_delivery_due_with_a_deadline_comes_first() {
    let start = Instant::now();
    let net = Network::new(7, LinkConfig::default(), LinkConfig::default());
    let a = Recorder { deadline: None, calls: Vec::new(), outbox: Some(b"hi".to_vec()) };
    let b = Recorder { deadline: Some(start + 10 * MS), calls: Vec::new(), outbox: None };
    let mut pair = Pair::new(a, b, net, start);
    assert!(pair.step());
    assert_eq!(pair.b.calls, [("receive", start + 10 * MS), ("timeout", start + 10 * MS)]);
    assert!(pair.a.calls.is_empty());
    assert!(!pair.step());
}
