//! The fingerprint of a DER certificate, as signaled in `a=fingerprint` (sha-256 only; parsing
//! and writing the attribute is [`crate::sdp::Fingerprint`]'s).

use crate::sdp::Fingerprint;

/// The sha-256 fingerprint of the certificate `der`.
pub(super) fn fingerprint_of(der: &[u8]) -> Fingerprint {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(digest.as_ref());
    Fingerprint::sha256(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        // sha-256 of the empty string.
        assert_eq!(
            fingerprint_of(b"").to_string(),
            "sha-256 E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
        );
    }
}
