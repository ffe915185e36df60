//! STUN and TURN clients: server-reflexive candidates from STUN servers, relay candidates from
//! TURN servers (reached over UDP, TCP or TLS), and the relayed traffic, routed by the pump: datagrams from a
//! server go to its client, relayed datagrams come out tagged with the relayed address, and what
//! the core sends from a relayed address goes through its allocation.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use connection::ice_dtls::LocalCandidate;
use connection::sdp::CandidateKind;
use rtc_ice::url::{ProtoType, SchemeType};
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc_stun::message::TransactionId;
use rtc_turn::client::{Client, ClientConfig, Event};
use sansio::Protocol;
use tokio::sync::Notify;

use crate::config::{IceTransportPolicy, TransportConfig};
use crate::lock::lock;
use crate::turn_stream::TurnStream;

/// Packets kept per peer while the relay's permission for it is being created.
const MAX_WAITING_FOR_PERMISSION: usize = 64;
/// How often a pending name resolution is looked at.
const RESOLUTION_POLL: Duration = Duration::from_millis(20);

/// How a server is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Over the connection's UDP socket.
    Udp,
    /// Over a TCP connection of its own.
    Tcp,
    /// Over TLS on a TCP connection, checking the certificate for this name.
    Tls(String),
}

/// A server named in the configuration.
struct Server {
    url: String,
    turn: bool,
    reach: Reach,
    username: String,
    credential: String,
    /// Its addresses: at once for an IP address, from a lookup on the runtime for a name.
    addresses: Arc<Mutex<Option<Vec<SocketAddr>>>>,
    /// Whether a client was made for it (or it was given up).
    used: bool,
}

/// One client talking to one server.
struct ServerClient {
    url: String,
    server: SocketAddr,
    /// The host address a server-reflexive candidate names as its base (of the server's family).
    base: Option<SocketAddr>,
    turn: bool,
    client: Client,
    /// The request whose answer ends this client's part of gathering.
    gathering: Option<TransactionId>,
    relayed: Option<SocketAddr>,
    permissions: HashMap<SocketAddr, Permission>,
    /// The connection to the server when it is reached over TCP or TLS.
    stream: Option<TurnStream>,
}

/// A relay's permission for one peer: granted, or pending with the packets waiting for it.
enum Permission {
    Pending { transaction: TransactionId, waiting: VecDeque<BytesMut> },
    Granted,
}

/// Every STUN and TURN client of a connection.
pub(crate) struct IceServers {
    servers: Vec<Server>,
    clients: Vec<ServerClient>,
    relay_only: bool,
    /// The socket's address and the host addresses, once gathering started.
    started: Option<(SocketAddr, Vec<SocketAddr>)>,
    candidates: VecDeque<LocalCandidate>,
    relayed_in: VecDeque<(SocketAddr, SocketAddr, BytesMut)>,
    /// Wakes the connection's task when a TCP or TLS server sends something.
    wake: Arc<Notify>,
}

impl IceServers {
    /// The servers of `config`; names are looked up on the shared runtime from now on, and so
    /// is the network's NAT64 prefix when the connection reaches only IPv6 (`host_addresses`
    /// has IPv6 addresses and no IPv4 one) and a server is given as an IPv4 address.
    pub(crate) fn new(config: &TransportConfig, host_addresses: &[SocketAddr], wake: Arc<Notify>) -> Self {
        let ipv6_only = host_addresses.iter().any(|address| address.is_ipv6() && !address.ip().is_loopback())
            && !host_addresses.iter().any(SocketAddr::is_ipv4);
        let mut servers = Vec::new();
        for server in &config.ice_servers {
            for (raw, url) in server.parsed_urls() {
                let host = url.host.trim_start_matches('[').trim_end_matches(']').to_owned();
                let (turn, reach) = match (url.scheme, url.proto) {
                    (SchemeType::Stun, _) => (false, Reach::Udp),
                    (SchemeType::Turn, ProtoType::Tcp) => (true, Reach::Tcp),
                    (SchemeType::Turn, _) => (true, Reach::Udp),
                    (SchemeType::Turns, _) => (true, Reach::Tls(host.clone())),
                    _ => continue,
                };
                let addresses = Arc::new(Mutex::new(None));
                match host.parse::<IpAddr>() {
                    Ok(IpAddr::V4(v4)) if ipv6_only => {
                        synthesize_nat64(SocketAddr::new(IpAddr::V4(v4), url.port), Arc::clone(&addresses))
                    }
                    Ok(ip) => *lock(&addresses) = Some(vec![SocketAddr::new(ip, url.port)]),
                    Err(_) => look_up(format!("{host}:{}", url.port), Arc::clone(&addresses)),
                }
                servers.push(Server {
                    url: raw.to_owned(),
                    turn,
                    reach,
                    username: server.username.clone(),
                    credential: server.credential.clone(),
                    addresses,
                    used: false,
                });
            }
        }
        Self {
            servers,
            clients: Vec::new(),
            relay_only: config.ice_transport_policy == IceTransportPolicy::Relay,
            started: None,
            candidates: VecDeque::new(),
            relayed_in: VecDeque::new(),
            wake,
        }
    }

    /// Whether only relay candidates may be used.
    pub(crate) fn relay_only(&self) -> bool {
        self.relay_only
    }

    /// Starts asking every server from `local` (the socket's address); server-reflexive
    /// candidates name the first of `hosts` (the host addresses) of their server's family as
    /// their base.
    pub(crate) fn start(&mut self, local: SocketAddr, hosts: &[SocketAddr], now: Instant) {
        self.started = Some((local, hosts.to_vec()));
        self.make_clients(now);
    }

    /// Makes a client for every server whose addresses are known.
    fn make_clients(&mut self, now: Instant) {
        let Some((local, hosts)) = &self.started else { return };
        let local = *local;
        for server in self.servers.iter_mut().filter(|server| !server.used) {
            let Some(addresses) = lock(&server.addresses).clone() else { continue };
            server.used = true;
            if self.relay_only && !server.turn {
                continue;
            }
            let Some(address) = server_address(&addresses, hosts) else {
                log::warn!(
                    "ICE server '{}' has no address of a family this connection reaches ({}; host addresses: {})",
                    server.url,
                    list(&addresses),
                    list(hosts)
                );
                continue;
            };
            let base = hosts.iter().find(|host| host.is_ipv4() == address.is_ipv4()).copied();
            match ServerClient::start(server, address, base, local, now, &self.wake) {
                Ok(client) => self.clients.push(client),
                Err(error) => log::warn!("ICE server '{}': {error}", server.url),
            }
        }
    }

    /// Whether every server has answered, failed or timed out.
    pub(crate) fn done(&self) -> bool {
        self.started.is_some()
            && self.servers.iter().all(|server| server.used)
            && self.clients.iter().all(|client| client.gathering.is_none())
    }

    /// Takes a datagram from `from` if it is for one of the clients (a response to its request,
    /// or relayed data).
    pub(crate) fn handle_read(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) -> bool {
        // A STUN and a TURN client may talk to the same server: answers go to the client that
        // asked, relayed data to the one with an allocation.
        let kind = stun_class_and_transaction(datagram);
        let Some(client) = self.clients.iter_mut().find(|client| {
            client.server == from
                && client.stream.is_none()
                && match kind {
                    Some((StunClass::Response, transaction)) => client.client.has_transaction(&transaction),
                    Some((StunClass::Indication, _)) => client.turn,
                    Some((StunClass::Request, _)) => false,
                    None => client.turn && is_channel_data(datagram),
                }
        }) else {
            return false;
        };
        let transport = TransportContext {
            local_addr: from,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        if let Err(error) =
            client.client.handle_read(TaggedBytesMut { now, transport, message: BytesMut::from(datagram) })
        {
            log::debug!("ICE server '{}': {error}", client.url);
        }
        self.drain_client_events(now);
        true
    }

    /// Runs due timers and takes what TCP and TLS servers sent.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.make_clients(now);
        for client in &mut self.clients {
            while let Some(frame) = client.stream.as_ref().and_then(TurnStream::next_frame) {
                let transport = TransportContext {
                    local_addr: client.server,
                    peer_addr: client.server,
                    ecn: None,
                    transport_protocol: TransportProtocol::TCP,
                };
                if let Err(error) = client.client.handle_read(TaggedBytesMut { now, transport, message: frame }) {
                    log::debug!("ICE server '{}': {error}", client.url);
                }
            }
        }
        for client in &mut self.clients {
            if client.client.poll_timeout().is_some_and(|at| at <= now) {
                if let Err(error) = client.client.handle_timeout(now) {
                    log::debug!("ICE server '{}': {error}", client.url);
                }
            }
        }
        self.drain_client_events(now);
    }

    /// When a timer is due next, at `now`.
    pub(crate) fn poll_timeout(&mut self, now: Instant) -> Option<Instant> {
        let waiting = self.started.is_some() && self.servers.iter().any(|server| !server.used);
        let resolution = waiting.then(|| now + RESOLUTION_POLL);
        self.clients.iter_mut().filter_map(|client| client.client.poll_timeout()).chain(resolution).min()
    }

    /// Takes the next candidate gathered.
    pub(crate) fn poll_candidate(&mut self) -> Option<LocalCandidate> {
        self.candidates.pop_front()
    }

    /// Takes the next relayed datagram: the relayed address, the peer, the bytes.
    pub(crate) fn poll_relayed(&mut self) -> Option<(SocketAddr, SocketAddr, BytesMut)> {
        self.relayed_in.pop_front()
    }

    /// Takes the next datagram for a server reached over UDP; what goes to TCP and TLS servers
    /// is handed to their connections on the way.
    pub(crate) fn poll_write(&mut self) -> Option<(SocketAddr, BytesMut)> {
        for client in &mut self.clients {
            while let Some(write) = client.client.poll_write() {
                match &client.stream {
                    Some(stream) => stream.send(&write.message),
                    None => return Some((write.transport.peer_addr, write.message)),
                }
            }
        }
        None
    }

    /// Whether `local` is a relayed address of ours.
    pub(crate) fn is_relayed(&self, local: SocketAddr) -> bool {
        !self.clients.is_empty() && self.clients.iter().any(|client| client.relayed == Some(local))
    }

    /// Sends `datagram` to `to` through the allocation whose relayed address is `relayed`.
    pub(crate) fn send_relayed(&mut self, relayed: SocketAddr, to: SocketAddr, datagram: &[u8], now: Instant) {
        let Some(client) = self.clients.iter_mut().find(|client| client.relayed == Some(relayed)) else { return };
        client.send(relayed, to, datagram, now);
    }

    /// Releases every allocation (the datagrams go out with the pump's next send).
    pub(crate) fn close(&mut self, now: Instant) {
        for client in &mut self.clients {
            if let Some(relayed) = client.relayed.take() {
                if let Ok(mut relay) = client.client.relay(relayed) {
                    let _ = relay.close(now);
                }
            }
        }
    }

    fn drain_client_events(&mut self, now: Instant) {
        for client in &mut self.clients {
            while let Some(event) = client.client.poll_event() {
                if let Some(candidate) = client.on_event(event, now, &mut self.relayed_in) {
                    self.candidates.push_back(candidate);
                }
            }
        }
    }
}

impl ServerClient {
    fn start(
        server: &Server,
        address: SocketAddr,
        base: Option<SocketAddr>,
        local: SocketAddr,
        now: Instant,
        wake: &Arc<Notify>,
    ) -> Result<Self, String> {
        let stream = match &server.reach {
            Reach::Udp => None,
            Reach::Tcp => Some(TurnStream::open(address, None, Arc::clone(wake))?),
            Reach::Tls(name) => Some(TurnStream::open(address, Some(name.clone()), Arc::clone(wake))?),
        };
        let protocol = if stream.is_some() { TransportProtocol::TCP } else { TransportProtocol::UDP };
        let config = ClientConfig {
            stun_serv_addr: address.to_string(),
            turn_serv_addr: address.to_string(),
            local_addr: local,
            transport_protocol: protocol,
            username: server.username.clone(),
            password: server.credential.clone(),
            ..ClientConfig::default()
        };
        let provider = rtc_crypto::default_provider().map_err(|error| error.to_string())?;
        let mut client = Client::new(config, provider).map_err(|error| error.to_string())?;
        let request = if server.turn { client.allocate(now) } else { client.send_binding_request_to(now, address) };
        let request = request.map_err(|error| error.to_string())?;
        Ok(Self {
            url: server.url.clone(),
            server: address,
            base,
            turn: server.turn,
            client,
            gathering: Some(request),
            relayed: None,
            permissions: HashMap::new(),
            stream,
        })
    }

    /// Handles one event of the client; returns a candidate it gave.
    fn on_event(
        &mut self,
        event: Event,
        now: Instant,
        relayed_in: &mut VecDeque<(SocketAddr, SocketAddr, BytesMut)>,
    ) -> Option<LocalCandidate> {
        match event {
            Event::BindingResponse(_, mapped) => {
                self.gathering = None;
                let base = self.base?;
                // Through NAT64 the server sees an IPv4 address that no IPv6 socket can send from:
                // a candidate is of its base's family or none.
                if mapped.is_ipv4() != base.is_ipv4() {
                    log::debug!("ICE server '{}' mapped {base} to {mapped}, of another family: ignored", self.url);
                    return None;
                }
                Some(LocalCandidate { kind: CandidateKind::ServerReflexive, address: mapped, base })
            }
            Event::AllocateResponse(_, relayed) => {
                self.gathering = None;
                self.relayed = Some(relayed);
                // Datagrams for it come out of the allocation tagged with the relayed address,
                // and what the core sends from it goes through the allocation.
                Some(LocalCandidate { kind: CandidateKind::Relayed, address: relayed, base: relayed })
            }
            Event::BindingError(_, error) | Event::AllocateError(_, error) => {
                log::warn!("ICE server '{}' refused: {error}", self.url);
                self.gathering = None;
                None
            }
            Event::TransactionTimeout(transaction) => {
                if self.gathering.is_some() && !self.turn || self.relayed.is_none() && self.turn {
                    log::warn!("ICE server '{}' did not answer", self.url);
                    self.gathering = None;
                }
                self.permissions.retain(|_, permission| {
                    !matches!(permission, Permission::Pending { transaction: pending, .. } if *pending == transaction)
                });
                None
            }
            Event::CreatePermissionResponse(_, peer) => {
                let waiting = match self.permissions.insert(peer, Permission::Granted) {
                    Some(Permission::Pending { waiting, .. }) => waiting,
                    _ => VecDeque::new(),
                };
                if let Some(relayed) = self.relayed {
                    for datagram in waiting {
                        self.send(relayed, peer, &datagram, now);
                    }
                }
                None
            }
            Event::CreatePermissionError(transaction, error) => {
                log::debug!("ICE server '{}': a permission was refused: {error}", self.url);
                self.permissions.retain(|_, permission| {
                    !matches!(permission, Permission::Pending { transaction: pending, .. } if *pending == transaction)
                });
                None
            }
            Event::DataIndicationOrChannelData(_, peer, data) => {
                if let Some(relayed) = self.relayed {
                    relayed_in.push_back((relayed, peer, data));
                }
                None
            }
            _ => None,
        }
    }

    /// Sends through the allocation, asking for a permission first where there is none.
    fn send(&mut self, relayed: SocketAddr, to: SocketAddr, datagram: &[u8], now: Instant) {
        if let Some(Permission::Pending { waiting, .. }) = self.permissions.get_mut(&to) {
            if waiting.len() == MAX_WAITING_FOR_PERMISSION {
                waiting.pop_front();
            }
            waiting.push_back(BytesMut::from(datagram));
            return;
        }
        let Ok(mut relay) = self.client.relay(relayed) else { return };
        match relay.send_to(now, datagram, to) {
            Ok(()) => {}
            Err(rtc_shared::error::Error::ErrNoPermission) => match relay.create_permission(now, to) {
                Ok(Some(transaction)) => {
                    let waiting = VecDeque::from([BytesMut::from(datagram)]);
                    self.permissions.insert(to, Permission::Pending { transaction, waiting });
                }
                Ok(None) => {}
                Err(error) => log::debug!("ICE server '{}': cannot ask a permission for {to}: {error}", self.url),
            },
            Err(error) => log::debug!("ICE server '{}': cannot relay to {to}: {error}", self.url),
        }
    }
}

/// Looks `host_and_port` up on the shared runtime and stores what it finds (nothing found is an
/// empty list, so the server is given up).
fn look_up(host_and_port: String, into: Arc<Mutex<Option<Vec<SocketAddr>>>>) {
    let Ok(runtime) = crate::runtime::handle() else {
        *lock(&into) = Some(Vec::new());
        return;
    };
    runtime.spawn(async move {
        let found = match tokio::net::lookup_host(&host_and_port).await {
            Ok(addresses) => addresses.collect(),
            Err(error) => {
                log::warn!("cannot resolve ICE server {host_and_port}: {error}");
                Vec::new()
            }
        };
        *lock(&into) = Some(found);
    });
}

/// Stores `server`'s address as the network's NAT64 translator reaches it, looked up on the
/// shared runtime (the address itself where there is no prefix: it is then given up, as no host
/// address of its family exists).
fn synthesize_nat64(server: SocketAddr, into: Arc<Mutex<Option<Vec<SocketAddr>>>>) {
    let Ok(runtime) = crate::runtime::handle() else {
        *lock(&into) = Some(vec![server]);
        return;
    };
    runtime.spawn(async move {
        let synthesized = match (crate::nat64::prefix().await, server.ip()) {
            (Some(prefix), IpAddr::V4(v4)) => SocketAddr::new(IpAddr::V6(prefix.synthesize(v4)), server.port()),
            _ => server,
        };
        *lock(&into) = Some(vec![synthesized]);
    });
}

/// The address to reach a server at, of those it has: one of a family the host has an address of
/// (one of `hosts`), IPv4 first where the host has both (the family a server-reflexive or relayed
/// candidate is most useful in: IPv6 hosts are seldom behind a NAT).
fn server_address(addresses: &[SocketAddr], hosts: &[SocketAddr]) -> Option<SocketAddr> {
    let has_family = |ipv4: bool| hosts.iter().any(|host| host.is_ipv4() == ipv4);
    let of_family = |ipv4: bool| addresses.iter().find(|address| address.is_ipv4() == ipv4).copied();
    [true, false].into_iter().filter(|ipv4| has_family(*ipv4)).find_map(of_family)
}

/// Addresses for a log line.
fn list(addresses: &[SocketAddr]) -> String {
    let names: Vec<String> = addresses.iter().map(SocketAddr::to_string).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StunClass {
    Request,
    Indication,
    Response,
}

/// The class and transaction of a STUN message, read from its header.
fn stun_class_and_transaction(datagram: &[u8]) -> Option<(StunClass, TransactionId)> {
    if datagram.len() < 20 || datagram[0] & 0xC0 != 0 || datagram[4..8] != [0x21, 0x12, 0xA4, 0x42] {
        return None;
    }
    let kind = u16::from_be_bytes([datagram[0], datagram[1]]);
    let class = match ((kind >> 7) & 0b10) | ((kind >> 4) & 0b01) {
        0 => StunClass::Request,
        1 => StunClass::Indication,
        _ => StunClass::Response,
    };
    let mut transaction = [0; 12];
    transaction.copy_from_slice(&datagram[8..20]);
    Some((class, TransactionId(transaction)))
}

/// Whether a datagram is TURN ChannelData (channel numbers 0x4000-0x7FFF).
fn is_channel_data(datagram: &[u8]) -> bool {
    datagram.len() >= 4 && (0x40..0x80).contains(&datagram[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_headers_are_classified() {
        let mut binding_success = vec![0x01, 0x01, 0, 0, 0x21, 0x12, 0xA4, 0x42];
        binding_success.extend_from_slice(&[7; 12]);
        assert_eq!(stun_class_and_transaction(&binding_success), Some((StunClass::Response, TransactionId([7; 12]))));
        let mut data_indication = binding_success.clone();
        data_indication[..2].copy_from_slice(&[0x00, 0x17]);
        assert_eq!(stun_class_and_transaction(&data_indication).map(|(class, _)| class), Some(StunClass::Indication));
        let mut check = binding_success.clone();
        check[..2].copy_from_slice(&[0x00, 0x01]);
        assert_eq!(stun_class_and_transaction(&check).map(|(class, _)| class), Some(StunClass::Request));
        assert_eq!(stun_class_and_transaction(&[0x16, 0xfe, 0xfd]), None);
        assert!(is_channel_data(&[0x40, 0x00, 0x00, 0x04]));
        assert!(!is_channel_data(&[0x16, 0xfe, 0xfd, 0x00]));
    }

    fn at(addresses: &[&str]) -> Vec<SocketAddr> {
        addresses.iter().map(|address| address.parse().expect("an address")).collect()
    }

    #[test]
    fn a_server_is_reached_in_a_family_the_host_has_ipv4_first() {
        let both = at(&["[2001:db8::3]:3478", "192.0.2.3:3478"]);
        let dual_host = at(&["[2001:db8:6::20]:4000", "192.168.1.20:4000"]);
        assert_eq!(server_address(&both, &dual_host), Some(at(&["192.0.2.3:3478"])[0]));
        let ipv6_host = at(&["[2001:db8:6::20]:4000"]);
        assert_eq!(server_address(&both, &ipv6_host), Some(at(&["[2001:db8::3]:3478"])[0]));
        let ipv4_host = at(&["192.168.1.20:4000"]);
        assert_eq!(server_address(&both, &ipv4_host), Some(at(&["192.0.2.3:3478"])[0]));
        assert_eq!(server_address(&at(&["[2001:db8::3]:3478"]), &ipv4_host), None);
        assert_eq!(server_address(&[], &dual_host), None);
    }
}
