//! The certificate fingerprints of a remote description (`a=fingerprint:<hash> <value>`, RFC
//! 8122), put in the one form the `rtc` core can check.
//!
//! The core checks one fingerprint per description, the first of its section, and only when its
//! hash is named exactly `sha-256`; it also refuses a description whose session-level and
//! media-level fingerprints differ as text. Hash names are case-insensitive (RFC 8122 5) and a
//! description may carry one fingerprint per hash: this keeps, in each section, only the sha-256
//! fingerprint, in lower case with an upper-case value (as the core writes its own), and refuses a
//! description whose only fingerprints use hashes the core cannot check.

use crate::error::{excerpt, TransportError};

/// The attribute's prefix.
const FINGERPRINT: &str = "a=fingerprint:";
/// The one hash the core checks.
const CHECKED_HASH: &str = "sha-256";

/// `sdp` with its fingerprints as the core reads them; refuses fingerprints it cannot check.
pub(crate) fn normalise(sdp: &str) -> Result<String, TransportError> {
    let mut out = String::with_capacity(sdp.len());
    let mut kept_in_section = false;
    let mut refused: Option<String> = None;
    for line in sdp.split_inclusive('\n') {
        let text = line.trim_end_matches(['\r', '\n']);
        if text.starts_with("m=") {
            kept_in_section = false;
        }
        let Some((hash, value)) = fingerprint(text) else {
            out.push_str(line);
            continue;
        };
        let hash = hash.to_ascii_lowercase();
        if hash != CHECKED_HASH {
            refused.get_or_insert(hash);
            continue;
        }
        if !kept_in_section {
            kept_in_section = true;
            out.push_str(&format!("{FINGERPRINT}{CHECKED_HASH} {}\r\n", value.to_ascii_uppercase()));
        }
    }
    match refused {
        Some(hash) if !out.contains(FINGERPRINT) => Err(TransportError::UnsupportedFingerprint(excerpt(&hash))),
        _ => Ok(out),
    }
}

/// The hash and value of a fingerprint line (the attribute's name in any case).
fn fingerprint(line: &str) -> Option<(&str, &str)> {
    let prefix = line.get(..FINGERPRINT.len())?;
    if !prefix.eq_ignore_ascii_case(FINGERPRINT) {
        return None;
    }
    let mut words = line[FINGERPRINT.len()..].split_whitespace();
    Some((words.next()?, words.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &str = "AB:CD:EF";

    #[test]
    fn hash_names_in_any_case_become_the_one_the_core_checks() {
        let sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:SHA-256 ab:cd:ef\r\n";
        let out = normalise(sdp).unwrap();
        assert_eq!(
            out,
            format!("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=fingerprint:sha-256 {VALUE}\r\n")
        );
        assert!(normalise("a=Fingerprint:Sha-256 ab:cd:ef\n").unwrap().contains("a=fingerprint:sha-256 AB:CD:EF"));
    }

    #[test]
    fn of_several_hashes_the_sha256_fingerprint_is_kept_in_each_section() {
        let sdp = format!(
            "v=0\r\na=fingerprint:sha-1 11:22\r\na=fingerprint:sha-256 {VALUE}\r\nm=application\r\n\
             a=fingerprint:sha-512 33:44\r\na=fingerprint:SHA-256 {VALUE}\r\na=fingerprint:sha-256 99:99\r\n"
        );
        let out = normalise(&sdp).unwrap();
        let kept: Vec<&str> = out.lines().filter(|line| line.starts_with(FINGERPRINT)).collect();
        assert_eq!(kept, vec![format!("{FINGERPRINT}sha-256 {VALUE}"); 2]);
    }

    #[test]
    fn a_description_with_no_checkable_fingerprint_is_refused_naming_the_hash() {
        let error = normalise("v=0\r\nm=application\r\na=fingerprint:SHA-1 11:22\r\n").unwrap_err();
        assert_eq!(error, TransportError::UnsupportedFingerprint("sha-1".into()));
        assert!(error.to_string().contains("'sha-1'"), "{error}");
        let long = format!("a=fingerprint:{} 11\r\n", "x".repeat(10_000));
        assert!(normalise(&long).unwrap_err().to_string().len() < 300, "a hostile name is cut");
    }

    #[test]
    fn a_description_without_fingerprints_is_left_to_the_core() {
        let sdp = "v=0\r\nm=application\r\n";
        assert_eq!(normalise(sdp).unwrap(), sdp);
    }
}
