//! The mesh state machine: the one peer table, the connection status and the signal rules.

mod packets;
mod queue;
mod sending;

use queue::PacketQueue;

use crate::channels::{
    channel_layout, ChannelSpec, TransferMode, BUILTIN_CHANNELS, MAX_EXTRA_CHANNELS, RELAY_STREAM_ID,
};
use crate::error::{invalid, MeshError};
use crate::link_state::{ConnectionState, LinkState, PeerHealth, MIN_LINK_MESSAGE_SIZE};

pub use packets::PacketInfo;
pub use queue::PACKET_OVERHEAD;
pub use sending::LinkSendError;

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

/// Godot's `MultiplayerPeer.ConnectionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Not initialized, closed, or the server left.
    Disconnected,
    /// Waiting for the server.
    Connecting,
    /// Ready.
    Connected,
}

/// A signal the caller must emit, in order.
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

/// Permission to add one peer, handed out by [`Mesh::check_add_peer`] and consumed by
/// [`Mesh::insert_peer`]: the caller creates the listed channels in between.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a peer is only added by passing this to Mesh::insert_peer"]
pub struct Admission {
    peer_id: i32,
    channels: Vec<ChannelSpec>,
}

impl Admission {
    /// The peer's id.
    pub fn peer_id(&self) -> i32 {
        self.peer_id
    }

    /// The channels to create on the peer's connection, in the mesh's channel order.
    pub fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }
}

struct Peer<L, P> {
    id: i32,
    link: L,
    /// Every channel has been open (the engine's `connected`).
    ready: bool,
    /// The largest packet its link sends, as last observed (at most the mesh's largest packet).
    max_message_size: usize,
    /// `peer_connected` was emitted for it; only then are its packets reported.
    announced: bool,
    queues: Vec<PacketQueue<P>>,
}

/// The state of a `WebRTCMultiplayerPeer`: its peers, each with the caller's link `L` (the
/// connection and channels) and queues of received packets `P`.
///
/// `Mesh` does no I/O and reads no clock: the caller observes its links and tells the mesh,
/// and the mesh says what to do. How to drive it:
///
/// - **Set up** with [`initialize`](Self::initialize).
/// - **Add a peer in two steps.** [`check_add_peer`](Self::check_add_peer) applies the
///   engine's checks and returns an [`Admission`] listing the channels to create; create them
///   on the connection, then hand the admission and the link to
///   [`insert_peer`](Self::insert_peer). If creating the channels fails, drop the admission:
///   nothing was added.
/// - **Every poll**, in this order:
///   1. poll each link (the [`links`](Self::links), in insertion order);
///   2. [`update`](Self::update) with each link's plain [`LinkState`]: it removes dead peers
///      (returned to the caller, who closes them) and announces peers whose channels all opened;
///   3. [`receive`](Self::receive) to move each channel's packets into the mesh's queues
///      (bounded by [`set_receive_limit`](Self::set_receive_limit); it returns the peers it
///      dropped for an overflowing reliable channel, for the caller to close and report);
///   4. [`take_events`](Self::take_events) and emit them as signals, in order.
/// - **Read** with [`next_packet`](Self::next_packet) (what the next packet is) and
///   [`pop_packet`](Self::pop_packet); **send** with [`send`](Self::send), which applies the
///   target, mode and channel rules and calls back for each link to send on.
/// - **Remove** with [`remove_peer`](Self::remove_peer), [`disconnect_peer`](Self::disconnect_peer)
///   or [`close`](Self::close): each returns the links taken out, for the caller to close.
pub struct Mesh<L, P> {
    mode: Option<Mode>,
    unique_id: i32,
    status: ConnectionStatus,
    extras: Vec<TransferMode>,
    /// In insertion order: the order of polls, signals and the packet round robin.
    peers: Vec<Peer<L, P>>,
    refuse_new_connections: bool,
    target_peer: i32,
    transfer_mode: TransferMode,
    transfer_channel: i32,
    /// The largest packet a channel carries: what a link that tells no limit of its own sends,
    /// the most any link sends, and the largest packet received.
    max_packet_size: usize,
    /// The packet `pop_packet` returns next.
    next: Option<PacketInfo>,
    /// The peer read last; the round robin continues after it.
    last_read_peer: i32,
    /// Packets queued from announced peers (what `available_packets` reports).
    available: usize,
    /// Most bytes each channel's queue holds (payload plus [`PACKET_OVERHEAD`] each).
    receive_limit: usize,
    /// Packets unreliable queues dropped to stay within the limit.
    dropped: usize,
    events: Vec<MeshEvent>,
}

impl<L, P> Mesh<L, P> {
    /// An unconfigured mesh whose channels carry packets of up to `max_packet_size` bytes (each
    /// link may lower it for what it sends: see [`LinkState::max_message_size`]).
    pub fn new(max_packet_size: usize) -> Self {
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
            max_packet_size,
            next: None,
            last_read_peer: 0,
            available: 0,
            receive_limit: max_packet_size,
            dropped: 0,
            events: Vec::new(),
        }
    }

    /// Sets the most bytes of received, unread packets each channel of each peer may hold
    /// (payload plus [`PACKET_OVERHEAD`] each); never less than the largest packet. Past it,
    /// [`receive`](Self::receive) drops an unreliable channel's oldest packets, and drops the
    /// peer whose reliable channel overflows. The default is the largest packet.
    pub fn set_receive_limit(&mut self, bytes: usize) {
        self.receive_limit = bytes.max(self.max_packet_size);
    }

    /// The most bytes each channel's queue holds.
    pub fn receive_limit(&self) -> usize {
        self.receive_limit
    }

    /// Configures the mesh. `unique_id` must be in 1..=2147483647 (a client may not be 1; a
    /// server is always 1), every `channels_config` entry a TransferMode number, and there may
    /// be at most [`MAX_EXTRA_CHANNELS`] entries (more would wrap their stream ids onto the
    /// built-in channels').
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
        if channels_config.len() > MAX_EXTRA_CHANNELS {
            return Err(invalid(format!(
                "channels_config has {} entries; at most {MAX_EXTRA_CHANNELS} channels fit (stream ids {} to {}; {RELAY_STREAM_ID} is the relay's)",
                channels_config.len(),
                BUILTIN_CHANNELS + 1,
                RELAY_STREAM_ID - 1
            )));
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

    /// Checks `add_peer`'s arguments in the engine's order; `connection` reads the state of the
    /// connection to add (`None` for a null one), which must be new. As in the engine, the state
    /// is read last, and only if every other check passed: a call refused for its id or the
    /// mesh's state does not call into the connection (another extension's may push errors of
    /// its own, or be broken). The caller then creates the admission's channels and calls
    /// [`insert_peer`](Self::insert_peer).
    pub fn check_add_peer(
        &self,
        peer_id: i64,
        unreliable_lifetime: i64,
        connection: impl FnOnce() -> Option<ConnectionState>,
    ) -> Result<Admission, MeshError> {
        let Some(mode) = self.mode else {
            return Err(MeshError::Unconfigured(
                "the peer is not initialized: call create_mesh, create_server, create_client or initialize first"
                    .into(),
            ));
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
        match connection() {
            None => return Err(invalid("the connection is null")),
            Some(ConnectionState::New) => {}
            Some(state) => return Err(invalid(format!("the connection must be new (STATE_NEW), not {state:?}"))),
        }
        if peer_id == self.unique_id {
            return Err(invalid(format!("peer id {peer_id} is this peer's own id")));
        }
        if self.has_peer(peer_id) {
            return Err(MeshError::AlreadyExists(format!("a peer with id {peer_id} is already in the mesh")));
        }
        Ok(Admission { peer_id, channels: channel_layout(lifetime, &self.extras) })
    }

    /// Adds the admitted peer with its link, whose channels follow the admission's order.
    pub fn insert_peer(&mut self, admission: Admission, link: L) {
        let queues = (0..admission.channels.len()).map(|_| PacketQueue::default()).collect();
        let max_message_size = self.max_packet_size;
        self.peers.push(Peer { id: admission.peer_id, link, ready: false, announced: false, max_message_size, queues });
    }

    /// Removes a peer and returns its link. Emits `peer_disconnected` if `peer_connected` was
    /// emitted for it, and applies the server rules.
    pub fn remove_peer(&mut self, peer_id: i32) -> Option<L> {
        let index = self.position(peer_id)?;
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
        Some(peer.link)
    }

    /// `disconnect_peer`: with `force`, removes the peer at once and silently and returns its
    /// link; otherwise returns `None`, the caller closes [`link_mut`](Self::link_mut)'s
    /// connection and the next [`update`](Self::update) removes the peer with its signal.
    pub fn disconnect_peer(&mut self, peer_id: i32, force: bool) -> Result<Option<L>, MeshError> {
        let Some(index) = self.position(peer_id) else {
            return Err(invalid(format!("no peer with id {peer_id}")));
        };
        if !force {
            return Ok(None);
        }
        let peer = self.forget(index);
        if self.mode == Some(Mode::Client) && peer_id == SERVER_ID {
            self.status = ConnectionStatus::Disconnected;
        }
        Ok(Some(peer.link))
    }

    /// Removes the peer at `index` with its queued packets.
    fn forget(&mut self, index: usize) -> Peer<L, P> {
        let peer = self.peers.remove(index);
        if peer.announced {
            self.available -= peer.queues.iter().map(PacketQueue::len).sum::<usize>();
        }
        if self.next.is_some_and(|next| next.peer == peer.id) {
            self.select_next();
        }
        peer
    }

    /// Forgets every peer without signals, returns to the unconfigured state, and returns the
    /// links in insertion order for the caller to close.
    pub fn close(&mut self) -> Vec<L> {
        let peers = std::mem::take(&mut self.peers);
        *self = Self {
            refuse_new_connections: self.refuse_new_connections,
            receive_limit: self.receive_limit,
            ..Self::new(self.max_packet_size)
        };
        peers.into_iter().map(|peer| peer.link).collect()
    }

    /// Applies what a poll observed: `observe` gives each link's states, in insertion order.
    /// Each peer's send limit is taken from its link; dead peers are removed (with their
    /// signals), then peers whose channels all opened are announced under the mode's rules.
    /// Returns the removed peers' links, for the caller to close.
    pub fn update(&mut self, mut observe: impl FnMut(&L) -> LinkState) -> Vec<(i32, L)> {
        let largest = self.max_packet_size;
        let health: Vec<(i32, PeerHealth)> = self
            .peers
            .iter_mut()
            .map(|peer| {
                let state = observe(&peer.link);
                peer.max_message_size =
                    state.max_message_size.map_or(largest, |size| size.max(MIN_LINK_MESSAGE_SIZE).min(largest));
                (peer.id, state.health())
            })
            .collect();
        let removed = health
            .iter()
            .filter(|(_, health)| *health == PeerHealth::Dead)
            .filter_map(|&(id, _)| Some((id, self.remove_peer(id)?)))
            .collect();
        for (id, health) in health {
            if health != PeerHealth::Ready {
                continue;
            }
            let Some(index) = self.position(id) else { continue };
            if self.peers[index].ready {
                continue;
            }
            self.peers[index].ready = true;
            self.on_peer_ready(id);
        }
        self.select_next();
        removed
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
            self.available += self.peers[index].queues.iter().map(PacketQueue::len).sum::<usize>();
            self.events.push(MeshEvent::PeerConnected(peer_id));
        }
    }

    /// Takes the signals to emit, in order.
    pub fn take_events(&mut self) -> Vec<MeshEvent> {
        std::mem::take(&mut self.events)
    }

    /// Every peer's id and link, in insertion order.
    pub fn links(&self) -> impl Iterator<Item = (i32, &L)> {
        self.peers.iter().map(|peer| (peer.id, &peer.link))
    }

    /// Every peer's id and link, in insertion order, to act on them.
    pub fn links_mut(&mut self) -> impl Iterator<Item = (i32, &mut L)> {
        self.peers.iter_mut().map(|peer| (peer.id, &mut peer.link))
    }

    /// The link of `peer_id`.
    pub fn link(&self, peer_id: i32) -> Option<&L> {
        self.peer(peer_id).map(|peer| &peer.link)
    }

    /// The link of `peer_id`, to act on it.
    pub fn link_mut(&mut self, peer_id: i32) -> Option<&mut L> {
        self.peers.iter_mut().find(|peer| peer.id == peer_id).map(|peer| &mut peer.link)
    }

    /// Whether `peer_id` is in the mesh (connected or not).
    pub fn has_peer(&self, peer_id: i32) -> bool {
        self.position(peer_id).is_some()
    }

    /// Whether all of `peer_id`'s channels have opened (`get_peer(id).connected`).
    pub fn is_peer_ready(&self, peer_id: i32) -> bool {
        self.peer(peer_id).is_some_and(|peer| peer.ready)
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

    fn position(&self, peer_id: i32) -> Option<usize> {
        self.peers.iter().position(|peer| peer.id == peer_id)
    }

    fn peer(&self, peer_id: i32) -> Option<&Peer<L, P>> {
        self.peers.iter().find(|peer| peer.id == peer_id)
    }

    /// The transfer mode and Godot transfer channel of the channel at `channel_index`.
    fn channel_kind(&self, channel_index: usize) -> (i32, TransferMode) {
        channel_kind(&self.extras, channel_index)
    }
}

/// The transfer mode and Godot transfer channel of the channel at `channel_index`, under the
/// extra channels `extras`.
fn channel_kind(extras: &[TransferMode], channel_index: usize) -> (i32, TransferMode) {
    if channel_index < BUILTIN_CHANNELS {
        let mode = [TransferMode::Reliable, TransferMode::UnreliableOrdered, TransferMode::Unreliable][channel_index];
        (0, mode)
    } else {
        let extra = channel_index - BUILTIN_CHANNELS;
        // Peers keep the channels they were added with, even if `initialize` changed the
        // extras since; such a channel reads as reliable.
        let mode = extras.get(extra).copied().unwrap_or(TransferMode::Reliable);
        (i32::try_from(extra + 1).unwrap_or(i32::MAX), mode)
    }
}

/// The label of the channel at `channel_index`, as [`channel_layout`] names it.
fn channel_label(channel_index: usize) -> String {
    match channel_index {
        0 => "reliable".into(),
        1 => "ordered".into(),
        2 => "unreliable".into(),
        index => (index + 1).to_string(),
    }
}

#[cfg(test)]
mod tests;
