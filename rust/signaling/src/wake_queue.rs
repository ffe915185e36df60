//! When to wake each client: at most one time per client, ordered, so that the next deadline of
//! thousands of clients is found without scanning them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::signaling::ClientId;

/// The wake-up times of clients. A client's time may be earlier than its real next deadline
/// (deadlines move later as frames arrive): waking it then just finds nothing due and schedules
/// it again.
#[derive(Debug, Default)]
pub(crate) struct WakeQueue {
    by_time: BTreeSet<(Instant, ClientId)>,
    by_client: BTreeMap<ClientId, Instant>,
}

impl WakeQueue {
    /// Wakes `client` at `at` instead of any time set before; `None` never wakes it.
    pub(crate) fn schedule(&mut self, client: ClientId, at: Option<Instant>) {
        self.cancel(client);
        if let Some(at) = at {
            self.by_time.insert((at, client));
            self.by_client.insert(client, at);
        }
    }

    /// Forgets `client`'s wake-up time.
    pub(crate) fn cancel(&mut self, client: ClientId) {
        if let Some(at) = self.by_client.remove(&client) {
            self.by_time.remove(&(at, client));
        }
    }

    /// The earliest wake-up time.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.by_time.first().map(|&(at, _)| at)
    }

    /// Removes and returns a client whose time is at or before `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<ClientId> {
        let &(at, client) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.cancel(client);
        Some(client)
    }

    /// How many clients have a wake-up time.
    pub(crate) fn scheduled_count(&self) -> usize {
        self.by_client.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn clients_wake_in_time_order_and_rescheduling_replaces() {
        let start = Instant::now();
        let second = |n: u64| start + Duration::from_secs(n);
        let mut queue = WakeQueue::default();
        queue.schedule(1, Some(second(3)));
        queue.schedule(2, Some(second(1)));
        queue.schedule(3, Some(second(2)));
        queue.schedule(3, Some(second(5)));
        queue.schedule(4, None);
        assert_eq!((queue.earliest(), queue.scheduled_count()), (Some(second(1)), 3));
        assert_eq!(queue.pop_due(second(0)), None);
        assert_eq!(queue.pop_due(second(4)), Some(2));
        assert_eq!(queue.pop_due(second(4)), Some(1));
        assert_eq!(queue.pop_due(second(4)), None);
        queue.cancel(3);
        assert_eq!((queue.earliest(), queue.scheduled_count()), (None, 0));
    }
}
