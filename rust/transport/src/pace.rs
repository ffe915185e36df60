//! Who reads a connection's socket: the caller's `poll` or the connection's task. A caller that
//! polls in a tight loop (a server loop, a busy-polling benchmark) and takes a few datagrams per
//! poll reads them itself and runs the core's timers, and the task stops watching the socket and
//! stays off the core's lock meanwhile: each datagram it took instead cost a wake-up of the
//! runtime's thread (which on a busy machine takes the caller's CPU) and a lock handed between
//! threads. The task checks back [`CHECK_BACK`] after the caller's last poll, and drives the
//! connection again as soon as the caller polls less often (a game at 60 frames per second never
//! counts as polling fast), takes bursts, or stops polling: a connection lives on without its
//! caller.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest gap between two polls of a caller that polls fast: a loop that polls in between
/// sleeps of 1 ms (the bench's mesh setup) does not count, so that while it sleeps the task
/// answers the handshakes at once.
pub(crate) const CALLER_GRACE: Duration = Duration::from_micros(500);

/// How long after its last poll a caller that polls fast still counts as polling when the task
/// checks: a thread descheduled for a few milliseconds on a busy machine is still polling.
pub(crate) const CALLER_PAUSE: Duration = Duration::from_millis(2);

/// How long after a fast caller's last poll the task leaves the socket to it before it checks
/// whether the caller still polls: meanwhile the caller runs the core's timers, and the task is
/// not woken for them. A caller that stops polling costs the connection at most this (and a tick
/// of the runtime's timer) once; a shorter time would wake the runtime's thread more often (it
/// did every 2 ms at first), each wake-up a chance to take the caller's CPU on a busy machine.
pub(crate) const CHECK_BACK: Duration = Duration::from_millis(20);

/// Most datagrams a poll may read for its caller to count as keeping up: more means a burst
/// or bulk traffic, which the task's thread takes in parallel with the caller's.
pub(crate) const CALLER_MAX_READ: usize = 4;

/// Nanoseconds since [`Pace::origin`] standing for "never".
const NEVER: u64 = u64::MAX;
/// The task's wake-up while the caller runs the timers.
const CALLER_RUNS_TIMERS: u64 = u64::MAX - 1;

/// The caller's recent polls and the task's next wake-up, shared without a lock.
pub(crate) struct Pace {
    origin: Instant,
    /// When the caller's last poll pumped, and the one before (nanoseconds since `origin`).
    last_poll: AtomicU64,
    previous_poll: AtomicU64,
    /// Datagrams the caller's last poll read.
    last_read: AtomicUsize,
    /// When the task wakes next unless woken.
    task_wakes_at: AtomicU64,
}

impl Pace {
    /// No poll yet; the task's wake-up not known yet.
    pub(crate) fn new(origin: Instant) -> Self {
        Self {
            origin,
            last_poll: AtomicU64::new(NEVER),
            previous_poll: AtomicU64::new(NEVER),
            last_read: AtomicUsize::new(0),
            task_wakes_at: AtomicU64::new(NEVER),
        }
    }

    fn since_origin(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(CALLER_RUNS_TIMERS - 1)
    }

    fn instant(&self, nanos: u64) -> Option<Instant> {
        (nanos != NEVER).then(|| self.origin + Duration::from_nanos(nanos))
    }

    /// The caller's poll pumped the connection at `now` and read `read` datagrams. Returns whether
    /// the task must be woken to share the reading: it left the socket to the caller, and more
    /// than [`CALLER_MAX_READ`] came at once.
    pub(crate) fn caller_polled(&self, now: Instant, read: usize) -> bool {
        let previous = self.last_poll.swap(self.since_origin(now), Ordering::AcqRel);
        self.previous_poll.store(previous, Ordering::Release);
        self.last_read.store(read, Ordering::Release);
        read > CALLER_MAX_READ && self.task_wakes_at.load(Ordering::Acquire) == CALLER_RUNS_TIMERS
    }

    /// Until when the task leaves the socket to the caller, if the caller polls fast enough and
    /// keeps up with what arrives: [`CHECK_BACK`] after its last poll.
    pub(crate) fn caller_keeps_up(&self, now: Instant) -> Option<Instant> {
        let last = self.instant(self.last_poll.load(Ordering::Acquire))?;
        let previous = self.instant(self.previous_poll.load(Ordering::Acquire))?;
        let fast = last.saturating_duration_since(previous) < CALLER_GRACE;
        let recent = now.saturating_duration_since(last) < CALLER_PAUSE;
        let sparse = self.last_read.load(Ordering::Acquire) <= CALLER_MAX_READ;
        (fast && recent && sparse).then_some(last + CHECK_BACK)
    }

    /// The task sleeps until `at` unless woken.
    pub(crate) fn set_task_wakes_at(&self, at: Instant) {
        self.task_wakes_at.store(self.since_origin(at), Ordering::Release);
    }

    /// Whether the task must be woken for something due at `at`: it would sleep past it, and
    /// the caller is not the one running the timers meanwhile.
    pub(crate) fn task_sleeps_past(&self, at: Instant) -> bool {
        match self.task_wakes_at.load(Ordering::Acquire) {
            CALLER_RUNS_TIMERS => false,
            wakes => self.instant(wakes).is_none_or(|wakes| at < wakes),
        }
    }

    /// The task leaves the socket and the timers to the caller until it checks back.
    pub(crate) fn leave_to_caller(&self) {
        self.task_wakes_at.store(CALLER_RUNS_TIMERS, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_polling_fast_and_reading_little_keeps_the_socket() {
        let start = Instant::now();
        let pace = Pace::new(start);
        assert_eq!(pace.caller_keeps_up(start), None, "no poll yet");
        assert!(!pace.caller_polled(start, 1));
        assert_eq!(pace.caller_keeps_up(start), None, "one poll says nothing of the pace");
        let second = start + Duration::from_micros(50);
        assert!(!pace.caller_polled(second, 2));
        assert_eq!(pace.caller_keeps_up(second), Some(second + CHECK_BACK));
        assert_eq!(pace.caller_keeps_up(second + CALLER_PAUSE), None, "the caller stopped polling");
    }

    #[test]
    fn a_caller_polling_once_a_frame_or_taking_bursts_leaves_the_socket_to_the_task() {
        let start = Instant::now();
        let pace = Pace::new(start);
        let frame = Duration::from_micros(16_667);
        pace.caller_polled(start, 0);
        pace.caller_polled(start + frame, 0);
        assert_eq!(pace.caller_keeps_up(start + frame), None, "60 polls a second are not fast");
        let burst = start + frame + Duration::from_micros(10);
        assert!(!pace.caller_polled(burst, CALLER_MAX_READ + 1), "the task reads already");
        assert_eq!(pace.caller_keeps_up(burst), None, "a burst is read on two threads");
        pace.leave_to_caller();
        assert!(pace.caller_polled(burst, CALLER_MAX_READ + 1), "the task is woken to read too");
        assert!(!pace.caller_polled(burst, CALLER_MAX_READ), "a few datagrams are the caller's");
    }

    #[test]
    fn the_task_is_woken_only_for_what_is_due_before_it_wakes_and_the_caller_does_not_run() {
        let start = Instant::now();
        let pace = Pace::new(start);
        assert!(pace.task_sleeps_past(start + Duration::from_secs(1000)), "its wake-up is not known yet");
        pace.set_task_wakes_at(start + Duration::from_millis(5));
        assert!(pace.task_sleeps_past(start + Duration::from_millis(4)));
        assert!(!pace.task_sleeps_past(start + Duration::from_millis(10)));
        pace.leave_to_caller();
        assert!(!pace.task_sleeps_past(start), "the caller runs the timers");
    }
}
