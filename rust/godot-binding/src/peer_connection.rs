//! `WebRTCPeerConnectionRs`: Godot's `WebRTCPeerConnection` over the transport, registered as
//! the engine's default so that `WebRTCPeerConnection.new()` creates one.

use godot::classes::web_rtc_peer_connection::{ConnectionState, GatheringState, SignalingState};
use godot::classes::{IWebRtcPeerConnectionExtension, WebRtcDataChannel, WebRtcPeerConnectionExtension};
use godot::global::Error;
use godot::prelude::*;
use transport::{self as transport, PathKind, PeerConnection, PeerEvent, PeerStats, RelayHub, SdpKind};

use crate::config;
use crate::data_channel::WebRtcDataChannelRs;
use crate::errors;
use crate::logging;

/// The class name Godot knows this class by.
pub(crate) const CLASS_NAME: &str = "WebRTCPeerConnectionRs";

/// A WebRTC peer connection in pure Rust (the addon's own sans-IO core: ICE by webrtc-rs's
/// `rtc-ice`, DTLS by `dimpl`, SCTP and data channels of its own), provided by the webrtc-mesh
/// addon and made the default, so `WebRTCPeerConnection.new()` returns one. Use it through the
/// `WebRTCPeerConnection` API. Besides `iceServers`, `initialize()` accepts `iceTransportPolicy`
/// (`"all"`, the default, or `"relay"`: only TURN-relayed candidates, which needs a `turn:` or
/// `turns:` server) and `bindAddress`: the local IP to bind (default: `::`, every interface of
/// both families on one dual-stack socket, or the one set by `set_default_bind_address`). ICE
/// servers may be STUN (`stun:`, over UDP) and TURN over UDP (`turn:`, optionally
/// `?transport=udp`), TCP (`turn:...?transport=tcp`) or TLS (`turns:`;
/// the certificate is checked against the web's authorities and those of the PEM file named by
/// `WEBRTC_MESH_TURN_CA_FILE`). Refused there: `stuns:` (STUN over TLS), a query on a `stun:`
/// URL, a TURN server without credentials and, when a single-family address is bound, a server
/// given as an IP address of the other family. `get_stats()` returns the connection's statistics.
#[derive(GodotClass)]
#[class(tool, init, base = WebRtcPeerConnectionExtension, rename = WebRTCPeerConnectionRs)]
pub(crate) struct WebRtcPeerConnectionRs {
    connection: Option<PeerConnection>,
    /// `close()` came before any use: the connection is closed without ever being created.
    closed_unused: bool,
    base: Base<WebRtcPeerConnectionExtension>,
}

#[godot_api]
impl WebRtcPeerConnectionRs {
    /// Sets the local IP address that connections bind when their configuration names none
    /// (an empty string restores the default: `::`, every interface of both families). Returns
    /// `ERR_INVALID_PARAMETER` for a string that is not an IP address.
    #[func]
    fn set_default_bind_address(address: GString) -> Result<(), Error> {
        let text = address.to_string();
        let address = match text.trim() {
            "" => None,
            trimmed => Some(trimmed.parse().map_err(|_| {
                let text = transport::error::excerpt(&text);
                let error = transport::TransportError::InvalidConfig(format!("'{text}' is not an IP address"));
                errors::report("WebRTCPeerConnectionRs.set_default_bind_address", error)
            })?),
        };
        transport::config::set_default_bind_address(address);
        Ok(())
    }

    /// The connection's statistics, taken at once from the connection (zeros and nothing known
    /// before it connects and after it is closed). Keys: `round_trip_time` (float, seconds: the SCTP
    /// association's smoothed estimate once this side sent data, else the latest ICE check round
    /// trip on the selected pair, as W3C `currentRoundTripTime`; -1 if not measured yet); `bytes_sent`,
    /// `bytes_received`, `packets_sent`, `packets_received` (int: UDP payload bytes and
    /// datagrams of the whole connection, ICE, DTLS and SCTP included); `retransmissions` (int:
    /// SCTP retransmissions, DATA and control chunks; -1 before the association exists);
    /// `messages_abandoned` and `messages_expired` (int: unreliable messages given up after they
    /// were sent, and dropped before they ever were, their lifetime over or stale behind
    /// congestion; -1 before the association exists); `ice_restarts` (int: ICE restarts made
    /// through a mesh relay after the direct path broke); for the candidate
    /// pair ICE selected, `local_candidate_type` and `remote_candidate_type` (String: "host",
    /// "srflx", "prflx" or "relay"), `local_address`, `remote_address` (String), `local_port`,
    /// `remote_port` (int) and `protocol` (String, "udp"); "" and 0 until a pair is selected;
    /// `path` (String: "direct", or "relayed" through a common member of a
    /// `WebRTCMultiplayerPeerRs` mesh; "" until one is chosen) and `relay_peer` (int: the member
    /// relaying, 0 when none); `relayed_packets_sent` and `relayed_packets_received` (int: this
    /// connection's datagrams that went and came via a relay).
    #[func]
    fn get_stats(&self) -> VarDictionary {
        self.stats()
    }

    /// Sets how much of the addon's log reaches Godot's output: "off", "error", "warn",
    /// "info", "debug" or "trace". The environment variable `WEBRTC_MESH_LOG` sets the start value.
    #[func]
    fn set_log_level(level: GString) -> Result<(), Error> {
        let filter = logging::parse_level(&level.to_string()).ok_or_else(|| {
            let level = transport::error::excerpt(&level.to_string());
            let text = format!("unknown level '{level}' (off, error, warn, info, debug or trace)");
            errors::report("WebRTCPeerConnectionRs.set_log_level", transport::TransportError::InvalidConfig(text))
        })?;
        log::set_max_level(filter);
        Ok(())
    }
}

impl WebRtcPeerConnectionRs {
    /// The connection's state, as `get_connection_state()` returns it.
    pub(crate) fn state(&self) -> ConnectionState {
        if self.closed_unused {
            return ConnectionState::CLOSED;
        }
        match self.connection.as_ref().map(PeerConnection::connection_state) {
            None | Some(transport::ConnectionState::New) => ConnectionState::NEW,
            Some(transport::ConnectionState::Connecting) => ConnectionState::CONNECTING,
            Some(transport::ConnectionState::Connected) => ConnectionState::CONNECTED,
            Some(transport::ConnectionState::Disconnected) => ConnectionState::DISCONNECTED,
            Some(transport::ConnectionState::Failed) => ConnectionState::FAILED,
            Some(transport::ConnectionState::Closed) => ConnectionState::CLOSED,
        }
    }

    /// Closes every channel the remote side opens in-band from now on, without
    /// `data_channel_received` (for a mesh's connection, where nothing would read them).
    pub(crate) fn refuse_remote_channels(&mut self) {
        if let Ok(connection) = self.connection("WebRTCMultiplayerPeerRs.add_peer") {
            connection.refuse_remote_channels();
        }
    }

    /// Makes this connection the mesh's link to member `peer_id` in `hub`: it announces
    /// relaying (only possible before its first description) and is registered, so that it
    /// carries other members' traffic and has its own carried when its direct path fails.
    pub(crate) fn join_relay(&mut self, hub: &RelayHub, peer_id: i32) -> Result<(), transport::TransportError> {
        let connection = self
            .connection("WebRTCMultiplayerPeerRs.add_peer")
            .map_err(|_| transport::TransportError::WrongState("the connection is closed".into()))?;
        connection.announce_relay()?;
        hub.register(peer_id, connection)
    }

    /// What `get_stats()` returns (defaults for a connection never started).
    pub(crate) fn stats(&self) -> VarDictionary {
        stats_dictionary(&self.connection.as_ref().map(PeerConnection::stats).unwrap_or_default())
    }

    /// The connection, created with the default configuration on first use (as the engine's
    /// other WebRTC implementations do when `initialize()` was not called).
    fn connection(&mut self, call: &str) -> Result<&mut PeerConnection, Error> {
        if self.closed_unused {
            return Err(errors::report(call, transport::TransportError::WrongState("the connection is closed".into())));
        }
        if self.connection.is_none() {
            let connection =
                PeerConnection::new(config::default_transport_config()).map_err(|error| errors::report(call, error))?;
            self.connection = Some(connection);
        }
        self.connection.as_mut().ok_or(Error::ERR_BUG)
    }

    fn run(
        &mut self,
        call: &str,
        action: impl FnOnce(&mut PeerConnection) -> Result<(), transport::TransportError>,
    ) -> Error {
        match self.connection(call) {
            Ok(connection) => errors::check(call, action(connection)),
            Err(code) => code,
        }
    }

    fn emit(&mut self, signal: &str, args: &[Variant]) {
        self.base_mut().emit_signal(signal, args);
    }
}

/// The `get_stats()` dictionary: every key always present, -1 / "" / 0 for what is unknown.
fn stats_dictionary(stats: &PeerStats) -> VarDictionary {
    let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    let mut dict = VarDictionary::new();
    dict.set("round_trip_time", stats.round_trip_time.unwrap_or(-1.0));
    dict.set("bytes_sent", count(stats.bytes_sent));
    dict.set("bytes_received", count(stats.bytes_received));
    dict.set("packets_sent", count(stats.packets_sent));
    dict.set("packets_received", count(stats.packets_received));
    dict.set("retransmissions", stats.retransmissions.map_or(-1, count));
    dict.set("messages_abandoned", stats.messages_abandoned.map_or(-1, count));
    dict.set("messages_expired", stats.messages_expired.map_or(-1, count));
    dict.set("ice_restarts", count(stats.ice_restarts));
    let pair = stats.selected_pair.as_ref();
    for (side, end) in [("local", pair.map(|pair| &pair.local)), ("remote", pair.map(|pair| &pair.remote))] {
        dict.set(format!("{side}_candidate_type"), end.map_or("", |end| end.candidate_type.name()));
        dict.set(format!("{side}_address"), end.map_or("", |end| end.address.as_str()));
        dict.set(format!("{side}_port"), end.map_or(0, |end| i64::from(end.port)));
    }
    dict.set("protocol", pair.map_or("", |pair| pair.protocol.as_str()));
    let path = match stats.path {
        Some(PathKind::Direct) => "direct",
        Some(PathKind::Relayed) => "relayed",
        None => "",
    };
    dict.set("path", path);
    dict.set("relay_peer", stats.relay.map_or(0, i64::from));
    dict.set("relayed_packets_sent", count(stats.relayed_packets_sent));
    dict.set("relayed_packets_received", count(stats.relayed_packets_received));
    dict
}

fn sdp_kind(call: &str, kind: &GString) -> Result<SdpKind, Error> {
    SdpKind::parse(&kind.to_string()).map_err(|error| errors::report(call, error))
}

#[godot_api]
impl IWebRtcPeerConnectionExtension for WebRtcPeerConnectionRs {
    fn get_connection_state(&self) -> ConnectionState {
        self.state()
    }

    fn get_gathering_state(&self) -> GatheringState {
        match self.connection.as_ref().map(PeerConnection::gathering_state) {
            None | Some(transport::GatheringState::New) => GatheringState::NEW,
            Some(transport::GatheringState::Gathering) => GatheringState::GATHERING,
            Some(transport::GatheringState::Complete) => GatheringState::COMPLETE,
        }
    }

    fn get_signaling_state(&self) -> SignalingState {
        if self.closed_unused {
            return SignalingState::CLOSED;
        }
        match self.connection.as_ref().map(PeerConnection::signaling_state) {
            None | Some(transport::SignalingState::Stable) => SignalingState::STABLE,
            Some(transport::SignalingState::HaveLocalOffer) => SignalingState::HAVE_LOCAL_OFFER,
            Some(transport::SignalingState::HaveRemoteOffer) => SignalingState::HAVE_REMOTE_OFFER,
            Some(transport::SignalingState::HaveLocalPranswer) => SignalingState::HAVE_LOCAL_PRANSWER,
            Some(transport::SignalingState::HaveRemotePranswer) => SignalingState::HAVE_REMOTE_PRANSWER,
            Some(transport::SignalingState::Closed) => SignalingState::CLOSED,
        }
    }

    fn initialize(&mut self, config: VarDictionary) -> Error {
        const CALL: &str = "WebRTCPeerConnectionRs.initialize";
        let connection = config::transport_config(&config).and_then(PeerConnection::new);
        match connection {
            Ok(connection) => {
                // Replacing a connection drops (and so closes) the previous one.
                self.connection = Some(connection);
                self.closed_unused = false;
                Error::OK
            }
            Err(error) => errors::report(CALL, error),
        }
    }

    fn create_data_channel(&mut self, label: GString, config: VarDictionary) -> Option<Gd<WebRtcDataChannel>> {
        const CALL: &str = "WebRTCPeerConnectionRs.create_data_channel";
        let options = match config::channel_options(&config) {
            Ok(options) => options,
            Err(error) => {
                errors::report(CALL, error);
                return None;
            }
        };
        let connection = self.connection(CALL).ok()?;
        match connection.create_data_channel(&label.to_string(), options) {
            Ok(channel) => Some(WebRtcDataChannelRs::wrap(channel).upcast()),
            Err(error) => {
                errors::report(CALL, error);
                None
            }
        }
    }

    fn create_offer(&mut self) -> Error {
        self.run("WebRTCPeerConnectionRs.create_offer", |connection| connection.create_offer())
    }

    fn set_remote_description(&mut self, kind: GString, sdp: GString) -> Error {
        const CALL: &str = "WebRTCPeerConnectionRs.set_remote_description";
        match sdp_kind(CALL, &kind) {
            Ok(kind) => self.run(CALL, |connection| connection.set_remote_description(kind, sdp.to_string())),
            Err(code) => code,
        }
    }

    fn set_local_description(&mut self, kind: GString, sdp: GString) -> Error {
        const CALL: &str = "WebRTCPeerConnectionRs.set_local_description";
        match sdp_kind(CALL, &kind) {
            Ok(kind) => self.run(CALL, |connection| connection.set_local_description(kind, sdp.to_string())),
            Err(code) => code,
        }
    }

    fn add_ice_candidate(&mut self, mid: GString, index: i32, candidate: GString) -> Error {
        const CALL: &str = "WebRTCPeerConnectionRs.add_ice_candidate";
        let Ok(index) = u16::try_from(index) else {
            let text = format!("media line index {index} is out of range (0 to 65535)");
            return errors::report(CALL, transport::TransportError::InvalidCandidate(text));
        };
        self.run(CALL, |connection| connection.add_ice_candidate(&mid.to_string(), index, &candidate.to_string()))
    }

    fn poll(&mut self) -> Error {
        logging::flush();
        let events = self.take_events();
        self.emit_events(events);
        Error::OK
    }

    fn close(&mut self) {
        match self.connection.as_mut() {
            Some(connection) => connection.close(),
            // Closed before its first use: STATE_CLOSED, without starting a connection.
            None => self.closed_unused = true,
        }
    }
}

impl WebRtcPeerConnectionRs {
    /// Polls the transport and takes what happened since the last poll, without emitting the
    /// signals for it ([`Self::emit_events`] does): a mesh polls its links in Rust and emits
    /// only when there is something, which spares a frame with nothing the engine round trips.
    pub(crate) fn take_events(&mut self) -> Vec<PeerEvent> {
        self.connection.as_mut().map(PeerConnection::poll).unwrap_or_default()
    }

    /// Emits the signals for `events` (taken by [`Self::take_events`]), as `poll()` does.
    pub(crate) fn emit_events(&mut self, events: Vec<PeerEvent>) {
        for event in events {
            match event {
                PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                    self.emit("session_description_created", &[kind.name().to_variant(), sdp.to_variant()]);
                }
                PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                    self.emit(
                        "ice_candidate_created",
                        &[mid.to_variant(), i64::from(index).to_variant(), candidate.to_variant()],
                    );
                }
                PeerEvent::DataChannelReceived(channel) => {
                    let channel = WebRtcDataChannelRs::wrap(channel);
                    self.emit("data_channel_received", &[channel.to_variant()]);
                }
                PeerEvent::Error(error) => {
                    errors::report("WebRTCPeerConnectionRs.poll", error);
                }
                PeerEvent::ConnectionStateChanged(_)
                | PeerEvent::GatheringStateChanged(_)
                | PeerEvent::SignalingStateChanged(_) => {}
            }
        }
    }
}
