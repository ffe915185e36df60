//! Data channels: a handle the caller owns, backed by two tasks on the shared runtime.
//!
//! The handle answers every getter from memory. Outgoing packets go through a queue to a writer
//! task; incoming packets are queued by a reader task and taken with [`DataChannel::recv`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel as RtcDataChannel, DataChannelEvent, RTCDataChannelInit};

use crate::error::TransportError;

/// Events the reader takes from webrtc before handing them over at once.
const READ_BATCH: usize = 256;

/// Largest message the SCTP layer accepts unless the remote side announces a smaller one.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 65536;

/// Largest label or protocol, in UTF-8 bytes (W3C `createDataChannel`: longer is a TypeError).
pub const MAX_LABEL_BYTES: usize = 65535;

/// Largest stream id a negotiated channel may take (W3C `createDataChannel`: 65535 and above
/// is a TypeError; 65535 is reserved by RFC 8831).
pub const MAX_CHANNEL_ID: u16 = 65534;

/// The ready state of a channel, numbered as Godot's `WebRTCDataChannel.ChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ChannelState {
    /// Created; the connection or the channel handshake is not done yet.
    Connecting = 0,
    /// Packets can be sent and received.
    Open = 1,
    /// Close was requested; the channel is shutting down.
    Closing = 2,
    /// The channel is closed for good.
    Closed = 3,
}

impl ChannelState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Open,
            2 => Self::Closing,
            _ => Self::Closed,
        }
    }
}

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

    pub(crate) fn to_rtc(&self) -> RTCDataChannelInit {
        RTCDataChannelInit {
            ordered: self.ordered,
            max_packet_life_time: self.max_packet_life_time,
            max_retransmits: self.max_retransmits,
            protocol: self.protocol.clone(),
            negotiated: self.negotiated_id,
        }
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

pub(crate) enum Outgoing {
    Message(Packet),
    Close,
}

/// State shared between a channel's handle and its tasks.
pub(crate) struct ChannelShared {
    label: String,
    options: ChannelOptions,
    state: AtomicU8,
    incoming: Mutex<VecDeque<Packet>>,
    buffered_amount: AtomicUsize,
    max_message_size: Arc<AtomicUsize>,
}

impl ChannelShared {
    pub(crate) fn new(label: String, options: ChannelOptions, max_message_size: Arc<AtomicUsize>) -> Arc<Self> {
        Arc::new(Self {
            label,
            options,
            state: AtomicU8::new(ChannelState::Connecting as u8),
            incoming: Mutex::new(VecDeque::new()),
            buffered_amount: AtomicUsize::new(0),
            max_message_size,
        })
    }

    pub(crate) fn set_state(&self, state: ChannelState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Moves to `state` unless the channel is already closed.
    fn advance_state(&self, state: ChannelState) {
        let _ = self.state.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
            (current != ChannelState::Closed as u8).then_some(state as u8)
        });
    }

    pub(crate) fn options(&self) -> &ChannelOptions {
        &self.options
    }

    /// Whether this channel holds the negotiated stream id `id` (it does until it is closed).
    pub(crate) fn holds_id(&self, id: u16) -> bool {
        self.options.negotiated_id == Some(id)
            && ChannelState::from_u8(self.state.load(Ordering::Acquire)) != ChannelState::Closed
    }
}

/// A WebRTC data channel. Cheap to clone; all clones are the same channel.
#[derive(Clone)]
pub struct DataChannel {
    shared: Arc<ChannelShared>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

impl DataChannel {
    pub(crate) fn new(shared: Arc<ChannelShared>) -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (outgoing, receiver) = mpsc::unbounded_channel();
        (Self { shared, outgoing }, receiver)
    }

    /// The channel's label.
    pub fn label(&self) -> &str {
        &self.shared.label
    }

    /// The options the channel was created with (or announced by the remote side).
    pub fn options(&self) -> &ChannelOptions {
        &self.shared.options
    }

    /// The SCTP stream id of a negotiated channel; -1 for a channel opened in-band, whose
    /// stream id the webrtc crate does not expose.
    pub fn id(&self) -> i32 {
        self.shared.options.negotiated_id.map_or(-1, i32::from)
    }

    /// The current ready state.
    pub fn ready_state(&self) -> ChannelState {
        ChannelState::from_u8(self.shared.state.load(Ordering::Acquire))
    }

    /// Largest packet [`send`](Self::send) accepts.
    pub fn max_message_size(&self) -> usize {
        self.shared.max_message_size.load(Ordering::Acquire)
    }

    /// Bytes handed to [`send`](Self::send) that the SCTP layer has not taken yet.
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered_amount.load(Ordering::Acquire)
    }

    /// Number of received packets waiting in [`recv`](Self::recv).
    pub fn available_packets(&self) -> usize {
        self.incoming().len()
    }

    /// Takes the next received packet.
    pub fn recv(&self) -> Option<Packet> {
        self.incoming().pop_front()
    }

    /// Takes every received packet at once (one lock for the lot).
    pub fn recv_all(&self) -> VecDeque<Packet> {
        std::mem::take(&mut *self.incoming())
    }

    /// Queues a packet for sending. Never waits.
    pub fn send(&self, data: &[u8], is_string: bool) -> Result<(), TransportError> {
        if self.ready_state() != ChannelState::Open {
            return Err(TransportError::ChannelNotOpen);
        }
        let max = self.max_message_size();
        if data.len() > max {
            return Err(TransportError::PacketTooLarge { size: data.len(), max });
        }
        self.shared.buffered_amount.fetch_add(data.len(), Ordering::AcqRel);
        let packet = Packet { data: BytesMut::from(data), is_string };
        self.outgoing.send(Outgoing::Message(packet)).map_err(|_| {
            self.shared.buffered_amount.fetch_sub(data.len(), Ordering::AcqRel);
            TransportError::ChannelNotOpen
        })
    }

    /// Starts closing the channel; the state becomes `Closed` once the remote side agrees.
    pub fn close(&self) {
        if matches!(self.ready_state(), ChannelState::Closed | ChannelState::Closing) {
            return;
        }
        self.shared.advance_state(ChannelState::Closing);
        if self.outgoing.send(Outgoing::Close).is_err() {
            self.shared.set_state(ChannelState::Closed);
        }
    }

    pub(crate) fn shared(&self) -> &Arc<ChannelShared> {
        &self.shared
    }

    fn incoming(&self) -> std::sync::MutexGuard<'_, VecDeque<Packet>> {
        self.shared.incoming.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::fmt::Debug for DataChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataChannel").field("label", &self.label()).field("id", &self.id()).finish()
    }
}

/// Connects a handle's shared state to a live webrtc channel: one task reads, one writes.
pub(crate) fn attach(
    channel: Arc<dyn RtcDataChannel>,
    shared: Arc<ChannelShared>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
) {
    let reader_channel = Arc::clone(&channel);
    let reader_shared = Arc::clone(&shared);
    tokio::spawn(async move {
        // Events that are ready are taken together, so the queue is locked once per batch.
        let mut batch = Vec::new();
        'events: while let Some(first) = reader_channel.poll().await {
            batch.push(first);
            while batch.len() < READ_BATCH {
                match reader_channel.poll().now_or_never() {
                    Some(Some(event)) => batch.push(event),
                    Some(None) => break,
                    None => break,
                }
            }
            let mut closed = false;
            let mut incoming = reader_shared.incoming.lock().unwrap_or_else(|p| p.into_inner());
            for event in batch.drain(..) {
                match event {
                    DataChannelEvent::OnOpen => reader_shared.advance_state(ChannelState::Open),
                    DataChannelEvent::OnClosing => reader_shared.advance_state(ChannelState::Closing),
                    DataChannelEvent::OnClose => closed = true,
                    DataChannelEvent::OnMessage(message) => {
                        incoming.push_back(Packet { data: message.data, is_string: message.is_string });
                    }
                    _ => {}
                }
            }
            if closed {
                break 'events;
            }
        }
        reader_shared.set_state(ChannelState::Closed);
    });
    tokio::spawn(async move {
        while let Some(command) = outgoing.recv().await {
            match command {
                Outgoing::Message(packet) => {
                    let size = packet.data.len();
                    let sent = if packet.is_string {
                        channel.send_text(&String::from_utf8_lossy(&packet.data)).await
                    } else {
                        channel.send(packet.data).await
                    };
                    shared.buffered_amount.fetch_sub(size, Ordering::AcqRel);
                    if let Err(error) = sent {
                        log::debug!("data channel '{}': send failed: {error}", shared.label);
                    }
                }
                Outgoing::Close => {
                    if let Err(error) = channel.close().await {
                        log::debug!("data channel '{}': close failed: {error}", shared.label);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed_handle() -> DataChannel {
        let shared = ChannelShared::new("x".into(), ChannelOptions::default(), Arc::new(AtomicUsize::new(8)));
        DataChannel::new(shared).0
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
    fn closed_state_is_final() {
        let channel = closed_handle();
        channel.shared().set_state(ChannelState::Closed);
        channel.shared().advance_state(ChannelState::Open);
        assert_eq!(channel.ready_state(), ChannelState::Closed);
    }
}
