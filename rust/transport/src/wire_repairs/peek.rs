//! Just enough of STUN (RFC 8489) and DTLS (RFC 6347) to tell datagrams apart on the wire.

use std::hash::{Hash, Hasher};

pub(super) const STUN_BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
pub(super) const STUN_BINDING_SUCCESS: [u8; 2] = [0x01, 0x01];
pub(super) const STUN_BINDING_ERROR: [u8; 2] = [0x01, 0x11];
pub(super) const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// The transaction id of a STUN message of type `kind` (RFC 8489 5: type, length, magic cookie,
/// 12-byte transaction id).
pub(super) fn stun_transaction(datagram: &[u8], kind: [u8; 2]) -> Option<[u8; 12]> {
    if datagram.len() < 20 || datagram[0..2] != kind || datagram[4..8] != STUN_MAGIC_COOKIE {
        return None;
    }
    datagram[8..20].try_into().ok()
}

const ATTR_ERROR_CODE: u16 = 0x0009;
/// The attribute a nominating check carries (RFC 8445 7.1.2).
pub(super) const ATTR_USE_CANDIDATE: u16 = 0x0025;
const ATTR_ICE_CONTROLLED: u16 = 0x8029;
const ATTR_ICE_CONTROLLING: u16 = 0x802A;

/// The ICE role a STUN message claims, with its tie-breaker (RFC 8445 16.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Controlling(u64),
    Controlled(u64),
}

/// The attributes of a STUN message: (type, value) pairs.
fn stun_attributes(message: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = message.get(20..).unwrap_or_default();
    std::iter::from_fn(move || {
        let kind = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?);
        let length = usize::from(u16::from_be_bytes(rest.get(2..4)?.try_into().ok()?));
        let value = rest.get(4..4 + length)?;
        rest = rest.get((4 + length).next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    })
}

const ATTR_USERNAME: u16 = 0x0006;

/// Whether a STUN message's USERNAME attribute names `local_ufrag` as the receiver's part: an ICE
/// check addressed to us (RFC 8445 7.2.2: "receiver-ufrag:sender-ufrag").
pub(super) fn stun_addressed_to(message: &[u8], local_ufrag: &[u8]) -> bool {
    stun_attributes(message).any(|(kind, value)| {
        kind == ATTR_USERNAME && value.strip_prefix(local_ufrag).is_some_and(|rest| rest.first() == Some(&b':'))
    })
}

/// Whether a STUN message carries an attribute of type `kind`.
pub(super) fn stun_has_attribute(message: &[u8], kind: u16) -> bool {
    stun_attributes(message).any(|(found, _)| found == kind)
}

/// The role attribute of a STUN message, if it has one.
pub(super) fn stun_role(message: &[u8]) -> Option<Role> {
    stun_attributes(message).find_map(|(kind, value)| {
        let tie_breaker = u64::from_be_bytes(value.try_into().ok()?);
        match kind {
            ATTR_ICE_CONTROLLING => Some(Role::Controlling(tie_breaker)),
            ATTR_ICE_CONTROLLED => Some(Role::Controlled(tie_breaker)),
            _ => None,
        }
    })
}

/// The error code of a STUN error response (RFC 8489 14.8: class * 100 + number).
pub(super) fn stun_error_code(message: &[u8]) -> Option<u16> {
    stun_attributes(message)
        .find(|(kind, _)| *kind == ATTR_ERROR_CODE)
        .and_then(|(_, value)| Some(u16::from(*value.get(2)? & 0x07) * 100 + u16::from(*value.get(3)?)))
}

/// A datagram starting with a DTLS handshake record of epoch 0 (RFC 6347 4.1: content type 22,
/// version, epoch, sequence number, length): the unencrypted part of a handshake.
pub(super) fn dtls_epoch0_handshake(datagram: &[u8]) -> bool {
    datagram.len() > 13 && datagram[0] == 22 && datagram[3..5] == [0, 0]
}

/// A digest of the DTLS records a datagram carries but for their record sequence numbers
/// (bytes 5-10 of each header), which a retransmission changes: two datagrams with the same
/// records get the same digest. Encrypted records (epoch 1 and later) count by their headers and
/// lengths only. `None` if the datagram is not DTLS or its records do not parse.
pub(super) fn dtls_records_digest(datagram: &[u8]) -> Option<u64> {
    if !is_dtls(datagram) {
        return None;
    }
    let mut hasher = std::hash::DefaultHasher::new();
    datagram.len().hash(&mut hasher);
    let mut rest = datagram;
    while !rest.is_empty() {
        let header = rest.get(..13)?;
        header[..5].hash(&mut hasher);
        header[11..].hash(&mut hasher);
        let end = 13 + usize::from(u16::from_be_bytes([header[11], header[12]]));
        let body = rest.get(13..end)?;
        if header[3..5] == [0, 0] {
            body.hash(&mut hasher);
        }
        rest = &rest[end..];
    }
    Some(hasher.finish())
}

/// A datagram of a DTLS handshake flight: it starts with a handshake or ChangeCipherSpec record
/// (content type 22 or 20), of any epoch.
pub(super) fn is_dtls_handshake_flight(datagram: &[u8]) -> bool {
    datagram.len() > 13 && matches!(datagram[0], 20 | 22)
}

/// The epoch and sequence number of each DTLS record in a datagram (RFC 6347 4.1: content type,
/// version, epoch, 48-bit sequence number, length, then the record's bytes), while they parse.
pub(super) fn dtls_records(datagram: &[u8]) -> impl Iterator<Item = (u16, u64)> + '_ {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let header = rest.get(..13).filter(|header| is_dtls(header))?;
        let epoch = u16::from_be_bytes([header[3], header[4]]);
        let mut sequence = [0u8; 8];
        sequence[2..].copy_from_slice(&header[5..11]);
        let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
        rest = rest.get(13 + length..).unwrap_or_default();
        Some((epoch, u64::from_be_bytes(sequence)))
    })
}

/// A DTLS record (RFC 7983: first byte 20-63).
pub(super) fn is_dtls(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20..=63))
}

/// A DTLS handshake record of epoch 0 carrying a ClientHello with message_seq 0 (RFC 6347 4.1,
/// 4.2.2): the first flight of a DTLS client.
pub(super) fn is_first_client_hello(datagram: &[u8]) -> bool {
    datagram.len() > 18
        && datagram[0] == 22
        && datagram[3..5] == [0, 0]
        && datagram[13] == 1
        && datagram[17..19] == [0, 0]
}
