//! The mesh state machine: peer table, connection status, signal rules and packet queues.

use std::collections::VecDeque;

use crate::channels::{channel_layout, ChannelSpec, TransferMode, BUILTIN_CHANNELS};
use crate::error::{invalid, MeshError};

/// Id of the server peer (`MultiplayerPeer.TARGET_PEER_SERVER`).
const SERVER_ID: i32 = 1;

/// How the mesh was initialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every peer may connect to every other (`create_mesh`, `initialize`).
    Mesh {
        /// Hold back `peer_connected` until peer 1 connects, and report the server's
        /// arrival and departure (`initialize(id, true)`).
        server_compatibility: bool,
    },
    /// This peer is the server, id 1 (`create_server`).
    Server,
    /// This peer is a client and may only add peer 1 (`create_client`).
    Client,
}

/// Godot's `MultiplayerPeer.ConnectionStatus`, with the engine's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Not initialized, closed, or the server left.
    Disconnected = 0,
    /// Waiting for the server.
    Connecting = 1,
    /// Ready.
    Connected = 2,
}

/// A signal the peer must emit, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeshEvent {
    /// `peer_connected(id)`.
    PeerConnected(i32),
    /// `peer_disconnected(id)`.
    PeerDisconnected(i32),
    /// `connection_succeeded()` (server compatibility only).
    ConnectionSucceeded,
    /// `server_disconnected()` (server compatibility only).
    ServerDisconnected,
}

/// What the caller observed of a peer's connection during a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerHealth {
    /// Still connecting: some channel is not open yet.
    Connecting,
    /// Every channel is open.
    Ready,
    /// The connection is disconnected, failed or closed, or a channel closed.
    Dead,
}

/// Describes the packet that will be read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// The sending peer.
    pub peer: i32,
    /// Index of the channel in the peer's channel list.
    pub channel_index: usize,
    /// The transfer channel Godot reports: 0 for the built-in channels, i + 1 for extra i.
    pub transfer_channel: i32,
    /// The transfer mode of that channel.
    pub mode: TransferMode,
}

/// Where one `put_packet` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPlan {
    /// Index of the channel to send on, in every target's channel list.
    pub channel_index: usize,
    /// The peers to send to, in mesh order.
    pub peers: Vec<i32>,
    /// Whether the target is one peer (whose failure is the call's), not a broadcast (whose
    /// per-peer failures are only reported).
    pub single_target: bool,
}

struct Peer<P> {
    id: i32,
    /// Every channel has been open (the engine's `connected`).
    ready: bool,
    /// `peer_connected` was emitted for it; only then are its packets reported.
    announced: bool,
    queues: Vec<VecDeque<P>>,
}

/// The state of a `WebRTCMultiplayerPeer`, generic over the packet type `P`.
pub struct Mesh<P> {
    mode: Option<Mode>,
    unique_id: i32,
    status: ConnectionStatus,
    extras: Vec<TransferMode>,
    /// In insertion order, which is the order packets are read round-robin.
    peers: Vec<Peer<P>>,
    refuse_new_connections: bool,
    target_peer: i32,
    transfer_mode: TransferMode,
    transfer_channel: i32,
    /// The packet `pop_packet` returns next.
    next: Option<PacketInfo>,
    /// The peer read last; the round robin continues after it.
    last_read_peer: i32,
    /// Packets queued from announced peers (what `available_packets` reports).
    available: usize,
    events: Vec<MeshEvent>,
}

impl<P> Default for Mesh<P> {
    fn default() -> Self {
        Self {
            mode: None,
            unique_id: 0,
            status: ConnectionStatus::Disconnected,
            extras: Vec::new(),
            peers: Vec::new(),
            refuse_new_connections: false,
            target_peer: 0,
            transfer_mode: TransferMode::Reliable,
            transfer_channel: 0,
            next: None,
            last_read_peer: 0,
            available: 0,
            events: Vec::new(),
        }
    }
}

impl<P> Mesh<P> {
    /// An unconfigured mesh.
    pub fn new() -> Self {
        Self::default()
    }

    /// Configures the mesh. `unique_id` must be in 1..=2147483647 (a client may not be 1; a
    /// server is always 1) and every `channels_config` entry a TransferMode number.
    pub fn initialize(&mut self, unique_id: i64, mode: Mode, channels_config: &[i64]) -> Result<(), MeshError> {
        let unique_id = match mode {
            Mode::Server => SERVER_ID,
            _ => i32::try_from(unique_id)
                .ok()
                .filter(|id| *id >= 1)
                .ok_or_else(|| invalid(format!("peer id {unique_id} is out of range (1 to 2147483647)")))?,
        };
        if mode == Mode::Client && unique_id == SERVER_ID {
            return Err(invalid("a client cannot have id 1 (that is the server's)"));
        }
        let extras = channels_config
            .iter()
            .map(|&value| TransferMode::from_godot(value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid(format!("channels_config: {error}")))?;
        self.mode = Some(mode);
        self.unique_id = unique_id;
        self.extras = extras;
        self.status = match mode {
            Mode::Mesh { server_compatibility: false } | Mode::Server => ConnectionStatus::Connected,
            Mode::Mesh { server_compatibility: true } | Mode::Client => ConnectionStatus::Connecting,
        };
        Ok(())
    }

    /// Checks `add_peer`'s arguments in the engine's order and returns the channels to create.
    /// The caller then checks the connection itself and calls [`insert_peer`](Self::insert_peer).
    pub fn check_add_peer(&self, peer_id: i64, unreliable_lifetime: i64) -> Result<Vec<ChannelSpec>, MeshError> {
        let Some(mode) = self.mode else {
            return Err(MeshError::Unconfigured("the peer is not initialized: call create_mesh, create_server, create_client or initialize first".into()));
        };
        if mode == Mode::Client && peer_id != i64::from(SERVER_ID) {
            return Err(invalid(format!("a client can only add the server (id 1), not {peer_id}")));
        }
        if mode == Mode::Server && peer_id == i64::from(SERVER_ID) {
            return Err(invalid("a server cannot add a peer with id 1 (its own id)"));
        }
        let peer_id = i32::try_from(peer_id)
            .ok()
            .filter(|id| *id >= 1)
            .ok_or_else(|| invalid(format!("peer id {peer_id} is out of range (1 to 2147483647)")))?;
        let lifetime = u16::try_from(unreliable_lifetime)
            .map_err(|_| invalid(format!("unreliable_lifetime {unreliable_lifetime} is out of range (0 to 65535)")))?;
        if self.refuse_new_connections {
            return Err(MeshError::Unauthorized("new connections are refused (set_refuse_new_connections)".into()));
        }
        if peer_id == self.unique_id {
            return Err(invalid(format!("peer id {peer_id} is this peer's own id")));
        }
        if self.has_peer(peer_id) {
            return Err(MeshError::AlreadyExists(format!("a peer with id {peer_id} is already in the mesh")));
        }
        Ok(channel_layout(lifetime, &self.extras))
    }

    /// Adds a peer whose channels were created. Call after [`check_add_peer`](Self::check_add_peer).
    pub fn insert_peer(&mut self, peer_id: i32) {
        let channels = BUILTIN_CHANNELS + self.extras.len();
        self.peers.push(Peer { id: peer_id, ready: false, announced: false, queues: (0..channels).map(|_| VecDeque::new()).collect() });
    }

    /// Removes a peer. Emits `peer_disconnected` if `peer_connected` was emitted for it, and
    /// applies the server rules. Returns whether the peer was there.
    pub fn remove_peer(&mut self, peer_id: i32) -> bool {
        let Some(index) = self.position(peer_id) else {
            return false;
        };
        let peer = self.forget(index);
        if peer.announced {
            self.events.push(MeshEvent::PeerDisconnected(peer_id));
        }
        if peer_id == SERVER_ID {
            match self.mode {
                Some(Mode::Mesh { server_compatibility: true }) if peer.announced => {
                    self.events.push(MeshEvent::ServerDisconnected);
                    self.status = ConnectionStatus::Disconnected;
                }
                Some(Mode::Client) => self.status = ConnectionStatus::Disconnected,
                _ => {}
            }
        }
        true
    }

    /// `disconnect_peer`: with `force`, removes the peer at once and silently; otherwise the
    /// caller closes the connection and the next poll removes the peer with its signal.
    pub fn disconnect_peer(&mut self, peer_id: i32, force: bool) -> Result<(), MeshError> {
        if !self.has_peer(peer_id) {
            return Err(invalid(format!("no peer with id {peer_id}")));
        }
        if force {
            if let Some(index) = self.position(peer_id) {
                self.forget(index);
            }
            if self.mode == Some(Mode::Client) && peer_id == SERVER_ID {
                self.status = ConnectionStatus::Disconnected;
            }
        }
        Ok(())
    }

    /// Removes the peer at `index` with its queued packets.
    fn forget(&mut self, index: usize) -> Peer<P> {
        let peer = self.peers.remove(index);
        if peer.announced {
            self.available -= peer.queues.iter().map(VecDeque::len).sum::<usize>();
        }
        if self.next.is_some_and(|next| next.peer == peer.id) {
            self.select_next();
        }
        peer
    }

    /// Forgets every peer without signals and returns to the unconfigured state.
    pub fn close(&mut self) {
        *self = Self { refuse_new_connections: self.refuse_new_connections, ..Self::default() };
    }

    /// Applies what a poll observed, peer by peer: removals first, then peers whose channels
    /// all opened, with the signal rules of the mode. Returns the removed peers.
    pub fn update(&mut self, observed: &[(i32, PeerHealth)]) -> Vec<i32> {
        let dead: Vec<i32> = observed.iter().filter(|(_, health)| *health == PeerHealth::Dead).map(|(id, _)| *id).collect();
        for id in &dead {
            self.remove_peer(*id);
        }
        for (id, health) in observed {
            if *health != PeerHealth::Ready {
                continue;
            }
            let Some(index) = self.position(*id) else { continue };
            if self.peers[index].ready {
                continue;
            }
            self.peers[index].ready = true;
            self.on_peer_ready(*id);
        }
        self.select_next();
        dead
    }

    fn on_peer_ready(&mut self, peer_id: i32) {
        match self.mode {
            Some(Mode::Mesh { server_compatibility: true }) if peer_id == SERVER_ID => {
                self.status = ConnectionStatus::Connected;
                self.announce(peer_id);
                self.events.push(MeshEvent::ConnectionSucceeded);
                let waiting: Vec<i32> = self.peers.iter().filter(|p| p.ready && !p.announced).map(|p| p.id).collect();
                for id in waiting {
                    self.announce(id);
                }
            }
            Some(Mode::Client) => {
                self.status = ConnectionStatus::Connected;
                self.announce(peer_id);
            }
            _ if self.status == ConnectionStatus::Connected => self.announce(peer_id),
            _ => {}
        }
    }

    fn announce(&mut self, peer_id: i32) {
        if let Some(index) = self.position(peer_id) {
            self.peers[index].announced = true;
            self.available += self.peers[index].queues.iter().map(VecDeque::len).sum::<usize>();
            self.events.push(MeshEvent::PeerConnected(peer_id));
        }
    }

    /// Takes the signals to emit, in order.
    pub fn take_events(&mut self) -> Vec<MeshEvent> {
        std::mem::take(&mut self.events)
    }

    /// Queues a packet received from `peer_id` on its channel `channel_index`.
    pub fn push_packet(&mut self, peer_id: i32, channel_index: usize, packet: P) {
        let Some(peer) = self.peers.iter_mut().find(|peer| peer.id == peer_id) else { return };
        if let Some(queue) = peer.queues.get_mut(channel_index) {
            queue.push_back(packet);
            if peer.announced {
                self.available += 1;
            }
        }
        if self.next.is_none() {
            self.select_next();
        }
    }

    /// Packets waiting from peers whose `peer_connected` was emitted.
    pub fn available_packets(&self) -> usize {
        self.available
    }

    /// The packet [`pop_packet`](Self::pop_packet) returns next.
    pub fn next_packet(&self) -> Option<PacketInfo> {
        self.next
    }

    /// Takes the next packet, then moves the round robin on to the following peer.
    pub fn pop_packet(&mut self) -> Option<(PacketInfo, P)> {
        let info = self.next?;
        let index = self.position(info.peer)?;
        let packet = self.peers[index].queues[info.channel_index].pop_front()?;
        self.available -= 1;
        self.last_read_peer = info.peer;
        self.select_next();
        Some((info, packet))
    }

    /// The engine's round robin: the first peer after the one read last (wrapping around, and
    /// ending with that peer) that has a packet, from its first channel with one.
    fn select_next(&mut self) {
        let count = self.peers.len();
        let start = self.position(self.last_read_peer).map_or(0, |index| index + 1);
        self.next = (start..count).chain(0..start.min(count)).find_map(|index| {
            let peer = &self.peers[index];
            if !peer.announced {
                return None;
            }
            let channel_index = peer.queues.iter().position(|queue| !queue.is_empty())?;
            Some(self.describe(peer.id, channel_index))
        });
    }

    fn describe(&self, peer: i32, channel_index: usize) -> PacketInfo {
        let (transfer_channel, mode) = if channel_index < BUILTIN_CHANNELS {
            let mode = [TransferMode::Reliable, TransferMode::UnreliableOrdered, TransferMode::Unreliable][channel_index];
            (0, mode)
        } else {
            ((channel_index - BUILTIN_CHANNELS + 1) as i32, self.extras[channel_index - BUILTIN_CHANNELS])
        };
        PacketInfo { peer, channel_index, transfer_channel, mode }
    }

    /// Where a `put_packet` goes under the current target, transfer mode and channel.
    pub fn send_plan(&self) -> Result<SendPlan, MeshError> {
        if self.status == ConnectionStatus::Disconnected {
            return Err(MeshError::Unconfigured("the peer is not connected".into()));
        }
        let channel_index = match self.transfer_channel {
            0 => self.transfer_mode.builtin_index(),
            channel => usize::try_from(channel).map_or(usize::MAX, |channel| channel + BUILTIN_CHANNELS - 1),
        };
        if channel_index >= BUILTIN_CHANNELS + self.extras.len() {
            return Err(invalid(format!(
                "transfer channel {} does not exist ({} extra channels are configured)",
                self.transfer_channel,
                self.extras.len()
            )));
        }
        let peers = if self.target_peer > 0 {
            let peer = self.peer(self.target_peer).ok_or_else(|| invalid(format!("invalid target peer: {}", self.target_peer)))?;
            if !peer.announced {
                return Err(MeshError::Unavailable(format!("peer {} is not connected yet", self.target_peer)));
            }
            vec![peer.id]
        } else {
            let excluded = -self.target_peer;
            self.peers.iter().filter(|p| p.announced && p.id != excluded).map(|p| p.id).collect()
        };
        Ok(SendPlan { channel_index, peers, single_target: self.target_peer > 0 })
    }

    /// Whether `peer_id` is in the mesh (connected or not).
    pub fn has_peer(&self, peer_id: i32) -> bool {
        self.position(peer_id).is_some()
    }

    /// Whether all of `peer_id`'s channels have opened (`get_peer(id).connected`).
    pub fn is_peer_ready(&self, peer_id: i32) -> bool {
        self.peer(peer_id).is_some_and(|peer| peer.ready)
    }

    /// The peers' ids, in the order they were added.
    pub fn peer_ids(&self) -> Vec<i32> {
        self.peers.iter().map(|peer| peer.id).collect()
    }

    /// This peer's id (0 when unconfigured).
    pub fn unique_id(&self) -> i32 {
        self.unique_id
    }

    /// The connection status.
    pub fn status(&self) -> ConnectionStatus {
        self.status
    }

    /// Whether this peer is the server (id 1).
    pub fn is_server(&self) -> bool {
        self.unique_id == SERVER_ID
    }

    /// Server relay is offered in server and client mode only.
    pub fn is_server_relay_supported(&self) -> bool {
        matches!(self.mode, Some(Mode::Server | Mode::Client))
    }

    /// Refuses (or accepts again) new peers in `check_add_peer`.
    pub fn set_refuse_new_connections(&mut self, refuse: bool) {
        self.refuse_new_connections = refuse;
    }

    /// Whether new peers are refused.
    pub fn is_refusing_new_connections(&self) -> bool {
        self.refuse_new_connections
    }

    /// Sets the target of the next sends: 0 all, `id` one peer, `-id` all but one.
    pub fn set_target_peer(&mut self, target: i32) {
        self.target_peer = target;
    }

    /// Sets the transfer mode used on transfer channel 0.
    pub fn set_transfer_mode(&mut self, mode: TransferMode) {
        self.transfer_mode = mode;
    }

    /// The transfer mode.
    pub fn transfer_mode(&self) -> TransferMode {
        self.transfer_mode
    }

    /// Sets the transfer channel: 0 for the built-in channels, i + 1 for extra channel i.
    pub fn set_transfer_channel(&mut self, channel: i32) {
        self.transfer_channel = channel;
    }

    /// The transfer channel.
    pub fn transfer_channel(&self) -> i32 {
        self.transfer_channel
    }

    fn position(&self, peer_id: i32) -> Option<usize> {
        self.peers.iter().position(|peer| peer.id == peer_id)
    }

    fn peer(&self, peer_id: i32) -> Option<&Peer<P>> {
        self.peers.iter().find(|peer| peer.id == peer_id)
    }
}

#[cfg(test)]
mod tests;
