//! Peer connections: the handle the caller owns. Signaling calls run on the connection's core at
//! once, under its lock; what the network does comes back as [`PeerEvent`]s, drained with
//! [`PeerConnection::poll`], which also pumps the connection if nobody else is.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard, Weak};
use std::time::{Duration, Instant};

use connection::connection::DescriptionKind;
use connection::sdp::RemoteDescription;

use crate::channel::{self, ChannelOptions, ChannelShared, DataChannel};
use crate::config::TransportConfig;
use crate::core::{closed, Core};
use crate::error::TransportError;
pub use crate::events::PeerEvent;
use crate::io::Io;
use crate::link::Link;
use crate::pump::Driver;
use crate::states::ChannelState;
pub use crate::states::{ConnectionState, GatheringState, SdpKind, SignalingState};
use crate::stats::{self, PeerStats};
use crate::udp::UdpPort;

/// Most host candidates of one family: a machine with many interfaces (container bridges, several
/// IPv6 addresses per interface) stays well under the candidates a peer takes
/// ([`MAX_REMOTE_CANDIDATES`](crate::MAX_REMOTE_CANDIDATES)); the first ones the system lists are
/// kept.
const MAX_HOST_ADDRESSES_PER_FAMILY: usize = 8;
/// Polls closer together than this mean the caller is waiting for something (a busy loop, a
/// round trip): its poll then pumps the connection itself, reading the socket rather than waiting
/// for the connection's task to be scheduled. A game that polls once a frame (4 ms apart at
/// 240 fps) leaves receiving and timers to the task, which handled them as they came, and its poll
/// only takes what is ready: no socket read, no pass over the core each frame (16 idle
/// connections polled at 60 fps cost 1.2-1.3 % of a core with that pass, see bench/README.md).
const WAITING_POLL_GAP: Duration = Duration::from_millis(2);

/// A WebRTC peer connection.
pub struct PeerConnection {
    link: Arc<Link>,
    max_message_size: Arc<AtomicUsize>,
    channels: Vec<Weak<ChannelShared>>,
    /// The length of `channels` at which the handles dropped since are forgotten next.
    prune_at: usize,
    /// The negotiated channels made here, by stream id, for the id-in-use check.
    negotiated: HashMap<u16, Weak<ChannelShared>>,
    connection_state: ConnectionState,
    gathering_state: GatheringState,
    signaling_state: SignalingState,
    /// When [`PeerConnection::poll`] was last called.
    last_poll: Option<Instant>,
    /// Whether [`PeerConnection::close`] was called (not the peer's close or a failure).
    closed_by_caller: bool,
}

impl PeerConnection {
    /// Checks `config`, binds the connection's socket and starts its task on the shared runtime.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        config.validate()?;
        let runtime = crate::runtime::handle()?;
        let _context = runtime.enter();
        let bind = config.effective_bind_address();
        let port = UdpPort::bind(SocketAddr::new(bind, 0))
            .map_err(|error| TransportError::Bind { address: bind, reason: error.to_string() })?;
        let host_addresses = host_addresses(&port);
        let max_message_size = Arc::new(AtomicUsize::new(channel::DEFAULT_MAX_MESSAGE_SIZE));
        let wake = Arc::new(tokio::sync::Notify::new());
        let core =
            Core::build(&config, host_addresses, Arc::clone(&max_message_size), Arc::clone(&wake), Instant::now())?;
        let link = Link::new(core, Io::new(port, wake));
        runtime.spawn(crate::task::run(Arc::clone(&link)));
        Ok(Self {
            link,
            max_message_size,
            channels: Vec::new(),
            prune_at: 0,
            negotiated: HashMap::new(),
            connection_state: ConnectionState::New,
            gathering_state: GatheringState::New,
            signaling_state: SignalingState::Stable,
            last_poll: None,
            closed_by_caller: false,
        })
    }

    /// The connection's shared state (for the relay hub).
    pub(crate) fn link(&self) -> &Arc<Link> {
        &self.link
    }

    /// The connection state now, as channel states are read: what the connection last
    /// reported, even before [`poll`](Self::poll) hands over its `ConnectionStateChanged` (so a
    /// channel never reads open while its connection still reads new); closed once
    /// [`close`](Self::close) was called.
    pub fn connection_state(&self) -> ConnectionState {
        if self.connection_state == ConnectionState::Closed {
            return ConnectionState::Closed;
        }
        self.link.io.latest_state().unwrap_or(self.connection_state)
    }

    /// The gathering state as of the last [`poll`](Self::poll).
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering_state
    }

    /// The signaling state as of the last [`poll`](Self::poll).
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling_state
    }

    /// Creates an offer; it arrives as [`PeerEvent::SessionDescriptionCreated`].
    pub fn create_offer(&self) -> Result<(), TransportError> {
        self.open_core()?.create_offer(&self.link.io)
    }

    /// Applies a local description. An answer is applied by the connection itself as soon as
    /// it is created, so setting a local answer again does nothing.
    pub fn set_local_description(&self, kind: SdpKind, sdp: String) -> Result<(), TransportError> {
        kind.check(&sdp)?;
        // The core applied the description it made; what is handed back must at least be one.
        let as_kind = if kind == SdpKind::Offer { DescriptionKind::Offer } else { DescriptionKind::Answer };
        RemoteDescription::parse(as_kind, &sdp)
            .map_err(|error| TransportError::InvalidSdp(crate::error::excerpt(&error.to_string())))?;
        if kind == SdpKind::Answer {
            return Ok(());
        }
        self.open_core()?.set_local_description(&self.link.io, Instant::now());
        Ok(())
    }

    /// Applies the remote description; for an offer, the answer is created and applied too.
    pub fn set_remote_description(&self, kind: SdpKind, sdp: String) -> Result<(), TransportError> {
        kind.check(&sdp)?;
        let remote_limit = remote_max_message_size(&sdp);
        let now = Instant::now();
        let mut core = self.open_core()?;
        core.set_remote_description(&self.link.io, kind, &sdp, now)?;
        self.max_message_size.store(remote_limit, Ordering::Release);
        self.link.pump(&mut core, Driver::Call, now);
        Ok(())
    }

    /// Adds a remote ICE candidate; candidates that arrive before the remote description are
    /// kept until it is set. Refuses it with [`TransportError::TooManyCandidates`] once the
    /// connection has [`crate::MAX_REMOTE_CANDIDATES`] (those in remote descriptions count too).
    /// A candidate for a connection that failed or that the peer closed is taken and ignored, as a
    /// browser's `addIceCandidate` does (only `close()` makes it refuse): signaling trails the
    /// connection, and a candidate trickled just after a failure is no fault of the caller's (one
    /// error, the failure's, is reported).
    pub fn add_ice_candidate(&self, mid: &str, index: u16, candidate: &str) -> Result<(), TransportError> {
        let line = candidate.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let line = if line.starts_with("candidate:") { line.to_owned() } else { format!("candidate:{line}") };
        let now = Instant::now();
        let mut core = match self.open_core() {
            Ok(core) => core,
            Err(_) if !self.closed_by_caller => {
                log::debug!("a candidate for a connection that failed or the peer closed: ignored");
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        if let Err(error) = core.add_ice_candidate(mid, index, &line, now) {
            if !self.closed_by_caller && core.connection_over() {
                log::debug!("a candidate for a connection that just failed or the peer closed: ignored");
                return Ok(());
            }
            return Err(error);
        }
        self.link.pump(&mut core, Driver::Call, now);
        Ok(())
    }

    /// Creates a data channel. Allowed before and after the connection is up. Follows the W3C
    /// `createDataChannel` checks: a label over [`channel::MAX_LABEL_BYTES`] bytes and invalid
    /// options are refused, and so is a negotiated id that an open channel of this connection
    /// already holds (the existing channel keeps working). Costs the same for the thousandth
    /// channel as for the first (a mesh peer with a long `channels_config` makes thousands).
    pub fn create_data_channel(&mut self, label: &str, options: ChannelOptions) -> Result<DataChannel, TransportError> {
        options.validate()?;
        if label.len() > channel::MAX_LABEL_BYTES {
            return Err(TransportError::InvalidConfig(format!(
                "the label is {} bytes long; at most {} are allowed",
                label.len(),
                channel::MAX_LABEL_BYTES
            )));
        }
        let link = Arc::clone(&self.link);
        let mut core = open_core(&link, self.connection_state)?;
        // Every step below that visits every channel, done on each call, made creating n
        // channels cost n² steps: minutes of the caller's thread for a 65 000-entry config.
        // Dropped handles are forgotten once the list has doubled since the last time.
        if self.channels.len() >= self.prune_at {
            self.channels.retain(|channel| channel.strong_count() > 0);
            self.prune_at = (2 * self.channels.len()).max(16);
        }
        let negotiated_id = options.negotiated_id;
        if core.relay.enabled && negotiated_id == Some(crate::relay::RELAY_STREAM_ID) {
            // The relay channel's id, on a connection that announces relaying.
            return Err(TransportError::IdInUse(crate::relay::RELAY_STREAM_ID));
        }
        if let Some(id) = negotiated_id {
            if self.negotiated.get(&id).and_then(Weak::upgrade).is_some_and(|channel| channel.holds_id(id)) {
                return Err(TransportError::IdInUse(id));
            }
        }
        let now = Instant::now();
        let channel = core.create_data_channel(link.sink(), label, options, now)?;
        // A pass of the pump sends the channel's opening at once where an association may be up;
        // before DTLS is (new, connecting) there is nothing to send, and the channel opens when
        // the association does.
        if !matches!(core.state, ConnectionState::New | ConnectionState::Connecting) {
            link.pump(&mut core, Driver::Call, now);
        }
        self.channels.push(Arc::downgrade(channel.shared()));
        if let Some(id) = negotiated_id {
            self.negotiated.insert(id, Arc::downgrade(channel.shared()));
        }
        Ok(channel)
    }

    /// Announces relaying through a common mesh member, as [`TransportConfig::relay`] would
    /// have (a mesh learns it when the connection is added to it). Only before any description
    /// was made or applied, and not while a channel of this connection holds the relay
    /// channel's id ([`RELAY_STREAM_ID`](crate::relay::RELAY_STREAM_ID)).
    pub fn announce_relay(&self) -> Result<(), TransportError> {
        let id = crate::relay::RELAY_STREAM_ID;
        if self.negotiated.get(&id).and_then(Weak::upgrade).is_some_and(|channel| channel.holds_id(id)) {
            return Err(TransportError::IdInUse(id));
        }
        let mut core = self.open_core()?;
        core.conn.announce_relay(true).map_err(|error| TransportError::WrongState(error.to_string()))?;
        core.relay.enabled = true;
        Ok(())
    }

    /// Closes at once every channel the remote side opens in-band from now on, and stops
    /// reporting them as [`PeerEvent::DataChannelReceived`]: for a connection whose owner reads
    /// only its negotiated channels (a mesh), where nothing would read them. Without it, the
    /// remote side may keep up to [`MAX_REMOTE_CHANNELS`](crate::remote_channels::MAX_REMOTE_CHANNELS)
    /// open at once and open [`MAX_REMOTE_OPENS`](crate::remote_channels::MAX_REMOTE_OPENS) in all.
    pub fn refuse_remote_channels(&self) {
        self.link.core().refuse_remote_channels = true;
    }

    /// Statistics, taken now from the connection's core. After `close` they are the default.
    pub fn stats(&self) -> PeerStats {
        if self.connection_state == ConnectionState::Closed {
            return PeerStats::default();
        }
        let core = self.link.core();
        let mut stats = stats::take(core.conn.stats(), &core.local_candidates, &core.signaled, Instant::now());
        (stats.path, stats.relay) = core.relay.path();
        stats.relay_channel_drops = core.relay.channel_drops();
        stats.ice_restarts = core.relay.ice_restarts();
        stats
    }

    /// Pumps the connection when polls come less than [`WAITING_POLL_GAP`] apart (unless its
    /// task is pumping it right now), then takes every event reported since the last call and
    /// updates the cached states.
    pub fn poll(&mut self) -> Vec<PeerEvent> {
        if self.connection_state == ConnectionState::Closed {
            return Vec::new();
        }
        let now = Instant::now();
        if self.last_poll.is_some_and(|last| now.duration_since(last) < WAITING_POLL_GAP) {
            self.link.pump_if_free();
        }
        self.last_poll = Some(now);
        let events = self.link.io.take_events();
        for event in &events {
            match event {
                PeerEvent::ConnectionStateChanged(state) => {
                    self.connection_state = *state;
                    if *state == ConnectionState::Closed {
                        // Closed by the remote side: the channels end with the connection.
                        self.close_channels();
                    }
                }
                PeerEvent::GatheringStateChanged(state) => self.gathering_state = *state,
                PeerEvent::SignalingStateChanged(state) => self.signaling_state = *state,
                PeerEvent::DataChannelReceived(channel) => self.channels.push(Arc::downgrade(channel.shared())),
                _ => {}
            }
        }
        events
    }

    /// Closes the connection and all its channels. Never waits for the network.
    pub fn close(&mut self) {
        if self.connection_state == ConnectionState::Closed {
            return;
        }
        self.connection_state = ConnectionState::Closed;
        self.signaling_state = SignalingState::Closed;
        self.closed_by_caller = true;
        self.close_channels();
        self.link.core().close(&self.link.io, Instant::now());
    }

    fn close_channels(&mut self) {
        for channel in self.channels.drain(..).filter_map(|weak| weak.upgrade()) {
            channel.set_state(ChannelState::Closed);
        }
    }

    /// The core, locked for a call that changes it, unless the connection is closed.
    fn open_core(&self) -> Result<MutexGuard<'_, Core>, TransportError> {
        open_core(&self.link, self.connection_state)
    }
}

/// `link`'s core, locked for a call that changes it, unless the connection is closed: by its
/// handle (`state`), or by the remote side before the handle's last poll.
fn open_core(link: &Link, state: ConnectionState) -> Result<MutexGuard<'_, Core>, TransportError> {
    if state == ConnectionState::Closed {
        return Err(closed());
    }
    let core = link.core();
    if core.closed {
        return Err(closed());
    }
    Ok(core)
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.close();
    }
}

/// The addresses host candidates name: the bound address, or for a wildcard every usable
/// interface address the socket reaches (both families on a dual-stack socket), see
/// [`usable_host_addresses`].
fn host_addresses(port: &UdpPort) -> Vec<SocketAddr> {
    let bound = port.local_addr();
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let interfaces = match rtc_shared::ifaces::ifaces() {
        Ok(interfaces) => interfaces.into_iter().filter_map(|interface| interface.addr.map(|addr| addr.ip())).collect(),
        Err(error) => {
            log::warn!("cannot list the network interfaces: {error}");
            Vec::new()
        }
    };
    usable_host_addresses(&interfaces, bound, port.dual_stack())
}

/// The interface addresses of `interfaces` a wildcard socket bound at `bound` names in host
/// candidates: those of its family (of both on a `dual_stack` socket), IPv6 global and unique
/// local ones but not link-local (`fe80::/10` needs a scope id no candidate carries), loopback
/// only if there is no other; at most [`MAX_HOST_ADDRESSES_PER_FAMILY`] of each family.
fn usable_host_addresses(interfaces: &[IpAddr], bound: SocketAddr, dual_stack: bool) -> Vec<SocketAddr> {
    let reached = |ip: &IpAddr| dual_stack || ip.is_ipv4() == bound.is_ipv4();
    let usable = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified(),
        IpAddr::V6(v6) => {
            !v6.is_loopback()
                && !v6.is_unspecified()
                && (v6.segments()[0] & 0xffc0) != 0xfe80
                && v6.to_ipv4_mapped().is_none()
        }
    };
    let mut found: Vec<SocketAddr> = Vec::new();
    for ip in interfaces.iter().filter(|ip| reached(ip) && usable(ip)) {
        let address = SocketAddr::new(*ip, bound.port());
        let of_family = found.iter().filter(|other| other.is_ipv4() == address.is_ipv4()).count();
        if !found.contains(&address) && of_family < MAX_HOST_ADDRESSES_PER_FAMILY {
            found.push(address);
        }
    }
    if found.is_empty() {
        let v4_loopback = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port());
        let v6_loopback = SocketAddr::new(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]), bound.port());
        match (dual_stack, bound.is_ipv4()) {
            (true, _) => found.extend([v4_loopback, v6_loopback]),
            (false, true) => found.push(v4_loopback),
            (false, false) => found.push(v6_loopback),
        }
    }
    found
}

/// The `a=max-message-size` the remote side announces (RFC 8841; 64 KiB when absent, and
/// never more than we accept ourselves).
fn remote_max_message_size(sdp: &str) -> usize {
    let announced = sdp
        .lines()
        .find_map(|line| line.trim().strip_prefix("a=max-message-size:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(channel::DEFAULT_MAX_MESSAGE_SIZE);
    match announced {
        0 => channel::DEFAULT_MAX_MESSAGE_SIZE,
        size => size.min(channel::DEFAULT_MAX_MESSAGE_SIZE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_message_size_follows_the_remote_announcement() {
        assert_eq!(remote_max_message_size("v=0\r\na=max-message-size:16384\r\n"), 16384);
        assert_eq!(remote_max_message_size("v=0\r\n"), channel::DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(remote_max_message_size("a=max-message-size:0\r\n"), channel::DEFAULT_MAX_MESSAGE_SIZE);
        assert_eq!(remote_max_message_size("a=max-message-size:1000000\r\n"), channel::DEFAULT_MAX_MESSAGE_SIZE);
    }

    fn addresses(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|address| address.parse().expect("an address")).collect()
    }

    fn at(address: &str) -> SocketAddr {
        address.parse().expect("an address")
    }

    #[test]
    fn a_bound_address_is_the_only_host_address() {
        let bound = at("127.0.0.1:0");
        let port = UdpPort::bind(bound).expect("a socket");
        assert_eq!(host_addresses(&port), vec![port.local_addr()]);
        let wildcard = UdpPort::bind(at("0.0.0.0:0")).expect("a socket");
        assert!(host_addresses(&wildcard).iter().all(|address| address.is_ipv4()));
    }

    #[test]
    fn a_dual_stack_socket_names_both_families_but_not_link_local_ipv6() {
        let interfaces = addresses(&[
            "127.0.0.1",
            "192.168.1.20",
            "169.254.3.4",
            "::1",
            "fe80::1234",
            "2001:db8:6::20",
            "fd00:6::20",
            "192.168.1.20",
        ]);
        let dual = usable_host_addresses(&interfaces, at("[::]:4000"), true);
        assert_eq!(dual, vec![at("192.168.1.20:4000"), at("[2001:db8:6::20]:4000"), at("[fd00:6::20]:4000")]);
        let v4_only = usable_host_addresses(&interfaces, at("0.0.0.0:4000"), false);
        assert_eq!(v4_only, vec![at("192.168.1.20:4000")]);
        let v6_only = usable_host_addresses(&interfaces, at("[::]:4000"), false);
        assert_eq!(v6_only, vec![at("[2001:db8:6::20]:4000"), at("[fd00:6::20]:4000")]);
    }

    #[test]
    fn host_addresses_are_bounded_per_family() {
        let mut interfaces: Vec<IpAddr> = (1..=20).map(|n| IpAddr::from([10, 0, 0, n])).collect();
        interfaces.extend((1..=20).map(|n| IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, n])));
        let found = usable_host_addresses(&interfaces, at("[::]:4000"), true);
        assert_eq!(found.iter().filter(|address| address.is_ipv4()).count(), MAX_HOST_ADDRESSES_PER_FAMILY);
        assert_eq!(found.iter().filter(|address| address.is_ipv6()).count(), MAX_HOST_ADDRESSES_PER_FAMILY);
        assert_eq!(found[0], at("10.0.0.1:4000"), "the first ones listed are kept");
    }

    #[test]
    fn an_ipv6_only_host_names_only_ipv6_and_loopback_comes_only_when_nothing_else_does() {
        let ipv6_only = addresses(&["::1", "127.0.0.1", "fe80::1", "2001:db8:6::20"]);
        assert_eq!(usable_host_addresses(&ipv6_only, at("[::]:4000"), true), vec![at("[2001:db8:6::20]:4000")]);
        let loopback_only = addresses(&["::1", "127.0.0.1", "fe80::1"]);
        assert_eq!(
            usable_host_addresses(&loopback_only, at("[::]:4000"), true),
            vec![at("127.0.0.1:4000"), at("[::1]:4000")]
        );
        assert_eq!(usable_host_addresses(&loopback_only, at("0.0.0.0:4000"), false), vec![at("127.0.0.1:4000")]);
    }
}
