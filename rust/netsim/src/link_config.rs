//! How one direction of a simulated link behaves.

use std::time::Duration;

use crate::BurstLoss;

/// One direction of a simulated link, in the order a datagram meets it: the MTU, the bottleneck
/// queue (bandwidth), loss (independent, then burst), corruption, duplication, then the path's
/// delay (latency, jitter, reordering).
///
/// Probabilities are read as `draw < p` with `draw` uniform in `[0, 1)`: 0.0 (or NaN) never
/// happens, 1.0 or more always happens.
///
/// [`LinkConfig::default`] is a clean link: 10 ms one way, MTU 1500, no jitter, loss, reordering,
/// duplication, corruption or bandwidth limit. Build others with the constructors and `with_` methods:
///
/// ```
/// use netsim::{BurstLoss, LinkConfig};
/// use std::time::Duration;
///
/// let link = LinkConfig::home(Duration::from_millis(20))
///     .with_loss(0.02)
///     .with_burst(BurstLoss::timed(0.03, Duration::from_millis(40)));
/// assert_eq!(link.latency, Duration::from_millis(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkConfig {
    /// Fixed one-way delay of the path (after the bottleneck queue).
    pub latency: Duration,
    /// Uniform extra delay in `[0, jitter)` per datagram. Jitter never reorders: a datagram is
    /// held until the one sent before it in the same direction has been delivered, unless
    /// `reorder` picks it.
    pub jitter: Duration,
    /// Probability that a datagram is lost, independently of the others.
    pub loss: f64,
    /// Burst loss on top of `loss` (a datagram is lost when either says so): on virtual time
    /// ([`BurstLoss::timed`]) or counted in datagrams ([`BurstLoss::bursts`]).
    pub burst: Option<BurstLoss>,
    /// Probability that a datagram is held back an extra `reorder_delay`, letting later
    /// datagrams overtake it.
    pub reorder: f64,
    /// How long a datagram picked by `reorder` is held back.
    pub reorder_delay: Duration,
    /// Probability that a delivered datagram is delivered twice (the copy comes after the
    /// original, up to one more `jitter` later).
    pub duplicate: f64,
    /// Probability that a delivered datagram has one bit flipped (at a uniformly drawn place; a
    /// duplicated datagram's copy is flipped alike), for testing that garbage is refused.
    pub corrupt: f64,
    /// Largest datagram payload, in bytes, the link carries; longer ones are dropped and counted
    /// in [`LinkStats::dropped_mtu`](crate::LinkStats::dropped_mtu).
    pub mtu: usize,
    /// Bottleneck rate in payload bytes per second; `None` is unlimited, `Some(0)` carries
    /// nothing. Each datagram takes `len / bandwidth` to serialize, one after the other, so
    /// every extra byte sent (redundancy, retransmissions) delays what follows it.
    pub bandwidth: Option<u64>,
    /// Bytes the bottleneck holds, counting the datagram being serialized; a datagram that would
    /// take it past this is dropped (drop-tail). An idle bottleneck takes any one datagram.
    /// Ignored when `bandwidth` is `None`.
    pub queue_bytes: usize,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::ZERO,
            loss: 0.0,
            burst: None,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(20),
            duplicate: 0.0,
            corrupt: 0.0,
            mtu: 1500,
            bandwidth: None,
            queue_bytes: 64 * 1024,
        }
    }
}

impl LinkConfig {
    /// The default clean link losing `loss` of its datagrams independently.
    pub fn lossy(loss: f64) -> LinkConfig {
        LinkConfig { loss, ..LinkConfig::default() }
    }

    /// A home broadband uplink: `latency` one way, 2 ms jitter, 20 Mbit/s (2.5 MB/s) with a
    /// 128 KiB bottleneck queue (about 52 ms of buffering), MTU 1500, no loss.
    pub fn home(latency: Duration) -> LinkConfig {
        LinkConfig {
            latency,
            jitter: Duration::from_millis(2),
            bandwidth: Some(2_500_000),
            queue_bytes: 128 * 1024,
            ..LinkConfig::default()
        }
    }

    /// A link that carries nothing (loss 1.0): set it with
    /// [`Network::set_link`](crate::Network::set_link) for an outage, and set the old link back
    /// to end it. Datagrams already past the link still arrive.
    pub fn outage() -> LinkConfig {
        LinkConfig { loss: 1.0, ..LinkConfig::default() }
    }

    /// This link with a one-way `latency`.
    pub fn with_latency(self, latency: Duration) -> LinkConfig {
        LinkConfig { latency, ..self }
    }

    /// This link with `jitter` (uniform extra delay in `[0, jitter)`, never reordering).
    pub fn with_jitter(self, jitter: Duration) -> LinkConfig {
        LinkConfig { jitter, ..self }
    }

    /// This link with an independent `loss` probability.
    pub fn with_loss(self, loss: f64) -> LinkConfig {
        LinkConfig { loss, ..self }
    }

    /// This link with burst loss.
    pub fn with_burst(self, burst: BurstLoss) -> LinkConfig {
        LinkConfig { burst: Some(burst), ..self }
    }

    /// This link holding back a datagram by `delay` with probability `reorder`.
    pub fn with_reorder(self, reorder: f64, delay: Duration) -> LinkConfig {
        LinkConfig { reorder, reorder_delay: delay, ..self }
    }

    /// This link duplicating a datagram with probability `duplicate`.
    pub fn with_duplicate(self, duplicate: f64) -> LinkConfig {
        LinkConfig { duplicate, ..self }
    }

    /// This link flipping one bit of a datagram with probability `corrupt`.
    pub fn with_corrupt(self, corrupt: f64) -> LinkConfig {
        LinkConfig { corrupt, ..self }
    }

    /// This link with an MTU of `mtu` payload bytes.
    pub fn with_mtu(self, mtu: usize) -> LinkConfig {
        LinkConfig { mtu, ..self }
    }

    /// This link with a bottleneck of `bytes_per_second` and a queue of `queue_bytes`.
    pub fn with_bandwidth(self, bytes_per_second: u64, queue_bytes: usize) -> LinkConfig {
        LinkConfig { bandwidth: Some(bytes_per_second), queue_bytes, ..self }
    }
}
