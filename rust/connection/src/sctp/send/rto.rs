//! The retransmission timeout from measured round-trip times (RFC 9260 §6.3.1).

use std::time::Duration;

/// The clock granularity G of RFC 9260 §6.3.1: the least the variance term adds.
const GRANULARITY: Duration = Duration::from_millis(1);

/// The smoothed RTT, its variation and the RTO they give, within `[rto_min, rto_max]`.
#[derive(Clone, Debug)]
pub(super) struct RetransmissionTimeout {
    min: Duration,
    max: Duration,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
}

impl RetransmissionTimeout {
    /// Before any measurement: the RTO is `initial` (clamped to the bounds).
    pub(super) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self { min, max, srtt: None, rttvar: Duration::ZERO, rto: initial.clamp(min, max) }
    }

    /// Takes one RTT measurement (RFC 9260 §6.3.1 C2/C3; the caller follows Karn's rule and
    /// measures no retransmitted chunk). A measurement above the RTO's ceiling is discarded.
    pub(super) fn observe(&mut self, rtt: Duration) {
        if rtt > self.max {
            return;
        }
        let (srtt, rttvar) = match self.srtt {
            None => (rtt, rtt / 2),
            Some(srtt) => {
                let deviation = srtt.abs_diff(rtt);
                (srtt * 7 / 8 + rtt / 8, self.rttvar * 3 / 4 + deviation / 4)
            }
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        self.rto = (srtt + (rttvar * 4).max(GRANULARITY)).clamp(self.min, self.max);
    }

    /// The current RTO.
    pub(super) fn rto(&self) -> Duration {
        self.rto
    }

    /// The smoothed RTT, once measured.
    pub(super) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTO's ceiling.
    pub(super) fn max(&self) -> Duration {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn dcsctp_like() -> RetransmissionTimeout {
        RetransmissionTimeout::new(ms(500), ms(400), ms(60_000))
    }

    #[test]
    fn the_initial_rto_holds_until_a_measurement() {
        let rto = dcsctp_like();
        assert_eq!(rto.rto(), ms(500));
        assert_eq!(rto.srtt(), None);
    }

    #[test]
    fn the_first_measurement_sets_srtt_and_half_of_it_as_variance() {
        let mut rto = dcsctp_like();
        rto.observe(ms(300));
        assert_eq!(rto.srtt(), Some(ms(300)));
        assert_eq!(rto.rto(), ms(300 + 4 * 150));
    }

    #[test]
    fn steady_small_rtts_settle_on_the_floor() {
        let mut rto = dcsctp_like();
        for _ in 0..50 {
            rto.observe(ms(20));
        }
        assert_eq!(rto.srtt(), Some(ms(20)));
        assert_eq!(rto.rto(), ms(400), "never under the floor that the peer's delayed SACK needs");
    }

    #[test]
    fn later_measurements_smooth_by_one_eighth_and_one_quarter() {
        let mut rto = RetransmissionTimeout::new(ms(500), ms(1), ms(60_000));
        rto.observe(ms(800));
        rto.observe(ms(400));
        // SRTT = 7/8 800 + 1/8 400 = 750; RTTVAR = 3/4 400 + 1/4 400 = 400.
        assert_eq!(rto.srtt(), Some(ms(750)));
        assert_eq!(rto.rto(), ms(750 + 1600));
    }

    #[test]
    fn the_rto_is_capped_and_absurd_samples_are_ignored() {
        let mut rto = RetransmissionTimeout::new(ms(500), ms(400), ms(2000));
        rto.observe(ms(1500));
        assert_eq!(rto.rto(), ms(2000));
        rto.observe(ms(100_000));
        assert_eq!(rto.srtt(), Some(ms(1500)));
    }
}
