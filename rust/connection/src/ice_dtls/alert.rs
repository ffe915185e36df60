//! The fatal alert we send when the peer's certificate does not match its signaled fingerprint.
//!
//! `dimpl` leaves certificate validation to its caller and has no call to send an alert, so the
//! record is made here: a plaintext (epoch 0) DTLS 1.2 alert. A peer still in its handshake reads
//! it (it has not yet switched to the keys of epoch 1; `dimpl` and the other stacks accept a
//! fatal alert in epoch 0 then) and fails at once with its own distinct reason, instead of
//! retransmitting until its handshake times out.

/// TLS alert level `fatal`.
const LEVEL_FATAL: u8 = 2;
/// TLS alert `bad_certificate` (RFC 5246, section 7.2).
pub(super) const BAD_CERTIFICATE: u8 = 42;
/// DTLS content type `alert`.
const CONTENT_TYPE_ALERT: u8 = 21;
/// DTLS 1.2 on the wire.
const VERSION_DTLS_1_2: [u8; 2] = [0xfe, 0xfd];
/// The record sequence number used: above any a handshake's flights reach in epoch 0, so that the
/// peer's replay window does not take it for an old record.
const SEQUENCE: u64 = 0x0000_0000_1000;

/// A plaintext fatal alert record with `description`.
pub(super) fn fatal_alert(description: u8) -> Vec<u8> {
    let mut record = Vec::with_capacity(15);
    record.push(CONTENT_TYPE_ALERT);
    record.extend_from_slice(&VERSION_DTLS_1_2);
    record.extend_from_slice(&[0, 0]);
    record.extend_from_slice(&SEQUENCE.to_be_bytes()[2..]);
    record.extend_from_slice(&2u16.to_be_bytes());
    record.push(LEVEL_FATAL);
    record.push(description);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout() {
        let record = fatal_alert(BAD_CERTIFICATE);
        assert_eq!(record.len(), 15);
        assert_eq!(&record[..3], &[21, 0xfe, 0xfd]);
        assert_eq!(&record[3..5], &[0, 0], "epoch 0");
        assert_eq!(&record[11..13], &[0, 2], "length");
        assert_eq!(&record[13..], &[2, 42]);
    }
}
