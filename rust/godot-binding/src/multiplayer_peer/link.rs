//! A peer's link: its connection and channels as Godot objects, read into plain states and
//! packets for the mesh core. For our own transport, polls, states and packets skip the engine
//! (each call through it costs the engine's dispatch and godot-rust's checks, which a mesh of
//! idle connections polled every frame would mostly spend its time on).

use bytes::BytesMut;
use godot::classes::web_rtc_data_channel::ChannelState as GodotChannelState;
use godot::classes::web_rtc_peer_connection::ConnectionState as GodotConnectionState;
use godot::classes::{WebRtcDataChannel, WebRtcPeerConnection};
use godot::global::Error;
use godot::prelude::*;
use mesh_core::{ChannelSpec, ChannelState, ConnectionState, LinkSendError, LinkState, MeshError, PACKET_OVERHEAD};
use transport::{self as transport, DataChannel, PeerEvent, TransportError};

use crate::data_channel::WebRtcDataChannelRs;
use crate::peer_connection::WebRtcPeerConnectionRs;

/// Why sending on a link failed.
#[derive(Debug)]
pub(super) enum SendFailure {
    /// Our transport refused it.
    Transport(TransportError),
    /// Another WebRTC extension's channel returned this code.
    Engine(Error),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(error) => error.fmt(f),
            Self::Engine(code) => write!(f, "the data channel refused the packet ({code:?})"),
        }
    }
}

impl LinkSendError for SendFailure {
    fn is_full(&self) -> bool {
        matches!(self, Self::Transport(TransportError::SendBufferFull { .. }) | Self::Engine(Error::ERR_OUT_OF_MEMORY))
    }
}

/// The mesh core's view of Godot's connection state.
pub(super) fn connection_state(state: GodotConnectionState) -> ConnectionState {
    match state {
        GodotConnectionState::NEW => ConnectionState::New,
        GodotConnectionState::CONNECTING => ConnectionState::Connecting,
        GodotConnectionState::CONNECTED => ConnectionState::Connected,
        GodotConnectionState::DISCONNECTED => ConnectionState::Disconnected,
        GodotConnectionState::FAILED => ConnectionState::Failed,
        _ => ConnectionState::Closed,
    }
}

/// Makes `connection` close every channel the remote side opens in-band: ours in the transport
/// (the channel is never handed out), another extension's on `data_channel_received`.
fn refuse_remote_channels(connection: &mut Gd<WebRtcPeerConnection>) {
    match connection.clone().try_cast::<WebRtcPeerConnectionRs>() {
        Ok(mut ours) => ours.bind_mut().refuse_remote_channels(),
        Err(mut other) => {
            let close = Callable::from_fn("webrtc_mesh_close_in_band_channel", |args| {
                if let Some(Ok(mut channel)) = args.first().map(|channel| channel.try_to::<Gd<WebRtcDataChannel>>()) {
                    log::warn!("closed data channel '{}', opened in-band on a mesh's connection", channel.get_label());
                    channel.close();
                }
            });
            other.connect("data_channel_received", &close);
        }
    }
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

/// One of a peer's data channels: the Godot object, and the transport channel behind it when
/// it is one of ours.
struct ChannelLink {
    object: Gd<WebRtcDataChannel>,
    native: Option<DataChannel>,
}

impl ChannelLink {
    fn new(object: Gd<WebRtcDataChannel>) -> Self {
        let native =
            object.clone().try_cast::<WebRtcDataChannelRs>().ok().and_then(|ours| ours.bind().channel().cloned());
        Self { object, native }
    }

    fn state(&self) -> ChannelState {
        match &self.native {
            Some(channel) => match channel.ready_state() {
                transport::ChannelState::Connecting => ChannelState::Connecting,
                transport::ChannelState::Open => ChannelState::Open,
                transport::ChannelState::Closing => ChannelState::Closing,
                transport::ChannelState::Closed => ChannelState::Closed,
            },
            None => match self.object.get_ready_state() {
                GodotChannelState::CONNECTING => ChannelState::Connecting,
                GodotChannelState::OPEN => ChannelState::Open,
                GodotChannelState::CLOSING => ChannelState::Closing,
                _ => ChannelState::Closed,
            },
        }
    }

    /// The channel's received packets within `budget` bytes (see `Mesh::receive`): ours hands
    /// over what fits and keeps the rest; another extension's packets are taken until the budget
    /// is reached, the last one possibly past it (their sizes are known only once taken).
    fn drain(&mut self, budget: Option<usize>) -> Vec<BytesMut> {
        let budget = budget.unwrap_or(usize::MAX);
        match &self.native {
            Some(channel) => channel.recv_within(budget).into_iter().map(|packet| packet.data).collect(),
            None => {
                let mut packets = Vec::new();
                let mut taken = 0usize;
                while self.object.get_available_packet_count() > 0 && taken < budget {
                    let packet = BytesMut::from(self.object.get_packet().as_slice());
                    taken += packet.len() + PACKET_OVERHEAD;
                    packets.push(packet);
                }
                packets
            }
        }
    }

    fn send(&mut self, data: &[u8]) -> Result<(), SendFailure> {
        match &self.native {
            Some(channel) => channel.send(data, false).map_err(SendFailure::Transport),
            None => match self.object.put_packet(&PackedByteArray::from(data)) {
                Error::OK => Ok(()),
                code => Err(SendFailure::Engine(code)),
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

/// What polling a link leaves for the engine: another extension's connection is polled through
/// it; ours has signals to emit. Both may run scripts that call back into the mesh.
pub(super) enum EnginePoll {
    /// Poll another extension's connection (it emits its own signals).
    Poll(Gd<WebRtcPeerConnection>),
    /// Emit the signals for what our connection reported.
    Emit(Gd<WebRtcPeerConnectionRs>, Vec<PeerEvent>),
}

impl EnginePoll {
    /// Polls or emits; the caller must allow re-entry into the mesh while it runs.
    pub(super) fn run(self) {
        match self {
            Self::Poll(mut connection) => {
                connection.poll();
            }
            Self::Emit(mut ours, events) => ours.bind_mut().emit_events(events),
        }
    }
}

/// A peer's connection and channels, in the mesh's channel order.
pub(super) struct PeerLink {
    connection: Gd<WebRtcPeerConnection>,
    /// The connection as our own class, when it is one (polled and read without the engine).
    ours: Option<Gd<WebRtcPeerConnectionRs>>,
    /// Our connection's state as last polled.
    ours_state: GodotConnectionState,
    channels: Vec<ChannelLink>,
}

impl PeerLink {
    /// Creates the channels `specs` on `connection`; if one cannot be created, those made so
    /// far are closed. Channels the remote side opens in-band on it are closed at once: the
    /// mesh reads only its own.
    pub(super) fn create(mut connection: Gd<WebRtcPeerConnection>, specs: &[ChannelSpec]) -> Result<Self, MeshError> {
        refuse_remote_channels(&mut connection);
        let mut channels = Vec::with_capacity(specs.len());
        for spec in specs {
            match connection.create_data_channel_ex(&spec.label).options(&channel_config(spec)).done() {
                Some(channel) => channels.push(ChannelLink::new(channel)),
                None => {
                    channels.iter_mut().for_each(ChannelLink::close);
                    let text = format!("the connection could not create channel '{}'", spec.label);
                    return Err(MeshError::InvalidParameter(text));
                }
            }
        }
        let ours = connection.clone().try_cast::<WebRtcPeerConnectionRs>().ok();
        let ours_state = ours.as_ref().map_or(GodotConnectionState::NEW, |ours| ours.bind().state());
        Ok(Self { connection, ours, ours_state, channels })
    }

    /// Polls our own connection in Rust and notes its state; returns what is left for the
    /// engine: nothing for ours when nothing happened, else its signals, or another extension's
    /// poll.
    pub(super) fn poll(&mut self) -> Option<EnginePoll> {
        let Some(ours) = &mut self.ours else {
            return Some(EnginePoll::Poll(self.connection.clone()));
        };
        let (events, state) = {
            let mut connection = ours.bind_mut();
            (connection.take_events(), connection.state())
        };
        self.ours_state = state;
        (!events.is_empty()).then(|| EnginePoll::Emit(ours.clone(), events))
    }

    /// Reads our connection's state again (after signals whose handlers may have changed it).
    pub(super) fn refresh_state(&mut self) {
        if let Some(ours) = &self.ours {
            self.ours_state = ours.bind().state();
        }
    }

    /// The plain states the mesh core reads (our connection's as last polled), with the largest
    /// message our transport's channels send on this connection (what the remote description allows; unknown for another
    /// extension's channels).
    pub(super) fn state(&self) -> LinkState {
        LinkState {
            connection: connection_state(match &self.ours {
                Some(_) => self.ours_state,
                None => self.connection.get_connection_state(),
            }),
            channels: self.channels.iter().map(ChannelLink::state).collect(),
            max_message_size: self
                .channels
                .iter()
                .find_map(|channel| Some(channel.native.as_ref()?.max_message_size())),
        }
    }

    /// The packets received on channel `index`, within `budget` bytes (see `Mesh::receive`).
    pub(super) fn drain(&mut self, index: usize, budget: Option<usize>) -> Vec<BytesMut> {
        self.channels.get_mut(index).map(|channel| channel.drain(budget)).unwrap_or_default()
    }

    /// Sends on channel `index`.
    pub(super) fn send(&mut self, index: usize, data: &[u8]) -> Result<(), SendFailure> {
        match self.channels.get_mut(index) {
            Some(channel) => channel.send(data),
            None => Err(SendFailure::Engine(Error::ERR_DOES_NOT_EXIST)),
        }
    }

    /// Closes the connection and the channels. The connection first: ours then closes its
    /// channels with it in one step, where closing each channel on its own costs the WebRTC
    /// stack a pass over every channel (n² for n channels: minutes for the 65 000 a long
    /// `channels_config` makes); the remote side learns it from the connection's ABORT either way.
    pub(super) fn close(&mut self) {
        self.connection.close();
        self.channels.iter_mut().for_each(ChannelLink::close);
    }

    /// The connection's `get_stats()` dictionary: ours directly, another extension's through its
    /// own `get_stats` method if it has one, else an empty dictionary.
    pub(super) fn stats(&self) -> VarDictionary {
        match self.connection.clone().try_cast::<WebRtcPeerConnectionRs>() {
            Ok(ours) => ours.bind().stats(),
            Err(mut other) if other.has_method("get_stats") => {
                other.call("get_stats", &[]).try_to::<VarDictionary>().unwrap_or_default()
            }
            Err(_) => VarDictionary::new(),
        }
    }

    /// `{connection, channels, connected}`, as `get_peer` returns it.
    pub(super) fn describe(&self, connected: bool) -> VarDictionary {
        let channels: VarArray = self.channels.iter().map(|channel| channel.object.to_variant()).collect();
        let mut dict = VarDictionary::new();
        dict.set("connection", &self.connection);
        dict.set("channels", &channels);
        dict.set("connected", connected);
        dict
    }
}
