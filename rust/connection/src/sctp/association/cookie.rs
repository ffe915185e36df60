//! The state cookie (RFC 9260 §5.1.3): what a listener needs to establish the association,
//! handed to the peer in INIT-ACK and taken back in COOKIE-ECHO, so that an INIT costs the
//! listener no state. Signed with HMAC-SHA256 under a secret from the caller's RNG; of one fixed
//! size, so a forged or oversized cookie is refused before anything is read from it.

use bytes::{BufMut, Bytes};
use ring::hmac;

use crate::sctp::wire::Init;

/// The signature's length.
const MAC_LEN: usize = 32;
/// The signed fields' length.
const FIELDS_LEN: usize = 4 * 4 + 2 * 2 + 1 + 8;
/// A cookie's one accepted length.
pub(super) const COOKIE_LEN: usize = FIELDS_LEN + MAC_LEN;

/// What the peer's INIT said, and when the cookie was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CookieContents {
    /// Our verification tag (the one our INIT-ACK carried).
    pub(super) local_tag: u32,
    /// The peer's verification tag (its INIT's initiate tag).
    pub(super) peer_tag: u32,
    /// The peer's initial TSN.
    pub(super) peer_initial_tsn: u32,
    /// The peer's advertised receive window.
    pub(super) peer_a_rwnd: u32,
    /// The peer's outbound stream count.
    pub(super) peer_outbound_streams: u16,
    /// The peer's inbound stream count.
    pub(super) peer_inbound_streams: u16,
    /// Whether the peer offered FORWARD-TSN and RE-CONFIG.
    pub(super) peer_extensions: PeerExtensions,
    /// When the cookie was made, in milliseconds since the association was created.
    pub(super) created_ms: u64,
}

/// The extensions a peer offered in its INIT or INIT-ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct PeerExtensions {
    /// RFC 3758 partial reliability.
    pub(super) forward_tsn: bool,
    /// RFC 6525 stream reset.
    pub(super) reconfig: bool,
}

impl PeerExtensions {
    /// What `init` offered.
    pub(super) fn of(init: &Init) -> Self {
        use crate::sctp::wire::kind;
        PeerExtensions {
            forward_tsn: init.forward_tsn_supported || init.supports(kind::FORWARD_TSN),
            reconfig: init.supports(kind::RE_CONFIG),
        }
    }
}

/// Signs cookies and opens them.
pub(super) struct CookieSigner {
    key: hmac::Key,
}

impl CookieSigner {
    /// A signer with this secret.
    pub(super) fn new(secret: &[u8; 32]) -> Self {
        CookieSigner { key: hmac::Key::new(hmac::HMAC_SHA256, secret) }
    }

    /// The signed cookie holding `contents`.
    pub(super) fn seal(&self, contents: &CookieContents) -> Bytes {
        let mut out = Vec::with_capacity(COOKIE_LEN);
        out.put_u32(contents.local_tag);
        out.put_u32(contents.peer_tag);
        out.put_u32(contents.peer_initial_tsn);
        out.put_u32(contents.peer_a_rwnd);
        out.put_u16(contents.peer_outbound_streams);
        out.put_u16(contents.peer_inbound_streams);
        out.put_u8(u8::from(contents.peer_extensions.forward_tsn) | (u8::from(contents.peer_extensions.reconfig) << 1));
        out.put_u64(contents.created_ms);
        let tag = hmac::sign(&self.key, &out);
        out.put_slice(tag.as_ref());
        Bytes::from(out)
    }

    /// The contents of `cookie` when it is one we signed; `None` for any other bytes.
    pub(super) fn open(&self, cookie: &[u8]) -> Option<CookieContents> {
        if cookie.len() != COOKIE_LEN {
            return None;
        }
        let (fields, mac) = cookie.split_at(FIELDS_LEN);
        hmac::verify(&self.key, fields, mac).ok()?;
        let u32_at = |i: usize| Some(u32::from_be_bytes(fields.get(i..i + 4)?.try_into().ok()?));
        let u16_at = |i: usize| Some(u16::from_be_bytes(fields.get(i..i + 2)?.try_into().ok()?));
        let flags = *fields.get(20)?;
        Some(CookieContents {
            local_tag: u32_at(0)?,
            peer_tag: u32_at(4)?,
            peer_initial_tsn: u32_at(8)?,
            peer_a_rwnd: u32_at(12)?,
            peer_outbound_streams: u16_at(16)?,
            peer_inbound_streams: u16_at(18)?,
            peer_extensions: PeerExtensions { forward_tsn: flags & 1 != 0, reconfig: flags & 2 != 0 },
            created_ms: u64::from_be_bytes(fields.get(21..29)?.try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents() -> CookieContents {
        CookieContents {
            local_tag: 1,
            peer_tag: 2,
            peer_initial_tsn: 3,
            peer_a_rwnd: 4,
            peer_outbound_streams: 5,
            peer_inbound_streams: 6,
            peer_extensions: PeerExtensions { forward_tsn: true, reconfig: false },
            created_ms: 7,
        }
    }

    #[test]
    fn a_cookie_opens_to_what_was_sealed() {
        let signer = CookieSigner::new(&[9; 32]);
        let cookie = signer.seal(&contents());
        assert_eq!(cookie.len(), COOKIE_LEN);
        assert_eq!(signer.open(&cookie), Some(contents()));
    }

    #[test]
    fn forged_altered_or_foreign_cookies_are_refused() {
        let signer = CookieSigner::new(&[9; 32]);
        let cookie = signer.seal(&contents());
        for i in 0..cookie.len() {
            let mut altered = cookie.to_vec();
            altered[i] ^= 1;
            assert_eq!(signer.open(&altered), None, "byte {i}");
        }
        assert_eq!(CookieSigner::new(&[8; 32]).open(&cookie), None);
        assert_eq!(signer.open(&cookie[..COOKIE_LEN - 1]), None);
        assert_eq!(signer.open(&[cookie.to_vec(), vec![0]].concat()), None);
        assert_eq!(signer.open(&[]), None);
    }
}
