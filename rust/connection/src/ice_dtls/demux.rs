//! Which protocol a received datagram belongs to, by its first byte (RFC 7983, section 7).

/// What a datagram on the connection's sockets carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DatagramKind {
    /// STUN (first byte 0-3): ICE checks and their answers.
    Stun,
    /// DTLS (first byte 20-63).
    Dtls,
    /// Anything else (ZRTP, TURN channels, RTP, empty): not ours to read.
    Other,
}

/// Classifies `datagram` by its first byte.
pub(super) fn classify(datagram: &[u8]) -> DatagramKind {
    match datagram.first() {
        Some(0..=3) => DatagramKind::Stun,
        Some(20..=63) => DatagramKind::Dtls,
        _ => DatagramKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_decides() {
        assert_eq!(classify(&[0, 1]), DatagramKind::Stun);
        assert_eq!(classify(&[3]), DatagramKind::Stun);
        assert_eq!(classify(&[4]), DatagramKind::Other);
        assert_eq!(classify(&[20]), DatagramKind::Dtls);
        assert_eq!(classify(&[22, 0xfe, 0xfd]), DatagramKind::Dtls);
        assert_eq!(classify(&[63]), DatagramKind::Dtls);
        assert_eq!(classify(&[64]), DatagramKind::Other);
        assert_eq!(classify(&[128]), DatagramKind::Other);
        assert_eq!(classify(&[]), DatagramKind::Other);
    }
}
