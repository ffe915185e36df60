//! One direction of the network: what happens to a datagram between its send and its arrival.

use std::time::Instant;

use rand::rngs::Xoshiro256PlusPlus;
use rand::RngExt;

use crate::bottleneck::Bottleneck;
use crate::filter::{Filter, Verdict};
use crate::{LinkConfig, LinkStats};

/// What became of a datagram sent into a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Dropped: it never arrives (the reason is counted in the link's stats).
    Dropped,
    /// Arrives at `due`, and a copy at `copy` when the link duplicated it.
    Arrives {
        /// When the original is delivered.
        due: Instant,
        /// When the copy is delivered, if there is one.
        copy: Option<Instant>,
    },
}

/// The random draws one datagram uses, all taken for every datagram whatever the configuration,
/// so the n-th datagram of a direction meets the same luck whatever else changed in the run.
struct Draws {
    burst_state: f64,
    loss: f64,
    burst_loss: f64,
    jitter: f64,
    reorder: f64,
    duplicate: f64,
    copy_jitter: f64,
    corrupt: f64,
    corrupt_place: f64,
}

impl Draws {
    fn take(rng: &mut Xoshiro256PlusPlus) -> Draws {
        Draws {
            burst_state: rng.random(),
            loss: rng.random(),
            burst_loss: rng.random(),
            jitter: rng.random(),
            reorder: rng.random(),
            duplicate: rng.random(),
            copy_jitter: rng.random(),
            corrupt: rng.random(),
            corrupt_place: rng.random(),
        }
    }
}

/// The state of one direction: its configuration, its randomness and what it carries.
#[derive(Debug)]
pub(crate) struct Link {
    /// How the direction behaves now.
    pub(crate) config: LinkConfig,
    /// What it did so far.
    pub(crate) stats: LinkStats,
    /// This direction's own generator, so one direction's traffic never shifts the other's luck.
    rng: Xoshiro256PlusPlus,
    /// Whether the burst loss is in its bad state.
    bad: bool,
    /// When the last datagram was sent into this direction (timed bursts evolve from it).
    last_sent: Option<Instant>,
    /// The bandwidth limit's queue.
    bottleneck: Bottleneck,
    /// When the last datagram not picked for reordering is due: later ones never arrive before.
    last_due: Option<Instant>,
    /// The test's filter, seeing each datagram first.
    pub(crate) filter: Option<Filter>,
}

impl Link {
    /// A direction behaving as `config`, drawing from `rng`.
    pub(crate) fn new(config: LinkConfig, rng: Xoshiro256PlusPlus) -> Link {
        Link {
            config,
            stats: LinkStats::default(),
            rng,
            bad: false,
            last_sent: None,
            bottleneck: Bottleneck::default(),
            last_due: None,
            filter: None,
        }
    }

    /// Sends `datagram` at `now` with room for `room` more datagrams in flight, counts what
    /// became of it and says when it (and a copy) arrive. The filter may change it, and
    /// corruption flips a bit of it.
    pub(crate) fn send(&mut self, now: Instant, datagram: &mut Vec<u8>, room: usize) -> Fate {
        let draws = Draws::take(&mut self.rng);
        let config = self.config;
        let sent_len = datagram.len();
        self.stats.sent.add(sent_len);
        let elapsed = self.last_sent.map(|last| now.saturating_duration_since(last));
        self.last_sent = Some(self.last_sent.map_or(now, |last| last.max(now)));
        if let Some(burst) = config.burst {
            if draws.burst_state < burst.p_switch(self.bad, elapsed) {
                self.bad = !self.bad;
            }
        }
        if let Some(Filter(filter)) = &mut self.filter {
            if filter(now, datagram) == Verdict::Drop {
                self.stats.filtered.add(sent_len);
                return Fate::Dropped;
            }
        }
        let len = datagram.len();
        if len > config.mtu {
            self.stats.dropped_mtu.add(len);
            return Fate::Dropped;
        }
        let departure = match config.bandwidth {
            None => now,
            Some(rate) => match self.bottleneck.admit(now, len, rate, config.queue_bytes) {
                Some((leaves, waited)) => {
                    self.stats.max_queue_delay = self.stats.max_queue_delay.max(waited);
                    leaves
                }
                None => {
                    self.stats.dropped_queue.add(len);
                    return Fate::Dropped;
                }
            },
        };
        let burst_lost = self.bad && config.burst.is_some_and(|burst| draws.burst_loss < burst.loss_in_bad());
        if draws.loss < config.loss || burst_lost {
            self.stats.lost.add(len);
            return Fate::Dropped;
        }
        if room == 0 {
            self.stats.dropped_overflow.add(len);
            return Fate::Dropped;
        }
        let reordered = draws.reorder < config.reorder;
        let Some(due) = self.due(departure, draws.jitter, reordered) else {
            // Past the end of `Instant`: it never arrives.
            self.stats.lost.add(len);
            return Fate::Dropped;
        };
        let copy = if room >= 2 && draws.duplicate < config.duplicate {
            due.checked_add(config.jitter.mul_f64(draws.copy_jitter))
        } else {
            None
        };
        if let Some(copy_due) = copy {
            self.stats.duplicated.add(len);
            if !reordered {
                self.last_due = Some(copy_due);
            }
        }
        if draws.corrupt < config.corrupt {
            let bits = len.saturating_mul(8);
            let bit = ((bits as f64 * draws.corrupt_place) as usize).min(bits.saturating_sub(1));
            if let Some(byte) = datagram.get_mut(bit / 8) {
                *byte ^= 0x80 >> (bit % 8);
                self.stats.corrupted.add(len);
            }
        }
        Fate::Arrives { due, copy }
    }

    /// When a datagram leaving the bottleneck at `departure` arrives: latency and jitter, never
    /// before the previous datagram unless picked for reordering (then held back more).
    fn due(&mut self, departure: Instant, jitter_draw: f64, reordered: bool) -> Option<Instant> {
        let config = &self.config;
        let delay = config.latency.checked_add(config.jitter.mul_f64(jitter_draw))?;
        let base = departure.checked_add(delay)?;
        let in_order = self.last_due.map_or(base, |last| last.max(base));
        if reordered {
            return in_order.checked_add(config.reorder_delay);
        }
        self.last_due = Some(in_order);
        Some(in_order)
    }
}
