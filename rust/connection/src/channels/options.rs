//! What a data channel is: its name, sub-protocol, delivery order, reliability, priority and,
//! for a channel negotiated out of band, its stream id.

use super::dcep::{OpenMessage, MAX_WIRE_LABEL_BYTES};
use super::stream_ids::RESERVED_STREAM;
use super::{ChannelError, ChannelLimits};
use crate::sctp::{Reliability, SendOptions};

/// The priority of a channel with no stated one ("normal", RFC 8831 §6.4 / W3C
/// `RTCPriorityType`: 128 below normal, 256 normal, 512 high, 1024 extra high).
pub const DEFAULT_PRIORITY: u16 = 256;

/// A data channel's options, as its opener asked for them (W3C `RTCDataChannelInit` plus the
/// label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelOptions {
    /// The channel's name.
    pub label: String,
    /// Its sub-protocol (empty for none).
    pub protocol: String,
    /// Whether messages are delivered in the order they were sent.
    pub ordered: bool,
    /// How hard messages are retransmitted.
    pub reliability: Reliability,
    /// `Some(id)` for a channel negotiated out of band on stream `id` (no DCEP: both sides
    /// open it with the same options); `None` for one opened in-band with DATA_CHANNEL_OPEN.
    pub negotiated_id: Option<u16>,
    /// The channel's priority, carried in DATA_CHANNEL_OPEN (see [`DEFAULT_PRIORITY`]).
    pub priority: u16,
}

impl Default for ChannelOptions {
    /// An unnamed, ordered, reliable, in-band channel of normal priority.
    fn default() -> Self {
        Self {
            label: String::new(),
            protocol: String::new(),
            ordered: true,
            reliability: Reliability::Reliable,
            negotiated_id: None,
            priority: DEFAULT_PRIORITY,
        }
    }
}

impl ChannelOptions {
    /// Refuses a label or protocol longer than the limits allow and the reserved stream 65535.
    pub(crate) fn validate(&self, limits: &ChannelLimits) -> Result<(), ChannelError> {
        let max = limits.max_label_bytes.min(MAX_WIRE_LABEL_BYTES);
        if self.label.len() > max {
            return Err(ChannelError::LabelTooLong { len: self.label.len(), max });
        }
        if self.protocol.len() > max {
            return Err(ChannelError::ProtocolTooLong { len: self.protocol.len(), max });
        }
        if self.negotiated_id == Some(RESERVED_STREAM) {
            return Err(ChannelError::ReservedStream);
        }
        Ok(())
    }

    /// How the channel's messages are sent once its opening is acknowledged.
    pub(crate) fn send_options(&self) -> SendOptions {
        SendOptions { ordered: self.ordered, reliability: self.reliability }
    }

    /// The DATA_CHANNEL_OPEN that opens this channel.
    pub(crate) fn to_open(&self) -> OpenMessage {
        OpenMessage {
            ordered: self.ordered,
            reliability: self.reliability,
            priority: self.priority,
            label: self.label.clone(),
            protocol: self.protocol.clone(),
        }
    }

    /// The options of a channel the other side opened with this DATA_CHANNEL_OPEN: what it
    /// asked for, reliability included (issue 20 item 4: `rtc` made such channels reliable).
    pub(crate) fn from_open(open: OpenMessage) -> Self {
        Self {
            label: open.label,
            protocol: open.protocol,
            ordered: open.ordered,
            reliability: open.reliability,
            negotiated_id: None,
            priority: open.priority,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn long_labels_and_protocols_and_the_reserved_stream_are_refused() {
        let limits = ChannelLimits { max_label_bytes: 8, ..Default::default() };
        let ok = ChannelOptions { label: "12345678".into(), protocol: "abcdefgh".into(), ..Default::default() };
        assert_eq!(ok.validate(&limits), Ok(()));
        let label = ChannelOptions { label: "123456789".into(), ..Default::default() };
        assert_eq!(label.validate(&limits), Err(ChannelError::LabelTooLong { len: 9, max: 8 }));
        let protocol = ChannelOptions { protocol: "123456789".into(), ..Default::default() };
        assert_eq!(protocol.validate(&limits), Err(ChannelError::ProtocolTooLong { len: 9, max: 8 }));
        let reserved = ChannelOptions { negotiated_id: Some(65535), ..Default::default() };
        assert_eq!(reserved.validate(&limits), Err(ChannelError::ReservedStream));
    }

    #[test]
    fn the_wire_bounds_labels_whatever_the_limits_say() {
        let limits = ChannelLimits { max_label_bytes: usize::MAX, ..Default::default() };
        let long = ChannelOptions { label: "x".repeat(65536), ..Default::default() };
        assert_eq!(long.validate(&limits), Err(ChannelError::LabelTooLong { len: 65536, max: 65535 }));
    }

    #[test]
    fn an_open_keeps_every_option_but_the_negotiated_id() {
        let options = ChannelOptions {
            label: "state".into(),
            protocol: "p".into(),
            ordered: false,
            reliability: Reliability::MaxLifetime(Duration::from_millis(100)),
            negotiated_id: None,
            priority: 512,
        };
        assert_eq!(ChannelOptions::from_open(options.to_open()), options);
    }
}
