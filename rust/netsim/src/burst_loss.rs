//! Loss that comes in bursts: counted in datagrams, or on virtual time.

use std::time::Duration;

/// Burst loss on one direction: a good and a bad state, datagrams lost while bad.
///
/// Two models:
/// - [`BurstLoss::Timed`] ([`BurstLoss::timed`]): bad periods on **virtual time**, as on a real
///   path (Wi-Fi interference, a congested queue for tens of milliseconds). A sender that goes
///   quiet leaves a burst behind by waiting; a sparse sender loses the same share of its
///   datagrams as a dense one. What tests of a connection mean by "bursty loss".
/// - [`BurstLoss::PerDatagram`] ([`BurstLoss::bursts`]): a Gilbert-Elliott chain stepped once
///   per datagram sent, whatever the time between them: bursts counted in datagrams (n in a
///   row). A sender that sends once a second stays inside such a burst for seconds, which no
///   real path does; use it only where "n datagrams in a row" is what a test means.
///
/// Both keep the crate's determinism: each datagram takes one draw for the state (before the
/// datagram is judged) and one for its loss, whatever the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BurstLoss {
    /// Good and bad periods of exponentially distributed length on virtual time: bad periods of
    /// `mean_burst` on average, making up `average_loss` (0.0 to 1.0) of the time; every
    /// datagram sent while bad is lost.
    ///
    /// The periods are not drawn one by one: being memoryless, the state at a datagram's send
    /// time depends only on the state at the direction's previous datagram and the time since,
    /// so the link draws it with the one state draw each datagram takes, from the exact
    /// probability (a two-state continuous-time Markov chain). The first datagram of a direction
    /// finds the link bad with probability `average_loss` (it has been running forever);
    /// datagrams sent at the same instant share their state.
    ///
    /// So the n-th datagram's luck depends on the seed, its send time and the send times of the
    /// datagrams before it in its direction, never on the other direction's traffic: the same
    /// seed, configuration and calls give the same deliveries.
    Timed {
        /// Share of the time the link is bad (and so of the datagrams lost, however sparse).
        average_loss: f64,
        /// Mean length of a bad period.
        mean_burst: Duration,
    },
    /// A Gilbert-Elliott chain stepped once per datagram sent: before each datagram is judged,
    /// a good link turns bad with probability `p_enter_bad` and a bad one good with
    /// `p_leave_bad`; a datagram is lost with probability `loss_in_bad` while bad.
    ///
    /// With `loss_in_bad` 1.0 a burst lasts `1 / p_leave_bad` datagrams on average, and the
    /// link is bad for a fraction `p_enter_bad / (p_enter_bad + p_leave_bad)` of the datagrams.
    PerDatagram {
        /// Probability, per datagram, that a good link turns bad (before the datagram is judged).
        p_enter_bad: f64,
        /// Probability, per datagram, that a bad link turns good (before the datagram is judged).
        p_leave_bad: f64,
        /// Probability that a datagram is lost while the link is bad.
        loss_in_bad: f64,
    },
}

impl BurstLoss {
    /// Bad periods of `mean_burst` on average on virtual time, making up `average_loss` (0.0 to
    /// 1.0) of the time and so of the datagrams, however often they are sent. See
    /// [`BurstLoss::Timed`].
    ///
    /// `average_loss` at or past 1.0 keeps the link bad, at or below 0.0 (or NaN) good; a
    /// `mean_burst` of zero makes the loss independent.
    pub fn timed(average_loss: f64, mean_burst: Duration) -> BurstLoss {
        BurstLoss::Timed { average_loss, mean_burst }
    }

    /// Bursts of `mean_burst` datagrams in a row on average (every datagram lost while bad)
    /// making up an average loss of `average_loss` (0.0 to below 1.0) of the datagrams,
    /// whatever the time between them. See [`BurstLoss::PerDatagram`]; a burst in time is
    /// [`BurstLoss::timed`].
    ///
    /// `mean_burst` below 1.0 is taken as 1.0; `average_loss` at or past 1.0 keeps the link bad.
    pub fn bursts(average_loss: f64, mean_burst: f64) -> BurstLoss {
        let p_leave_bad = 1.0 / mean_burst.max(1.0);
        let p_enter_bad = if average_loss >= 1.0 {
            1.0
        } else {
            (average_loss.max(0.0) * p_leave_bad / (1.0 - average_loss.max(0.0))).min(1.0)
        };
        let p_leave_bad = if average_loss >= 1.0 { 0.0 } else { p_leave_bad };
        BurstLoss::PerDatagram { p_enter_bad, p_leave_bad, loss_in_bad: 1.0 }
    }

    /// Probability that the state (`bad` or not at the direction's previous datagram) flips
    /// before a datagram sent `elapsed` after that one (`None`: the direction's first datagram).
    pub(crate) fn p_switch(&self, bad: bool, elapsed: Option<Duration>) -> f64 {
        match *self {
            BurstLoss::PerDatagram { p_enter_bad, p_leave_bad, .. } => {
                if bad {
                    p_leave_bad
                } else {
                    p_enter_bad
                }
            }
            BurstLoss::Timed { average_loss, mean_burst } => {
                if elapsed == Some(Duration::ZERO) {
                    return 0.0;
                }
                let bad_share = if average_loss.is_nan() { 0.0 } else { average_loss.clamp(0.0, 1.0) };
                // The chain leaves bad at rate 1 / mean_burst and enters it at rate
                // bad_share / ((1 - bad_share) mean_burst): together 1 / ((1 - bad_share) mean_burst).
                // After `elapsed` it has forgotten where it was but for exp(-elapsed * that rate).
                let remembered = match elapsed {
                    None => 0.0,
                    Some(elapsed) => {
                        let rate_time = elapsed.as_secs_f64() / ((1.0 - bad_share) * mean_burst.as_secs_f64());
                        // 0/0 cannot happen (elapsed > 0); x/0 is infinite and forgets all.
                        (-rate_time).exp()
                    }
                };
                let towards = if bad { 1.0 - bad_share } else { bad_share };
                towards * (1.0 - remembered)
            }
        }
    }

    /// Probability that a datagram sent while the link is bad is lost.
    pub(crate) fn loss_in_bad(&self) -> f64 {
        match *self {
            BurstLoss::Timed { .. } => 1.0,
            BurstLoss::PerDatagram { loss_in_bad, .. } => loss_in_bad,
        }
    }
}
