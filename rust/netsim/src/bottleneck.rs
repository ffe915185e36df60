//! The bottleneck of one direction: a rate and a drop-tail queue in front of it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::MAX_IN_FLIGHT;

/// Datagrams admitted to the bottleneck whose last byte has not left it yet, in order.
#[derive(Debug, Default)]
pub(crate) struct Bottleneck {
    /// `(time the last byte leaves, payload length)` per datagram, oldest first.
    queue: VecDeque<(Instant, usize)>,
    /// Sum of the lengths in `queue`.
    queued_bytes: usize,
}

impl Bottleneck {
    /// Admits a datagram of `len` bytes at `now` and returns when its last byte leaves and how
    /// long it waited behind the others before its first byte went, or `None` when it is dropped: the rate is 0, the queue would pass `queue_bytes` (an empty queue
    /// takes any one datagram), or it already holds [`MAX_IN_FLIGHT`] datagrams.
    pub(crate) fn admit(
        &mut self,
        now: Instant,
        len: usize,
        bytes_per_second: u64,
        queue_bytes: usize,
    ) -> Option<(Instant, Duration)> {
        while let Some(&(leaves, size)) = self.queue.front() {
            if leaves > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes -= size;
        }
        if bytes_per_second == 0 || self.queue.len() >= MAX_IN_FLIGHT {
            return None;
        }
        if self.queued_bytes > 0 && self.queued_bytes.saturating_add(len) > queue_bytes {
            return None;
        }
        let start = self.queue.back().map_or(now, |&(leaves, _)| leaves.max(now));
        let leaves = start.checked_add(serialization_time(len, bytes_per_second))?;
        self.queue.push_back((leaves, len));
        self.queued_bytes += len;
        Some((leaves, start - now))
    }
}

/// How long `len` bytes take to cross a link of `bytes_per_second` (not 0), to the nanosecond
/// below.
fn serialization_time(len: usize, bytes_per_second: u64) -> Duration {
    let nanos = len as u128 * 1_000_000_000 / u128::from(bytes_per_second);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}
