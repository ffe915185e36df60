//! Congestion control (RFC 9260 §7.2) that tells random loss from congestion by delay.
//!
//! Reno halves the window once per recovery whatever the loss, and at a game's random loss (10%:
//! a loss every round trip) that held the window at 4-6 MTUs, some 140 packets a second on a
//! 35 ms path whose link carries 2000. What differs from RFC 9260 here, each decided by
//! measurement:
//!
//! - **The loss response reads the queue** (as TCP Veno): a fast retransmit halves the window,
//!   once per recovery, only when the path shows a standing queue, our backlog
//!   `cwnd × (RTT − base RTT) / RTT` of at least `CONGESTION_BACKLOG_MTUS` (3, Veno's β) from
//!   [`QueueDelay`]: the least RTT of the last round trip against the least over 10 s, a rise
//!   under base/8 (4-16 ms) taken as jitter. With no queue the loss is random: retransmitted,
//!   the window kept. A bottleneck is still respected: past what the path carries a queue
//!   builds, and the next loss (random, or a drop at the queue's tail) halves the window as Reno
//!   does; a later loss of a recovery taken as random that finds a queue still halves it. Before
//!   any RTT sample every loss counts (Reno).
//! - **Growth on every chunk delivered**: gap-acknowledged chunks grow the window too (RFC 9260
//!   waits for the cumulative TSN, which under random loss sits behind a hole most of the time).
//! - **Slow start wherever no queue shows**, past the threshold too: after a cut or a timeout
//!   the window regains what the path carries in a few round trips, not one MTU per round trip.
//! - **A timeout** still leaves one MTU (RFC 9260 §7.2.3); slow start then runs to half the old
//!   window when a queue showed, else to the whole of it.
//! - **Slow start ends at a loss, not at a queue.** An exit when the queue appears (HyStart's
//!   delay test, RFC 9406) kept slow start from overflowing a 1-BDP queue (no drops where one
//!   overshoot now drops 16-31 of 5100 packets), but it also held an unreliable stream sent past
//!   the path's rate in our own send queue (worst latency 0.9 s instead of 0.28 s), against the
//!   send side's choice that such a stream lose its surplus at the bottleneck like plain UDP.
//! - The initial window stays 10 MTUs (dcSCTP's, RFC 6928); growth per SACK in slow start stays
//!   one MTU (two doubled slow start's overshoot of a 1-BDP queue: ~100 drops per transfer).
//!
//! Measured in `tests/sctp_congestion.rs` (1000 × 1 KiB reliable each way, 5 seeds, worst of 5;
//! Reno before → now): at 10% random loss, 1 ms one way 2.60 s → 1.04 s, 1 ms behind a 20 Mbit/s
//! bottleneck 3.40 s → 1.03 s, 15 ms and the bottleneck 8.48 s → 2.10 s, 25 ms 14.27 s → 2.08 s,
//! 25 ms and the bottleneck 13.21 s → 2.28 s. Loss in bursts of 40 ms (5%) 2.09 s → 0.81 s; of
//! 30 ms (10%) 5.25 s → 6.62 s (that seed's server side waits out six T3-rtx timeouts in a row,
//! a recovery matter; the other four 0.82-1.92 s); per-datagram bursts (5% in bursts of 4)
//! 14.86 s → 1.34 s. Bytes sent at 2% loss against none 1.025x → 1.024x. Through a 20 Mbit/s
//! bottleneck without loss (4000 × 1 KiB each way), unchanged: one overshoot of slow start, 16-31
//! drops of 5100 packets, one cut, queue delay up to the queue's 52 ms, 1.7 MB/s. Two
//! associations through one bottleneck for 4 s: the smaller gets 0.85 of the larger's messages
//! without loss (Reno 0.76), 0.92 at 2% loss, 2.37 and 1.87 MB/s together (Reno 2.37 and 0.60).

use std::time::{Duration, Instant};

use super::queue_delay::QueueDelay;
use crate::sctp::serial::WideTsn;

/// The congestion window's ceiling: bounds the data in flight whatever the peer advertises.
pub(super) const MAX_CWND: usize = 4 * 1024 * 1024;

/// Our backlog in the path's queues, in MTUs, from which a loss counts as congestion (Veno's β
/// of 3 packets).
const CONGESTION_BACKLOG_MTUS: usize = 3;

/// The least window after a fast-retransmit reduction, in MTUs (RFC 9260 §7.2.3).
const MIN_REDUCED_CWND_MTUS: usize = 4;

/// The congestion window and what moves it.
#[derive(Clone, Debug)]
pub(super) struct CongestionControl {
    mtu: usize,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    /// In fast recovery until the cumulative TSN reaches this (the highest TSN sent when it
    /// began).
    recovery_exit: Option<WideTsn>,
    /// Whether the current fast recovery cut the window (then the window does not grow until it
    /// ends); one started by a loss taken as random did not.
    recovery_reduced: bool,
    /// The window and threshold before the last fast-retransmit reduction, to restore if it
    /// proves spurious.
    before_reduction: Option<(usize, usize)>,
    /// The queueing delay the RTT samples show.
    queue_delay: QueueDelay,
    /// Loss events (fast recoveries begun) that cut the window: congestion.
    reductions: u64,
    /// Loss events taken as random: the window stayed.
    random_losses: u64,
}

impl CongestionControl {
    /// Takes `mtu` as the window's unit from now on (the path changed); the window itself stays.
    pub(super) fn set_mtu(&mut self, mtu: usize) {
        self.mtu = mtu.max(1);
    }

    /// The window at the start: `initial_mtus` MTUs; the slow-start threshold is the peer's
    /// advertised window (RFC 9260 §7.2.1).
    pub(super) fn new(mtu: usize, initial_mtus: usize, peer_a_rwnd: u32) -> Self {
        let mtu = mtu.max(1);
        Self {
            mtu,
            cwnd: (initial_mtus.max(1) * mtu).min(MAX_CWND),
            ssthresh: usize::try_from(peer_a_rwnd).unwrap_or(usize::MAX).max(4 * mtu),
            partial_bytes_acked: 0,
            recovery_exit: None,
            recovery_reduced: false,
            before_reduction: None,
            queue_delay: QueueDelay::default(),
            reductions: 0,
            random_losses: 0,
        }
    }

    /// The congestion window, in bytes.
    pub(super) fn cwnd(&self) -> usize {
        self.cwnd
    }

    /// The slow-start threshold, in bytes.
    #[cfg(test)]
    pub(super) fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// Whether a fast recovery is going on.
    pub(super) fn in_fast_recovery(&self) -> bool {
        self.recovery_exit.is_some()
    }

    /// Loss events that cut the window (taken as congestion), and loss events taken as random.
    pub(super) fn loss_events(&self) -> (u64, u64) {
        (self.reductions, self.random_losses)
    }

    /// An RTT sample (Karn's rule: of a chunk sent once) measured at `now`.
    pub(super) fn on_rtt(&mut self, now: Instant, rtt: Duration) {
        self.queue_delay.on_sample(now, rtt);
    }

    /// Whether our backlog in the path's queues shows congestion; true while no RTT was
    /// measured (then every loss counts, as in Reno).
    fn queue_is_standing(&self) -> bool {
        self.queue_delay.backlog(self.cwnd).is_none_or(|backlog| backlog >= CONGESTION_BACKLOG_MTUS * self.mtu)
    }

    /// A SACK put the cumulative TSN at `cumulative_tsn` and newly acknowledged `acked_bytes`
    /// (by the cumulative TSN or gap ack blocks); `flight_before` bytes were in flight when it
    /// came, `flight_after` remain.
    pub(super) fn on_sack(
        &mut self,
        cumulative_tsn: WideTsn,
        acked_bytes: usize,
        flight_before: usize,
        flight_after: usize,
    ) {
        if self.recovery_exit.is_some_and(|exit| cumulative_tsn >= exit) {
            self.recovery_exit = None;
            self.recovery_reduced = false;
        }
        // The window grows on every chunk newly acknowledged, by gap ack blocks too (RFC 9260
        // §7.2.1 waits for the cumulative TSN to move: under random loss a hole is open most of
        // the time, and the window would hardly grow).
        if acked_bytes > 0 && !self.recovery_reduced {
            // "Fully utilized": less than one MTU of the window was left unused.
            let fully_utilized = flight_before + self.mtu > self.cwnd;
            // Slow start below the threshold, and wherever the path shows no queue at all: after
            // a timeout or a cut, the window regains what the path carries in a few round trips,
            // not one MTU per round trip.
            if self.cwnd <= self.ssthresh || self.queue_delay.backlog(self.cwnd) == Some(0) {
                if fully_utilized {
                    self.cwnd += acked_bytes.min(self.mtu);
                }
            } else {
                self.partial_bytes_acked += acked_bytes;
                if self.partial_bytes_acked >= self.cwnd && fully_utilized {
                    self.partial_bytes_acked -= self.cwnd;
                    self.cwnd += self.mtu;
                } else if !fully_utilized {
                    self.partial_bytes_acked = self.partial_bytes_acked.min(self.cwnd);
                }
            }
            self.cwnd = self.cwnd.min(MAX_CWND);
        }
        if flight_after == 0 {
            self.partial_bytes_acked = 0;
        }
    }

    /// Chunks were marked for fast retransmission while `highest_sent` was the highest TSN
    /// sent: a fast recovery begins, unless one is going on. The window halves (RFC 9260
    /// §7.2.4), once per recovery, when the path shows a standing queue; else the loss is taken
    /// as random and the window stays (a later loss of the same recovery that finds a queue
    /// still halves it).
    pub(super) fn on_fast_retransmit(&mut self, highest_sent: WideTsn) {
        if self.recovery_reduced {
            return;
        }
        if !self.queue_is_standing() {
            if !self.in_fast_recovery() {
                self.random_losses += 1;
                self.recovery_exit = Some(highest_sent);
                // Nothing of this recovery to undo, whatever an older cut left.
                self.before_reduction = None;
            }
            return;
        }
        self.recovery_exit = Some(highest_sent);
        self.reductions += 1;
        self.recovery_reduced = true;
        self.before_reduction = Some((self.cwnd, self.ssthresh));
        self.ssthresh = (self.cwnd / 2).max(MIN_REDUCED_CWND_MTUS * self.mtu);
        self.cwnd = self.ssthresh;
        self.partial_bytes_acked = 0;
    }

    /// The fast retransmission that started the last reduction was spurious (the chunk had only
    /// been reordered): the window and threshold from before come back (the Eifel response,
    /// RFC 4015), once.
    pub(super) fn undo_fast_retransmit(&mut self) {
        if let Some((cwnd, ssthresh)) = self.before_reduction.take() {
            self.cwnd = self.cwnd.max(cwnd);
            self.ssthresh = self.ssthresh.max(ssthresh);
            self.recovery_exit = None;
            self.recovery_reduced = false;
        }
    }

    /// The T3-rtx timer expired: one MTU of window, slow start again (RFC 9260 §7.2.3), up to
    /// half the window when the path showed a standing queue, else up to the whole window (the
    /// loss was random: slow start regains what the path carried in a few round trips).
    pub(super) fn on_retransmission_timeout(&mut self) {
        self.before_reduction = None;
        let keep = if self.queue_is_standing() { self.cwnd / 2 } else { self.cwnd };
        self.ssthresh = keep.max(MIN_REDUCED_CWND_MTUS * self.mtu);
        self.cwnd = self.mtu;
        self.partial_bytes_acked = 0;
        self.recovery_exit = None;
        self.recovery_reduced = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MTU: usize = 1200;

    #[test]
    fn slow_start_grows_by_at_most_one_mtu_per_sack_when_the_window_is_full() {
        let mut cc = CongestionControl::new(MTU, 10, 1 << 20);
        assert_eq!(cc.cwnd(), 12_000);
        cc.on_sack(1, 5000, 12_000, 7000);
        assert_eq!(cc.cwnd(), 13_200);
        cc.on_sack(2, 500, 13_000, 12_500);
        assert_eq!(cc.cwnd(), 13_700);
        cc.on_sack(3, 5000, 2000, 0);
        assert_eq!(cc.cwnd(), 13_700, "no growth when the window was not used");
        cc.on_sack(3, 0, 13_700, 13_700);
        assert_eq!(cc.cwnd(), 13_700, "no growth when nothing new was acknowledged");
        cc.on_sack(3, 1000, 13_700, 12_700);
        assert_eq!(cc.cwnd(), 14_700, "growth on gap-acknowledged chunks too");
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// Samples of a `base` ms path every 5 ms over 200 ms from `start`, then `queued` ms more
    /// for 200 ms; returns the time after them.
    fn path(cc: &mut CongestionControl, start: Instant, base: u64, queued: u64) -> Instant {
        let mut t = start;
        for rtt in [base, base + queued] {
            for _ in 0..40 {
                cc.on_rtt(t, ms(rtt));
                t += ms(5);
            }
        }
        t
    }

    #[test]
    fn a_loss_without_a_standing_queue_is_random_and_keeps_the_window_growing() {
        let start = Instant::now();
        let mut cc = CongestionControl::new(MTU, 40, 1 << 20);
        path(&mut cc, start, 30, 2);
        cc.on_fast_retransmit(100);
        assert_eq!(cc.cwnd(), 48_000);
        assert!(cc.in_fast_recovery(), "a recovery still begins (for miss counting)");
        assert_eq!(cc.loss_events(), (0, 1));
        cc.on_sack(50, 1200, 48_000, 46_800);
        assert_eq!(cc.cwnd(), 49_200, "growth goes on during the recovery");
        cc.on_fast_retransmit(120);
        assert_eq!(cc.loss_events(), (0, 1), "one loss event per recovery");
    }

    #[test]
    fn a_loss_on_a_standing_queue_halves_the_window_even_within_a_random_recovery() {
        let start = Instant::now();
        let mut cc = CongestionControl::new(MTU, 40, 1 << 20);
        let t = path(&mut cc, start, 30, 2);
        cc.on_fast_retransmit(100);
        assert_eq!(cc.cwnd(), 48_000);
        // The queue builds: 30 ms of it, half of the window.
        path(&mut cc, t, 30, 30);
        cc.on_fast_retransmit(110);
        assert_eq!(cc.cwnd(), 24_000);
        assert_eq!(cc.loss_events(), (1, 1));
        cc.on_sack(105, 1200, 24_000, 22_800);
        assert_eq!(cc.cwnd(), 24_000, "no growth in the recovery that cut the window");
        cc.on_sack(110, 1200, 24_000, 22_800);
        assert!(!cc.in_fast_recovery());
    }

    #[test]
    fn a_random_recovery_has_nothing_to_undo() {
        let start = Instant::now();
        let mut cc = CongestionControl::new(MTU, 40, 1 << 20);
        let t = path(&mut cc, start, 30, 30);
        cc.on_fast_retransmit(100);
        assert_eq!(cc.cwnd(), 24_000);
        cc.on_sack(100, 1200, 24_000, 22_800);
        assert!(!cc.in_fast_recovery());
        // The queue drained; the next loss is random, and a duplicate report of its chunk
        // brings back nothing of the older cut.
        path(&mut cc, t, 30, 0);
        let before = cc.cwnd();
        cc.on_fast_retransmit(200);
        cc.undo_fast_retransmit();
        assert_eq!(cc.cwnd(), before);
        assert_eq!(cc.loss_events(), (1, 1));
    }

    #[test]
    fn past_the_threshold_the_window_slow_starts_while_no_queue_shows() {
        let start = Instant::now();
        let mut cc = CongestionControl::new(MTU, 20, 4800);
        let t = path(&mut cc, start, 30, 20);
        cc.on_sack(1, 1200, 24_000, 22_800);
        assert_eq!(cc.cwnd(), 24_000, "a queue shows: congestion avoidance, one MTU per window");
        // The queue drained (a round of samples at the base RTT): slow start's growth again.
        path(&mut cc, t, 30, 0);
        cc.on_sack(2, 1200, 24_000, 22_800);
        assert_eq!(cc.cwnd(), 25_200);
    }

    #[test]
    fn a_timeout_without_a_queue_slow_starts_back_to_the_whole_window() {
        let start = Instant::now();
        let mut cc = CongestionControl::new(MTU, 20, 1 << 20);
        let t = path(&mut cc, start, 30, 0);
        cc.on_retransmission_timeout();
        assert_eq!((cc.cwnd(), cc.ssthresh()), (MTU, 24_000));
        let mut cc = CongestionControl::new(MTU, 20, 1 << 20);
        path(&mut cc, t, 30, 30);
        cc.on_retransmission_timeout();
        assert_eq!((cc.cwnd(), cc.ssthresh()), (MTU, 12_000));
    }

    #[test]
    fn congestion_avoidance_grows_by_one_mtu_per_window_acknowledged() {
        let mut cc = CongestionControl::new(MTU, 10, 4800);
        assert!(cc.cwnd() > cc.ssthresh());
        let start = cc.cwnd();
        let mut tsn = 0;
        let mut acked = 0;
        while acked < start {
            tsn += 1;
            cc.on_sack(tsn, 1200, start, start - 1200);
            acked += 1200;
        }
        assert_eq!(cc.cwnd(), start + MTU);
    }

    #[test]
    fn fast_retransmit_halves_once_per_recovery_and_recovery_ends_at_its_exit_point() {
        let mut cc = CongestionControl::new(MTU, 40, 1 << 20);
        cc.on_fast_retransmit(100);
        assert_eq!(cc.cwnd(), 24_000);
        assert!(cc.in_fast_recovery());
        cc.on_fast_retransmit(120);
        assert_eq!(cc.cwnd(), 24_000, "a second loss in the same recovery does not reduce again");
        cc.on_sack(99, 1200, 24_000, 22_800);
        assert_eq!(cc.cwnd(), 24_000, "no growth during recovery");
        cc.on_sack(100, 1200, 24_000, 22_800);
        assert!(!cc.in_fast_recovery());
        let after_recovery = cc.cwnd();
        cc.on_fast_retransmit(150);
        assert_eq!(cc.cwnd(), after_recovery / 2, "a new recovery reduces again");
    }

    #[test]
    fn a_spurious_fast_retransmit_is_undone_once_but_a_timeout_is_not() {
        let mut cc = CongestionControl::new(MTU, 40, 100_000);
        cc.on_fast_retransmit(10);
        assert_eq!(cc.cwnd(), 24_000);
        cc.undo_fast_retransmit();
        assert_eq!((cc.cwnd(), cc.ssthresh()), (48_000, 100_000));
        assert!(!cc.in_fast_recovery());
        cc.undo_fast_retransmit();
        assert_eq!(cc.cwnd(), 48_000);
        cc.on_fast_retransmit(20);
        cc.on_retransmission_timeout();
        cc.undo_fast_retransmit();
        assert_eq!(cc.cwnd(), MTU);
    }

    #[test]
    fn the_window_never_falls_under_four_mtus_on_fast_retransmit() {
        let mut cc = CongestionControl::new(MTU, 4, 1 << 20);
        cc.on_fast_retransmit(1);
        assert_eq!(cc.cwnd(), 4 * MTU);
    }

    #[test]
    fn a_timeout_leaves_one_mtu_and_slow_start_up_to_half_the_old_window() {
        let mut cc = CongestionControl::new(MTU, 20, 1 << 20);
        cc.on_fast_retransmit(10);
        cc.on_retransmission_timeout();
        assert_eq!(cc.cwnd(), MTU);
        assert_eq!(cc.ssthresh(), 6000);
        assert!(!cc.in_fast_recovery());
        cc.on_sack(11, 1200, 1200, 0);
        assert_eq!(cc.cwnd(), 2 * MTU);
    }

    #[test]
    fn a_hostile_window_cannot_grow_the_congestion_window_past_its_ceiling() {
        let mut cc = CongestionControl::new(MTU, 10, u32::MAX);
        for tsn in 0..10_000 {
            cc.on_sack(tsn, MTU, MAX_CWND, MAX_CWND);
        }
        assert_eq!(cc.cwnd(), MAX_CWND);
    }
}
