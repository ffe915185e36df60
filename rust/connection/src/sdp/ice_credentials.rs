//! ICE credentials (`a=ice-ufrag`, `a=ice-pwd`, RFC 8839 section 5.4): the username fragment
//! and password that authenticate connectivity checks. A new pair in a description is an ICE
//! restart (RFC 8839 section 4.4.1.1.1).

use std::ops::RangeInclusive;

use super::error::{excerpt, SdpError};
use super::limits::{ICE_PWD_CHARS, ICE_UFRAG_CHARS};

/// The characters of RFC 8839's `ice-char`, which generated credentials use.
const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Random bytes a generated username fragment takes: 8 characters, 48 bits (RFC 8445 asks 24).
pub const UFRAG_RANDOM_BYTES: usize = 8;

/// Random bytes a generated password takes: 24 characters, 144 bits (RFC 8445 asks 128).
pub const PWD_RANDOM_BYTES: usize = 24;

/// An ICE username fragment and password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceCredentials {
    ufrag: String,
    pwd: String,
}

impl IceCredentials {
    /// Credentials from their values, refused when RFC 8839 does not allow their length
    /// ([`ICE_UFRAG_CHARS`], [`ICE_PWD_CHARS`]) or when they have characters other than
    /// visible ASCII (a colon in the fragment too: STUN's username joins two with one). The
    /// RFC's `ice-char` is narrower, but other stacks' characters are taken as today's
    /// transport takes them.
    pub fn new(ufrag: &str, pwd: &str) -> Result<Self, SdpError> {
        check("ice-ufrag", ufrag, ICE_UFRAG_CHARS, &[':'])?;
        check("ice-pwd", pwd, ICE_PWD_CHARS, &[])?;
        Ok(Self { ufrag: ufrag.to_owned(), pwd: pwd.to_owned() })
    }

    /// Fresh credentials from random bytes the caller draws (from its seeded generator), each
    /// byte one `ice-char`.
    pub fn from_random(ufrag: [u8; UFRAG_RANDOM_BYTES], pwd: [u8; PWD_RANDOM_BYTES]) -> Self {
        let text = |bytes: &[u8]| bytes.iter().map(|byte| char::from(ICE_CHARS[usize::from(byte % 64)])).collect();
        Self { ufrag: text(&ufrag), pwd: text(&pwd) }
    }

    /// The username fragment.
    pub fn ufrag(&self) -> &str {
        &self.ufrag
    }

    /// The password.
    pub fn pwd(&self) -> &str {
        &self.pwd
    }
}

/// Refuses `value` unless it has `lengths` characters, all visible ASCII and none of `banned`.
fn check(name: &'static str, value: &str, lengths: RangeInclusive<usize>, banned: &[char]) -> Result<(), SdpError> {
    let bad = |reason: String| SdpError::BadIceCredential { name, value: excerpt(value), reason };
    let length = value.chars().count();
    if !lengths.contains(&length) {
        let (min, max) = lengths.into_inner();
        return Err(bad(format!("it is {length} characters long; {min} to {max} are allowed")));
    }
    if let Some(wrong) = value.chars().find(|c| !c.is_ascii_graphic() || banned.contains(c)) {
        return Err(bad(format!("it has the character {wrong:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_stacks_generate_is_taken() {
        // Chromium, Firefox, libdatachannel, aiortc.
        for (ufrag, pwd) in [
            ("+Lxv", "p6XmOKrmvNzzgNL3rP/ZRR6J"),
            ("3c5d7e9f", "a1f8d0d6c2c4a4b8e3e5d1f2c3b4a5d6"),
            ("Yb4Z", "wXr0FlRMvH9ZJ8SgWLtFhU"),
            ("QZbT", "0pgYCgfuUCjO9A8ygKAfVe"),
        ] {
            let credentials = IceCredentials::new(ufrag, pwd).unwrap();
            assert_eq!((credentials.ufrag(), credentials.pwd()), (ufrag, pwd));
        }
    }

    #[test]
    fn lengths_and_characters_rfc_8839_does_not_allow_are_refused() {
        let pwd = "p".repeat(22);
        for (ufrag, pwd) in [
            ("abc", pwd.as_str()),
            ("abcd", "short"),
            (&"u".repeat(257), pwd.as_str()),
            ("ab:cd", pwd.as_str()),
            ("ab cd", pwd.as_str()),
            ("abcdé", pwd.as_str()),
            ("abcd", &format!("{pwd}\u{7}")),
        ] {
            let error = IceCredentials::new(ufrag, pwd).unwrap_err();
            assert!(matches!(&error, SdpError::BadIceCredential { .. }), "{ufrag:?} {pwd:?}");
            assert!(error.to_string().len() < 250, "{error}");
        }
        let error = IceCredentials::new("abc", &pwd).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ice-ufrag 'abc' is not valid: it is 3 characters long; 4 to 256 are allowed (RFC 8839)"
        );
        assert!(IceCredentials::new(&"u".repeat(256), &"p".repeat(256)).is_ok());
    }

    #[test]
    fn random_credentials_use_ice_chars_and_are_valid() {
        let credentials = IceCredentials::from_random([0, 1, 63, 64, 127, 128, 200, 255], [7; PWD_RANDOM_BYTES]);
        assert_eq!(credentials.ufrag(), "AB/A/AI/");
        assert_eq!(credentials.pwd().len(), PWD_RANDOM_BYTES);
        assert_eq!(IceCredentials::new(credentials.ufrag(), credentials.pwd()), Ok(credentials));
    }
}
