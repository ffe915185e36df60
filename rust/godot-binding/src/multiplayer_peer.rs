//! `WebRTCMultiplayerPeerRs`: Godot's `WebRTCMultiplayerPeer`, with every rule in `mesh-core`.
//!
//! This class converts and pumps: calls become `Mesh` calls, connection and channel states
//! become `LinkState`s, `MeshEvent`s become signals, refusals become error codes. The peer table
//! is the mesh's; each entry's link ([`PeerLink`]) holds the Godot objects.

mod link;

use bytes::BytesMut;
use godot::classes::multiplayer_peer::{ConnectionStatus, TransferMode as GodotTransferMode};
use godot::classes::{IMultiplayerPeerExtension, MultiplayerPeerExtension, WebRtcPeerConnection};
use godot::global::Error;
use godot::prelude::*;
use godot_core::meta::RawPtr;
use mesh_core::{Mesh, MeshError, MeshEvent, Mode, TransferMode};
use transport::channel::DEFAULT_MAX_MESSAGE_SIZE;
use transport::RelayHub;

use crate::errors::report;
use crate::peer_connection::WebRtcPeerConnectionRs;
use crate::raw_packet;
use link::{connection_state, EnginePoll, PeerLink};

const CLASS: &str = "WebRTCMultiplayerPeerRs";

/// Bytes per second this peer relays for each other member by default: 512 KiB/s, several
/// times what a game's state updates take, far below what a home uplink carries.
const DEFAULT_RELAY_BUDGET: i64 = 512 * 1024;

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
pub(crate) struct ChannelsConfig(VarArray);

// SAFETY: the default value is turned read-only before it is shared.
unsafe impl godot::meta::GodotImmutable for ChannelsConfig {
    fn into_runtime_immutable(self) -> Self {
        Self(self.0.into_read_only())
    }
}

impl ChannelsConfig {
    /// The entries as integers: every entry must be an int.
    fn modes(&self) -> Result<Vec<i64>, MeshError> {
        self.0
            .iter_shared()
            .map(|entry| {
                entry.try_to::<i64>().map_err(|_| {
                    MeshError::InvalidParameter(
                        "channels_config must hold only MultiplayerPeer.TransferMode values".into(),
                    )
                })
            })
            .collect()
    }
}

/// A full mesh of WebRTC connections usable as `MultiplayerAPI.multiplayer_peer`: a drop-in
/// replacement for Godot's `WebRTCMultiplayerPeer`. Add one `WebRTCPeerConnection` per remote
/// peer with `add_peer` (in `STATE_NEW`); the class creates the data channels, polls the
/// connections and reports connections and disconnections. It does not create offers or set
/// descriptions: signaling is yours. Received packets wait, per peer and channel, up to the
/// project setting `network/limits/webrtc/max_channel_in_buffer_kb` (at least 64 KiB): past it
/// an unreliable channel drops its oldest packets, and a peer whose reliable channel overflows
/// is dropped (`peer_disconnected`) with one error. `get_max_packet_size()` is the smallest of
/// what the connected peers take (each remote description's `max-message-size`, from 1200 bytes
/// to 64 KiB); a larger `put_packet` returns `ERR_INVALID_PARAMETER` with one error and reaches no
/// peer (one target: what that peer takes). A peer announcing less than 1200 bytes fails the
/// packets past its own limit alone, with one error each. `put_packet` returns `ERR_OUT_OF_MEMORY`
/// when the channel to a peer holds 4 MiB unacknowledged. Channels a remote peer opens
/// in-band on a connection of the mesh are closed at once.
///
/// With `relay_enabled` (the default), a pair of members whose direct connection does not come
/// up within 3 s (or breaks) talks through a member both reach, when all three are
/// `WebRTCMultiplayerPeerRs` with relaying on and were added with connections of this addon
/// that had not made a description yet; the relaying member cannot read or change what it
/// carries, and carries at most `relay_budget_bytes_per_second` for each member.
/// `get_peer_stats(id)` says `path` ("direct" or "relayed") and `relay_peer`.
#[derive(GodotClass)]
#[class(tool, base = MultiplayerPeerExtension, rename = WebRTCMultiplayerPeerRs)]
pub(crate) struct WebRtcMultiplayerPeerRs {
    mesh: Mesh<PeerLink, BytesMut>,
    /// The packet last handed out by `get_packet`; its buffer must outlive the call.
    current: BytesMut,
    /// Whether peers added from now on relay and are relayed for (default true).
    #[var(get = get_relay_enabled, set = set_relay_enabled)]
    relay_enabled: bool,
    /// Bytes per second relayed for each other member at most (default 512 KiB/s).
    #[var(get = get_relay_budget_bytes_per_second, set = set_relay_budget_bytes_per_second)]
    relay_budget_bytes_per_second: i64,
    /// The mesh's relay: its connections, what it carried.
    hub: RelayHub,
    base: Base<MultiplayerPeerExtension>,
}

#[godot_api]
impl IMultiplayerPeerExtension for WebRtcMultiplayerPeerRs {
    fn init(base: Base<MultiplayerPeerExtension>) -> Self {
        Self {
            mesh: Mesh::new(DEFAULT_MAX_MESSAGE_SIZE),
            current: BytesMut::new(),
            relay_enabled: true,
            relay_budget_bytes_per_second: DEFAULT_RELAY_BUDGET,
            hub: RelayHub::new(DEFAULT_RELAY_BUDGET.unsigned_abs()),
            base,
        }
    }

    unsafe fn get_packet_rawptr(
        &mut self,
        r_buffer: RawPtr<*mut RawPtr<*const u8>>,
        r_buffer_size: RawPtr<*mut i32>,
    ) -> Error {
        let Some((_, packet)) = self.mesh.pop_packet() else {
            return report(&call("get_packet"), MeshError::Unavailable("no packet available".into()));
        };
        self.current = packet;
        // SAFETY: Godot passes valid out-pointers; the packet lives in `self.current` until the
        // next call.
        unsafe { raw_packet::hand_out(&self.current, &r_buffer, &r_buffer_size) };
        Error::OK
    }

    unsafe fn put_packet_rawptr(&mut self, p_buffer: RawPtr<*const u8>, p_buffer_size: i32) -> Error {
        // SAFETY: Godot passes a buffer of `p_buffer_size` readable bytes for this call.
        let data = unsafe { raw_packet::incoming(&p_buffer, p_buffer_size) };
        match self.mesh.send(data, |link, channel, data| link.send(channel, data)) {
            Ok(failures) => {
                for failure in failures {
                    report(&call("put_packet"), failure);
                }
                Error::OK
            }
            Err(failure) => report(&call("put_packet"), failure),
        }
    }

    fn get_available_packet_count(&self) -> i32 {
        i32::try_from(self.mesh.available_packets()).unwrap_or(i32::MAX)
    }

    fn get_max_packet_size(&self) -> i32 {
        i32::try_from(self.mesh.max_packet_size()).unwrap_or(i32::MAX)
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
            Err(failure) => {
                report(&call("set_transfer_mode"), failure);
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
        // Our connections are polled in Rust; what is left (signals to emit, another
        // extension's poll) runs scripts that may call back into this object: through
        // `base_mut()`, which allows that, and only when there is any.
        let left: Vec<(i32, EnginePoll)> =
            self.mesh.links_mut().filter_map(|(id, link)| Some((id, link.poll()?))).collect();
        if !left.is_empty() {
            let ids: Vec<i32> = left.iter().map(|(id, _)| *id).collect();
            {
                let _reentrant = self.base_mut();
                for (_, engine_poll) in left {
                    engine_poll.run();
                }
            }
            for id in ids {
                if let Some(link) = self.mesh.link_mut(id) {
                    link.refresh_state();
                }
            }
        }
        for (id, mut removed) in self.mesh.update(PeerLink::state) {
            self.hub.unregister(id);
            removed.close();
        }
        for (id, mut removed, failure) in self.mesh.receive(PeerLink::drain) {
            self.hub.unregister(id);
            removed.close();
            report(&call("poll"), failure);
        }
        self.emit_events();
    }

    fn close(&mut self) {
        for mut link in self.mesh.close() {
            link.close();
        }
        // The closed connections leave with the old hub.
        self.hub = RelayHub::new(self.relay_budget_bytes_per_second.unsigned_abs());
        self.current.clear();
    }

    fn disconnect_peer(&mut self, peer: i32, force: bool) {
        match self.mesh.disconnect_peer(peer, force) {
            Ok(Some(mut removed)) => {
                self.hub.unregister(peer);
                removed.close();
            }
            Ok(None) => {
                if let Some(link) = self.mesh.link_mut(peer) {
                    link.close();
                }
            }
            Err(failure) => {
                report(&call("disconnect_peer"), failure);
            }
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
    ) -> Result<(), Error> {
        self.configure("initialize", peer_id, Mode::Mesh { server_compatibility }, &channels_config)
    }

    /// Initializes as a mesh peer with the given id; the status is connected at once.
    #[func]
    fn create_mesh(
        &mut self,
        peer_id: i64,
        #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig,
    ) -> Result<(), Error> {
        self.configure("create_mesh", peer_id, Mode::Mesh { server_compatibility: false }, &channels_config)
    }

    /// Initializes as the server (id 1), which adds one peer per client.
    #[func]
    fn create_server(
        &mut self,
        #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig,
    ) -> Result<(), Error> {
        self.configure("create_server", 1, Mode::Server, &channels_config)
    }

    /// Initializes as a client with the given id (not 1), which adds only the server (id 1).
    #[func]
    fn create_client(
        &mut self,
        peer_id: i64,
        #[opt(default = &ChannelsConfig(VarArray::new()))] channels_config: ChannelsConfig,
    ) -> Result<(), Error> {
        self.configure("create_client", peer_id, Mode::Client, &channels_config)
    }

    /// Adds the connection to the peer `peer_id`. The connection must be in `STATE_NEW`; the
    /// reliable, ordered and unreliable channels (with `unreliable_lifetime` ms as packet
    /// lifetime) and one per `channels_config` entry are created on it. With `relay_enabled`,
    /// a connection of this addon also announces relaying and joins the mesh's relay: call
    /// `add_peer` before `create_offer` or `set_remote_description` on it (as Godot's demo
    /// does); a connection that already made or applied a description joins without relaying
    /// (logged), and another extension's connection never relays.
    #[func]
    fn add_peer(
        &mut self,
        peer: Option<Gd<WebRtcPeerConnection>>,
        peer_id: i64,
        #[opt(default = 1)] unreliable_lifetime: i64,
    ) -> Result<(), Error> {
        // The core reads the connection's state last, as the engine does: a call refused for its
        // id or the mesh's state does not call into the connection.
        let state = || peer.as_ref().map(|connection| connection_state(connection.get_connection_state()));
        let admission = self
            .mesh
            .check_add_peer(peer_id, unreliable_lifetime, state)
            .map_err(|failure| report(&call("add_peer"), failure))?;
        // The core refused a null connection above.
        let connection = peer.ok_or(Error::ERR_INVALID_PARAMETER)?;
        if self.relay_enabled {
            if let Ok(mut ours) = connection.clone().try_cast::<WebRtcPeerConnectionRs>() {
                if let Err(error) = ours.bind_mut().join_relay(&self.hub, admission.peer_id()) {
                    log::info!("peer {}: no relaying on this connection: {error}", admission.peer_id());
                }
            }
        }
        let link =
            PeerLink::create(connection, admission.channels()).map_err(|failure| report(&call("add_peer"), failure))?;
        self.mesh.insert_peer(admission, link);
        Ok(())
    }

    /// Removes the peer and closes its connection; emits `peer_disconnected` if
    /// `peer_connected` was emitted for it.
    #[func]
    fn remove_peer(&mut self, peer_id: i64) {
        let Ok(peer_id) = i32::try_from(peer_id) else { return };
        if let Some(mut link) = self.mesh.remove_peer(peer_id) {
            self.hub.unregister(peer_id);
            link.close();
        }
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
        let found = i32::try_from(peer_id).ok().and_then(|id| Some((id, self.mesh.link(id)?)));
        match found {
            Some((id, link)) => link.describe(self.mesh.is_peer_ready(id)),
            None => {
                report(&call("get_peer"), MeshError::InvalidParameter(format!("no peer with id {peer_id}")));
                VarDictionary::new()
            }
        }
    }

    /// The statistics of the connection to the peer: the dictionary
    /// `WebRTCPeerConnectionRs.get_stats()` returns (see there for the keys). For a connection
    /// of another WebRTC extension, what its `get_stats()` returns, or an empty dictionary if it
    /// has none. An empty dictionary and an error for an unknown id.
    #[func]
    fn get_peer_stats(&self, peer_id: i64) -> VarDictionary {
        match i32::try_from(peer_id).ok().and_then(|id| self.mesh.link(id)) {
            Some(link) => link.stats(),
            None => {
                report(&call("get_peer_stats"), MeshError::InvalidParameter(format!("no peer with id {peer_id}")));
                VarDictionary::new()
            }
        }
    }

    /// Whether peers added from now on relay and are relayed for.
    #[func]
    fn get_relay_enabled(&self) -> bool {
        self.relay_enabled
    }

    /// Turns relaying on or off for peers added from now on.
    #[func]
    fn set_relay_enabled(&mut self, enabled: bool) {
        self.relay_enabled = enabled;
    }

    /// The most bytes per second relayed for each other member.
    #[func]
    fn get_relay_budget_bytes_per_second(&self) -> i64 {
        self.relay_budget_bytes_per_second
    }

    /// Sets the most bytes per second relayed for each other member (0 relays nothing; a
    /// negative value counts as 0).
    #[func]
    fn set_relay_budget_bytes_per_second(&mut self, bytes: i64) {
        self.relay_budget_bytes_per_second = bytes.max(0);
        self.hub.set_budget(self.relay_budget_bytes_per_second.unsigned_abs());
    }

    /// What this peer relayed for others: source peer id -> `{packets, bytes,
    /// dropped_over_budget, dropped_no_route, dropped_congested, split_envelopes}` (the last:
    /// datagrams too long for one chunk of the relay channel, sent in two).
    #[func]
    fn get_relay_stats(&self) -> VarDictionary {
        let mut sources = VarDictionary::new();
        let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        for (id, source) in self.hub.stats().sources {
            let mut entry = VarDictionary::new();
            entry.set("packets", count(source.packets));
            entry.set("bytes", count(source.bytes));
            entry.set("dropped_over_budget", count(source.dropped_over_budget));
            entry.set("dropped_no_route", count(source.dropped_no_route));
            entry.set("dropped_congested", count(source.dropped_congested));
            entry.set("split_envelopes", count(source.split_envelopes));
            sources.set(i64::from(id), &entry);
        }
        sources
    }

    /// Every peer: id -> the dictionary `get_peer` returns.
    #[func]
    fn get_peers(&self) -> VarDictionary {
        let mut peers = VarDictionary::new();
        for (id, link) in self.mesh.links() {
            peers.set(i64::from(id), &link.describe(self.mesh.is_peer_ready(id)));
        }
        peers
    }
}

impl WebRtcMultiplayerPeerRs {
    /// Initializes the mesh; its queues take their limit from the project setting
    /// `network/limits/webrtc/max_channel_in_buffer_kb`, as read now.
    fn configure(&mut self, method: &str, peer_id: i64, mode: Mode, config: &ChannelsConfig) -> Result<(), Error> {
        let result = config.modes().and_then(|config| self.mesh.initialize(peer_id, mode, &config));
        result.map_err(|failure| report(&call(method), failure))?;
        self.mesh.set_receive_limit(crate::config::channel_receive_limit());
        Ok(())
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
}

fn call(method: &str) -> String {
    format!("{CLASS}.{method}")
}
