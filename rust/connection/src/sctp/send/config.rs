//! The send side's settings. Stands in for the fields of the association's `SctpConfig` that the
//! send side needs until that type exists; the association builds one from its own.

use std::time::Duration;

/// What the send side needs to know: sizes, the retransmission timeout's bounds, the congestion
/// window's start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SendConfig {
    /// The path MTU in bytes (SCTP common header and chunks included): the unit of the
    /// congestion window.
    pub(crate) mtu: usize,
    /// The most bytes of payload in one DATA chunk (what fits in one packet of `mtu` bytes).
    pub(crate) max_data_payload: usize,
    /// The largest message `send` accepts.
    pub(crate) max_message_size: usize,
    /// The most bytes the send queue holds for the whole association (messages not yet cut
    /// into chunks); past it `send` fails with `SctpError::SendBufferFull`.
    pub(crate) max_buffered: usize,
    /// The retransmission timeout before any RTT was measured (RFC 9260 §6.3.1 C1).
    pub(crate) rto_initial: Duration,
    /// The retransmission timeout's floor: above the peer's delayed SACK (200 ms) plus the RTT.
    pub(crate) rto_min: Duration,
    /// The retransmission timeout's ceiling.
    pub(crate) rto_max: Duration,
    /// The longest the T3-rtx timer backs off to while data is outstanding (dcSCTP's
    /// `max_timer_backoff_duration` as WebRTC sets it: 3 s), unless the RTO itself is longer.
    pub(crate) max_timer_backoff: Duration,
    /// The initial congestion window, in MTUs (10, as dcSCTP and TCP's RFC 6928).
    pub(crate) cwnd_initial_mtus: usize,
    /// How long the peer may hold the SACK of a lone packet (RFC 9260 §6.2: up to 200 ms),
    /// added to the tail-loss probe's wait when a single packet is in flight.
    pub(crate) peer_delayed_ack: Duration,
}

impl Default for SendConfig {
    fn default() -> Self {
        Self {
            mtu: 1200,
            max_data_payload: 1200 - 12 - 16,
            max_message_size: 256 * 1024,
            max_buffered: 1024 * 1024,
            rto_initial: Duration::from_millis(500),
            rto_min: Duration::from_millis(400),
            rto_max: Duration::from_secs(60),
            max_timer_backoff: Duration::from_secs(3),
            cwnd_initial_mtus: 10,
            peer_delayed_ack: Duration::from_millis(200),
        }
    }
}
