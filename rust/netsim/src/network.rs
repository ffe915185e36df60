//! Two directions of simulated link between two sides, and the datagrams in flight on them.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Instant;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

use crate::filter::Filter;
use crate::link::{Fate, Link};
use crate::{LinkConfig, LinkStats, Side, Verdict};

/// Most datagrams in flight across a [`Network`] (both directions); past it a datagram is
/// dropped and counted in [`LinkStats::dropped_overflow`]. A runaway sender fills memory no
/// further than this.
pub const MAX_IN_FLIGHT: usize = 100_000;

/// A datagram on its way, ordered by when it is due, then by when it was scheduled.
#[derive(Debug)]
struct InFlight {
    due: Instant,
    seq: u64,
    to: Side,
    datagram: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// A deterministic simulated network between [`Side::A`] and [`Side::B`] on virtual time.
///
/// Each direction has its own [`LinkConfig`], its own random generator (derived from the seed)
/// and its own [`LinkStats`]. Nothing here reads a clock: [`send`](Network::send) and
/// [`poll_delivery`](Network::poll_delivery) take the time from the caller.
#[derive(Debug)]
pub struct Network {
    /// `links[0]` carries A to B, `links[1]` B to A.
    links: [Link; 2],
    /// Datagrams on their way, earliest due first.
    in_flight: BinaryHeap<Reverse<InFlight>>,
    /// Order of scheduling, breaking ties between datagrams due at the same instant.
    next_seq: u64,
}

/// Index into [`Network::links`] of the direction leaving `from`.
fn direction(from: Side) -> usize {
    match from {
        Side::A => 0,
        Side::B => 1,
    }
}

impl Network {
    /// A network carrying A to B as `a_to_b` and B to A as `b_to_a`, its randomness all drawn
    /// from `seed`: the same seed, configuration and calls give the same deliveries.
    pub fn new(seed: u64, a_to_b: LinkConfig, b_to_a: LinkConfig) -> Network {
        let mut seeds = Xoshiro256PlusPlus::seed_from_u64(seed);
        let a_rng = Xoshiro256PlusPlus::seed_from_u64(seeds.next_u64());
        let b_rng = Xoshiro256PlusPlus::seed_from_u64(seeds.next_u64());
        Network {
            links: [Link::new(a_to_b, a_rng), Link::new(b_to_a, b_rng)],
            in_flight: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Sends `datagram` from `from` at `now`: it is dropped (counted in [`stats`](Network::stats))
    /// or scheduled for delivery to `from.other()`.
    pub fn send(&mut self, now: Instant, from: Side, datagram: Vec<u8>) {
        let room = MAX_IN_FLIGHT.saturating_sub(self.in_flight.len());
        let mut datagram = datagram;
        match self.links[direction(from)].send(now, &mut datagram, room) {
            Fate::Dropped => {}
            Fate::Arrives { due, copy } => {
                let to = from.other();
                let copy = copy.map(|copy_due| (copy_due, datagram.clone()));
                self.schedule(due, to, datagram);
                if let Some((copy_due, copy)) = copy {
                    self.schedule(copy_due, to, copy);
                }
            }
        }
    }

    /// Puts `datagram` in flight to `to`, due at `due`.
    fn schedule(&mut self, due: Instant, to: Side, datagram: Vec<u8>) {
        self.in_flight.push(Reverse(InFlight { due, seq: self.next_seq, to, datagram }));
        self.next_seq += 1;
    }

    /// The next datagram due at or before `now`, earliest first (ties in the order they were
    /// scheduled), with the side it is delivered to; `None` when nothing is due yet.
    pub fn poll_delivery(&mut self, now: Instant) -> Option<(Side, Vec<u8>)> {
        if self.in_flight.peek()?.0.due > now {
            return None;
        }
        let Reverse(arrival) = self.in_flight.pop()?;
        self.links[direction(arrival.to.other())].stats.delivered.add(arrival.datagram.len());
        Some((arrival.to, arrival.datagram))
    }

    /// When the earliest datagram in flight is due, if any.
    pub fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.peek().map(|arrival| arrival.0.due)
    }

    /// Number of datagrams in flight (both directions).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Changes how the direction leaving `from` behaves for datagrams sent from now on (an
    /// outage is [`LinkConfig::outage`]). Datagrams in flight keep their due time; the burst
    /// state (with the time of the last datagram, which timed bursts evolve from), the
    /// bottleneck's queue and the ordering of later datagrams after earlier ones carry over.
    pub fn set_link(&mut self, from: Side, config: LinkConfig) {
        self.links[direction(from)].config = config;
    }

    /// Gives the direction leaving `from` a filter: it sees every datagram sent from `from`
    /// first (with the send time), may change it, and drops it by returning [`Verdict::Drop`]
    /// (counted in [`LinkStats::filtered`]); what passes meets the link as usual. It replaces any
    /// filter set before. For targeted faults: drop the third datagram, every SACK, the
    /// handshake's last flight; rewrite a field in flight.
    ///
    /// ```
    /// use netsim::{LinkConfig, Network, Side, Verdict};
    /// use std::time::Instant;
    ///
    /// let mut net = Network::new(1, LinkConfig::default(), LinkConfig::default());
    /// let mut seen = 0;
    /// net.set_filter(Side::A, move |_now, _datagram| {
    ///     seen += 1;
    ///     if seen == 2 { Verdict::Drop } else { Verdict::Pass }
    /// });
    /// let start = Instant::now();
    /// for byte in 0..3 {
    ///     net.send(start, Side::A, vec![byte]);
    /// }
    /// assert_eq!(net.stats(Side::A).filtered.datagrams, 1);
    /// ```
    pub fn set_filter(&mut self, from: Side, filter: impl FnMut(Instant, &mut Vec<u8>) -> Verdict + 'static) {
        self.links[direction(from)].filter = Some(Filter(Box::new(filter)));
    }

    /// Removes the filter of the direction leaving `from`, if any.
    pub fn clear_filter(&mut self, from: Side) {
        self.links[direction(from)].filter = None;
    }

    /// How the direction leaving `from` behaves now.
    pub fn link(&self, from: Side) -> &LinkConfig {
        &self.links[direction(from)].config
    }

    /// What the direction leaving `from` did with the datagrams sent into it so far.
    pub fn stats(&self, from: Side) -> LinkStats {
        self.links[direction(from)].stats
    }
}
