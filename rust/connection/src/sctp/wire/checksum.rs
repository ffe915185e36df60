//! SCTP's CRC32c checksum (RFC 9260 §6.8 and Appendix A).
//!
//! The CRC is computed over the whole packet with the checksum field set to zero. Its value goes
//! on the wire least significant byte first (the reflected CRC's natural order, as the Linux
//! kernel, usrsctp and every WebRTC stack write it), unlike SCTP's other fields.

/// The byte offset of the checksum field in the common header.
const CHECKSUM_OFFSET: usize = 8;

/// Writes the checksum of `packet` (common header included) into its checksum field.
pub(crate) fn seal(packet: &mut [u8]) {
    let Some(field) = packet.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4) else {
        return;
    };
    field.fill(0);
    let crc = crc32c::crc32c(packet);
    if let Some(field) = packet.get_mut(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
}

/// Whether `packet`'s checksum field holds the checksum of its bytes.
pub(crate) fn verify(packet: &[u8]) -> bool {
    let (Some(head), Some(field), Some(tail)) = (
        packet.get(..CHECKSUM_OFFSET),
        packet.get(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 4),
        packet.get(CHECKSUM_OFFSET + 4..),
    ) else {
        return false;
    };
    let crc = crc32c::crc32c_append(crc32c::crc32c(head), &[0; 4]);
    let crc = crc32c::crc32c_append(crc, tail);
    field == crc.to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An INIT (ports 5000, tag 0, initiate tag 0x12345678, a_rwnd 106496, 1024 streams each way,
    /// initial TSN 0x1000) as another tool (scapy) checksums it.
    const CAPTURED: &str = "138813880000000016de259a01000014123456780001a0000400040000001000";

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn a_captured_packet_verifies() {
        assert!(verify(&hex(CAPTURED)));
    }

    #[test]
    fn seal_writes_what_verify_reads_and_any_flip_breaks_it() {
        let mut packet = hex(CAPTURED);
        let original = packet.clone();
        packet[8..12].fill(0xAA);
        seal(&mut packet);
        assert_eq!(packet, original);
        for i in 0..packet.len() {
            let mut bad = packet.clone();
            bad[i] ^= 0x10;
            assert!(!verify(&bad), "byte {i} flipped still verifies");
        }
    }

    #[test]
    fn short_input_neither_verifies_nor_panics() {
        for len in 0..12 {
            assert!(!verify(&vec![0; len]));
            seal(&mut vec![0; len]);
        }
    }
}
