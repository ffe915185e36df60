//! What a link did with the datagrams sent into it.

use std::time::Duration;

/// A count of datagrams and of their payload bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Number of datagrams.
    pub datagrams: u64,
    /// Sum of their payload lengths in bytes.
    pub bytes: u64,
}

impl Counter {
    /// Counts one datagram of `len` bytes.
    pub(crate) fn add(&mut self, len: usize) {
        self.datagrams += 1;
        self.bytes += len as u64;
    }
}

/// The figures of one direction of a [`Network`](crate::Network), read with
/// [`Network::stats`](crate::Network::stats).
///
/// Every datagram sent ends in exactly one of `filtered`, `dropped_mtu`, `dropped_queue`, `dropped_overflow`,
/// `lost`, or (once it is due and polled) `delivered`; each copy made by duplication adds one to
/// `duplicated` and, once polled, one more to `delivered`. Datagrams still in flight are in none
/// of the outcomes yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams handed to [`Network::send`](crate::Network::send) in this direction.
    pub sent: Counter,
    /// Datagrams (originals and copies) returned by
    /// [`Network::poll_delivery`](crate::Network::poll_delivery).
    pub delivered: Counter,
    /// Datagrams dropped by the test's filter ([`Network::set_filter`](crate::Network::set_filter)),
    /// counted at their length as sent.
    pub filtered: Counter,
    /// Datagrams lost on the path (independent or burst loss, an outage, or a delay longer than
    /// `Instant` can count).
    pub lost: Counter,
    /// Datagrams dropped at the tail of the bottleneck queue (it was full).
    pub dropped_queue: Counter,
    /// Datagrams dropped for being longer than the link's MTU.
    pub dropped_mtu: Counter,
    /// Datagrams dropped because [`MAX_IN_FLIGHT`](crate::MAX_IN_FLIGHT) datagrams were already
    /// in flight across the whole network.
    pub dropped_overflow: Counter,
    /// Extra copies the link made (each is delivered besides its original).
    pub duplicated: Counter,
    /// Datagrams that had a bit flipped (counted once with their copy, if any).
    pub corrupted: Counter,
    /// The longest a datagram waited in the bottleneck queue behind others before its first byte
    /// was sent (queueing delay, not counting its own serialization).
    pub max_queue_delay: Duration,
}
