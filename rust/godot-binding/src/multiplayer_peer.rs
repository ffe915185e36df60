//! `WebRTCMultiplayerPeerRs`: Godot's `WebRTCMultiplayerPeer`, with the rules in `mesh-core`.
//!
//! This class only translates: calls become `Mesh` calls, observed connection and channel
//! states become `PeerHealth`, `MeshEvent`s become signals. When a peer's connection is a
//! `WebRTCPeerConnectionRs`, packets move between the transport and the mesh in Rust, with no
//! per-packet call through the engine; other WebRTC extensions go through the engine's API.

use std::collections::HashMap;

use bytes::BytesMut;

use godot::classes::multiplayer_peer::{ConnectionStatus, TransferMode as GodotTransferMode};
use godot::classes::web_rtc_data_channel::ChannelState;
use godot::classes::web_rtc_peer_connection::ConnectionState;
use godot::classes::{IMultiplayerPeerExtension, MultiplayerPeerExtension, WebRtcDataChannel, WebRtcPeerConnection};
use godot::global::{godot_error, Error};
use godot::prelude::*;
use godot_core::meta::RawPtr;
use mesh_core::{ChannelSpec, Mesh, MeshError, MeshEvent, Mode, PeerHealth, TransferMode};
use webrtc_mesh_transport::{self as transport, DataChannel};

use crate::data_channel::WebRtcDataChannelRs;

/// One of a peer's data channels: the Godot object, and the transport channel behind it when
/// it is one of ours.
struct ChannelLink {
    object: Gd<WebRtcDataChannel>,
    native: Option<DataChannel>,
}

impl ChannelLink {
    fn new(object: Gd<WebRtcDataChannel>) -> Self {
        let native = object
            .clone()
            .try_cast::<WebRtcDataChannelRs>()
            .ok()
            .and_then(|ours| ours.bind().channel().cloned());
        Self { object, native }
    }

    fn state(&self) -> ChannelState {
        match &self.native {
            Some(channel) => match channel.ready_state() {
                transport::ChannelState::Connecting => ChannelState::CONNECTING,
                transport::ChannelState::Open => ChannelState::OPEN,
                transport::ChannelState::Closing => ChannelState::CLOSING,
                transport::ChannelState::Closed => ChannelState::CLOSED,
            },
            None => self.object.get_ready_state(),
        }
    }

    fn drain(&mut self, mut deliver: impl FnMut(BytesMut)) {
        match &self.native {
            Some(channel) => {
                for packet in channel.recv_all() {
                    deliver(packet.data);
                }
            }
            None => {
                while self.object.get_available_packet_count() > 0 {
                    deliver(BytesMut::from(self.object.get_packet().as_slice()));
                }
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> Result<(), String> {
        match &self.native {
            Some(channel) => channel.send(data, false).map_err(|error| error.to_string()),
            None => match self.object.put_packet(&PackedByteArray::from(data)) {
                Error::OK => Ok(()),
                code => Err(format!("the data channel refused the packet ({code:?})")),
            },
        }
    }

    fn close(&mut self) {
        match &self.native {
            Some(channel) => channel.close(),
            None => self.object.close(),
        }
    }
}

/// A peer's connection and channels, in the mesh's channel order.
struct PeerLink {
    connection: Gd<WebRtcPeerConnection>,
    channels: Vec<ChannelLink>,
}

impl PeerLink {
    fn health(&self) -> PeerHealth {
        let connection_dead = matches!(
            self.connection.get_connection_state(),
            ConnectionState::DISCONNECTED | ConnectionState::FAILED | ConnectionState::CLOSED
        );
        let states: Vec<ChannelState> = self.channels.iter().map(ChannelLink::state).collect();
        if connection_dead || states.iter().any(|state| matches!(*state, ChannelState::CLOSING | ChannelState::CLOSED)) {
            PeerHealth::Dead
        } else if states.iter().all(|state| *state == ChannelState::OPEN) {
            PeerHealth::Ready
        } else {
            PeerHealth::Connecting
        }
    }

    fn close(&mut self) {
        for channel in &mut self.channels {
            channel.close();
        }
        self.connection.close();
    }

    fn describe(&self, connected: bool) -> VarDictionary {
        let channels: VarArray = self.channels.iter().map(|channel| channel.object.to_variant()).collect();
        let mut dict = VarDictionary::new();
        dict.set("connection", &self.connection);
        dict.set("channels", &channels);
        dict.set("connected", connected);
        dict
    }
}

fn mesh_error(call: &str, error: MeshError) -> Error {
    godot_error!("WebRTCMultiplayerPeerRs.{call}: {error}");
    match error {
        MeshError::Unconfigured(_) => Error::ERR_UNCONFIGURED,
        MeshError::InvalidParameter(_) => Error::ERR_INVALID_PARAMETER,
        MeshError::Unauthorized(_) => Error::ERR_UNAUTHORIZED,
        MeshError::AlreadyExists(_) => Error::ERR_ALREADY_EXISTS,
        MeshError::Unavailable(_) => Error::ERR_UNAVAILABLE,
    }
}

fn godot_mode(mode: TransferMode) -> GodotTransferMode {
    match mode {
        TransferMode::Unreliable => GodotTransferMode::UNRELIABLE,
        TransferMode::UnreliableOrdered => GodotTransferMode::UNRELIABLE_ORDERED,
        TransferMode::Reliable => GodotTransferMode::RELIABLE,
    }
}

/// The untyped `channels_config` array of the engine's signatures. A newtype, because gdext
/// only takes immutable types as default arguments and an untyped array's default (`[]`) is
/// made read-only here.
#[derive(GodotConvert, Clone, Debug)]
#[godot(transparent)]
pub struct ChannelsConfig(VarArray);

// SAFETY: the default value is turned read-only before it is shared.
unsafe impl godot::meta::GodotImmutable for ChannelsConfig {
    fn into_runtime_immutable(self) -> Self {
        Self(self.0.into_read_only())
    }
}

/// Reads `channels_config`: every entry must be an int.
fn channels_config(config: &ChannelsConfig) -> Result<Vec<i64>, MeshError> {
    config
        .0
        .iter_shared()
        .map(|entry| {
            entry.try_to::<i64>().map_err(|_| {
                MeshError::InvalidParameter("channels_config must hold only MultiplayerPeer.TransferMode values".into())
            })
        })
        .collect()
}

fn channel_config(spec: &ChannelSpec) -> VarDictionary {
    let mut dict = VarDictionary::new();
    dict.set("negotiated", true);
    dict.set("id", i64::from(spec.id));
    dict.set("ordered", spec.ordered);
    if let Some(lifetime) = spec.max_packet_life_time {
        dict.set("maxPacketLifeTime", i64::from(lifetime));
    }
    dict
}

/// A full mesh of WebRTC connections usable as `MultiplayerAPI.multiplayer_peer`: a drop-in
/// replacement for Godot's `WebRTCMultiplayerPeer`. Add one `WebRTCPeerConnection` per remote
/// peer with `add_peer` (in `STATE_NEW`); the class creates the data channels, polls the
/// connections and reports connections and disconnections. It does not create offers or set
/// descriptions: signaling is yours.
#[derive(GodotClass)]
#[class(tool, init, base = MultiplayerPeerExtension, rename = WebRTCMultiplayerPeerRs)]
pub struct WebRtcMultiplayerPeerRs {
    mesh: Mesh<BytesMut>,
    links: HashMap<i32, PeerLink>,
    /// The packet last handed out by `get_packet`; its buffer must outlive the call.
    current: BytesMut,
    base: Base<MultiplayerPeerExtension>,
}

#[godot_api]
impl WebRtcMultiplayerPeerRs {
    /// Emitted under server compatibility when the peer with id 1 connects.
    #[signal]
    fn connection_succeeded();

    /// Emitted under server compatibility when the peer with id 1 leaves.
    #[signal]
    fn server_disconnected();

    /// Initializes the mesh with this peer's id (1 to 2147483647). With
    /// `server_compatibility`, `peer_connected` is held back until peer 1 connects, which then
    /// emits `connection_succeeded`; its departure emits `server_disconnected`. Each entry of
    /// `channels_config` (a `MultiplayerPeer.TransferMode`) adds one extra channel.
    #[func]
    fn initialize(
        &mut self,
        peer_id: i64,
        #[opt(default = false)] server_compatibility: bool,
        #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig,
    ) -> Error {
        self.configure("initialize", peer_id, Mode::Mesh { server_compatibility }, &channels_config)
    }

    /// Initializes as a mesh peer with the given id; the status is connected at once.
    #[func]
    fn create_mesh(&mut self, peer_id: i64, #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig) -> Error {
        self.configure("create_mesh", peer_id, Mode::Mesh { server_compatibility: false }, &channels_config)
    }

    /// Initializes as the server (id 1), which adds one peer per client.
    #[func]
    fn create_server(&mut self, #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig) -> Error {
        self.configure("create_server", 1, Mode::Server, &channels_config)
    }

    /// Initializes as a client with the given id (not 1), which adds only the server (id 1).
    #[func]
    fn create_client(&mut self, peer_id: i64, #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig) -> Error {
        self.configure("create_client", peer_id, Mode::Client, &channels_config)
    }

    /// Adds the connection to the peer `peer_id`. The connection must be in `STATE_NEW`; the
    /// reliable, ordered and unreliable channels (with `unreliable_lifetime` ms as packet
    /// lifetime) and one per `channels_config` entry are created on it.
    #[func]
    fn add_peer(
        &mut self,
        peer: Option<Gd<WebRtcPeerConnection>>,
        peer_id: i64,
        #[opt(default = 1)] unreliable_lifetime: i64,
    ) -> Error {
        const CALL: &str = "add_peer";
        let layout = match self.mesh.check_add_peer(peer_id, unreliable_lifetime) {
            Ok(layout) => layout,
            Err(error) => return mesh_error(CALL, error),
        };
        let Some(mut connection) = peer else {
            return mesh_error(CALL, MeshError::InvalidParameter("the connection is null".into()));
        };
        if connection.get_connection_state() != ConnectionState::NEW {
            return mesh_error(CALL, MeshError::InvalidParameter("the connection must be in STATE_NEW".into()));
        }
        let mut channels = Vec::with_capacity(layout.len());
        for spec in &layout {
            match connection.create_data_channel_ex(&spec.label).options(&channel_config(spec)).done() {
                Some(channel) => channels.push(ChannelLink::new(channel)),
                None => {
                    for channel in &mut channels {
                        channel.close();
                    }
                    let text = format!("the connection could not create channel '{}'", spec.label);
                    return mesh_error(CALL, MeshError::InvalidParameter(text));
                }
            }
        }
        let peer_id = peer_id as i32; // checked by check_add_peer
        self.mesh.insert_peer(peer_id);
        self.links.insert(peer_id, PeerLink { connection, channels });
        Error::OK
    }

    /// Removes the peer and closes its connection; emits `peer_disconnected` if
    /// `peer_connected` was emitted for it.
    #[func]
    fn remove_peer(&mut self, peer_id: i64) {
        let Ok(peer_id) = i32::try_from(peer_id) else { return };
        if let Some(mut link) = self.links.remove(&peer_id) {
            link.close();
        }
        self.mesh.remove_peer(peer_id);
        self.emit_events();
    }

    /// Whether the peer is in the mesh (it may still be connecting).
    #[func]
    fn has_peer(&self, peer_id: i64) -> bool {
        i32::try_from(peer_id).is_ok_and(|id| self.mesh.has_peer(id))
    }

    /// `{connection, channels, connected}` for the peer; an empty dictionary and an error for
    /// an unknown id.
    #[func]
    fn get_peer(&self, peer_id: i64) -> VarDictionary {
        match i32::try_from(peer_id).ok().and_then(|id| Some((id, self.links.get(&id)?))) {
            Some((id, link)) => link.describe(self.mesh.is_peer_ready(id)),
            None => {
                godot_error!("WebRTCMultiplayerPeerRs.get_peer: no peer with id {peer_id}");
                VarDictionary::new()
            }
        }
    }

    /// Every peer: id -> the dictionary `get_peer` returns.
    #[func]
    fn get_peers(&self) -> VarDictionary {
        let mut peers = VarDictionary::new();
        for id in self.mesh.peer_ids() {
            if let Some(link) = self.links.get(&id) {
                peers.set(i64::from(id), &link.describe(self.mesh.is_peer_ready(id)));
            }
        }
        peers
    }
}

impl WebRtcMultiplayerPeerRs {
    fn configure(&mut self, call: &str, peer_id: i64, mode: Mode, config: &ChannelsConfig) -> Error {
        let result = channels_config(config).and_then(|config| self.mesh.initialize(peer_id, mode, &config));
        match result {
            Ok(()) => Error::OK,
            Err(error) => mesh_error(call, error),
        }
    }

    /// Emits the mesh's pending signals. Signal handlers may call back into this object
    /// (SceneMultiplayer sends packets from `peer_connected`), so each is emitted through
    /// `base_mut()`, which allows that.
    fn emit_events(&mut self) {
        for event in self.mesh.take_events() {
            let (signal, args) = match event {
                MeshEvent::PeerConnected(id) => ("peer_connected", vec![i64::from(id).to_variant()]),
                MeshEvent::PeerDisconnected(id) => ("peer_disconnected", vec![i64::from(id).to_variant()]),
                MeshEvent::ConnectionSucceeded => ("connection_succeeded", vec![]),
                MeshEvent::ServerDisconnected => ("server_disconnected", vec![]),
            };
            self.base_mut().emit_signal(signal, &args);
        }
    }

    fn drop_link(&mut self, peer_id: i32) {
        if let Some(mut link) = self.links.remove(&peer_id) {
            link.close();
        }
    }
}

#[godot_api]
impl IMultiplayerPeerExtension for WebRtcMultiplayerPeerRs {
    unsafe fn get_packet_rawptr(&mut self, r_buffer: RawPtr<*mut RawPtr<*const u8>>, r_buffer_size: RawPtr<*mut i32>) -> Error {
        let Some((_, packet)) = self.mesh.pop_packet() else {
            godot_error!("WebRTCMultiplayerPeerRs.get_packet: no packet available");
            return Error::ERR_UNAVAILABLE;
        };
        self.current = packet;
        // SAFETY: Godot passes valid out-pointers; the buffer lives in `self.current` until
        // the next call, as the engine requires.
        unsafe {
            *(r_buffer.ptr() as *mut *const u8) = self.current.as_ptr();
            *r_buffer_size.ptr() = self.current.len() as i32;
        }
        Error::OK
    }

    unsafe fn put_packet_rawptr(&mut self, p_buffer: RawPtr<*const u8>, p_buffer_size: i32) -> Error {
        let data = match usize::try_from(p_buffer_size) {
            Ok(0) | Err(_) => &[][..],
            // SAFETY: Godot passes a buffer of `p_buffer_size` readable bytes.
            Ok(size) => unsafe { std::slice::from_raw_parts(p_buffer.ptr(), size) },
        };
        let plan = match self.mesh.send_plan() {
            Ok(plan) => plan,
            Err(error) => return mesh_error("put_packet", error),
        };
        let max = transport::channel::DEFAULT_MAX_MESSAGE_SIZE;
        if data.len() > max {
            let text = format!("a packet of {} bytes exceeds the maximum of {max} bytes", data.len());
            return mesh_error("put_packet", MeshError::InvalidParameter(text));
        }
        for peer_id in plan.peers {
            let Some(channel) = self.links.get_mut(&peer_id).and_then(|link| link.channels.get_mut(plan.channel_index)) else {
                continue;
            };
            if let Err(text) = channel.send(data) {
                godot_error!("WebRTCMultiplayerPeerRs.put_packet: sending to peer {peer_id} failed: {text}");
                if plan.single_target {
                    return Error::ERR_UNAVAILABLE;
                }
            }
        }
        Error::OK
    }

    fn get_available_packet_count(&self) -> i32 {
        self.mesh.available_packets().min(i32::MAX as usize) as i32
    }

    fn get_max_packet_size(&self) -> i32 {
        transport::channel::DEFAULT_MAX_MESSAGE_SIZE as i32
    }

    fn get_packet_channel(&self) -> i32 {
        self.mesh.next_packet().map_or(0, |info| info.transfer_channel)
    }

    fn get_packet_mode(&self) -> GodotTransferMode {
        godot_mode(self.mesh.next_packet().map_or(TransferMode::Reliable, |info| info.mode))
    }

    fn set_transfer_channel(&mut self, channel: i32) {
        self.mesh.set_transfer_channel(channel);
    }

    fn get_transfer_channel(&self) -> i32 {
        self.mesh.transfer_channel()
    }

    fn set_transfer_mode(&mut self, mode: GodotTransferMode) {
        match TransferMode::from_godot(i64::from(mode.ord())) {
            Ok(mode) => self.mesh.set_transfer_mode(mode),
            Err(error) => {
                mesh_error("set_transfer_mode", error);
            }
        }
    }

    fn get_transfer_mode(&self) -> GodotTransferMode {
        godot_mode(self.mesh.transfer_mode())
    }

    fn set_target_peer(&mut self, peer: i32) {
        self.mesh.set_target_peer(peer);
    }

    fn get_packet_peer(&self) -> i32 {
        self.mesh.next_packet().map_or(0, |info| info.peer)
    }

    fn is_server(&self) -> bool {
        self.mesh.is_server()
    }

    fn poll(&mut self) {
        crate::logging::flush();
        // Polling a connection emits its signals, whose handlers may call back into this
        // object: poll through `base_mut()`, which allows that.
        let connections: Vec<Gd<WebRtcPeerConnection>> = self.links.values().map(|link| link.connection.clone()).collect();
        {
            let _reentrant = self.base_mut();
            for mut connection in connections {
                connection.poll();
            }
        }
        let observed: Vec<(i32, PeerHealth)> = self
            .mesh
            .peer_ids()
            .into_iter()
            .filter_map(|id| Some((id, self.links.get(&id)?.health())))
            .collect();
        for removed in self.mesh.update(&observed) {
            self.drop_link(removed);
        }
        for (&peer_id, link) in &mut self.links {
            for (index, channel) in link.channels.iter_mut().enumerate() {
                channel.drain(|packet| self.mesh.push_packet(peer_id, index, packet));
            }
        }
        self.emit_events();
    }

    fn close(&mut self) {
        for (_, mut link) in self.links.drain() {
            link.close();
        }
        self.mesh.close();
        self.current.clear();
    }

    fn disconnect_peer(&mut self, peer: i32, force: bool) {
        if let Err(error) = self.mesh.disconnect_peer(peer, force) {
            mesh_error("disconnect_peer", error);
            return;
        }
        if force {
            self.drop_link(peer);
        } else if let Some(link) = self.links.get_mut(&peer) {
            link.close();
        }
    }

    fn get_unique_id(&self) -> i32 {
        self.mesh.unique_id()
    }

    fn set_refuse_new_connections(&mut self, enable: bool) {
        self.mesh.set_refuse_new_connections(enable);
    }

    fn is_refusing_new_connections(&self) -> bool {
        self.mesh.is_refusing_new_connections()
    }

    fn is_server_relay_supported(&self) -> bool {
        self.mesh.is_server_relay_supported()
    }

    fn get_connection_status(&self) -> ConnectionStatus {
        match self.mesh.status() {
            mesh_core::ConnectionStatus::Disconnected => ConnectionStatus::DISCONNECTED,
            mesh_core::ConnectionStatus::Connecting => ConnectionStatus::CONNECTING,
            mesh_core::ConnectionStatus::Connected => ConnectionStatus::CONNECTED,
        }
    }
}
