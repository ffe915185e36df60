//! Where the association meets its receive and send sides.
//!
//! Placeholder until the receive side (`sctp/receive`) and the send side (`sctp/send`) land:
//! it carries no data, so the handshake, shutdown and control chunks can be built and tested
//! first. Its methods are the sides' interfaces, which replace these bodies.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sctp::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use crate::sctp::{SctpConfig, SctpError, SctpEvent, SendOptions, StreamId};

/// The association's data: what it receives and what it sends.
pub(super) struct DataPlane {
    cumulative_tsn: Tsn,
    rto: Duration,
}

impl DataPlane {
    /// The data plane of a new association.
    pub(super) fn new(_local_initial_tsn: Tsn, peer_initial_tsn: Tsn, _peer_a_rwnd: u32, config: &SctpConfig) -> Self {
        DataPlane { cumulative_tsn: peer_initial_tsn.wrapping_sub(1), rto: config.rto_initial }
    }

    /// A DATA chunk arrived.
    pub(super) fn on_data(&mut self, _now: Instant, _chunk: DataChunk) -> Result<(), SctpError> {
        Ok(())
    }

    /// A SACK arrived.
    pub(super) fn on_sack(&mut self, _now: Instant, _sack: &Sack) {}

    /// A FORWARD-TSN arrived.
    pub(super) fn on_forward_tsn(&mut self, _now: Instant, _forward: &ForwardTsn) {}

    /// Every chunk of one packet was handled.
    pub(super) fn on_packet_end(&mut self, _now: Instant) {}

    /// The peer reset its outgoing streams (ours incoming) after `last_tsn`.
    pub(super) fn reset_incoming(&mut self, _streams: &[StreamId], _last_tsn: Tsn) {}

    /// The next received message or reset.
    pub(super) fn poll_event(&mut self) -> Option<SctpEvent> {
        None
    }

    /// A SACK to send now.
    pub(super) fn poll_sack(&mut self, _now: Instant) -> Option<Sack> {
        None
    }

    /// A FORWARD-TSN to send now.
    pub(super) fn poll_forward_tsn(&mut self, _now: Instant) -> Option<ForwardTsn> {
        None
    }

    /// The next DATA chunk that fits in `room` bytes.
    pub(super) fn poll_data(&mut self, _now: Instant, _room: usize) -> Option<DataChunk> {
        None
    }

    /// The sides' next deadline.
    pub(super) fn deadline(&self) -> Option<Instant> {
        None
    }

    /// The sides' timers.
    pub(super) fn handle_timeout(&mut self, _now: Instant) {}

    /// Queues a message.
    pub(super) fn send(
        &mut self,
        _now: Instant,
        _stream: StreamId,
        _ppid: u32,
        _data: Bytes,
        _options: SendOptions,
    ) -> Result<(), SctpError> {
        Err(SctpError::NotConnected)
    }

    /// The bytes queued on `stream` and not yet acknowledged.
    pub(super) fn buffered_amount(&self, _stream: StreamId) -> usize {
        0
    }

    /// Stops taking new messages of `stream` into packets.
    pub(super) fn pause_stream(&mut self, _stream: StreamId) {}

    /// Whether everything sent on `stream` was acknowledged or abandoned.
    pub(super) fn is_stream_drained(&self, _stream: StreamId) -> bool {
        true
    }

    /// Resets the outgoing streams' sequence numbers; the last TSN assigned.
    pub(super) fn reset_outgoing(&mut self, _streams: &[StreamId]) -> Tsn {
        0
    }

    /// The last TSN received without a gap.
    pub(super) fn cumulative_tsn(&self) -> Tsn {
        self.cumulative_tsn
    }

    /// Whether nothing is queued or in flight.
    pub(super) fn is_idle(&self) -> bool {
        true
    }

    /// The current retransmission timeout.
    pub(super) fn rto(&self) -> Duration {
        self.rto
    }
}
