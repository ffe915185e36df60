//! Congestion control (RFC 9260 §7.2): slow start, congestion avoidance, one window reduction
//! per fast recovery, a window of one MTU after a T3-rtx timeout.

use super::serial::WideTsn;

/// The congestion window's ceiling: bounds the data in flight whatever the peer advertises.
pub(super) const MAX_CWND: usize = 4 * 1024 * 1024;

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
    /// The window and threshold before the last fast-retransmit reduction, to restore if it
    /// proves spurious.
    before_reduction: Option<(usize, usize)>,
}

impl CongestionControl {
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
            before_reduction: None,
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

    /// A SACK moved the cumulative TSN to `cumulative_tsn` (`advanced` when it moved) and newly
    /// acknowledged `acked_bytes`; `flight_before` bytes were in flight when it came,
    /// `flight_after` remain.
    pub(super) fn on_sack(
        &mut self,
        cumulative_tsn: WideTsn,
        advanced: bool,
        acked_bytes: usize,
        flight_before: usize,
        flight_after: usize,
    ) {
        if self.recovery_exit.is_some_and(|exit| cumulative_tsn >= exit) {
            self.recovery_exit = None;
        }
        if advanced && !self.in_fast_recovery() {
            // "Fully utilized": less than one MTU of the window was left unused.
            let fully_utilized = flight_before + self.mtu > self.cwnd;
            if self.cwnd <= self.ssthresh {
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
    /// sent: the window halves, once per recovery (RFC 9260 §7.2.4).
    pub(super) fn on_fast_retransmit(&mut self, highest_sent: WideTsn) {
        if self.in_fast_recovery() {
            return;
        }
        self.before_reduction = Some((self.cwnd, self.ssthresh));
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.ssthresh;
        self.partial_bytes_acked = 0;
        self.recovery_exit = Some(highest_sent);
    }

    /// The fast retransmission that started the last reduction was spurious (the chunk had only
    /// been reordered): the window and threshold from before come back (the Eifel response,
    /// RFC 4015), once.
    pub(super) fn undo_fast_retransmit(&mut self) {
        if let Some((cwnd, ssthresh)) = self.before_reduction.take() {
            self.cwnd = self.cwnd.max(cwnd);
            self.ssthresh = self.ssthresh.max(ssthresh);
            self.recovery_exit = None;
        }
    }

    /// The T3-rtx timer expired: one MTU of window, slow start again (RFC 9260 §7.2.3).
    pub(super) fn on_retransmission_timeout(&mut self) {
        self.before_reduction = None;
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.partial_bytes_acked = 0;
        self.recovery_exit = None;
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
        cc.on_sack(1, true, 5000, 12_000, 7000);
        assert_eq!(cc.cwnd(), 13_200);
        cc.on_sack(2, true, 500, 13_000, 12_500);
        assert_eq!(cc.cwnd(), 13_700);
        cc.on_sack(3, true, 5000, 2000, 0);
        assert_eq!(cc.cwnd(), 13_700, "no growth when the window was not used");
        cc.on_sack(3, false, 5000, 13_700, 8700);
        assert_eq!(cc.cwnd(), 13_700, "no growth when the cumulative TSN stays");
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
            cc.on_sack(tsn, true, 1200, start, start - 1200);
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
        cc.on_sack(99, true, 1200, 24_000, 22_800);
        assert_eq!(cc.cwnd(), 24_000, "no growth during recovery");
        cc.on_sack(100, true, 1200, 24_000, 22_800);
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
        cc.on_sack(11, true, 1200, 1200, 0);
        assert_eq!(cc.cwnd(), 2 * MTU);
    }

    #[test]
    fn a_hostile_window_cannot_grow_the_congestion_window_past_its_ceiling() {
        let mut cc = CongestionControl::new(MTU, 10, u32::MAX);
        for tsn in 0..10_000 {
            cc.on_sack(tsn, true, MTU, MAX_CWND, MAX_CWND);
        }
        assert_eq!(cc.cwnd(), MAX_CWND);
    }
}
