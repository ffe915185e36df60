//! A deterministic simulated network on virtual time, for testing sans-IO protocol cores.
//!
//! [`Network`] joins two sides, [`Side::A`] and [`Side::B`], by two independent directions, each
//! described by a [`LinkConfig`]. A datagram sent into a direction meets, in order:
//!
//! 1. the **MTU**: a datagram longer than [`LinkConfig::mtu`] is dropped;
//! 2. the **bottleneck** ([`LinkConfig::bandwidth`]): datagrams are serialized one after the
//!    other at the link's rate, waiting in a drop-tail queue of [`LinkConfig::queue_bytes`], so
//!    every extra byte (redundancy, retransmissions) delays what follows and can overflow the
//!    queue;
//! 3. **loss**: independent ([`LinkConfig::loss`]) and in bursts ([`BurstLoss`]): bad periods on
//!    virtual time ([`BurstLoss::timed`], as on a real path: a sparse sender loses the same share
//!    as a dense one and waits a burst out) or a Gilbert-Elliott chain stepped once per datagram
//!    sent ([`BurstLoss::bursts`], n datagrams in a row however far apart). Loss happens after the
//!    bottleneck: a lost datagram used its share of the rate;
//! 4. **corruption** ([`LinkConfig::corrupt`]): one bit flipped;
//! 5. **duplication** ([`LinkConfig::duplicate`]): a copy arrives after the original;
//! 6. the path's **delay**: [`LinkConfig::latency`] plus a uniform jitter, never reordering
//!    (a datagram waits for the one sent before it) unless [`LinkConfig::reorder`] picks it,
//!    holding it back by [`LinkConfig::reorder_delay`]. Datagrams sent closer together than the
//!    jitter therefore arrive nearer the top of the range, and in clumps.
//!
//! Before all that, a test's own filter ([`Network::set_filter`]) may see, change or drop each
//! datagram. [`LinkStats`] counts what each direction did. [`Network::set_link`] changes a direction
//! mid-run (an outage is [`LinkConfig::outage`]).
//!
//! **Time** is the caller's: every call takes `now: Instant`, nothing reads a clock. Tests take
//! `Instant::now()` once and add offsets; a [`Pair`] keeps its own virtual `now`.
//!
//! **Determinism**: all randomness comes from the seed given to [`Network::new`]. Each direction
//! has its own generator (rand's portable `Xoshiro256PlusPlus`, stable across rand releases),
//! and every datagram takes the same fixed set of draws whatever the configuration, so the n-th
//! datagram sent in a direction meets the same luck (lost or not, same jitter) whatever the other
//! direction does and whatever else in the configuration changed. The same seed, configuration
//! and calls give the same deliveries. Timed bursts ([`BurstLoss::Timed`]) keep this: the burst
//! state at a datagram is drawn with its one fixed state draw from the time since the previous
//! datagram of its direction, so it depends on that direction's send times, never on the
//! other's.
//!
//! [`Pair`] wires two [`Endpoint`]s (sans-IO cores: datagrams and the time in, datagrams and a
//! deadline out) through a [`Network`] and runs them on virtual time: [`Pair::step`],
//! [`Pair::run_until`] a condition, [`Pair::run_for`] a duration. Every loop is bounded
//! ([`MAX_STEPS`], [`MAX_TRANSMITS_PER_STEP`], [`MAX_IN_FLIGHT`]), and a deadline an endpoint
//! leaves in the past is retried [`STUCK_DEADLINE_RETRY`] later instead of spinning.
//!
//! In tests of a [`Pair`]:
//! - an **outage**: `pair.net.set_link(Side::A, LinkConfig::outage())`, run, then set the old
//!   link back;
//! - a **targeted fault** (drop the n-th datagram, every SACK, rewrite a field in flight):
//!   [`Network::set_filter`] on `pair.net`;
//! - a **hostile peer**: put forged bytes on the wire with
//!   `pair.net.send(pair.now, Side::B, forged)` (they reach `a` like any datagram from `b`);
//! - **what it cost**: [`Network::stats`] per direction (datagrams and payload bytes sent,
//!   delivered, lost, dropped, duplicated), [`Pair::timeouts`] (wake-ups per side), `pair.now`
//!   minus the start (virtual time taken);
//! - **many seeds**: build one [`Network`] per seed; a seed that passes always passes.
//!
//! ```
//! use netsim::{LinkConfig, Network, Side};
//! use std::time::{Duration, Instant};
//!
//! let start = Instant::now();
//! let mut net = Network::new(7, LinkConfig::default(), LinkConfig::lossy(0.5));
//! net.send(start, Side::A, b"hello".to_vec());
//! assert_eq!(net.next_delivery(), Some(start + Duration::from_millis(10)));
//! assert_eq!(net.poll_delivery(start), None);
//! assert_eq!(net.poll_delivery(start + Duration::from_millis(10)), Some((Side::B, b"hello".to_vec())));
//! assert_eq!(net.stats(Side::A).delivered.datagrams, 1);
//! ```

#![forbid(unsafe_code)]

mod bottleneck;
mod burst_loss;
mod endpoint;
mod filter;
mod link;
mod link_config;
mod network;
mod pair;
mod side;
mod stats;

pub use burst_loss::BurstLoss;
pub use endpoint::Endpoint;
pub use filter::Verdict;
pub use link_config::LinkConfig;
pub use network::{Network, MAX_IN_FLIGHT};
pub use pair::{Pair, MAX_STEPS, MAX_TRANSMITS_PER_STEP, STUCK_DEADLINE_RETRY};
pub use side::Side;
pub use stats::{Counter, LinkStats};
