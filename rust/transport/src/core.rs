//! One connection's `rtc` core and what the transport keeps beside it; the signaling steps the
//! handle runs on it. The pump ([`crate::pump`]) moves it forward.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use rcgen::{DistinguishedName, DnType};
use rtc::data_channel::RTCDataChannelId;
use rtc::dtls::cipher_suite::CipherSuiteId;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy};
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::sansio::Protocol;
use tokio::sync::Notify;

use crate::channel::{ChannelLimits, ChannelOptions, ChannelShared, DataChannel, Packet};
use crate::config::{IceTransportPolicy, TransportConfig};
use crate::error::excerpt;
use crate::error::TransportError;
use crate::handshake_watch::HandshakeWatch;
use crate::ice_tally::IceTally;
use crate::link::Link;
use crate::peer::PeerEvent;
use crate::remote_candidates::RemoteCandidates;
use crate::remote_channels::RemoteOpens;
use crate::servers::IceServers;
use crate::states::{ChannelState, ConnectionState, GatheringState, SdpKind};
use crate::wire_repairs::WireRepairs;

/// The DTLS cipher suites offered and accepted: only AEAD ones (GCM, ChaCha20-Poly1305), in
/// `rtc`'s order of preference. `rtc`'s default list also has `*_WITH_AES_256_CBC_SHA`, whose
/// MAC-then-encrypt construction has a long history of padding-oracle attacks; every browser
/// offers the AEAD suites.
const AEAD_CIPHER_SUITES: [CipherSuiteId; 3] = [
    CipherSuiteId::Tls_Ecdhe_Ecdsa_With_Aes_128_Gcm_Sha256,
    CipherSuiteId::Tls_Ecdhe_Rsa_With_Aes_128_Gcm_Sha256,
    CipherSuiteId::Tls_Ecdhe_Ecdsa_With_ChaCha20_Poly1305_Sha256,
];

/// How often ICE sends connectivity checks while connecting (rtc's default is 200 ms, and setup
/// waits for its ticks).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// Checks per candidate pair before it counts as failed: with the interval above, ~1.4 s, the
/// budget rtc's defaults give a pair on a slow path.
const ICE_MAX_BINDING_REQUESTS: u16 = 140;
/// How long the selected path may go without a STUN packet from the other side before the
/// connection reads `disconnected`; a mesh then drops the peer and emits `peer_disconnected`
/// (Godot's behaviour). Shorter outages pass unseen, a killed peer is noticed in ~5 s.
const ICE_DISCONNECTED_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after `disconnected` (or, while connecting, after checks found nothing) the
/// connection reads `failed`.
const ICE_FAILED_TIMEOUT: Duration = Duration::from_secs(25);
/// Consent checks (STUN binding requests) on the selected path, data flowing or not. rtc counts
/// only STUN toward a path's liveness (data does not refresh it, unlike pion and libwebrtc:
/// docs/upstream, defect 8), so checks go often enough that loss cannot starve them: with both
/// sides at 500 ms (ENet's ping interval), 30 % loss each way leaves 5 s without one answer
/// about once in 10^8 windows; at 2 s it was once in ~200 and dropped peers on lossy links.
const ICE_KEEPALIVE_INTERVAL: Duration = Duration::from_millis(500);

/// Where gathering local candidates stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gathering {
    NotStarted,
    Running,
    Done,
}

/// A connection's core and its surroundings, behind the link's one lock.
pub(crate) struct Core {
    pub(crate) rtc: RTCPeerConnection,
    /// Every live channel, by the core's handle.
    pub(crate) channels: HashMap<RTCDataChannelId, Arc<ChannelShared>>,
    /// STUN and TURN clients.
    pub(crate) servers: IceServers,
    pub(crate) repairs: WireRepairs,
    pub(crate) ice: IceTally,
    /// What the DTLS handshake showed of a failure.
    pub(crate) handshake: HandshakeWatch,
    /// The addresses host candidates are made of.
    pub(crate) host_addresses: Vec<SocketAddr>,
    pub(crate) gathering: Gathering,
    remote_is_set: bool,
    /// Trickled candidates kept until the remote description is set (counted in
    /// `remote_candidates`, so at most [`crate::MAX_REMOTE_CANDIDATES`]).
    early_candidates: Vec<RTCIceCandidateInit>,
    /// How many remote candidates the connection has taken, against its cap.
    pub(crate) remote_candidates: RemoteCandidates,
    /// The remote candidates signaled to us: address, port and type (`host`, `srflx`, ...).
    pub(crate) signaled: Vec<(String, u16, String)>,
    /// The connection state last reported to the handle.
    pub(crate) state: ConnectionState,
    pub(crate) max_message_size: Arc<AtomicUsize>,
    /// Set once the connection is closed, by either side: the task then ends.
    pub(crate) closed: bool,
    /// When the task wakes next (it sleeps until then unless something arrives or it is woken).
    pub(crate) task_wakes_at: Option<Instant>,
    /// When the last full pass of the pump said it must run again; `None` once anything was done
    /// to the core since (a call of the handle), so that the next pass runs in full.
    pub(crate) due_at: Option<Instant>,
    /// Events the core reported while datagrams were fed, for the pump's event step.
    pub(crate) held_events: Vec<RTCPeerConnectionEvent>,
    /// Most received, unread bytes per channel.
    receive_limit: usize,
    /// What the remote side has opened in-band, and whether it may open any.
    pub(crate) remote_opens: RemoteOpens,
    /// A received message whose reliable channel was full: nothing more is read from the core
    /// until it is delivered (or its channel closed).
    pub(crate) held: Option<HeldMessage>,
}

/// A received message waiting for room in its channel, and since when.
pub(crate) struct HeldMessage {
    pub(crate) channel: RTCDataChannelId,
    pub(crate) packet: Packet,
    pub(crate) since: Instant,
}

impl Core {
    /// Builds the core for `config`, whose candidates will be `host_addresses`; `wake` wakes the
    /// connection's task.
    pub(crate) fn build(
        config: &TransportConfig,
        host_addresses: Vec<SocketAddr>,
        max_message_size: Arc<AtomicUsize>,
        wake: Arc<Notify>,
    ) -> Result<Self, TransportError> {
        let ice_servers = config
            .ice_servers
            .iter()
            .map(|server| RTCIceServer {
                urls: server.urls.clone(),
                username: server.username.clone(),
                credential: server.credential.clone(),
            })
            .collect();
        let policy = match config.ice_transport_policy {
            IceTransportPolicy::All => RTCIceTransportPolicy::All,
            IceTransportPolicy::Relay => RTCIceTransportPolicy::Relay,
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .with_certificates(vec![certificate()?]);
        // A check from the remote side often arrives before its candidate (trickled, or resolved
        // by mDNS) and makes a peer-reflexive pair; rtc holds such a pair back for 1 s by default.
        let settings = SettingEngineBuilder::new()
            .with_multicast_dns_mode(multicast_dns_mode())
            .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
            .with_srflx_acceptance_min_wait(Some(Duration::ZERO))
            .with_relay_acceptance_min_wait(Some(Duration::ZERO))
            .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
            .with_ice_timeouts(Some(ICE_DISCONNECTED_TIMEOUT), Some(ICE_FAILED_TIMEOUT), Some(ICE_KEEPALIVE_INTERVAL))
            // Answer setup:passive, so that we are always the DTLS and SCTP server (answerers
            // pick active when we offer). As the SCTP client, the remote's first messages can
            // ride in right behind its COOKIE-ACK and reach rtc before it has opened our
            // negotiated channels' streams, which drops them; as the server we open them first.
            .with_answering_dtls_role(RTCDtlsRole::Server)
            .with_dtls_cipher_suites(AEAD_CIPHER_SUITES.to_vec())
            .build();
        let rtc = RTCPeerConnectionBuilder::new()
            .with_configuration(configuration.build())
            .with_setting_engine(settings)
            .build(Instant::now())
            .map_err(|error| TransportError::InvalidConfig(error.to_string()))?;
        Ok(Self {
            rtc,
            channels: HashMap::new(),
            servers: IceServers::new(config, wake),
            repairs: WireRepairs::default(),
            ice: IceTally::new(config.has_relay()),
            handshake: HandshakeWatch::default(),
            host_addresses,
            gathering: Gathering::NotStarted,
            remote_is_set: false,
            early_candidates: Vec::new(),
            remote_candidates: RemoteCandidates::default(),
            signaled: Vec::new(),
            state: ConnectionState::New,
            max_message_size,
            closed: false,
            task_wakes_at: None,
            due_at: None,
            held_events: Vec::new(),
            held: None,
            receive_limit: config.channel_receive_limit,
            remote_opens: RemoteOpens::default(),
        })
    }

    /// Creates an offer.
    pub(crate) fn create_offer(&mut self, link: &Link) -> Result<(), TransportError> {
        let offer = self.rtc.create_offer(None).map_err(|error| signaling("create_offer", error))?;
        link.push_event(PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp: offer.sdp });
        Ok(())
    }

    /// Applies a local description (an offer; answers are applied when created).
    pub(crate) fn set_local_description(
        &mut self,
        link: &Link,
        description: RTCSessionDescription,
    ) -> Result<(), TransportError> {
        self.rtc
            .set_local_description(Instant::now(), description)
            .map_err(|error| signaling("set_local_description", error))?;
        self.note_local_description();
        self.start_gathering(link);
        Ok(())
    }

    /// Tells the wire repairs the ICE username fragment of the local description just applied.
    fn note_local_description(&mut self) {
        if let Some(description) = self.rtc.local_description() {
            self.repairs.on_local_description(&description.sdp);
        }
    }

    /// Applies the remote description, whose candidates `candidates` counts (it was trimmed to
    /// the cap by [`RemoteCandidates::trim`]); for an offer, creates and applies the answer too.
    pub(crate) fn set_remote_description(
        &mut self,
        link: &Link,
        kind: SdpKind,
        description: RTCSessionDescription,
        candidates: usize,
    ) -> Result<(), TransportError> {
        self.rtc
            .set_remote_description(Instant::now(), description)
            .map_err(|error| signaling("set_remote_description", error))?;
        self.remote_candidates.count(candidates);
        self.remote_is_set = true;
        for candidate in std::mem::take(&mut self.early_candidates) {
            self.add_remote_candidate(candidate);
        }
        if kind == SdpKind::Offer {
            let answer = self.rtc.create_answer(None).map_err(|error| signaling("create_answer", error))?;
            let sdp = answer.sdp.clone();
            self.rtc
                .set_local_description(Instant::now(), answer)
                .map_err(|error| signaling("set_local_description", error))?;
            self.note_local_description();
            link.push_event(PeerEvent::SessionDescriptionCreated { kind: SdpKind::Answer, sdp });
            self.start_gathering(link);
        }
        Ok(())
    }

    /// Adds a remote candidate, or keeps it until the remote description is set; refuses it
    /// past [`crate::MAX_REMOTE_CANDIDATES`].
    pub(crate) fn add_ice_candidate(&mut self, candidate: RTCIceCandidateInit) -> Result<(), TransportError> {
        self.remote_candidates.take_one()?;
        if self.remote_is_set {
            self.add_remote_candidate(candidate);
        } else {
            self.early_candidates.push(candidate);
        }
        Ok(())
    }

    fn add_remote_candidate(&mut self, candidate: RTCIceCandidateInit) {
        let words: Vec<&str> = candidate.candidate.split_whitespace().collect();
        let typ = words.iter().skip_while(|word| **word != "typ").nth(1);
        if let (Some(address), Some(Ok(port)), Some(typ)) = (words.get(4), words.get(5).map(|port| port.parse()), typ) {
            self.signaled.push(((*address).to_owned(), port, (*typ).to_owned()));
        }
        match self.rtc.add_remote_candidate(candidate) {
            Ok(()) => self.ice.remote_candidate(),
            Err(error) => log::warn!("add_ice_candidate failed: {error}"),
        }
    }

    /// Creates a data channel.
    pub(crate) fn create_data_channel(
        &mut self,
        link: &Arc<Link>,
        label: &str,
        options: ChannelOptions,
    ) -> Result<DataChannel, TransportError> {
        let init = options.to_rtc();
        let id = self
            .rtc
            .create_data_channel(label, Some(init))
            .map_err(|error| TransportError::Channel { label: label.to_owned(), reason: error.to_string() })?
            .id();
        let shared = ChannelShared::new(label.to_owned(), options, id, self.limits(false), Arc::downgrade(link));
        self.channels.insert(id, Arc::clone(&shared));
        Ok(DataChannel::new(shared))
    }

    /// What a new channel is made with.
    fn limits(&self, remote: bool) -> ChannelLimits {
        ChannelLimits {
            max_message_size: Arc::clone(&self.max_message_size),
            receive_limit: self.receive_limit,
            remote,
        }
    }

    /// Wraps a channel the remote side opened, unless it is one too many
    /// ([`MAX_REMOTE_CHANNELS`](crate::remote_channels::MAX_REMOTE_CHANNELS), [`MAX_REMOTE_OPENS`](crate::remote_channels::MAX_REMOTE_OPENS)) or the connection refuses them all: then
    /// it is closed at once (a warning the first time).
    pub(crate) fn adopt_remote_channel(&mut self, link: &Weak<Link>, id: RTCDataChannelId) -> Option<DataChannel> {
        // Counted from the channels themselves (closed ones are no longer live, whoever closed
        // them); a mesh's connection refuses them all without counting.
        let live = || {
            self.channels.values().filter(|channel| channel.remote && channel.state() != ChannelState::Closed).count()
        };
        let live = if self.remote_opens.refuse_all { 0 } else { live() };
        let mut channel = self.rtc.data_channel(id)?;
        if let Some(reason) = self.remote_opens.admit(live) {
            let label = excerpt(channel.label());
            if let Err(error) = channel.close() {
                log::debug!("data channel '{label}': close failed: {error}");
            }
            if std::mem::replace(&mut self.remote_opens.warned, true) {
                log::debug!("the remote side opened data channel '{label}'; closed it: {reason}");
            } else {
                log::warn!("the remote side opened data channel '{label}'; closed it: {reason} (logged once)");
            }
            return None;
        }
        let options = ChannelOptions {
            ordered: channel.ordered(),
            max_packet_life_time: channel.max_packet_life_time(),
            max_retransmits: channel.max_retransmits(),
            protocol: channel.protocol().to_owned(),
            negotiated_id: None,
        };
        let label = channel.label().to_owned();
        let stream_id = channel.stream_id();
        let shared = ChannelShared::new(label, options, id, self.limits(true), Weak::clone(link));
        if let Some(stream_id) = stream_id {
            shared.set_stream_id(stream_id);
        }
        self.channels.insert(id, Arc::clone(&shared));
        Some(DataChannel::new(shared))
    }

    /// Starts closing a channel.
    pub(crate) fn close_channel(&mut self, channel: &ChannelShared) {
        channel.drop_queued();
        match self.rtc.data_channel(channel.core_id) {
            Some(mut rtc_channel) => {
                if let Err(error) = rtc_channel.close() {
                    log::debug!("data channel '{}': close failed: {error}", channel.label());
                    channel.set_state(ChannelState::Closed);
                }
            }
            None => channel.set_state(ChannelState::Closed),
        }
    }

    /// Closes the connection: tells the remote side (SCTP ABORT, DTLS close_notify), releases TURN
    /// allocations and closes every channel.
    pub(crate) fn close(&mut self, link: &Link) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Err(error) = self.rtc.close() {
            log::debug!("closing the connection: {error}");
        }
        // The goodbyes first (over a relay, they need its allocation), then the allocations.
        let now = Instant::now();
        self.flush(link, now);
        self.servers.close(now);
        self.flush(link, now);
        for (_, channel) in self.channels.drain() {
            channel.drop_queued();
            channel.set_state(ChannelState::Closed);
        }
        link.wake.notify_one();
    }

    /// Starts gathering once a local description is set: host candidates at once, server-
    /// reflexive and relay ones as the STUN and TURN servers answer.
    fn start_gathering(&mut self, link: &Link) {
        if self.gathering != Gathering::NotStarted {
            return;
        }
        self.gathering = Gathering::Running;
        link.push_event(PeerEvent::GatheringStateChanged(GatheringState::Gathering));
        if !self.servers.relay_only() {
            for address in self.host_addresses.clone() {
                match host_candidate(address) {
                    Ok(candidate) => self.add_local_candidate(candidate),
                    Err(error) => log::warn!("cannot make a host candidate for {address}: {error}"),
                }
            }
        }
        self.servers.start(link.port.local_addr(), self.host_addresses.first().copied(), Instant::now());
        link.wake.notify_one();
    }

    /// Hands the core a local candidate (an empty one ends gathering).
    pub(crate) fn add_local_candidate(&mut self, candidate: RTCIceCandidateInit) {
        if let Err(error) = self.rtc.add_local_candidate(candidate) {
            log::warn!("cannot add a local candidate: {error}");
        }
    }
}

fn signaling(step: &'static str, error: impl std::fmt::Display) -> TransportError {
    TransportError::Signaling { step, reason: error.to_string() }
}

fn host_candidate(address: SocketAddr) -> Result<RTCIceCandidateInit, rtc::shared::error::Error> {
    let candidate = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: address.ip().to_string(),
            port: address.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    RTCIceCandidate::from(&candidate).to_json()
}

/// Random bytes in a certificate's name: 128 bits, so that no two certificates share one.
const CERTIFICATE_NAME_BYTES: usize = 16;

/// A new certificate for one connection (an ECDSA P-256 key, self-signed), named at random
/// (subject common name and alternative name alike, from the operating system's random source):
/// a player shows each peer and each lobby a certificate of its own, so that certificates do
/// not link one player's connections (one per process, named after the addon, did). Making one
/// costs a key pair and a signature, well under a millisecond (README, Security).
fn certificate() -> Result<RTCCertificate, TransportError> {
    let failed =
        |reason: String| TransportError::InvalidConfig(format!("cannot make the connection's certificate: {reason}"));
    let mut random = [0u8; CERTIFICATE_NAME_BYTES];
    getrandom::fill(&mut random).map_err(|error| failed(error.to_string()))?;
    let name: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut params = CertificateParams::new(vec![name.clone()]).map_err(|error| failed(error.to_string()))?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    let provider = rtc::crypto::default_provider().map_err(|error| failed(error.to_string()))?;
    RTCCertificate::generate(provider.crypto(), rtc::crypto::SignatureScheme::EcdsaP256Sha256, params)
        .map_err(|error| failed(error.to_string()))
}

/// How connections treat mDNS: browsers hide their host addresses behind `<uuid>.local` names,
/// which the ICE agent resolves with a multicast query (`QueryOnly`; our own candidates keep their
/// addresses, as Godot's own plugin gives them). The query needs a socket on port 5353 joined to
/// 224.0.0.251; where the system refuses one (no multicast route, say), mDNS is off and `.local`
/// candidates are ignored. Checked once per process.
pub(crate) fn multicast_dns_mode() -> MulticastDnsMode {
    static MODE: OnceLock<MulticastDnsMode> = OnceLock::new();
    *MODE.get_or_init(|| match rtc::mdns::MulticastSocket::new().into_std() {
        Ok(_) => MulticastDnsMode::QueryOnly,
        Err(err) => {
            log::info!("mDNS is off, so .local candidates are ignored: no multicast socket ({err})");
            MulticastDnsMode::Disabled
        }
    })
}
