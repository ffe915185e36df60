//! Connection configuration: ICE servers, the ICE transport policy and the local address to bind.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::RwLock;

use rtc_ice::url::{ProtoType, SchemeType, Url};

use crate::error::{excerpt, TransportError};

/// What the transport can use, said in every refusal of an ICE server URL.
const SUPPORTED_URLS: &str = "supported are STUN over UDP ('stun:host:port') and TURN over UDP \
     ('turn:host:port', optionally '?transport=udp'), TCP ('turn:host:port?transport=tcp') and TLS \
     ('turns:host:port')";

/// A STUN or TURN server, as in the W3C `RTCIceServer` dictionary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// One or more `stun:` / `turn:` URLs (see [`IceServer::validate`] for what is accepted).
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: String,
    /// TURN password.
    pub credential: String,
}

impl IceServer {
    /// Checks that every URL parses, that the transport can use it, and that TURN servers carry
    /// credentials. Refused: `stuns:` (STUN over TLS, which the transport cannot use) and a query
    /// on a `stun:` URL (RFC 7064 defines none).
    pub fn validate(&self) -> Result<(), TransportError> {
        if self.urls.is_empty() {
            return Err(TransportError::InvalidConfig("an ICE server has no URLs".into()));
        }
        for url in &self.urls {
            let parsed = parse_url(url)?;
            if matches!(parsed.scheme, SchemeType::Turn | SchemeType::Turns)
                && (self.username.is_empty() || self.credential.is_empty())
            {
                return Err(TransportError::InvalidConfig(format!(
                    "TURN server '{}' needs both a username and a credential",
                    excerpt(url)
                )));
            }
        }
        Ok(())
    }

    /// Each URL with its parsed form (all of them once [`validate`](Self::validate) passed).
    pub(crate) fn parsed_urls(&self) -> impl Iterator<Item = (&str, Url)> + '_ {
        self.urls.iter().filter_map(|url| Some((url.as_str(), Url::parse_url(url).ok()?)))
    }
}

/// Parses one ICE server URL and refuses what the transport cannot use.
fn parse_url(url: &str) -> Result<Url, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidConfig(format!("ICE server URL '{}': {reason}", excerpt(url)));
    let unsupported = |what: &str| invalid(&format!("{what} is not supported by this transport yet; {SUPPORTED_URLS}"));
    let scheme = url.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
    if scheme == "stuns" {
        return Err(unsupported("STUN over TLS ('stuns:')"));
    }
    let parsed = Url::parse_url(url).map_err(|error| {
        if scheme == "stun" && url.contains('?') {
            invalid("a 'stun:' URL takes no query ('?...'); remove it")
        } else {
            invalid(&format!("{error}; {SUPPORTED_URLS}"))
        }
    })?;
    // What parses is a `stun:` URL (always UDP), a `turn:` URL over UDP or TCP, or a `turns:` URL
    // (TLS over TCP).
    match parsed.proto {
        ProtoType::Udp | ProtoType::Tcp => Ok(parsed),
        _ => Err(invalid(&format!("unknown transport; {SUPPORTED_URLS}"))),
    }
}

/// Which candidates ICE may use, as in the W3C `RTCIceTransportPolicy` enum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IceTransportPolicy {
    /// Every candidate: host, server-reflexive and relayed (the default).
    #[default]
    All,
    /// Only candidates relayed through a TURN server: no host or server-reflexive candidates are
    /// gathered, so the peer never learns this machine's addresses.
    Relay,
}

impl IceTransportPolicy {
    /// Parses the W3C name (`"all"`, `"relay"`).
    pub fn parse(name: &str) -> Result<Self, TransportError> {
        match name {
            "all" => Ok(Self::All),
            "relay" => Ok(Self::Relay),
            other => Err(TransportError::InvalidConfig(format!(
                "unknown iceTransportPolicy '{}' (expected \"all\" or \"relay\")",
                excerpt(other)
            ))),
        }
    }

    /// The W3C name.
    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Relay => "relay",
        }
    }
}

/// Everything a [`PeerConnection`](crate::PeerConnection) is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportConfig {
    /// STUN/TURN servers; none means host candidates only.
    pub ice_servers: Vec<IceServer>,
    /// Which candidates ICE may use.
    pub ice_transport_policy: IceTransportPolicy,
    /// Local address to bind; `None` uses [`default_bind_address`].
    pub bind_address: Option<IpAddr>,
    /// Most bytes of received, unread messages each channel holds (the engine's
    /// `network/limits/webrtc/max_channel_in_buffer_kb`, in bytes); never less than
    /// [`MIN_RECEIVE_LIMIT`](crate::channel::MIN_RECEIVE_LIMIT), which 0 (the default) means.
    pub channel_receive_limit: usize,
    /// Announce relaying through a common mesh member (issue 21: `a=x-webrtc-mesh-relay` in our
    /// descriptions). Where the other side announces it too, the connection gets the relay
    /// channel ([`RELAY_STREAM_ID`](crate::relay::RELAY_STREAM_ID), which the game then cannot
    /// take) and, once registered with a [`RelayHub`](crate::RelayHub), may carry other members'
    /// traffic and have its own carried. Off by default.
    pub relay: bool,
}

impl TransportConfig {
    /// Checks every ICE server ([`IceServer::validate`]), that a server given as an IP address
    /// has a family the socket reaches (the IPv6 wildcard `::`, the default, binds a dual-stack
    /// socket that reaches both; any other bind address only its own family), and that the relay
    /// policy has a TURN server to relay through.
    pub fn validate(&self) -> Result<(), TransportError> {
        self.ice_servers.iter().try_for_each(IceServer::validate)?;
        let bind = self.effective_bind_address();
        let urls = || self.ice_servers.iter().flat_map(IceServer::parsed_urls);
        for (raw, url) in urls() {
            let Ok(server) = url.host.parse::<IpAddr>() else { continue };
            if server.is_ipv4() != bind.is_ipv4() && bind != IpAddr::V6(Ipv6Addr::UNSPECIFIED) {
                let family = if server.is_ipv4() { "IPv4" } else { "IPv6" };
                return Err(TransportError::InvalidConfig(format!(
                    "ICE server URL '{}' is an {family} address but the connection binds {bind}, which reaches only \
                     servers of its own family; bind an address of that family or '::' (both families) \
                     ('bindAddress'), or name another server",
                    excerpt(raw)
                )));
            }
        }
        let has_turn = urls().any(|(_, url)| matches!(url.scheme, SchemeType::Turn | SchemeType::Turns));
        if self.ice_transport_policy == IceTransportPolicy::Relay && !has_turn {
            return Err(TransportError::InvalidConfig(
                "iceTransportPolicy \"relay\" needs a TURN server (a 'turn:' URL) in iceServers".into(),
            ));
        }
        Ok(())
    }

    /// Whether a TURN server is configured.
    pub fn has_relay(&self) -> bool {
        self.ice_servers.iter().flat_map(|server| &server.urls).any(|url| {
            let url = url.trim().to_ascii_lowercase();
            url.starts_with("turn:") || url.starts_with("turns:")
        })
    }

    /// The address the connection's UDP socket binds.
    pub fn effective_bind_address(&self) -> IpAddr {
        self.bind_address.unwrap_or_else(default_bind_address)
    }
}

/// Name of the environment variable naming a PEM file of certificate authorities trusted for
/// `turns:` servers besides the web's (for a private TURN server with an authority of its own).
pub const TURN_CA_FILE_ENV: &str = "WEBRTC_MESH_TURN_CA_FILE";

/// Name of the environment variable that sets the process-wide default bind address.
pub const BIND_ADDRESS_ENV: &str = "WEBRTC_MESH_BIND_ADDRESS";

static DEFAULT_BIND_ADDRESS: RwLock<Option<IpAddr>> = RwLock::new(None);

/// The bind address used by connections that name none: the one set with
/// [`set_default_bind_address`], else `WEBRTC_MESH_BIND_ADDRESS`, else `::`, every interface of
/// both families (one dual-stack socket; IPv4 only, `0.0.0.0`, where the system has no IPv6).
pub fn default_bind_address() -> IpAddr {
    let set = *DEFAULT_BIND_ADDRESS.read().unwrap_or_else(|poisoned| poisoned.into_inner());
    set.or_else(|| std::env::var(BIND_ADDRESS_ENV).ok()?.trim().parse().ok())
        .unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))
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

    fn turn(url: &str) -> IceServer {
        IceServer { urls: vec![url.into()], username: "user".into(), credential: "secret".into() }
    }

    fn refusal(server: &IceServer) -> String {
        match server.validate() {
            Err(TransportError::InvalidConfig(reason)) => reason,
            other => panic!("{:?} was not refused: {other:?}", server.urls),
        }
    }

    #[test]
    fn turn_needs_credentials() {
        let mut turn = IceServer { urls: vec!["turn:turn.example.org:3478".into()], ..Default::default() };
        assert!(turn.validate().is_err());
        turn.username = "user".into();
        turn.credential = "secret".into();
        assert!(turn.validate().is_ok());
    }

    #[test]
    fn turn_over_udp_is_accepted() {
        assert_eq!(turn("turn:turn.example.org:3478").validate(), Ok(()));
        assert_eq!(turn("turn:turn.example.org:3478?transport=udp").validate(), Ok(()));
        assert_eq!(turn("turn:[2001:db8::1]:3478").validate(), Ok(()));
    }

    #[test]
    fn turn_over_tcp_and_tls_is_accepted_and_stun_over_tls_refused() {
        for url in [
            "turn:turn.example.org:3478?transport=tcp",
            "turns:turn.example.org:5349",
            "turns:turn.example.org:443?transport=tcp",
            "TURNS:turn.example.org",
        ] {
            assert_eq!(turn(url).validate(), Ok(()), "{url}");
        }
        let reason = refusal(&turn("stuns:stun.example.org:5349"));
        assert!(reason.contains("STUN over TLS"), "{reason}");
        assert!(reason.contains("not supported by this transport yet"), "{reason}");
        assert!(reason.contains("TURN over UDP") && reason.contains("TLS ('turns:host:port')"), "{reason}");
        let no_credentials = IceServer { urls: vec!["turns:turn.example.org".into()], ..Default::default() };
        assert!(refusal(&no_credentials).contains("credential") || refusal(&no_credentials).contains("username"));
    }

    #[test]
    fn a_query_on_a_stun_url_is_refused() {
        let stun = IceServer { urls: vec!["stun:stun.example.org?transport=udp".into()], ..Default::default() };
        assert!(refusal(&stun).contains("takes no query"));
    }

    #[test]
    fn one_bad_url_refuses_the_whole_server() {
        let mixed = IceServer {
            urls: vec!["stun:stun.example.org".into(), "stuns:stun.example.org".into()],
            ..turn("turn:turn.example.org")
        };
        assert!(mixed.validate().is_err());
    }

    #[test]
    fn a_server_of_the_other_address_family_is_refused_only_by_a_single_family_bind() {
        let v6_server = IceServer { urls: vec!["stun:[::1]:3478".into()], ..Default::default() };
        let v4_server = IceServer { urls: vec!["stun:192.0.2.1:3478".into()], ..Default::default() };
        let bound = |address: &str, server: &IceServer| TransportConfig {
            ice_servers: vec![server.clone()],
            bind_address: Some(address.parse().expect("an address")),
            ..Default::default()
        };
        for (address, server, family) in
            [("127.0.0.1", &v6_server, "IPv6"), ("0.0.0.0", &v6_server, "IPv6"), ("::1", &v4_server, "IPv4")]
        {
            let refused = bound(address, server).validate();
            let says = |reason: &str| reason.contains(family) && reason.contains("'::'");
            assert!(
                matches!(&refused, Err(TransportError::InvalidConfig(reason)) if says(reason)),
                "{address}: {refused:?}"
            );
        }
        assert_eq!(bound("::1", &v6_server).validate(), Ok(()));
        assert_eq!(bound("::", &v6_server).validate(), Ok(()), "the dual-stack wildcard reaches both");
        assert_eq!(bound("::", &v4_server).validate(), Ok(()), "the dual-stack wildcard reaches both");
        let named = IceServer { urls: vec!["stun:stun.example.org".into()], ..Default::default() };
        assert_eq!(bound("::1", &named).validate(), Ok(()), "a host name is resolved later, in either family");
    }

    #[test]
    fn the_default_bind_address_is_the_dual_stack_wildcard() {
        // Unless the environment names one (the tests may run with WEBRTC_MESH_BIND_ADDRESS set).
        if std::env::var(BIND_ADDRESS_ENV).is_err() {
            assert_eq!(default_bind_address(), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        }
        let config = TransportConfig {
            ice_servers: vec![IceServer {
                urls: vec!["stun:192.0.2.1".into(), "stun:[2001:db8::1]".into()],
                ..Default::default()
            }],
            bind_address: Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
            ..Default::default()
        };
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn relay_policy_needs_a_turn_server() {
        let stun_only = IceServer { urls: vec!["stun:stun.example.org".into()], ..Default::default() };
        let mut config = TransportConfig {
            ice_servers: vec![stun_only],
            ice_transport_policy: IceTransportPolicy::Relay,
            bind_address: Some(IpAddr::from([127, 0, 0, 1])),
            ..Default::default()
        };
        assert!(matches!(config.validate(), Err(TransportError::InvalidConfig(reason)) if reason.contains("relay")));
        config.ice_servers.push(turn("turn:127.0.0.1:3478"));
        assert_eq!(config.validate(), Ok(()));
        config.ice_transport_policy = IceTransportPolicy::All;
        config.ice_servers.truncate(1);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn policies_parse_by_their_w3c_names() {
        assert_eq!(IceTransportPolicy::parse("all"), Ok(IceTransportPolicy::All));
        assert_eq!(IceTransportPolicy::parse("relay"), Ok(IceTransportPolicy::Relay));
        assert!(IceTransportPolicy::parse("Relay").is_err());
        assert!(IceTransportPolicy::parse("none").is_err());
        assert_eq!(IceTransportPolicy::Relay.name(), "relay");
        assert_eq!(IceTransportPolicy::default(), IceTransportPolicy::All);
    }
}
