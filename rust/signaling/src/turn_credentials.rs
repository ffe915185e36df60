//! Time-limited TURN credentials in the TURN REST scheme (draft-uberti-behave-turn-rest-00), the
//! one coturn checks with `use-auth-secret` and `static-auth-secret`: the username is
//! `"<Unix time it expires>:<label>"` and the password is base64(HMAC-SHA1(secret, username)).
//! The TURN server knows the secret, recomputes the password from the username and refuses a
//! username whose time has passed; nobody else can make a valid pair. A TURN password shipped
//! inside a game, by contrast, lets anyone who unpacks the game relay through the server for ever.
//!
//! The signaling server hands these to lobby members who ask ([`crate::protocol::Kind::TurnCredentials`]),
//! so only a player who got into a lobby can relay, and only until the credentials expire.

use std::fmt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;

/// Default lifetime of a credential, in seconds (one hour): long enough for a lobby to gather
/// and connect, short enough that a leaked credential soon stops working.
pub const DEFAULT_TTL_SECONDS: u64 = 3600;
/// Shortest lifetime accepted, in seconds (one minute): a lifetime shorter than the time a
/// player takes to connect would refuse honest players; a shorter `--turn-ttl` is raised to it.
pub const MIN_TTL_SECONDS: u64 = 60;
/// Longest lifetime accepted, in seconds (one day): a longer `--turn-ttl` is cut to it.
pub const MAX_TTL_SECONDS: u64 = 86_400;

/// What the server needs to hand out TURN credentials: the secret it shares with the TURN
/// server, the TURN server's URLs, and the credentials' lifetime. Its `Debug` output hides the
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnConfig {
    secret: String,
    urls: Vec<String>,
    ttl_seconds: u64,
}

impl TurnConfig {
    /// Credentials signed with `secret` for the TURN servers `urls` (`turn:` or `turns:` URLs,
    /// given to clients as they are), valid for `ttl_seconds`, kept within
    /// [`MIN_TTL_SECONDS`]..=[`MAX_TTL_SECONDS`].
    pub fn new(secret: impl Into<String>, urls: Vec<String>, ttl_seconds: u64) -> Self {
        Self { secret: secret.into(), urls, ttl_seconds: ttl_seconds.clamp(MIN_TTL_SECONDS, MAX_TTL_SECONDS) }
    }

    /// The credentials' lifetime, in seconds.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// The credentials named `label` that expire at `expires_at` (Unix seconds), issued at
    /// `unix_now`.
    pub fn credentials(&self, expires_at: u64, label: &str, unix_now: u64) -> TurnCredentials {
        let username = format!("{expires_at}:{label}");
        let credential = credential_for(&self.secret, &username);
        TurnCredentials { urls: self.urls.clone(), username, credential, ttl: expires_at.saturating_sub(unix_now) }
    }
}

impl fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TurnConfig")
            .field("secret", &"<hidden>")
            .field("urls", &self.urls)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

/// One set of TURN credentials: an `RTCIceServer` dictionary (`urls`, `username`, `credential`)
/// plus `ttl`, the seconds it had left when issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TurnCredentials {
    /// The TURN servers it is for.
    pub urls: Vec<String>,
    /// `"<Unix time it expires>:<label>"`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub credential: String,
    /// Seconds left before it expires, when issued.
    pub ttl: u64,
}

impl TurnCredentials {
    /// The JSON object sent as a message's data.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The TURN REST password of `username`: base64(HMAC-SHA1(`secret`, `username`)).
pub fn credential_for(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length, so this never fails.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The Unix time at one instant, so that the state machine, which is only told [`Instant`]s,
/// can tell the Unix time at any other: it follows the monotonic clock from there (a wall clock
/// stepped later shifts it by the step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// The instant.
    pub at: Instant,
    /// The Unix time then, in seconds.
    pub unix_seconds: u64,
}

impl WallClock {
    /// The Unix time now, read from the system clock (0 before 1970).
    pub fn now() -> Self {
        let unix_seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        Self { at: Instant::now(), unix_seconds }
    }

    /// The Unix time at `now`, in seconds.
    pub fn unix_seconds_at(&self, now: Instant) -> u64 {
        match now.checked_duration_since(self.at) {
            Some(later) => self.unix_seconds.saturating_add(later.as_secs()),
            None => self.unix_seconds.saturating_sub(self.at.duration_since(now).as_secs()),
        }
    }
}

/// When a client that asks at `unix_now` gets new credentials rather than the ones that expire at
/// `issued_expiry`: once half their lifetime or less is left. A client that asks again sooner
/// gets the same username, so asking often buys no extra usernames (coturn's `user-quota`
/// counts per username).
pub(crate) fn needs_new(issued_expiry: Option<u64>, unix_now: u64, ttl_seconds: u64) -> bool {
    match issued_expiry {
        Some(expiry) => expiry.saturating_sub(unix_now) <= ttl_seconds / 2,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_password_is_base64_of_hmac_sha1_of_the_username() {
        // Expected values computed independently with Python's hmac module:
        // base64.b64encode(hmac.new(secret, username, hashlib.sha1).digest())
        assert_eq!(credential_for("north-wind-2026", "1767225600:42"), "lcjyUpZ1JjfdhyDDC8ELXlXWT8s=");
        assert_eq!(credential_for("netlab-secret", "1700000000:2"), "UQgz4i+FwOLwGoVJlBagslCXD5A=");
        assert_ne!(credential_for("netlab-secret", "1700000001:2"), credential_for("netlab-secret", "1700000000:2"));
    }

    #[test]
    fn credentials_name_their_expiry_and_label_and_serialise_as_an_ice_server() {
        let config = TurnConfig::new("netlab-secret", vec!["turn:198.18.0.1:3478?transport=udp".into()], 600);
        let credentials = config.credentials(1_700_000_000, "2", 1_699_999_400);
        assert_eq!(credentials.username, "1700000000:2");
        assert_eq!(credentials.credential, "UQgz4i+FwOLwGoVJlBagslCXD5A=");
        assert_eq!(credentials.ttl, 600);
        assert_eq!(
            credentials.to_json(),
            r#"{"urls":["turn:198.18.0.1:3478?transport=udp"],"username":"1700000000:2","credential":"UQgz4i+FwOLwGoVJlBagslCXD5A=","ttl":600}"#
        );
    }

    #[test]
    fn the_lifetime_is_kept_within_its_bounds_and_the_secret_out_of_debug_output() {
        assert_eq!(TurnConfig::new("s", vec![], 1).ttl_seconds(), MIN_TTL_SECONDS);
        assert_eq!(TurnConfig::new("s", vec![], u64::MAX).ttl_seconds(), MAX_TTL_SECONDS);
        assert!(!format!("{:?}", TurnConfig::new("very-secret", vec![], 60)).contains("very-secret"));
    }

    #[test]
    fn the_wall_clock_follows_instants_both_ways() {
        let at = Instant::now() + Duration::from_secs(100);
        let clock = WallClock { at, unix_seconds: 1_000 };
        assert_eq!(clock.unix_seconds_at(at + Duration::from_millis(2_500)), 1_002);
        assert_eq!(clock.unix_seconds_at(at - Duration::from_secs(10)), 990);
    }

    #[test]
    fn new_credentials_only_once_half_the_lifetime_is_spent() {
        assert!(needs_new(None, 0, 3600));
        assert!(!needs_new(Some(4600), 1000, 3600));
        assert!(!needs_new(Some(4600), 2799, 3600));
        assert!(needs_new(Some(4600), 2800, 3600));
        assert!(needs_new(Some(4600), 9999, 3600));
    }
}
