//! Two endpoints wired through a [`Network`] on virtual time.

use std::time::{Duration, Instant};

use crate::{Endpoint, Network, Side};

/// Most steps one [`Pair::run_until`] or [`Pair::run_for`] call takes before giving up, so a run
/// in which the endpoints keep each other busy without time moving (a zero-latency ping-pong, a
/// stuck deadline) ends. Split longer runs into several calls.
pub const MAX_STEPS: u64 = 1_000_000;

/// Most datagrams taken from one endpoint's [`Endpoint::transmit`] per step; what is left is
/// taken at the next step, whenever something else (a delivery, a deadline) makes one. An
/// endpoint that never returns `None` sends this many datagrams per step and no more.
pub const MAX_TRANSMITS_PER_STEP: usize = 10_000;

/// How long a [`Pair`] waits before calling [`Endpoint::timeout`] again when the endpoint's
/// deadline is still at or before `now` after a timeout at `now` and no datagram has reached it
/// since (a stuck deadline). Each such timeout is counted in [`Pair::stuck_deadlines`].
pub const STUCK_DEADLINE_RETRY: Duration = Duration::from_millis(1);

/// One endpoint's timer bookkeeping in a [`Pair`].
#[derive(Debug, Clone, Copy, Default)]
struct Timer {
    /// The instant of its last [`Endpoint::timeout`], cleared when a datagram reaches it.
    fired_at: Option<Instant>,
    /// Calls to [`Endpoint::timeout`] so far.
    timeouts: u64,
    /// Timeouts after which the deadline was still at or before `now`.
    stuck: u64,
}

impl Timer {
    /// When the endpoint with `deadline` needs the pair next, seen at `now`: a deadline in the
    /// past is due at `now`, unless it has already fired at `now` to no effect.
    fn due(&self, deadline: Option<Instant>, now: Instant) -> Option<Instant> {
        let deadline = deadline?;
        if deadline > now {
            Some(deadline)
        } else if self.fired_at == Some(now) {
            now.checked_add(STUCK_DEADLINE_RETRY)
        } else {
            Some(now)
        }
    }

    /// Calls `endpoint`'s timeout when its deadline has come by `now` and it has not timed out
    /// at `now` since its last datagram, counting it, and counting it as stuck when the deadline
    /// is still at or before `now` afterwards.
    fn time_out<E: Endpoint>(&mut self, endpoint: &mut E, now: Instant) {
        let due = |endpoint: &E| endpoint.deadline().is_some_and(|deadline| deadline <= now);
        if !due(endpoint) || self.fired_at == Some(now) {
            return;
        }
        endpoint.timeout(now);
        self.fired_at = Some(now);
        self.timeouts += 1;
        if due(endpoint) {
            self.stuck += 1;
        }
    }
}

/// Two sans-IO endpoints talking through a simulated [`Network`] on virtual time: `a` is
/// [`Side::A`], `b` is [`Side::B`], and `now` is the virtual clock, moved only by the pair.
///
/// Each [`step`](Pair::step) takes every datagram the endpoints want to send at `now` into the
/// network, moves `now` to the next thing due (a delivery or a deadline, whichever comes first),
/// delivers every datagram due by then, and then calls [`Endpoint::timeout`] on each endpoint
/// whose deadline has come. A deadline in the past is handled at `now`; one that stays at or
/// before `now` after its timeout (a stuck deadline) is retried [`STUCK_DEADLINE_RETRY`] later,
/// so time keeps moving and the run ends.
///
/// ```
/// use netsim::{Endpoint, LinkConfig, Network, Pair, Side};
/// use std::time::{Duration, Instant};
///
/// /// Sends one hello at its deadline; counts what it hears.
/// struct Hello { at: Option<Instant>, outbox: Option<Vec<u8>>, heard: usize }
///
/// impl Endpoint for Hello {
///     fn receive(&mut self, _now: Instant, _datagram: &[u8]) { self.heard += 1; }
///     fn timeout(&mut self, _now: Instant) { self.at = None; self.outbox = Some(b"hello".to_vec()); }
///     fn transmit(&mut self, _now: Instant) -> Option<Vec<u8>> { self.outbox.take() }
///     fn deadline(&self) -> Option<Instant> { self.at }
/// }
///
/// let start = Instant::now();
/// let a = Hello { at: Some(start + Duration::from_millis(5)), outbox: None, heard: 0 };
/// let b = Hello { at: None, outbox: None, heard: 0 };
/// let net = Network::new(1, LinkConfig::default(), LinkConfig::default());
/// let mut pair = Pair::new(a, b, net, start);
/// assert!(pair.run_until(Duration::from_secs(1), |_, b| b.heard == 1));
/// assert_eq!(pair.now - start, Duration::from_millis(15));
/// assert_eq!(pair.net.stats(Side::A).delivered.datagrams, 1);
/// ```
#[derive(Debug)]
pub struct Pair<A: Endpoint, B: Endpoint> {
    /// The endpoint at [`Side::A`].
    pub a: A,
    /// The endpoint at [`Side::B`].
    pub b: B,
    /// The network between them (change its links mid-run with [`Network::set_link`]).
    pub net: Network,
    /// The virtual time: the instant of the last step.
    pub now: Instant,
    /// `a`'s timer bookkeeping.
    a_timer: Timer,
    /// `b`'s timer bookkeeping.
    b_timer: Timer,
    /// Steps taken since the pair was made.
    steps: u64,
}

impl<A: Endpoint, B: Endpoint> Pair<A, B> {
    /// `a` and `b` joined by `net`, the virtual clock starting at `start`.
    pub fn new(a: A, b: B, net: Network, start: Instant) -> Pair<A, B> {
        Pair { a, b, net, now: start, a_timer: Timer::default(), b_timer: Timer::default(), steps: 0 }
    }

    /// One step: send what both endpoints have to send at `now`, move `now` to the next thing
    /// due, deliver and time out what is due then. Returns false, without moving `now`, when
    /// nothing is pending at all: no datagram in flight and no deadline on either side.
    pub fn step(&mut self) -> bool {
        self.drain_transmits();
        match self.next_event() {
            Some(next) => {
                self.advance_to(next);
                true
            }
            None => false,
        }
    }

    /// Steps until `cond` holds (checked before each step), at most `limit` of virtual time and
    /// [`MAX_STEPS`] steps. Returns true when `cond` held; false when the time limit passed
    /// first (`now` is then `limit` after the start) or the steps ran out (`now` stays where the
    /// last step left it).
    pub fn run_until(&mut self, limit: Duration, mut cond: impl FnMut(&mut A, &mut B) -> bool) -> bool {
        let end = self.now.checked_add(limit);
        for _ in 0..MAX_STEPS {
            if cond(&mut self.a, &mut self.b) {
                return true;
            }
            self.drain_transmits();
            match self.next_event() {
                Some(next) if end.is_none_or(|end| next <= end) => self.advance_to(next),
                _ => {
                    if let Some(end) = end {
                        self.now = self.now.max(end);
                    }
                    return cond(&mut self.a, &mut self.b);
                }
            }
        }
        cond(&mut self.a, &mut self.b)
    }

    /// Steps through `d` of virtual time (at most [`MAX_STEPS`] steps): afterwards `now` is `d`
    /// later, unless the steps ran out first.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(d, |_, _| false);
    }

    /// Timeouts so far after which the endpoint's deadline was still at or before `now` (each
    /// retried [`STUCK_DEADLINE_RETRY`] later). A well-behaved endpoint keeps this at 0.
    pub fn stuck_deadlines(&self) -> u64 {
        self.a_timer.stuck + self.b_timer.stuck
    }

    /// Calls to [`Endpoint::timeout`] on the endpoint at `side` so far: its wake-ups (count them
    /// over an idle minute to see how often a connected core wakes for nothing).
    pub fn timeouts(&self, side: Side) -> u64 {
        match side {
            Side::A => self.a_timer.timeouts,
            Side::B => self.b_timer.timeouts,
        }
    }

    /// Steps taken since the pair was made.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Takes what each endpoint has to send at `now` into the network, at most
    /// [`MAX_TRANSMITS_PER_STEP`] datagrams each.
    fn drain_transmits(&mut self) {
        drain(&mut self.a, &mut self.net, Side::A, self.now);
        drain(&mut self.b, &mut self.net, Side::B, self.now);
    }

    /// The earliest of the endpoints' deadlines (see [`Timer::due`]) and the next delivery.
    fn next_event(&self) -> Option<Instant> {
        let a = self.a_timer.due(self.a.deadline(), self.now);
        let b = self.b_timer.due(self.b.deadline(), self.now);
        [a, b, self.net.next_delivery()].into_iter().flatten().min()
    }

    /// Moves `now` to `next` (never backwards), delivers every datagram due, then times out each
    /// endpoint whose deadline has come and that has not already timed out at this instant
    /// since its last datagram.
    fn advance_to(&mut self, next: Instant) {
        self.steps += 1;
        self.now = self.now.max(next);
        let now = self.now;
        while let Some((to, datagram)) = self.net.poll_delivery(now) {
            match to {
                Side::A => {
                    self.a.receive(now, &datagram);
                    self.a_timer.fired_at = None;
                }
                Side::B => {
                    self.b.receive(now, &datagram);
                    self.b_timer.fired_at = None;
                }
            }
        }
        self.a_timer.time_out(&mut self.a, now);
        self.b_timer.time_out(&mut self.b, now);
    }
}

/// Sends what `endpoint` (at `side`) has to send at `now` into `net`, at most
/// [`MAX_TRANSMITS_PER_STEP`] datagrams.
fn drain<E: Endpoint>(endpoint: &mut E, net: &mut Network, side: Side, now: Instant) {
    for _ in 0..MAX_TRANSMITS_PER_STEP {
        let Some(datagram) = endpoint.transmit(now) else {
            return;
        };
        net.send(now, side, datagram);
    }
}
