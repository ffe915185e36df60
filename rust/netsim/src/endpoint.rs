//! What a sans-IO protocol core looks like to the simulator.

use std::time::Instant;

/// A sans-IO protocol core as a [`Pair`](crate::Pair) drives it: datagrams and the time in,
/// datagrams and a deadline out. It never reads a clock; `now` never goes backwards.
pub trait Endpoint {
    /// A datagram from the other side arrived at `now`.
    fn receive(&mut self, now: Instant, datagram: &[u8]);
    /// The deadline returned by [`deadline`](Endpoint::deadline) has come: `now` is at or past it.
    fn timeout(&mut self, now: Instant);
    /// The next datagram to send at `now`, or `None` when there is nothing more to send now.
    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>>;
    /// When [`timeout`](Endpoint::timeout) should next be called, or `None` for never (until a
    /// datagram arrives).
    fn deadline(&self) -> Option<Instant>;
}
