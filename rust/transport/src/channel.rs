//! Data channels: a handle the caller owns. Getters read memory; received packets wait in a
//! queue the pump fills; [`DataChannel::send`] hands a packet to the connection's core at once
//! when it can, else queues it for the pump.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI32, AtomicU16, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::BytesMut;
use connection::channels::{ChannelId, ChannelOptions as CoreChannelOptions};
use connection::sctp::Reliability;

use crate::error::TransportError;
use crate::lock::lock;
pub use crate::states::ChannelState;

/// Largest message the SCTP layer accepts unless the remote side announces a smaller one.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 65536;

/// Largest label or protocol, in UTF-8 bytes (W3C `createDataChannel`: longer is a TypeError).
pub const MAX_LABEL_BYTES: usize = 65535;

/// Least number of received, unread bytes a channel may hold, whatever the configuration says:
/// one message of the largest size a channel receives ([`DEFAULT_MAX_MESSAGE_SIZE`]), so that
/// any message fits. Also the default, as the engine's `network/limits/webrtc/max_channel_in_buffer_kb`
/// (64).
pub const MIN_RECEIVE_LIMIT: usize = DEFAULT_MAX_MESSAGE_SIZE;

/// Bytes each queued message counts for besides its payload: its queue entry (32 bytes), so
/// that a flood of empty messages is bounded too.
pub const MESSAGE_OVERHEAD: usize = 32;

/// Most bytes a channel holds not yet sent (what [`DataChannel::buffered_amount`] reports); past it [`DataChannel::send`] refuses with
/// [`TransportError::SendBufferFull`]. 4 MiB: 16 times the most a channel hands SCTP at once
/// (256 KiB) and 4 times what the bench keeps in flight (1 MiB), so a game sending as fast as
/// the path carries never meets it, while a peer that stops acknowledging costs at most this per
/// channel.
pub const MAX_BUFFERED_AMOUNT: usize = 4 * 1024 * 1024;

/// Largest stream id a negotiated channel may take (W3C `createDataChannel`: 65535 and above
/// is a TypeError; 65535 is reserved by RFC 8831).
pub const MAX_CHANNEL_ID: u16 = 65534;

/// Options of a data channel, as in the W3C `RTCDataChannelInit` dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOptions {
    /// Deliver in order.
    pub ordered: bool,
    /// Give up on a packet after this many milliseconds (partial reliability).
    pub max_packet_life_time: Option<u16>,
    /// Give up on a packet after this many retransmissions (partial reliability).
    pub max_retransmits: Option<u16>,
    /// Sub-protocol name.
    pub protocol: String,
    /// `Some(id)` for a channel negotiated out of band with that stream id.
    pub negotiated_id: Option<u16>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        Self {
            ordered: true,
            max_packet_life_time: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated_id: None,
        }
    }
}

impl ChannelOptions {
    /// Whether no message may be lost (neither `maxRetransmits` nor `maxPacketLifeTime` set).
    pub fn is_reliable(&self) -> bool {
        self.max_packet_life_time.is_none() && self.max_retransmits.is_none()
    }

    /// Refuses option sets the W3C `createDataChannel` steps refuse with a TypeError: both
    /// partial-reliability limits at once, a stream id above [`MAX_CHANNEL_ID`], a protocol
    /// longer than [`MAX_LABEL_BYTES`].
    pub fn validate(&self) -> Result<(), TransportError> {
        if self.max_packet_life_time.is_some() && self.max_retransmits.is_some() {
            return Err(TransportError::InvalidConfig(
                "maxPacketLifeTime and maxRetransmits cannot both be set".into(),
            ));
        }
        if let Some(id) = self.negotiated_id.filter(|id| *id > MAX_CHANNEL_ID) {
            return Err(TransportError::InvalidConfig(format!(
                "channel id {id} is out of range (0 to {MAX_CHANNEL_ID}; 65535 is reserved)"
            )));
        }
        if self.protocol.len() > MAX_LABEL_BYTES {
            return Err(TransportError::InvalidConfig(format!(
                "the protocol is {} bytes long; at most {MAX_LABEL_BYTES} are allowed",
                self.protocol.len()
            )));
        }
        Ok(())
    }

    /// The core's options for a channel labelled `label` with these options.
    pub(crate) fn to_core(&self, label: &str) -> CoreChannelOptions {
        let reliability = match (self.max_retransmits, self.max_packet_life_time) {
            (Some(retransmits), _) => Reliability::MaxRetransmits(retransmits),
            (None, Some(milliseconds)) => Reliability::MaxLifetime(Duration::from_millis(milliseconds.into())),
            (None, None) => Reliability::Reliable,
        };
        CoreChannelOptions {
            label: label.to_owned(),
            protocol: self.protocol.clone(),
            ordered: self.ordered,
            reliability,
            negotiated_id: self.negotiated_id,
            ..CoreChannelOptions::default()
        }
    }

    /// The label and options of a channel the remote side opened, as its opening asked.
    pub(crate) fn from_core(options: CoreChannelOptions) -> (String, Self) {
        let (max_retransmits, max_packet_life_time) = match options.reliability {
            Reliability::Reliable => (None, None),
            Reliability::MaxRetransmits(retransmits) => (Some(retransmits), None),
            Reliability::MaxLifetime(lifetime) => (None, Some(u16::try_from(lifetime.as_millis()).unwrap_or(u16::MAX))),
        };
        let ours = Self {
            ordered: options.ordered,
            max_packet_life_time,
            max_retransmits,
            protocol: options.protocol,
            negotiated_id: options.negotiated_id,
        };
        (options.label, ours)
    }
}

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The payload.
    pub data: BytesMut,
    /// Whether the sender sent it as text.
    pub is_string: bool,
}

/// Received messages waiting for [`DataChannel::recv`], and what they count for.
#[derive(Default)]
struct Incoming {
    packets: VecDeque<Packet>,
    /// Payload bytes of `packets` plus [`MESSAGE_OVERHEAD`] each.
    bytes: usize,
}

impl Incoming {
    fn pop(&mut self) -> Option<Packet> {
        let packet = self.packets.pop_front()?;
        self.bytes -= message_cost(&packet);
        Some(packet)
    }
}

/// What a packet counts for against the receive limit.
pub(crate) fn message_cost(packet: &Packet) -> usize {
    packet.data.len() + MESSAGE_OVERHEAD
}

/// State shared between a channel's handle and the pump.
pub(crate) struct ChannelShared {
    label: String,
    options: ChannelOptions,
    /// The core's id for the channel (its stream, which may change once while the DTLS role
    /// is not known yet).
    core_id: AtomicU16,
    /// The SCTP stream id, -1 until known.
    stream_id: AtomicI32,
    state: AtomicU8,
    incoming: Mutex<Incoming>,
    /// Most bytes `incoming` may count.
    receive_limit: usize,
    /// Received messages an unreliable channel dropped to stay within its limit.
    dropped: AtomicUsize,
    /// Packets waiting for room in the core, in order.
    outgoing: Mutex<VecDeque<Packet>>,
    /// Bytes in `outgoing`.
    queued_bytes: AtomicUsize,
    /// Bytes the core holds for this channel and has not sent yet.
    unsent_in_core_bytes: AtomicUsize,
    max_message_size: Arc<AtomicUsize>,
    link: Weak<dyn ChannelSink>,
}

/// Where a channel's handle hands its packets and its close: the connection (its link), held
/// weakly so that a handle outliving its connection refuses to send.
pub(crate) trait ChannelSink: Send + Sync {
    /// Sends a packet of `channel`, at once or behind its queued ones.
    fn send(&self, channel: &ChannelShared, packet: Packet);
    /// Starts closing `channel`.
    fn close_channel(&self, channel: &ChannelShared);
}

impl ChannelShared {
    pub(crate) fn new(
        label: String,
        options: ChannelOptions,
        core_id: ChannelId,
        limits: ChannelLimits,
        link: Weak<dyn ChannelSink>,
    ) -> Arc<Self> {
        let ChannelLimits { max_message_size, receive_limit } = limits;
        let stream_id = options.negotiated_id.map_or(-1, i32::from);
        Arc::new(Self {
            label,
            options,
            core_id: AtomicU16::new(core_id.0),
            stream_id: AtomicI32::new(stream_id),
            state: AtomicU8::new(ChannelState::Connecting as u8),
            incoming: Mutex::default(),
            receive_limit: receive_limit.max(MIN_RECEIVE_LIMIT),
            dropped: AtomicUsize::new(0),
            outgoing: Mutex::default(),
            queued_bytes: AtomicUsize::new(0),
            unsent_in_core_bytes: AtomicUsize::new(0),
            max_message_size,
            link,
        })
    }

    /// The core's id for the channel.
    pub(crate) fn core_id(&self) -> ChannelId {
        ChannelId(self.core_id.load(Ordering::Acquire))
    }

    /// The channel took another id in the core (opened before the DTLS role was known).
    pub(crate) fn set_core_id(&self, id: ChannelId) {
        self.core_id.store(id.0, Ordering::Release);
    }

    /// Whether every message is delivered (no partial-reliability limit).
    pub(crate) fn is_reliable(&self) -> bool {
        self.options.is_reliable()
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn state(&self) -> ChannelState {
        ChannelState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn set_state(&self, state: ChannelState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves to `state` unless the channel is already closed.
    pub(crate) fn advance_state(&self, state: ChannelState) {
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            (current != ChannelState::Closed as u8).then_some(state as u8)
        });
    }

    /// The SCTP stream id, -1 until known.
    pub(crate) fn stream_id(&self) -> i32 {
        self.stream_id.load(Ordering::Acquire)
    }

    pub(crate) fn set_stream_id(&self, id: u16) {
        self.stream_id.store(i32::from(id), Ordering::Release);
    }

    /// Whether this channel holds the negotiated stream id `id` (it does until it is closed).
    pub(crate) fn holds_id(&self, id: u16) -> bool {
        self.options.negotiated_id == Some(id) && self.state() != ChannelState::Closed
    }

    /// How many more bytes of received packets (as counted, [`MESSAGE_OVERHEAD`] each included)
    /// the channel takes now, and whether its queue is empty (an empty queue takes any one
    /// packet). An unreliable, closing or closed channel takes everything (it drops its oldest
    /// packets; a closing one is not read any more, and a closed one drops them all).
    pub(crate) fn room(&self) -> (usize, bool) {
        if !self.options.is_reliable() || matches!(self.state(), ChannelState::Closing | ChannelState::Closed) {
            return (usize::MAX, true);
        }
        let incoming = lock(&self.incoming);
        (self.receive_limit.saturating_sub(incoming.bytes), incoming.packets.is_empty())
    }

    /// Hands received packets to the handle. A reliable channel takes them all (the pump gives it
    /// only what fits its [`room`](Self::room)); an unreliable one drops its oldest packets to stay
    /// within the receive limit. A closing or closed channel drops them.
    pub(crate) fn deliver(&self, packets: impl IntoIterator<Item = Packet>) {
        if matches!(self.state(), ChannelState::Closing | ChannelState::Closed) {
            return;
        }
        let reliable = self.options.is_reliable();
        let mut incoming = lock(&self.incoming);
        let mut dropped = 0;
        for packet in packets {
            let cost = message_cost(&packet);
            if !reliable {
                while incoming.bytes + cost > self.receive_limit && incoming.pop().is_some() {
                    dropped += 1;
                }
            }
            incoming.bytes += cost;
            incoming.packets.push_back(packet);
        }
        if dropped > 0 {
            let total = self.dropped.fetch_add(dropped, Ordering::AcqRel) + dropped;
            log::debug!(
                "data channel '{}': {dropped} unread messages dropped for newer ones ({total} in all)",
                self.label
            );
        }
    }

    /// The most bytes the channel holds received and unread.
    pub(crate) fn receive_limit(&self) -> usize {
        self.receive_limit
    }

    /// Queues a packet behind those waiting for room in the core.
    pub(crate) fn queue(&self, packet: Packet) {
        self.queued_bytes.fetch_add(packet.data.len(), Ordering::AcqRel);
        lock(&self.outgoing).push_back(packet);
    }

    /// Whether packets wait for room in the core.
    pub(crate) fn has_queued(&self) -> bool {
        self.queued_bytes.load(Ordering::Acquire) > 0 || !lock(&self.outgoing).is_empty()
    }

    /// Takes the next waiting packet.
    pub(crate) fn next_queued(&self) -> Option<Packet> {
        let packet = lock(&self.outgoing).pop_front()?;
        self.queued_bytes.fetch_sub(packet.data.len(), Ordering::AcqRel);
        Some(packet)
    }

    /// Puts back a packet the core could not take, first in line.
    pub(crate) fn requeue(&self, packet: Packet) {
        self.queued_bytes.fetch_add(packet.data.len(), Ordering::AcqRel);
        lock(&self.outgoing).push_front(packet);
    }

    /// Drops every waiting packet (the channel closed).
    pub(crate) fn drop_queued(&self) {
        lock(&self.outgoing).clear();
        self.queued_bytes.store(0, Ordering::Release);
    }

    /// Bytes the core holds for this channel and has not sent yet.
    pub(crate) fn unsent_in_core(&self) -> usize {
        self.unsent_in_core_bytes.load(Ordering::Acquire)
    }

    pub(crate) fn set_unsent_in_core(&self, bytes: usize) {
        self.unsent_in_core_bytes.store(bytes, Ordering::Release);
    }
}

/// A WebRTC data channel. Cheap to clone; all clones are the same channel.
#[derive(Clone)]
pub struct DataChannel {
    shared: Arc<ChannelShared>,
}

impl DataChannel {
    pub(crate) fn new(shared: Arc<ChannelShared>) -> Self {
        Self { shared }
    }

    /// The channel's label.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// The options the channel was created with (or announced by the remote side).
    pub fn options(&self) -> &ChannelOptions {
        &self.shared.options
    }

    /// The SCTP stream id; -1 until it is known (an in-band channel learns it once the DTLS
    /// roles are settled).
    pub fn id(&self) -> i32 {
        self.shared.stream_id()
    }

    /// The current ready state.
    pub fn ready_state(&self) -> ChannelState {
        self.shared.state()
    }

    /// Largest packet [`send`](Self::send) accepts.
    pub fn max_message_size(&self) -> usize {
        self.shared.max_message_size.load(Ordering::Acquire)
    }

    /// Bytes handed to [`send`](Self::send) and not sent yet (as the W3C `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Acquire) + self.shared.unsent_in_core_bytes.load(Ordering::Acquire)
    }

    /// Number of received packets waiting in [`recv`](Self::recv).
    pub fn available_packets(&self) -> usize {
        lock(&self.shared.incoming).packets.len()
    }

    /// The most bytes of received, unread packets the channel holds (payload plus
    /// [`MESSAGE_OVERHEAD`] each): past it an unreliable channel drops its oldest packets, and a
    /// reliable one holds the connection (nothing more is read from it) until the game reads, for
    /// at most [`HOLD_LIMIT`]; then it is closed with [`TransportError::ReceiveBufferOverflow`].
    pub fn receive_limit(&self) -> usize {
        self.shared.receive_limit
    }

    /// Received packets this (unreliable) channel dropped, oldest first, to stay within
    /// [`receive_limit`](Self::receive_limit).
    pub fn dropped_packets(&self) -> usize {
        self.shared.dropped.load(Ordering::Acquire)
    }

    /// Takes the next received packet.
    pub fn recv(&self) -> Option<Packet> {
        lock(&self.shared.incoming).pop()
    }

    /// Takes received packets, oldest first, while they fit in `budget` bytes (each counts its
    /// payload and [`MESSAGE_OVERHEAD`]); the rest stay queued (one lock for the lot).
    pub fn recv_within(&self, budget: usize) -> VecDeque<Packet> {
        let mut incoming = lock(&self.shared.incoming);
        if incoming.bytes <= budget {
            return std::mem::take(&mut *incoming).packets;
        }
        let mut taken = VecDeque::new();
        let mut left = budget;
        while let Some(cost) = incoming.packets.front().map(message_cost).filter(|cost| *cost <= left) {
            left -= cost;
            taken.extend(incoming.pop());
        }
        taken
    }

    /// Takes every received packet at once (one lock for the lot).
    pub fn recv_all(&self) -> VecDeque<Packet> {
        std::mem::take(&mut *lock(&self.shared.incoming)).packets
    }

    /// Sends a packet, or queues it if the connection is busy. Never waits. Refused when the
    /// channel is not open, the packet is over [`max_message_size`](Self::max_message_size), or
    /// it would take [`buffered_amount`](Self::buffered_amount) past [`MAX_BUFFERED_AMOUNT`].
    pub fn send(&self, data: &[u8], is_string: bool) -> Result<(), TransportError> {
        if self.ready_state() != ChannelState::Open {
            return Err(TransportError::ChannelNotOpen);
        }
        let max = self.max_message_size();
        if data.len() > max {
            return Err(TransportError::PacketTooLarge { size: data.len(), max });
        }
        let buffered = self.buffered_amount();
        if buffered + data.len() > MAX_BUFFERED_AMOUNT {
            return Err(TransportError::SendBufferFull { buffered, limit: MAX_BUFFERED_AMOUNT });
        }
        let link = self.shared.link.upgrade().ok_or(TransportError::ChannelNotOpen)?;
        link.send(&self.shared, Packet { data: BytesMut::from(data), is_string });
        Ok(())
    }

    /// Starts closing the channel; the state becomes `Closed` once the remote side agrees.
    pub fn close(&self) {
        if matches!(self.ready_state(), ChannelState::Closed | ChannelState::Closing) {
            return;
        }
        self.shared.advance_state(ChannelState::Closing);
        match self.shared.link.upgrade() {
            Some(link) => link.close_channel(&self.shared),
            None => self.shared.set_state(ChannelState::Closed),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<ChannelShared> {
        &self.shared
    }
}

/// How long a reliable channel may stay full, with a message for it waiting, before it is closed
/// with [`TransportError::ReceiveBufferOverflow`]. Meanwhile the pump reads nothing more from the
/// connection, so SCTP's receive window closes and the sender waits (back-pressure for the whole
/// connection): a game that reads every frame never meets the limit, whatever arrives at once,
/// while a channel nobody reads holds the connection for at most this long.
pub const HOLD_LIMIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What a channel is made with besides its label and options.
pub(crate) struct ChannelLimits {
    /// The connection's largest message, shared by its channels.
    pub(crate) max_message_size: Arc<AtomicUsize>,
    /// Most received, unread bytes (at least [`MIN_RECEIVE_LIMIT`] is used).
    pub(crate) receive_limit: usize,
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel").field("label", &self.label()).field("id", &self.id()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that never was (a handle whose connection is gone).
    struct NoConnection;

    impl ChannelSink for NoConnection {
        fn send(&self, _: &ChannelShared, _: Packet) {}
        fn close_channel(&self, _: &ChannelShared) {}
    }

    fn handle(options: ChannelOptions) -> DataChannel {
        let limits = ChannelLimits { max_message_size: Arc::new(AtomicUsize::new(8)), receive_limit: 0 };
        let gone: Weak<dyn ChannelSink> = Weak::<NoConnection>::new();
        DataChannel::new(ChannelShared::new("x".into(), options, ChannelId(0), limits, gone))
    }

    fn closed_handle() -> DataChannel {
        handle(ChannelOptions::default())
    }

    fn packet(byte: u8) -> Packet {
        Packet { data: BytesMut::from(&[byte; 1000][..]), is_string: false }
    }

    /// Packets of 1000 bytes that fill the least receive limit.
    const FILL: usize = MIN_RECEIVE_LIMIT / (1000 + MESSAGE_OVERHEAD);

    #[test]
    fn an_unreliable_channel_drops_its_oldest_packets_past_its_limit() {
        let channel = handle(ChannelOptions { max_retransmits: Some(0), ..Default::default() });
        assert_eq!(channel.shared().room(), (usize::MAX, true), "an unreliable channel takes everything");
        channel.shared().deliver((0..=255u8).map(packet));
        assert_eq!(channel.available_packets(), FILL);
        assert_eq!(channel.dropped_packets(), 256 - FILL);
        let kept: Vec<u8> = channel.recv_all().iter().map(|packet| packet.data[0]).collect();
        assert_eq!(kept, ((256 - FILL) as u8..=255).collect::<Vec<_>>(), "the newest are kept, in order");
    }

    #[test]
    fn a_reliable_channel_reports_its_room_and_never_drops_a_packet() {
        let channel = handle(ChannelOptions::default());
        assert_eq!(channel.shared().room(), (MIN_RECEIVE_LIMIT, true));
        channel.shared().deliver((0..FILL as u8).map(packet));
        let (room, empty) = channel.shared().room();
        assert!(!empty && room < 1000 + MESSAGE_OVERHEAD, "full: {room} bytes of room");
        assert_eq!(channel.dropped_packets(), 0);
        channel.recv();
        assert_eq!(channel.shared().room().0, room + 1000 + MESSAGE_OVERHEAD, "reading makes room");
    }

    #[test]
    fn receiving_within_a_budget_leaves_the_rest_queued_in_order() {
        let channel = handle(ChannelOptions::default());
        channel.shared().deliver((0..5u8).map(packet));
        let taken: Vec<u8> =
            channel.recv_within(2 * (1000 + MESSAGE_OVERHEAD) + 10).iter().map(|p| p.data[0]).collect();
        assert_eq!(taken, [0, 1]);
        assert!(channel.recv_within(1000).is_empty(), "a packet larger than the budget stays");
        let rest: Vec<u8> = channel.recv_within(usize::MAX).iter().map(|p| p.data[0]).collect();
        assert_eq!(rest, [2, 3, 4]);
        assert_eq!(channel.shared().room(), (MIN_RECEIVE_LIMIT, true));
    }

    #[test]
    fn empty_packets_count_against_the_limit() {
        let channel = handle(ChannelOptions::default());
        let empty = || Packet { data: BytesMut::new(), is_string: false };
        channel.shared().deliver((0..MIN_RECEIVE_LIMIT / MESSAGE_OVERHEAD).map(|_| empty()));
        assert_eq!(channel.shared().room(), (0, false));
    }

    #[test]
    fn lifetime_and_retransmits_together_are_refused() {
        let options = ChannelOptions { max_packet_life_time: Some(1), max_retransmits: Some(1), ..Default::default() };
        assert!(options.validate().is_err());
        assert!(ChannelOptions { max_retransmits: Some(1), ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn send_before_open_is_refused() {
        let channel = closed_handle();
        assert_eq!(channel.send(b"hi", false), Err(TransportError::ChannelNotOpen));
    }

    #[test]
    fn oversized_packet_is_refused() {
        let channel = closed_handle();
        channel.shared().set_state(ChannelState::Open);
        assert_eq!(channel.send(&[0; 9], false), Err(TransportError::PacketTooLarge { size: 9, max: 8 }));
    }

    #[test]
    fn a_channel_without_its_connection_refuses_to_send() {
        let channel = closed_handle();
        channel.shared().set_state(ChannelState::Open);
        assert_eq!(channel.send(b"hi", false), Err(TransportError::ChannelNotOpen));
    }

    #[test]
    fn closed_state_is_final() {
        let channel = closed_handle();
        channel.shared().set_state(ChannelState::Closed);
        channel.shared().advance_state(ChannelState::Open);
        assert_eq!(channel.ready_state(), ChannelState::Closed);
    }

    #[test]
    fn queued_packets_count_as_buffered_and_keep_their_order() {
        let channel = closed_handle();
        let shared = channel.shared();
        shared.queue(Packet { data: BytesMut::from(&b"one"[..]), is_string: false });
        shared.queue(Packet { data: BytesMut::from(&b"three"[..]), is_string: false });
        assert_eq!(channel.buffered_amount(), 8);
        let first = shared.next_queued().expect("a packet");
        shared.requeue(first);
        assert_eq!(shared.next_queued().map(|packet| packet.data.len()), Some(3));
        assert_eq!(channel.buffered_amount(), 5);
    }
}
