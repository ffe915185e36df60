//! When a SACK goes out (RFC 9260 §5.1, §6.2, §6.7; RFC 7053): at once for the association's
//! first packet with DATA, and when a packet's DATA opened, filled or shrank a gap, was a
//! duplicate, was refused, carried the I bit, or was the second packet with DATA (or FORWARD-TSN)
//! since the last SACK; at once after a window update; otherwise after the delayed-SACK timeout,
//! min(`SctpConfig::delayed_sack_max` (200 ms), RTO/2): the association passes RTO/2 in.

use std::time::{Duration, Instant};

/// How many packets with DATA may go unacknowledged before a SACK is sent at once.
const PACKETS_PER_SACK: u32 = 2;

/// The immediate-or-delayed SACK decision and the delayed-SACK timer.
#[derive(Debug)]
pub(crate) struct SackSchedule {
    /// The longest a SACK for a lone packet may wait.
    max_delay: Duration,
    /// How long a SACK for a lone packet waits.
    delay: Duration,
    /// A SACK is due at once.
    due: bool,
    /// When the delayed SACK is due.
    deadline: Option<Instant>,
    /// Packets with DATA (or a FORWARD-TSN) received since the last SACK.
    packets_since_sack: u32,
    /// The packet being processed carried DATA.
    packet_had_data: bool,
    /// Something in the packet being processed asks for a SACK at once.
    packet_wants_immediate: bool,
    /// A packet with DATA arrived before (the first one is acknowledged at once, RFC 9260 §5.1).
    seen_data: bool,
    /// The latest time the schedule was given: when a SACK due at once is due.
    last_now: Option<Instant>,
}

impl SackSchedule {
    /// A schedule whose delayed SACK waits `max_delay` (the most it ever waits) until told
    /// otherwise.
    pub(crate) fn new(max_delay: Duration) -> Self {
        Self {
            max_delay,
            delay: max_delay,
            due: false,
            deadline: None,
            packets_since_sack: 0,
            packet_had_data: false,
            packet_wants_immediate: false,
            seen_data: false,
            last_now: None,
        }
    }

    /// Sets how long a delayed SACK waits, capped at the maximum given to [`SackSchedule::new`]
    /// (the association passes RTO/2). A delayed SACK already scheduled keeps its deadline.
    pub(crate) fn set_delay(&mut self, delay: Duration) {
        self.delay = delay.min(self.max_delay);
    }

    /// A DATA (or FORWARD-TSN) chunk of the current packet was seen; `immediate` if it asks for a
    /// SACK at once.
    pub(crate) fn on_data(&mut self, immediate: bool) {
        self.packet_had_data = true;
        self.packet_wants_immediate |= immediate;
    }

    /// A SACK is due at once, whatever the packet holds (a window update).
    pub(crate) fn request_immediate(&mut self) {
        self.due = true;
    }

    /// The current packet's chunks are all processed: decides between an immediate and a
    /// delayed SACK for it.
    pub(crate) fn on_packet_end(&mut self, now: Instant) {
        self.last_now = Some(now);
        if !std::mem::take(&mut self.packet_had_data) {
            return;
        }
        self.packets_since_sack = self.packets_since_sack.saturating_add(1);
        let first = !std::mem::replace(&mut self.seen_data, true);
        if std::mem::take(&mut self.packet_wants_immediate) || first || self.packets_since_sack >= PACKETS_PER_SACK {
            self.due = true;
        } else if self.deadline.is_none() {
            self.deadline = Some(now + self.delay);
        }
    }

    /// Whether a SACK is due at `now`.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.due || self.deadline.is_some_and(|deadline| deadline <= now)
    }

    /// A SACK was just made: nothing more is due until new DATA comes.
    pub(crate) fn on_sack_sent(&mut self) {
        self.due = false;
        self.deadline = None;
        self.packets_since_sack = 0;
    }

    /// When the next SACK is due, if one is waiting: for one due at once, the latest time the
    /// schedule was given (already past), so that an owner that only polls for transmission on
    /// its timer still sends it (a window update comes from polling events, not from input).
    pub(crate) fn deadline(&self) -> Option<Instant> {
        if self.due {
            self.last_now.or(self.deadline)
        } else {
            self.deadline
        }
    }

    /// The delayed SACK becomes due once its deadline passed.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            self.due = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_DELAY: Duration = Duration::from_millis(200);

    /// A schedule past the association's first packet with DATA (acknowledged at once).
    fn schedule(start: Instant) -> SackSchedule {
        let mut schedule = SackSchedule::new(MAX_DELAY);
        schedule.on_data(false);
        schedule.on_packet_end(start - Duration::from_secs(1));
        assert!(schedule.is_due(start - Duration::from_secs(1)));
        schedule.on_sack_sent();
        schedule
    }

    #[test]
    fn the_first_packet_with_data_is_acknowledged_at_once() {
        let start = Instant::now();
        let mut schedule = SackSchedule::new(MAX_DELAY);
        schedule.on_data(false);
        schedule.on_packet_end(start);
        assert!(schedule.is_due(start));
    }

    #[test]
    fn a_lone_packet_is_acknowledged_after_the_delay() {
        let start = Instant::now();
        let mut schedule = schedule(start);
        schedule.set_delay(Duration::from_millis(80));
        schedule.on_data(false);
        schedule.on_packet_end(start);
        assert!(!schedule.is_due(start));
        assert_eq!(schedule.deadline(), Some(start + Duration::from_millis(80)));
        schedule.handle_timeout(start + Duration::from_millis(79));
        assert!(!schedule.is_due(start + Duration::from_millis(79)));
        schedule.handle_timeout(start + Duration::from_millis(80));
        assert!(schedule.is_due(start + Duration::from_millis(80)));
        schedule.on_sack_sent();
        assert!(!schedule.is_due(start + Duration::from_secs(10)));
        assert_eq!(schedule.deadline(), None);
    }

    #[test]
    fn the_delay_is_capped_at_200_ms() {
        let start = Instant::now();
        let mut schedule = schedule(start);
        schedule.set_delay(Duration::from_secs(3));
        schedule.on_data(false);
        schedule.on_packet_end(start);
        assert_eq!(schedule.deadline(), Some(start + MAX_DELAY));
    }

    #[test]
    fn every_second_packet_is_acknowledged_at_once() {
        let start = Instant::now();
        let mut schedule = schedule(start);
        schedule.on_data(false);
        schedule.on_data(false); // two chunks, one packet
        schedule.on_packet_end(start);
        assert!(!schedule.is_due(start));
        schedule.on_data(false);
        schedule.on_packet_end(start + Duration::from_millis(1));
        assert!(schedule.is_due(start + Duration::from_millis(1)));
        schedule.on_sack_sent();
        schedule.on_data(false);
        schedule.on_packet_end(start + Duration::from_millis(2));
        assert!(!schedule.is_due(start + Duration::from_millis(2)));
    }

    #[test]
    fn an_immediate_request_in_a_packet_is_honoured_at_its_end() {
        let start = Instant::now();
        let mut schedule = schedule(start);
        schedule.on_data(false);
        schedule.on_data(true);
        schedule.on_data(false);
        schedule.on_packet_end(start);
        assert!(schedule.is_due(start));
    }

    #[test]
    fn a_packet_without_data_changes_nothing() {
        let start = Instant::now();
        let mut schedule = schedule(start);
        schedule.on_packet_end(start);
        assert!(!schedule.is_due(start) && schedule.deadline().is_none());
        schedule.request_immediate();
        assert!(schedule.is_due(start));
        assert_eq!(schedule.deadline(), Some(start)); // due now: the owner's timer fires at once
    }
}
