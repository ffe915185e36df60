//! Peer connections: a handle the caller owns, driven by one task on the shared runtime.
//!
//! Calls on the handle are checked at once (so malformed input fails synchronously) and then
//! queued as commands to the connection's task, which runs them in order. Everything the
//! connection reports comes back as [`PeerEvent`]s, drained with [`PeerConnection::poll`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::mdns::MulticastSocket;
use rtc::peer_connection::transport::{RTCDtlsRole, RTCDtlsTransportState, RTCSctpTransportState};
use tokio::sync::mpsc;
use webrtc::data_channel::DataChannel as RtcDataChannel;
use webrtc::peer_connection::transport::{DtlsTransport, SctpTransport};
use webrtc::peer_connection::{
    PeerConnection as RtcPeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceGatheringState, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnectionIceEvent,
    RTCPeerConnectionState, RTCSessionDescription, RTCSignalingState, SettingEngineBuilder,
};

use crate::channel::{self, ChannelOptions, ChannelShared, ChannelState, DataChannel, Outgoing};
use crate::config::{IceTransportPolicy, TransportConfig};
use crate::error::TransportError;
use crate::ice_tally::IceTally;
use crate::stats::{self, PeerStats, SharedStats, STATS_INTERVAL};
use crate::wire_repairs::RepairingRuntime;

/// Per-channel send buffer: bounded so long transfers do not overrun the kernel's UDP buffers.
const SEND_BUFFER_LIMIT: usize = 128 * 1024;
/// How long closing a connection may take before it is abandoned.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// How often ICE sends connectivity checks while connecting (webrtc's default is 200 ms, and setup
/// waits for its ticks); once connected, its timers fall back to 200 ms.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(20);
/// Checks per candidate pair before it counts as failed: with the interval above, the same ~1.4 s
/// webrtc's defaults give a pair on a slow path.
const ICE_MAX_BINDING_REQUESTS: u16 = 70;
/// How often a connection looks whether the remote side has closed it (webrtc reports no event).
const REMOTE_CLOSE_CHECK: Duration = Duration::from_millis(100);

/// Connection state, numbered as Godot's `WebRTCPeerConnection.ConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connecting yet.
    New = 0,
    /// ICE or DTLS in progress.
    Connecting = 1,
    /// Connected.
    Connected = 2,
    /// Connectivity lost; may recover.
    Disconnected = 3,
    /// ICE or DTLS failed.
    Failed = 4,
    /// Closed, by `close()` or by the remote side (DTLS close_notify, SCTP ABORT or SHUTDOWN).
    Closed = 5,
}

/// ICE gathering state, numbered as Godot's `WebRTCPeerConnection.GatheringState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatheringState {
    /// Nothing gathered yet.
    New = 0,
    /// Gathering candidates.
    Gathering = 1,
    /// Done gathering.
    Complete = 2,
}

/// Signaling state, numbered as Godot's `WebRTCPeerConnection.SignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable = 0,
    /// A local offer is applied.
    HaveLocalOffer = 1,
    /// A remote offer is applied.
    HaveRemoteOffer = 2,
    /// A local provisional answer is applied.
    HaveLocalPranswer = 3,
    /// A remote provisional answer is applied.
    HaveRemotePranswer = 4,
    /// Closed.
    Closed = 5,
}

/// The type of a session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// An answer.
    Answer,
}

impl SdpKind {
    /// Parses the W3C name (`"offer"`, `"pranswer"`, `"answer"`).
    pub fn parse(name: &str) -> Result<Self, TransportError> {
        match name {
            "offer" => Ok(Self::Offer),
            "pranswer" => Ok(Self::Pranswer),
            "answer" => Ok(Self::Answer),
            other => Err(TransportError::InvalidSdp(format!(
                "unknown description type '{other}' (expected offer, pranswer or answer)"
            ))),
        }
    }

    /// The W3C name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Pranswer => "pranswer",
            Self::Answer => "answer",
        }
    }

    fn describe(self, sdp: String) -> Result<RTCSessionDescription, TransportError> {
        let parsed = match self {
            Self::Offer => RTCSessionDescription::offer(sdp),
            Self::Pranswer => RTCSessionDescription::pranswer(sdp),
            Self::Answer => RTCSessionDescription::answer(sdp),
        };
        parsed.map_err(|error| TransportError::InvalidSdp(error.to_string()))
    }
}

/// Something the connection reports, in the order it happened.
#[derive(Debug)]
pub enum PeerEvent {
    /// A local description was created (an offer after `create_offer`, or the answer to a
    /// remote offer, which is applied locally already).
    SessionDescriptionCreated {
        /// Offer or answer.
        kind: SdpKind,
        /// The SDP text.
        sdp: String,
    },
    /// A local ICE candidate to send to the remote side.
    IceCandidateCreated {
        /// Media stream id.
        mid: String,
        /// Media line index.
        index: u16,
        /// The candidate line.
        candidate: String,
    },
    /// The remote side opened a channel in-band.
    DataChannelReceived(DataChannel),
    /// The connection state changed.
    ConnectionStateChanged(ConnectionState),
    /// The gathering state changed.
    GatheringStateChanged(GatheringState),
    /// The signaling state changed.
    SignalingStateChanged(SignalingState),
    /// Something failed on the runtime.
    Error(TransportError),
}

type EventQueue = Arc<Mutex<VecDeque<PeerEvent>>>;

fn push(queue: &EventQueue, event: PeerEvent) {
    queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push_back(event);
}

enum Command {
    CreateOffer,
    SetLocal(RTCSessionDescription),
    SetRemote(RTCSessionDescription),
    AddCandidate(RTCIceCandidateInit),
    CreateChannel {
        label: String,
        shared: Arc<ChannelShared>,
        outgoing: mpsc::UnboundedReceiver<Outgoing>,
    },
    /// Take a statistics snapshot now (the first request; later ones come every interval).
    RefreshStats,
    Close,
}

/// A WebRTC peer connection.
pub struct PeerConnection {
    commands: mpsc::UnboundedSender<Command>,
    events: EventQueue,
    max_message_size: Arc<AtomicUsize>,
    channels: Vec<Weak<ChannelShared>>,
    stats: SharedStats,
    /// Set by the first [`stats`](PeerConnection::stats) call: from then on the task refreshes
    /// the snapshot every [`STATS_INTERVAL`].
    stats_wanted: Arc<AtomicBool>,
    connection_state: ConnectionState,
    gathering_state: GatheringState,
    signaling_state: SignalingState,
}

impl PeerConnection {
    /// Checks `config` and starts the connection on the shared runtime.
    pub fn new(config: TransportConfig) -> Result<Self, TransportError> {
        config.validate()?;
        let runtime = crate::runtime::handle()?;
        let (commands, receiver) = mpsc::unbounded_channel();
        let events = EventQueue::default();
        let max_message_size = Arc::new(AtomicUsize::new(channel::DEFAULT_MAX_MESSAGE_SIZE));
        let ice = Arc::new(IceTally::new(config.has_relay()));
        let handler = EventHandler {
            events: Arc::clone(&events),
            max_message_size: Arc::clone(&max_message_size),
            ice,
            connected: Arc::default(),
            is_connected: Arc::default(),
        };
        let stats = SharedStats::default();
        let stats_wanted = Arc::new(AtomicBool::new(false));
        let task = Task { config, handler, stats: Arc::clone(&stats), stats_wanted: Arc::clone(&stats_wanted) };
        runtime.spawn(drive(task, receiver));
        Ok(Self {
            commands,
            events,
            max_message_size,
            channels: Vec::new(),
            stats,
            stats_wanted,
            connection_state: ConnectionState::New,
            gathering_state: GatheringState::New,
            signaling_state: SignalingState::Stable,
        })
    }

    /// The connection state as of the last [`poll`](Self::poll).
    pub fn connection_state(&self) -> ConnectionState {
        self.connection_state
    }

    /// The gathering state as of the last [`poll`](Self::poll).
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering_state
    }

    /// The signaling state as of the last [`poll`](Self::poll).
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling_state
    }

    /// Starts creating an offer; it arrives as [`PeerEvent::SessionDescriptionCreated`].
    pub fn create_offer(&self) -> Result<(), TransportError> {
        self.command(Command::CreateOffer)
    }

    /// Applies a local description. An answer is applied by the connection itself as soon as
    /// it is created, so setting a local answer again does nothing.
    pub fn set_local_description(&self, kind: SdpKind, sdp: String) -> Result<(), TransportError> {
        let description = kind.describe(sdp)?;
        if kind == SdpKind::Answer {
            return Ok(());
        }
        self.command(Command::SetLocal(description))
    }

    /// Applies the remote description; for an offer, the answer is created and applied too.
    pub fn set_remote_description(&self, kind: SdpKind, sdp: String) -> Result<(), TransportError> {
        let remote_limit = remote_max_message_size(&sdp);
        let description = kind.describe(sdp)?;
        self.max_message_size.store(remote_limit, Ordering::Release);
        self.command(Command::SetRemote(description))
    }

    /// Adds a remote ICE candidate; candidates that arrive before the remote description are
    /// kept until it is set.
    pub fn add_ice_candidate(&self, mid: &str, index: u16, candidate: &str) -> Result<(), TransportError> {
        let line = candidate.trim();
        let line = line.strip_prefix("a=").unwrap_or(line);
        let body = line.strip_prefix("candidate:").unwrap_or(line);
        rtc::ice::candidate::unmarshal_candidate(body)
            .map_err(|error| TransportError::InvalidCandidate(format!("'{candidate}': {error}")))?;
        let init = RTCIceCandidateInit {
            candidate: format!("candidate:{body}"),
            sdp_mid: (!mid.is_empty()).then(|| mid.to_owned()),
            sdp_mline_index: Some(index),
            ..Default::default()
        };
        self.command(Command::AddCandidate(init))
    }

    /// Creates a data channel. Allowed before and after the connection is up. Follows the W3C
    /// `createDataChannel` checks: a label over [`channel::MAX_LABEL_BYTES`] bytes and invalid
    /// options are refused, and so is a negotiated id that an open channel of this connection
    /// already holds (the existing channel keeps working).
    pub fn create_data_channel(&mut self, label: &str, options: ChannelOptions) -> Result<DataChannel, TransportError> {
        options.validate()?;
        if label.len() > channel::MAX_LABEL_BYTES {
            return Err(TransportError::InvalidConfig(format!(
                "the label is {} bytes long; at most {} are allowed",
                label.len(),
                channel::MAX_LABEL_BYTES
            )));
        }
        if self.connection_state == ConnectionState::Closed {
            return Err(TransportError::WrongState("the connection is closed".into()));
        }
        self.channels.retain(|channel| channel.strong_count() > 0);
        if let Some(id) = options.negotiated_id {
            if self.channels.iter().filter_map(Weak::upgrade).any(|channel| channel.holds_id(id)) {
                return Err(TransportError::IdInUse(id));
            }
        }
        let shared = ChannelShared::new(label.to_owned(), options, Arc::clone(&self.max_message_size));
        let (handle, outgoing) = DataChannel::new(Arc::clone(&shared));
        self.channels.push(Arc::downgrade(&shared));
        self.command(Command::CreateChannel { label: label.to_owned(), shared, outgoing })?;
        Ok(handle)
    }

    /// The latest statistics snapshot, at once. The first call asks the connection's task for a
    /// snapshot and returns the default (zero counters, nothing known); from then on the task
    /// refreshes it every [`STATS_INTERVAL`] until the connection closes, so what this returns is
    /// at most that old. After `close` it returns the last snapshot taken.
    pub fn stats(&self) -> PeerStats {
        if !self.stats_wanted.swap(true, Ordering::AcqRel) {
            // Closed: there is no task to ask, and the last snapshot stays.
            let _ = self.command(Command::RefreshStats);
        }
        stats::read(&self.stats)
    }

    /// Takes every event reported since the last call and updates the cached states.
    pub fn poll(&mut self) -> Vec<PeerEvent> {
        let events: Vec<PeerEvent> = self.events.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        if self.connection_state == ConnectionState::Closed {
            return Vec::new();
        }
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

    /// Closes the connection and all its channels. Never waits.
    pub fn close(&mut self) {
        if self.connection_state == ConnectionState::Closed {
            return;
        }
        self.connection_state = ConnectionState::Closed;
        self.signaling_state = SignalingState::Closed;
        self.close_channels();
        let _ = self.commands.send(Command::Close);
    }

    fn close_channels(&mut self) {
        for channel in self.channels.drain(..).filter_map(|weak| weak.upgrade()) {
            channel.set_state(ChannelState::Closed);
        }
    }

    fn command(&self, command: Command) -> Result<(), TransportError> {
        if self.connection_state == ConnectionState::Closed {
            return Err(TransportError::WrongState("the connection is closed".into()));
        }
        self.commands.send(command).map_err(|_| TransportError::RuntimeGone)
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.close();
    }
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

/// Turns webrtc callbacks into queued events. Never blocks: the driver awaits it.
struct EventHandler {
    events: EventQueue,
    max_message_size: Arc<AtomicUsize>,
    ice: Arc<IceTally>,
    /// Tells the connection's task that the connection is up (see `nudge_driver`).
    connected: Arc<tokio::sync::Notify>,
    /// Whether webrtc's last reported state is `connected` (see `closed_by_peer`).
    is_connected: Arc<AtomicBool>,
}

impl EventHandler {
    fn push(&self, event: PeerEvent) {
        push(&self.events, event);
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for EventHandler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                self.ice.local_candidate(&init.candidate);
                self.push(PeerEvent::IceCandidateCreated {
                    mid: init.sdp_mid.filter(|mid| !mid.is_empty()).unwrap_or_else(|| "0".into()),
                    index: init.sdp_mline_index.unwrap_or(0),
                    candidate: init.candidate,
                });
            }
            Err(error) => log::warn!("cannot describe a local ICE candidate: {error}"),
        }
    }

    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        let state = match state {
            RTCSignalingState::HaveLocalOffer => SignalingState::HaveLocalOffer,
            RTCSignalingState::HaveRemoteOffer => SignalingState::HaveRemoteOffer,
            RTCSignalingState::HaveLocalPranswer => SignalingState::HaveLocalPranswer,
            RTCSignalingState::HaveRemotePranswer => SignalingState::HaveRemotePranswer,
            RTCSignalingState::Closed => SignalingState::Closed,
            _ => SignalingState::Stable,
        };
        self.push(PeerEvent::SignalingStateChanged(state));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        let state = match state {
            RTCIceGatheringState::Gathering => GatheringState::Gathering,
            RTCIceGatheringState::Complete => GatheringState::Complete,
            _ => GatheringState::New,
        };
        self.push(PeerEvent::GatheringStateChanged(state));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let state = match state {
            RTCPeerConnectionState::Connecting => ConnectionState::Connecting,
            RTCPeerConnectionState::Connected => ConnectionState::Connected,
            RTCPeerConnectionState::Disconnected => ConnectionState::Disconnected,
            RTCPeerConnectionState::Failed => ConnectionState::Failed,
            RTCPeerConnectionState::Closed => ConnectionState::Closed,
            _ => ConnectionState::New,
        };
        if state == ConnectionState::Failed {
            self.push(PeerEvent::Error(self.ice.failure()));
        }
        self.is_connected.store(state == ConnectionState::Connected, Ordering::Release);
        if state == ConnectionState::Connected {
            self.connected.notify_one();
        }
        self.push(PeerEvent::ConnectionStateChanged(state));
    }

    async fn on_data_channel(&self, channel: Arc<dyn RtcDataChannel>) {
        // Reading the channel's options is a round trip to the driver, which is awaiting this
        // very callback: do it on a task of its own.
        let events = Arc::clone(&self.events);
        let max_message_size = Arc::clone(&self.max_message_size);
        tokio::spawn(async move {
            match describe_remote_channel(&channel).await {
                Ok((label, options)) => {
                    let shared = ChannelShared::new(label, options, max_message_size);
                    let (handle, outgoing) = DataChannel::new(Arc::clone(&shared));
                    channel::attach(channel, shared, outgoing);
                    push(&events, PeerEvent::DataChannelReceived(handle));
                }
                Err(error) => push(
                    &events,
                    PeerEvent::Error(TransportError::Channel { label: String::new(), reason: error.to_string() }),
                ),
            }
        });
    }
}

async fn describe_remote_channel(channel: &Arc<dyn RtcDataChannel>) -> webrtc::error::Result<(String, ChannelOptions)> {
    let options = ChannelOptions {
        ordered: channel.ordered().await?,
        max_packet_life_time: channel.max_packet_life_time().await?,
        max_retransmits: channel.max_retransmits().await?,
        protocol: channel.protocol().await?,
        // Channels negotiated out of band are never announced; this one came in-band.
        negotiated_id: None,
    };
    Ok((channel.label().await?, options))
}

async fn build(config: &TransportConfig, handler: EventHandler) -> webrtc::error::Result<Arc<dyn RtcPeerConnection>> {
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
    let configuration =
        RTCConfigurationBuilder::default().with_ice_servers(ice_servers).with_ice_transport_policy(policy).build();
    // A check from the remote side often arrives before its candidate (trickled, or resolved by
    // mDNS) and makes a peer-reflexive pair; webrtc holds such a pair back for 1 s by default.
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(multicast_dns_mode())
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        // Answer setup:passive, so that we are always the DTLS and SCTP server (answerers pick
        // active when we offer). As the SCTP client, the remote's first messages can ride in
        // right behind its COOKIE-ACK and reach rtc before it has opened our negotiated
        // channels' streams, which drops them; as the server we open them first.
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .build();
    let connection = PeerConnectionBuilder::new()
        .with_configuration(configuration)
        .with_setting_engine(settings)
        .with_handler(Arc::new(handler))
        .with_runtime(Arc::new(RepairingRuntime::default()))
        .with_udp_addrs(vec![SocketAddr::new(config.effective_bind_address(), 0)])
        .with_data_channel_send_buffer_limit(SEND_BUFFER_LIMIT)
        .build()
        .await?;
    Ok(Arc::new(connection))
}

/// How connections treat mDNS: browsers hide their host addresses behind `<uuid>.local` names,
/// which the ICE agent resolves with a multicast query (`QueryOnly`; our own candidates keep their
/// addresses, as Godot's own plugin gives them). The query needs a socket on port 5353 joined to
/// 224.0.0.251; where the system refuses one (no multicast route, say), the driver would fail every
/// connection, so mDNS is then off and `.local` candidates are ignored. Checked once per process.
fn multicast_dns_mode() -> MulticastDnsMode {
    static MODE: OnceLock<MulticastDnsMode> = OnceLock::new();
    *MODE.get_or_init(|| match MulticastSocket::new().into_std() {
        Ok(_) => MulticastDnsMode::QueryOnly,
        Err(err) => {
            log::info!("mDNS is off, so .local candidates are ignored: no multicast socket ({err})");
            MulticastDnsMode::Disabled
        }
    })
}

/// What a connection's task starts from.
struct Task {
    config: TransportConfig,
    handler: EventHandler,
    stats: SharedStats,
    stats_wanted: Arc<AtomicBool>,
}

/// The connection's task: builds the webrtc connection, then runs commands in order, and
/// refreshes the statistics snapshot every [`STATS_INTERVAL`] once they are wanted.
async fn drive(task: Task, mut commands: mpsc::UnboundedReceiver<Command>) {
    let Task { config, handler, stats: shared_stats, stats_wanted } = task;
    let events = Arc::clone(&handler.events);
    let ice = Arc::clone(&handler.ice);
    let connected = Arc::clone(&handler.connected);
    let is_connected = Arc::clone(&handler.is_connected);
    let error = |error: TransportError| push(&events, PeerEvent::Error(error));
    let failed = |step: &'static str, reason: webrtc::error::Error| {
        error(TransportError::Signaling { step, reason: reason.to_string() })
    };
    let connection = match build(&config, handler).await {
        Ok(connection) => connection,
        Err(failure) => {
            error(TransportError::Bind { address: config.effective_bind_address(), reason: failure.to_string() });
            push(&events, PeerEvent::ConnectionStateChanged(ConnectionState::Failed));
            refuse(commands).await;
            return;
        }
    };
    let mut remote_is_set = false;
    let mut early_candidates = Vec::new();
    let mut stats_ticker = tokio::time::interval(STATS_INTERVAL);
    stats_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut remote_close_ticker = tokio::time::interval(REMOTE_CLOSE_CHECK);
    remote_close_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closed_by_remote = false;
    let mut first_channel: Option<Arc<dyn RtcDataChannel>> = None;
    let mut nudged = false;
    loop {
        let command = tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(command) => command,
                None => break,
            },
            _ = stats_ticker.tick(), if stats_wanted.load(Ordering::Acquire) => {
                stats::refresh(&connection, &shared_stats).await;
                continue;
            }
            _ = connected.notified(), if !nudged => {
                nudged = true;
                if let Some(channel) = &first_channel {
                    nudge_driver(channel).await;
                }
                continue;
            }
            _ = remote_close_ticker.tick(), if remote_is_set => {
                if is_connected.load(Ordering::Acquire) && closed_by_peer(&connection).await {
                    closed_by_remote = true;
                    break;
                }
                continue;
            }
        };
        match command {
            Command::CreateOffer => match connection.create_offer(None).await {
                Ok(offer) => {
                    push(&events, PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp: offer.sdp })
                }
                Err(failure) => failed("create_offer", failure),
            },
            Command::SetLocal(description) => {
                if let Err(failure) = connection.set_local_description(description).await {
                    failed("set_local_description", failure);
                }
            }
            Command::SetRemote(description) => {
                let is_offer = description.sdp_type == webrtc::peer_connection::RTCSdpType::Offer;
                if let Err(failure) = connection.set_remote_description(description).await {
                    failed("set_remote_description", failure);
                    continue;
                }
                remote_is_set = true;
                for candidate in early_candidates.drain(..) {
                    add_candidate(&connection, candidate, &ice, &failed).await;
                }
                if is_offer {
                    match answer(&connection).await {
                        Ok(sdp) => push(&events, PeerEvent::SessionDescriptionCreated { kind: SdpKind::Answer, sdp }),
                        Err(failure) => failed("create_answer", failure),
                    }
                }
            }
            Command::AddCandidate(candidate) if remote_is_set => {
                add_candidate(&connection, candidate, &ice, &failed).await
            }
            Command::AddCandidate(candidate) => early_candidates.push(candidate),
            Command::CreateChannel { label, shared, outgoing } => {
                let options = shared.options().to_rtc();
                match connection.create_data_channel(&label, Some(options)).await {
                    Ok(channel) => {
                        first_channel.get_or_insert_with(|| Arc::clone(&channel));
                        channel::attach(channel, shared, outgoing)
                    }
                    Err(failure) => {
                        shared.set_state(ChannelState::Closed);
                        error(TransportError::Channel { label, reason: failure.to_string() });
                    }
                }
            }
            Command::RefreshStats => stats::refresh(&connection, &shared_stats).await,
            Command::Close => break,
        }
    }
    if closed_by_remote {
        push(&events, PeerEvent::ConnectionStateChanged(ConnectionState::Closed));
    }
    // After a remote close this stops ICE (whose consent checks would otherwise report
    // disconnected, then failed) and ends every channel's event stream.
    if tokio::time::timeout(CLOSE_TIMEOUT, connection.close()).await.is_err() {
        log::warn!("closing a peer connection took longer than {CLOSE_TIMEOUT:?}; abandoned it");
    }
    if closed_by_remote {
        // The handle learns of the close at its next poll; what it sends until then is refused.
        refuse(commands).await;
    }
}

/// Runs no more commands; a channel created meanwhile is closed at once. Returns when the
/// handle is gone.
async fn refuse(mut commands: mpsc::UnboundedReceiver<Command>) {
    while let Some(command) = commands.recv().await {
        if let Command::CreateChannel { shared, .. } = command {
            shared.set_state(ChannelState::Closed);
        }
    }
}

/// Wakes webrtc's driver once the connection is up. The SCTP INIT that DTLS completion creates
/// (when we are the DTLS client) is sent only on the driver's next wake-up, which would otherwise be
/// its next 200 ms timer tick; rewriting a channel's buffered-amount threshold is the cheapest
/// call that wakes it.
async fn nudge_driver(channel: &Arc<dyn RtcDataChannel>) {
    if let Ok(threshold) = channel.buffered_amount_low_threshold().await {
        let _ = channel.set_buffered_amount_low_threshold(threshold).await;
    }
}

/// Whether the remote side has closed the connection. webrtc reports no event for it: a DTLS
/// close_notify closes the DTLS transport and the SCTP association, an SCTP ABORT or a completed
/// SHUTDOWN closes the association, and the data channels close with them, but the connection
/// state stays `connected` (W3C counts a closed DTLS transport as connected) until ICE consent
/// checks run out. Before our own `close()` nothing but the remote side closes either, and a
/// connection without its association carries nothing, so either means the connection is over,
/// as libdatachannel (Godot's own plugin) reports it.
///
/// Look-alikes that are not a close (the caller also asks only while webrtc reports
/// `connected`, so a failing ICE path, which reports disconnected or failed, is never taken for
/// one): a DTLS handshake that fails leaves DTLS `failed`, and an SCTP server's association reads
/// `closed` (SCTP's initial state) until the client's INIT arrives. So only an association whose
/// handshake completed (it then knows its stream counts, `max_channels`) can have been closed.
async fn closed_by_peer(connection: &Arc<dyn RtcPeerConnection>) -> bool {
    let sctp: Arc<dyn SctpTransport> = match connection.sctp().await {
        Some(sctp) => sctp,
        None => return false,
    };
    if !matches!(sctp.max_channels().await, Ok(Some(_))) {
        return false;
    }
    let dtls: Arc<dyn DtlsTransport> = sctp.transport();
    matches!(dtls.state().await, Ok(RTCDtlsTransportState::Closed))
        || matches!(sctp.state().await, Ok(RTCSctpTransportState::Closed))
}

async fn answer(connection: &Arc<dyn RtcPeerConnection>) -> webrtc::error::Result<String> {
    let answer = connection.create_answer(None).await?;
    let sdp = answer.sdp.clone();
    connection.set_local_description(answer).await?;
    Ok(sdp)
}

async fn add_candidate(
    connection: &Arc<dyn RtcPeerConnection>,
    candidate: RTCIceCandidateInit,
    ice: &IceTally,
    failed: &impl Fn(&'static str, webrtc::error::Error),
) {
    match connection.add_ice_candidate(candidate).await {
        Ok(()) => ice.remote_candidate(),
        Err(failure) => failed("add_ice_candidate", failure),
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

    #[test]
    fn description_types_parse() {
        assert_eq!(SdpKind::parse("offer"), Ok(SdpKind::Offer));
        assert!(SdpKind::parse("rollback").is_err());
        assert!(SdpKind::Offer.describe("garbage".into()).is_err());
    }
}
