//! Where the association meets its receive side and its send side: their settings taken from
//! the association's, their deadlines combined, and what the association asks of both.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sctp::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use crate::sctp::receive::{IncomingReset, ReceiveSide};
use crate::sctp::send::{SendSide, SendStats};
use crate::sctp::{SctpConfig, SctpError, SctpEvent, SendOptions, StreamId};

/// The association's data: what it receives and what it sends.
pub(super) struct DataPlane {
    receive: ReceiveSide,
    send: SendSide,
    /// The longest a SACK is held (the receive side holds at most RTO / 2 of it).
    delayed_sack_max: Duration,
    /// The cumulative TSN of the last SACK sent: what SHUTDOWN acknowledges.
    last_cumulative_tsn: Tsn,
}

impl DataPlane {
    /// The data plane of an association established at `now` with these initial TSNs; the
    /// handshake's round trip, when it was measured, is the first RTT sample.
    pub(super) fn new(
        now: Instant,
        local_initial_tsn: Tsn,
        peer: (Tsn, u32),
        handshake_rtt: Option<Duration>,
        config: &SctpConfig,
    ) -> Self {
        let (peer_initial_tsn, peer_a_rwnd) = peer;
        let mut send = SendSide::new(local_initial_tsn, peer_a_rwnd, config);
        if let Some(rtt) = handshake_rtt {
            send.seed_rtt(now, rtt);
        }
        let mut receive = ReceiveSide::new(peer_initial_tsn, config);
        receive.set_sack_delay(config.delayed_sack_max.min(send.rto() / 2));
        DataPlane {
            receive,
            send,
            delayed_sack_max: config.delayed_sack_max,
            last_cumulative_tsn: peer_initial_tsn.wrapping_sub(1),
        }
    }

    /// A DATA chunk arrived. Fails on a protocol violation: the association aborts.
    pub(super) fn on_data(&mut self, now: Instant, chunk: DataChunk) -> Result<(), SctpError> {
        self.receive.on_data(now, chunk)
    }

    /// A SACK arrived; the receive side's SACK delay follows the new RTO.
    pub(super) fn on_sack(&mut self, now: Instant, sack: &Sack) {
        self.send.on_sack(now, sack);
        self.receive.set_sack_delay(self.delayed_sack_max.min(self.send.rto() / 2));
    }

    /// A FORWARD-TSN arrived. Fails on a protocol violation: the association aborts.
    pub(super) fn on_forward_tsn(&mut self, now: Instant, forward: &ForwardTsn) -> Result<(), SctpError> {
        self.receive.on_forward_tsn(now, forward)
    }

    /// Every chunk of one packet was handled.
    pub(super) fn on_packet_end(&mut self, now: Instant) {
        self.receive.on_packet_end(now);
    }

    /// The peer resets its outgoing streams (our incoming) after `last_tsn`. Whether the
    /// request was taken: the receive side applies it once every TSN up to `last_tsn` arrived,
    /// holding back what comes after, so an accepted request is answered "performed".
    pub(super) fn reset_incoming(&mut self, streams: &[StreamId], last_tsn: Tsn) -> Result<bool, SctpError> {
        Ok(self.receive.reset_incoming(streams, last_tsn)? != IncomingReset::Denied)
    }

    /// The next received message or reset.
    pub(super) fn poll_event(&mut self) -> Option<SctpEvent> {
        self.receive.poll_event()
    }

    /// A SACK to send now.
    pub(super) fn poll_sack(&mut self, now: Instant) -> Option<Sack> {
        let sack = self.receive.poll_sack(now)?;
        self.last_cumulative_tsn = sack.cumulative_tsn;
        Some(sack)
    }

    /// A FORWARD-TSN to send now.
    pub(super) fn poll_forward_tsn(&mut self, now: Instant) -> Option<ForwardTsn> {
        self.send.poll_forward_tsn(now)
    }

    /// The next DATA chunk that fits in `room` bytes.
    pub(super) fn poll_data(&mut self, now: Instant, room: usize) -> Option<DataChunk> {
        self.send.poll_data(now, room)
    }

    /// A stream id past `max_streams` that DATA came on since the last call, to report.
    pub(super) fn take_invalid_stream(&mut self) -> Option<StreamId> {
        self.receive.take_invalid_stream()
    }

    /// The sides' next deadline.
    pub(super) fn deadline(&self) -> Option<Instant> {
        [self.receive.deadline(), self.send.deadline()].into_iter().flatten().min()
    }

    /// Runs the sides' timers.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        self.receive.handle_timeout(now);
        self.send.handle_timeout(now);
    }

    /// Our packets now take another path: what is in flight goes again on it.
    pub(super) fn on_path_change(&mut self, now: Instant) {
        self.send.on_path_change(now);
    }

    /// New DATA chunks are cut for packets of `mtu` bytes from now on.
    pub(super) fn set_mtu(&mut self, mtu: usize, max_data_payload: usize) {
        self.send.set_mtu(mtu, max_data_payload);
    }

    /// Bytes of DATA sent and not yet acknowledged.
    pub(super) fn in_flight(&self) -> usize {
        self.send.in_flight()
    }

    /// T3-rtx expiries in a row without progress (RFC 9260 §8.1).
    pub(super) fn consecutive_timeouts(&self) -> u32 {
        self.send.consecutive_timeouts()
    }

    /// Queues a message.
    pub(super) fn send(
        &mut self,
        now: Instant,
        stream: StreamId,
        ppid: u32,
        data: Bytes,
        options: SendOptions,
    ) -> Result<(), SctpError> {
        self.send.send(now, stream, ppid, data, options)
    }

    /// The bytes queued on `stream` and not yet sent.
    pub(super) fn buffered_amount(&self, stream: StreamId) -> usize {
        self.send.buffered_amount(stream)
    }

    /// Stops taking new messages on `stream`.
    pub(super) fn pause_stream(&mut self, stream: StreamId) {
        self.send.pause_stream(stream);
    }

    /// Whether everything queued on paused `stream` was sent.
    pub(super) fn is_stream_drained(&self, stream: StreamId) -> bool {
        self.send.is_stream_drained(stream)
    }

    /// Resets the outgoing streams' sequence numbers; the last TSN assigned.
    pub(super) fn reset_outgoing(&mut self, streams: &[StreamId]) -> Tsn {
        self.send.reset_outgoing(streams)
    }

    /// The cumulative TSN of the last SACK sent.
    pub(super) fn cumulative_tsn(&self) -> Tsn {
        self.last_cumulative_tsn
    }

    /// Whether nothing is queued or outstanding (no message waits, no timer of the send side
    /// runs): SHUTDOWN may go.
    pub(super) fn is_idle(&self) -> bool {
        self.send.total_buffered() == 0 && self.send.in_flight() == 0 && self.send.deadline().is_none()
    }

    /// The current retransmission timeout.
    pub(super) fn rto(&self) -> Duration {
        self.send.rto()
    }

    /// The smoothed round-trip time, once measured.
    pub(super) fn smoothed_rtt(&self) -> Option<Duration> {
        self.send.smoothed_rtt()
    }

    /// What the send side did.
    pub(super) fn send_stats(&self) -> SendStats {
        self.send.stats()
    }

    /// The congestion window, in bytes.
    pub(super) fn cwnd(&self) -> usize {
        self.send.cwnd()
    }
}
