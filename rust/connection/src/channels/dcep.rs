//! DCEP messages on the wire (RFC 8832 §5): DATA_CHANNEL_OPEN and DATA_CHANNEL_ACK, both sent
//! with PPID 50. Reading never panics on any bytes and takes no label or protocol longer than
//! the caller's bound.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::ChannelError;
use crate::sctp::Reliability;

/// Message type of DATA_CHANNEL_OPEN (RFC 8832 §8.2.1).
const TYPE_OPEN: u8 = 0x03;
/// Message type of DATA_CHANNEL_ACK.
const TYPE_ACK: u8 = 0x02;
/// Bytes of DATA_CHANNEL_OPEN before its label.
const OPEN_HEADER_LEN: usize = 12;
/// Set in the channel type for an unordered channel.
const UNORDERED_BIT: u8 = 0x80;
/// Channel type (without the unordered bit) of a reliable channel.
const CHANNEL_RELIABLE: u8 = 0x00;
/// Channel type of a channel that gives up after a number of retransmissions.
const CHANNEL_PARTIAL_RELIABLE_REXMIT: u8 = 0x01;
/// Channel type of a channel that gives up after a time in milliseconds.
const CHANNEL_PARTIAL_RELIABLE_TIMED: u8 = 0x02;

/// Longest label or protocol the wire can carry (a 16-bit length).
pub(crate) const MAX_WIRE_LABEL_BYTES: usize = u16::MAX as usize;

/// What DATA_CHANNEL_OPEN asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OpenMessage {
    /// Whether messages are delivered in order.
    pub(crate) ordered: bool,
    /// How hard messages are retransmitted.
    pub(crate) reliability: Reliability,
    /// The channel's priority (RFC 8831 §6.4).
    pub(crate) priority: u16,
    /// The channel's name.
    pub(crate) label: String,
    /// Its sub-protocol.
    pub(crate) protocol: String,
}

/// One DCEP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DcepMessage {
    /// DATA_CHANNEL_OPEN: the sender opens a channel on this stream.
    Open(OpenMessage),
    /// DATA_CHANNEL_ACK: the receiver of an OPEN accepted it.
    Ack,
}

impl DcepMessage {
    /// Reads one DCEP message, refusing labels and protocols longer than `max_label_bytes`, a
    /// channel type RFC 8832 does not define and text that is not UTF-8. Bytes after the
    /// protocol are ignored, as are bytes after an ACK's type.
    pub(crate) fn parse(bytes: &[u8], max_label_bytes: usize) -> Result<Self, ChannelError> {
        match bytes.first() {
            None => Err(ChannelError::MalformedDcep("empty")),
            Some(&TYPE_ACK) => Ok(Self::Ack),
            Some(&TYPE_OPEN) => parse_open(bytes, max_label_bytes).map(Self::Open),
            Some(&other) => Err(ChannelError::UnknownDcepType(other)),
        }
    }

    /// Writes the message. A label or protocol is at most [`MAX_WIRE_LABEL_BYTES`] long (the
    /// layer checks this when a channel opens; a longer one would be cut to fit).
    pub(crate) fn encode(&self) -> Bytes {
        match self {
            Self::Ack => Bytes::from_static(&[TYPE_ACK]),
            Self::Open(open) => encode_open(open),
        }
    }
}

fn parse_open(bytes: &[u8], max_label_bytes: usize) -> Result<OpenMessage, ChannelError> {
    let header: &[u8; OPEN_HEADER_LEN] = bytes
        .get(..OPEN_HEADER_LEN)
        .and_then(|header| header.try_into().ok())
        .ok_or(ChannelError::MalformedDcep("DATA_CHANNEL_OPEN shorter than its header"))?;
    let [_, channel_type, p0, p1, r0, r1, r2, r3, l0, l1, q0, q1] = *header;
    let parameter = u32::from_be_bytes([r0, r1, r2, r3]);
    let reliability = match channel_type & !UNORDERED_BIT {
        CHANNEL_RELIABLE => Reliability::Reliable,
        // More than 65535 retransmissions is reliable in all but name: the most we can hold.
        CHANNEL_PARTIAL_RELIABLE_REXMIT => Reliability::MaxRetransmits(u16::try_from(parameter).unwrap_or(u16::MAX)),
        CHANNEL_PARTIAL_RELIABLE_TIMED => Reliability::MaxLifetime(Duration::from_millis(parameter.into())),
        _ => return Err(ChannelError::MalformedDcep("unknown channel type")),
    };
    let label_len = usize::from(u16::from_be_bytes([l0, l1]));
    let protocol_len = usize::from(u16::from_be_bytes([q0, q1]));
    if label_len > max_label_bytes {
        return Err(ChannelError::LabelTooLong { len: label_len, max: max_label_bytes });
    }
    if protocol_len > max_label_bytes {
        return Err(ChannelError::ProtocolTooLong { len: protocol_len, max: max_label_bytes });
    }
    let rest = &bytes[OPEN_HEADER_LEN..];
    let label = rest.get(..label_len).ok_or(ChannelError::MalformedDcep("label cut short"))?;
    let protocol =
        rest.get(label_len..label_len + protocol_len).ok_or(ChannelError::MalformedDcep("protocol cut short"))?;
    Ok(OpenMessage {
        ordered: channel_type & UNORDERED_BIT == 0,
        reliability,
        priority: u16::from_be_bytes([p0, p1]),
        label: utf8(label, "label is not UTF-8")?,
        protocol: utf8(protocol, "protocol is not UTF-8")?,
    })
}

fn utf8(bytes: &[u8], error: &'static str) -> Result<String, ChannelError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ChannelError::MalformedDcep(error))
}

fn encode_open(open: &OpenMessage) -> Bytes {
    let (channel_type, parameter) = match open.reliability {
        Reliability::Reliable => (CHANNEL_RELIABLE, 0),
        Reliability::MaxRetransmits(count) => (CHANNEL_PARTIAL_RELIABLE_REXMIT, u32::from(count)),
        Reliability::MaxLifetime(lifetime) => {
            (CHANNEL_PARTIAL_RELIABLE_TIMED, u32::try_from(lifetime.as_millis()).unwrap_or(u32::MAX))
        }
    };
    let channel_type = if open.ordered { channel_type } else { channel_type | UNORDERED_BIT };
    let label = wire_text(&open.label);
    let protocol = wire_text(&open.protocol);
    let mut out = BytesMut::with_capacity(OPEN_HEADER_LEN + label.len() + protocol.len());
    out.put_u8(TYPE_OPEN);
    out.put_u8(channel_type);
    out.put_u16(open.priority);
    out.put_u32(parameter);
    out.put_u16(u16::try_from(label.len()).unwrap_or(u16::MAX));
    out.put_u16(u16::try_from(protocol.len()).unwrap_or(u16::MAX));
    out.put_slice(label);
    out.put_slice(protocol);
    out.freeze()
}

/// The text's bytes, at most [`MAX_WIRE_LABEL_BYTES`] of them.
fn wire_text(text: &str) -> &[u8] {
    let bytes = text.as_bytes();
    &bytes[..bytes.len().min(MAX_WIRE_LABEL_BYTES)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(ordered: bool, reliability: Reliability) -> OpenMessage {
        OpenMessage { ordered, reliability, priority: 256, label: "state".into(), protocol: "game/1".into() }
    }

    #[test]
    fn every_channel_type_round_trips() {
        for ordered in [true, false] {
            for reliability in [
                Reliability::Reliable,
                Reliability::MaxRetransmits(0),
                Reliability::MaxRetransmits(7),
                Reliability::MaxLifetime(Duration::from_millis(150)),
            ] {
                let message = DcepMessage::Open(open(ordered, reliability));
                assert_eq!(DcepMessage::parse(&message.encode(), 1024), Ok(message));
            }
        }
        assert_eq!(DcepMessage::parse(&DcepMessage::Ack.encode(), 1024), Ok(DcepMessage::Ack));
    }

    #[test]
    fn an_open_is_laid_out_as_rfc_8832_says() {
        let bytes = DcepMessage::Open(open(false, Reliability::MaxRetransmits(3))).encode();
        assert_eq!(&bytes[..12], &[0x03, 0x81, 0x01, 0x00, 0, 0, 0, 3, 0, 5, 0, 6]);
        assert_eq!(&bytes[12..], b"stategame/1");
        let timed = DcepMessage::Open(open(true, Reliability::MaxLifetime(Duration::from_millis(500)))).encode();
        assert_eq!(&timed[..8], &[0x03, 0x02, 0x01, 0x00, 0, 0, 0x01, 0xf4]);
    }

    #[test]
    fn reads_what_a_browser_sends() {
        // Chromium opening an unordered channel with maxRetransmits 0, label "u", no protocol.
        let bytes = [0x03, 0x81, 0x01, 0x00, 0, 0, 0, 0, 0, 1, 0, 0, b'u'];
        let Ok(DcepMessage::Open(open)) = DcepMessage::parse(&bytes, 1024) else { panic!("not read") };
        assert!(!open.ordered);
        assert_eq!(open.reliability, Reliability::MaxRetransmits(0));
        assert_eq!((open.label.as_str(), open.protocol.as_str()), ("u", ""));
        // A reliable type ignores its parameter; more retransmissions than u16 holds are capped.
        let reliable = [0x03, 0x00, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(matches!(
            DcepMessage::parse(&reliable, 16),
            Ok(DcepMessage::Open(OpenMessage { ordered: true, reliability: Reliability::Reliable, .. }))
        ));
        let many = [0x03, 0x01, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            DcepMessage::parse(&many, 16),
            Ok(DcepMessage::Open(OpenMessage { reliability: Reliability::MaxRetransmits(u16::MAX), .. }))
        ));
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut bytes = DcepMessage::Open(open(true, Reliability::Reliable)).encode().to_vec();
        bytes.extend_from_slice(b"junk");
        assert!(matches!(DcepMessage::parse(&bytes, 1024), Ok(DcepMessage::Open(_))));
        assert_eq!(DcepMessage::parse(&[0x02, 9, 9], 1024), Ok(DcepMessage::Ack));
    }

    #[test]
    fn labels_and_protocols_past_the_bound_are_refused() {
        let long = OpenMessage { label: "x".repeat(300), ..open(true, Reliability::Reliable) };
        let bytes = DcepMessage::Open(long).encode();
        assert_eq!(DcepMessage::parse(&bytes, 300).map(|_| ()), Ok(()));
        assert_eq!(DcepMessage::parse(&bytes, 299), Err(ChannelError::LabelTooLong { len: 300, max: 299 }));
        let long = OpenMessage { protocol: "p".repeat(40), ..open(true, Reliability::Reliable) };
        let bytes = DcepMessage::Open(long).encode();
        assert_eq!(DcepMessage::parse(&bytes, 39), Err(ChannelError::ProtocolTooLong { len: 40, max: 39 }));
    }

    #[test]
    fn truncated_unknown_and_invalid_input_is_refused() {
        let bytes = DcepMessage::Open(open(true, Reliability::Reliable)).encode();
        for len in 0..bytes.len() {
            assert!(DcepMessage::parse(&bytes[..len], 1024).is_err(), "{len} bytes read as a message");
        }
        assert_eq!(DcepMessage::parse(&[0x04], 1024), Err(ChannelError::UnknownDcepType(0x04)));
        let unknown_type = [0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(DcepMessage::parse(&unknown_type, 1024), Err(ChannelError::MalformedDcep(_))));
        let not_utf8 = [0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff];
        assert!(matches!(DcepMessage::parse(&not_utf8, 1024), Err(ChannelError::MalformedDcep(_))));
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator (xorshift): every length up to 80, many patterns.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..20_000 {
            let len = round % 80;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            let _ = DcepMessage::parse(&bytes, 16);
            let mut open_like = bytes.clone();
            if let Some(first) = open_like.first_mut() {
                *first = TYPE_OPEN;
            }
            let _ = DcepMessage::parse(&open_like, 16);
        }
    }

    #[test]
    fn a_lifetime_past_the_wire_limit_is_capped() {
        let long = open(true, Reliability::MaxLifetime(Duration::from_secs(u64::from(u32::MAX))));
        let bytes = DcepMessage::Open(long).encode();
        assert_eq!(&bytes[4..8], &[0xff; 4]);
    }
}
