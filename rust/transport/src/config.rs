//! Connection configuration: ICE servers and the local address to bind.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::RwLock;

use crate::error::TransportError;

/// A STUN or TURN server, as in the W3C `RTCIceServer` dictionary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// One or more `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: String,
    /// TURN password.
    pub credential: String,
}

impl IceServer {
    /// Checks that every URL parses and that TURN servers carry credentials.
    pub fn validate(&self) -> Result<(), TransportError> {
        if self.urls.is_empty() {
            return Err(TransportError::InvalidConfig("an ICE server has no URLs".into()));
        }
        for url in &self.urls {
            rtc::ice::url::Url::parse_url(url)
                .map_err(|error| TransportError::InvalidConfig(format!("ICE server URL '{url}': {error}")))?;
            let is_turn = url.starts_with("turn:") || url.starts_with("turns:");
            if is_turn && (self.username.is_empty() || self.credential.is_empty()) {
                return Err(TransportError::InvalidConfig(format!(
                    "TURN server '{url}' needs both a username and a credential"
                )));
            }
        }
        Ok(())
    }
}

/// Everything a [`PeerConnection`](crate::PeerConnection) is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportConfig {
    /// STUN/TURN servers; none means host candidates only.
    pub ice_servers: Vec<IceServer>,
    /// Local address to bind; `None` uses [`default_bind_address`].
    pub bind_address: Option<IpAddr>,
}

impl TransportConfig {
    /// Checks every ICE server.
    pub fn validate(&self) -> Result<(), TransportError> {
        self.ice_servers.iter().try_for_each(IceServer::validate)
    }

    /// The address the connection's UDP socket binds.
    pub fn effective_bind_address(&self) -> IpAddr {
        self.bind_address.unwrap_or_else(default_bind_address)
    }
}

/// Name of the environment variable that sets the process-wide default bind address.
pub const BIND_ADDRESS_ENV: &str = "WEBRTC_MESH_BIND_ADDRESS";

static DEFAULT_BIND_ADDRESS: RwLock<Option<IpAddr>> = RwLock::new(None);

/// The bind address used by connections that name none: the one set with
/// [`set_default_bind_address`], else `WEBRTC_MESH_BIND_ADDRESS`, else all interfaces.
pub fn default_bind_address() -> IpAddr {
    let set = *DEFAULT_BIND_ADDRESS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    set.or_else(|| std::env::var(BIND_ADDRESS_ENV).ok()?.trim().parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// Sets the bind address for connections that name none (`None` restores the default).
pub fn set_default_bind_address(address: Option<IpAddr>) {
    *DEFAULT_BIND_ADDRESS.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = address;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_url_is_accepted_and_garbage_refused() {
        let stun = IceServer { urls: vec!["stun:stun.example.org:3478".into()], ..Default::default() };
        assert!(stun.validate().is_ok());
        let garbage = IceServer { urls: vec!["not a url".into()], ..Default::default() };
        assert!(matches!(garbage.validate(), Err(TransportError::InvalidConfig(_))));
        let empty = IceServer::default();
        assert!(empty.validate().is_err());
    }

    #[test]
    fn turn_needs_credentials() {
        let mut turn = IceServer { urls: vec!["turn:turn.example.org:3478".into()], ..Default::default() };
        assert!(turn.validate().is_err());
        turn.username = "user".into();
        turn.credential = "secret".into();
        assert!(turn.validate().is_ok());
    }
}
