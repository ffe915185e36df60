//! The flood rule's arithmetic: a token bucket of text messages, refilled with time passed in.

use std::time::Instant;

/// One message, in the budget's unit (a billionth of a message, so that refills are exact).
const NANO_MESSAGES_PER_MESSAGE: u128 = 1_000_000_000;

/// A client's allowance of text messages: it holds up to two seconds' worth at the rate limit,
/// starts full, and refills at the rate limit.
#[derive(Debug, Clone)]
pub(crate) struct MessageBudget {
    /// What is left, in billionths of a message.
    nano_messages: u128,
    /// When `nano_messages` was last brought up to date.
    refilled_at: Instant,
}

fn capacity(messages_per_second: u32) -> u128 {
    2 * u128::from(messages_per_second) * NANO_MESSAGES_PER_MESSAGE
}

impl MessageBudget {
    /// A full budget at `now`.
    pub(crate) fn full(messages_per_second: u32, now: Instant) -> Self {
        Self { nano_messages: capacity(messages_per_second), refilled_at: now }
    }

    /// Takes one message at `now`; `false` when less than one is left: the client floods.
    pub(crate) fn spend_one(&mut self, messages_per_second: u32, now: Instant) -> bool {
        // Seconds × messages per second = messages, so nanoseconds × rate = nano-messages.
        let refill = now.saturating_duration_since(self.refilled_at).as_nanos() * u128::from(messages_per_second);
        self.nano_messages = self.nano_messages.saturating_add(refill).min(capacity(messages_per_second));
        self.refilled_at = self.refilled_at.max(now);
        match self.nano_messages.checked_sub(NANO_MESSAGES_PER_MESSAGE) {
            Some(left) => {
                self.nano_messages = left;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_full_budget_allows_a_burst_of_two_seconds_worth() {
        let start = Instant::now();
        let mut budget = MessageBudget::full(10, start);
        assert!((0..20).all(|_| budget.spend_one(10, start)));
        assert!(!budget.spend_one(10, start));
    }

    #[test]
    fn it_refills_at_the_rate_and_never_beyond_its_capacity() {
        let start = Instant::now();
        let mut budget = MessageBudget::full(10, start);
        assert!((0..20).all(|_| budget.spend_one(10, start)));
        let later = start + Duration::from_millis(100);
        assert!(budget.spend_one(10, later), "100 ms at 10/s is one message");
        assert!(!budget.spend_one(10, later));
        let much_later = later + Duration::from_secs(3600);
        assert!((0..20).all(|_| budget.spend_one(10, much_later)));
        assert!(!budget.spend_one(10, much_later), "an hour of silence still buys only the burst");
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let start = Instant::now() + Duration::from_secs(1);
        let mut budget = MessageBudget::full(1, start);
        assert!(budget.spend_one(1, start) && budget.spend_one(1, start));
        assert!(!budget.spend_one(1, start - Duration::from_secs(1)));
    }
}
