//! A certificate fingerprint as signaled in `a=fingerprint` (RFC 8122): only sha-256, the hash
//! every browser and libdatachannel sign with; the hash name and the hex digits in any case.

use super::error::SecurePathError;

/// The one hash we compute and check.
const SHA_256: &str = "sha-256";
/// Bytes of a sha-256 digest.
const DIGEST_BYTES: usize = 32;
/// Longest fingerprint value parsed (32 bytes as `XX:` groups; anything longer is refused
/// before it is looked at byte by byte).
const MAX_VALUE_CHARS: usize = DIGEST_BYTES * 3;

/// The sha-256 digest of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; DIGEST_BYTES]);

impl Fingerprint {
    /// The fingerprint of the certificate `der`.
    pub fn of_certificate(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0u8; DIGEST_BYTES];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }

    /// Parses the hash name and value of an `a=fingerprint` attribute (`sha-256`, `AB:CD:...`),
    /// case-insensitive; another hash or a malformed value is refused.
    pub fn parse(hash: &str, value: &str) -> Result<Self, SecurePathError> {
        if !hash.eq_ignore_ascii_case(SHA_256) {
            return Err(SecurePathError::UnsupportedFingerprint);
        }
        if value.len() > MAX_VALUE_CHARS {
            return Err(SecurePathError::UnsupportedFingerprint);
        }
        let mut bytes = [0u8; DIGEST_BYTES];
        let mut count = 0;
        for group in value.split(':') {
            let byte = (group.len() == 2)
                .then(|| u8::from_str_radix(group, 16).ok())
                .flatten()
                .ok_or(SecurePathError::UnsupportedFingerprint)?;
            *bytes.get_mut(count).ok_or(SecurePathError::UnsupportedFingerprint)? = byte;
            count += 1;
        }
        if count != DIGEST_BYTES {
            return Err(SecurePathError::UnsupportedFingerprint);
        }
        Ok(Self(bytes))
    }

    /// The attribute value as we signal it: `sha-256` and upper-case hex pairs joined by colons.
    pub fn to_attribute(&self) -> String {
        let hex: Vec<String> = self.0.iter().map(|byte| format!("{byte:02X}")).collect();
        format!("{SHA_256} {}", hex.join(":"))
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_attribute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_any_case() {
        let fingerprint = Fingerprint::of_certificate(b"certificate");
        let attribute = fingerprint.to_attribute();
        let (hash, value) = attribute.split_once(' ').unwrap_or_default();
        assert_eq!(Fingerprint::parse(hash, value).ok(), Some(fingerprint));
        assert_eq!(Fingerprint::parse("SHA-256", &value.to_ascii_lowercase()).ok(), Some(fingerprint));
    }

    #[test]
    fn refuses_other_hashes_and_garbage() {
        let value = Fingerprint::of_certificate(b"x").to_attribute().split_off(8);
        assert!(Fingerprint::parse("sha-1", &value).is_err());
        for bad in ["", "AB", "AB:CD", "zz:", &value[..value.len() - 3], &format!("{value}:00"), "é:é"] {
            assert!(Fingerprint::parse("sha-256", bad).is_err(), "{bad}");
        }
        assert!(Fingerprint::parse("sha-256", &"A".repeat(10_000)).is_err());
    }
}
