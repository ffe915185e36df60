//! Certificate fingerprints (`a=fingerprint:<hash> <value>`, RFC 8122): the DTLS certificate
//! each side must present. Only sha-256 is accepted, as in the transport today
//! (`rust/transport/src/sdp_fingerprints.rs`, whose rules these are): every browser and library
//! sends one, hash names are read in any case (RFC 8122 section 5), and a description may carry
//! one fingerprint per hash, of which the (first) sha-256 one is kept.

use std::fmt;

use super::error::{excerpt, SdpError};

/// The one hash accepted.
const SHA_256: &str = "sha-256";

/// Bytes of a sha-256 digest.
const SHA_256_BYTES: usize = 32;

/// The sha-256 digest of a DTLS certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint([u8; SHA_256_BYTES]);

impl Fingerprint {
    /// The fingerprint of a certificate whose sha-256 digest is `digest`.
    pub fn sha256(digest: [u8; SHA_256_BYTES]) -> Self {
        Self(digest)
    }

    /// The digest.
    pub fn digest(&self) -> &[u8; SHA_256_BYTES] {
        &self.0
    }

    /// The sha-256 fingerprint among the values of one level's `a=fingerprint` attributes;
    /// `None` when there are none. Refuses a level whose fingerprints all use other hashes, and
    /// a malformed sha-256 one.
    pub(crate) fn choose<'a>(values: impl Iterator<Item = &'a str>) -> Result<Option<Self>, SdpError> {
        let mut other: Option<&str> = None;
        for value in values {
            let mut words = value.split_ascii_whitespace();
            let (Some(hash), Some(digest), None) = (words.next(), words.next(), words.next()) else {
                return Err(SdpError::MalformedFingerprint(excerpt(value)));
            };
            if hash.eq_ignore_ascii_case(SHA_256) {
                return Self::parse_digest(digest).map(Some);
            }
            other.get_or_insert(hash);
        }
        match other {
            Some(hash) => Err(SdpError::UnsupportedFingerprint(excerpt(&hash.to_ascii_lowercase()))),
            None => Ok(None),
        }
    }

    /// Reads `AB:CD:...`: 32 bytes in hexadecimal (either case), separated by colons.
    fn parse_digest(text: &str) -> Result<Self, SdpError> {
        let malformed = || SdpError::MalformedFingerprint(excerpt(text));
        let mut digest = [0; SHA_256_BYTES];
        let mut pairs = text.split(':');
        for byte in &mut digest {
            let pair = pairs.next().ok_or_else(malformed)?;
            if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed());
            }
            *byte = u8::from_str_radix(pair, 16).map_err(|_| malformed())?;
        }
        if pairs.next().is_some() {
            return Err(malformed());
        }
        Ok(Self(digest))
    }
}

/// The attribute's value as browsers write it: `sha-256 AB:CD:...`, in upper case.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHA_256)?;
        for (index, byte) in self.0.iter().enumerate() {
            let separator = if index == 0 { ' ' } else { ':' };
            write!(f, "{separator}{byte:02X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str =
        "5D:1B:58:32:D5:5D:1B:FE:CD:24:7B:17:C5:B6:9B:1F:D2:AB:B6:B5:36:6D:76:43:5F:A6:0B:8A:14:61:02:46";

    fn choose(values: &[&str]) -> Result<Option<Fingerprint>, SdpError> {
        Fingerprint::choose(values.iter().copied())
    }

    #[test]
    fn the_sha256_fingerprint_is_read_in_any_case_and_written_back_as_browsers_do() {
        let chosen = choose(&[&format!("SHA-256 {}", VALUE.to_ascii_lowercase())]).unwrap().unwrap();
        assert_eq!(chosen.digest()[..3], [0x5D, 0x1B, 0x58]);
        assert_eq!(chosen.to_string(), format!("sha-256 {VALUE}"));
        assert_eq!(Fingerprint::sha256(*chosen.digest()), chosen);
    }

    #[test]
    fn of_several_hashes_sha256_is_kept() {
        // aiortc sends sha-256, sha-384 and sha-512; others may lead with sha-1.
        let sha1 = "sha-1 11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99:00";
        let sha512 = format!("sha-512 {}", ["AA"; 64].join(":"));
        let chosen = choose(&[sha1, &sha512, &format!("sha-256 {VALUE}")]).unwrap();
        assert_eq!(chosen.unwrap().to_string(), format!("sha-256 {VALUE}"));
    }

    #[test]
    fn other_hashes_alone_are_refused_naming_the_hash() {
        let error = choose(&["SHA-1 11:22"]).unwrap_err();
        assert_eq!(error, SdpError::UnsupportedFingerprint("sha-1".into()));
        assert!(error.to_string().starts_with("fingerprint algorithm sha-1 is not accepted"), "{error}");
        let long = format!("{} 11", "x".repeat(10_000));
        assert!(choose(&[&long]).unwrap_err().to_string().len() < 300, "a hostile name is cut");
        assert_eq!(choose(&[]), Ok(None));
    }

    #[test]
    fn malformed_fingerprints_are_refused() {
        let short = VALUE.rsplit_once(':').unwrap().0;
        for bad in [
            "".to_owned(),
            "sha-256".to_owned(),
            format!("sha-256 {short}"),
            format!("sha-256 {VALUE}:00"),
            format!("sha-256 {}", VALUE.replace(':', "")),
            format!("sha-256 {}", VALUE.replacen("5D", "5G", 1)),
            format!("sha-256 {}", VALUE.replacen("5D", "+5", 1)),
            format!("sha-256 {}", VALUE.replacen("5D", "5D5", 1)),
            format!("sha-256 {VALUE} extra"),
            format!("sha-256 {}", VALUE.replacen(':', "::", 1)),
        ] {
            assert!(matches!(choose(&[&bad]), Err(SdpError::MalformedFingerprint(_))), "{bad:?}");
        }
    }
}
