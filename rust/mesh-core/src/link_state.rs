//! What the caller observes of a peer's link, in plain states, and the rule that turns them
//! into the peer's health.

/// A peer connection's state (Godot's `WebRTCPeerConnection.ConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connecting yet.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// Connected.
    Connected,
    /// Connectivity lost.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// Closed.
    Closed,
}

/// A data channel's state (Godot's `WebRTCDataChannel.ChannelState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Not open yet.
    Connecting,
    /// Open.
    Open,
    /// Closing.
    Closing,
    /// Closed.
    Closed,
}

/// The smallest send limit a link's [`LinkState::max_message_size`] sets for the whole mesh:
/// what the engine's own `WebRTCMultiplayerPeer` reports as its largest packet. A remote side that
/// announces less (a hostile or broken one) would otherwise make every broadcast of more fail;
/// packets to it between its own limit and this one fail for it alone, as its link refuses them.
pub const MIN_LINK_MESSAGE_SIZE: usize = 1200;

/// The states of one peer's connection and of its channels, in the mesh's channel order, and the
/// largest message its channels send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// The connection's state.
    pub connection: ConnectionState,
    /// Each channel's state.
    pub channels: Vec<ChannelState>,
    /// The largest message the link's channels send (what the remote side's description allows,
    /// `a=max-message-size`), if the link knows it; `None` for the mesh's largest packet. The mesh
    /// reads it within [`MIN_LINK_MESSAGE_SIZE`] and its own largest packet.
    pub max_message_size: Option<usize>,
}

/// What a peer's link amounts to for the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerHealth {
    /// Still connecting: some channel is not open yet.
    Connecting,
    /// Every channel is open.
    Ready,
    /// The connection is disconnected, failed or closed, or a channel is closing or closed:
    /// the peer leaves the mesh (as in the engine, a peer does not come back after a drop).
    Dead,
}

impl LinkState {
    /// The peer's health: dead as soon as the connection or any channel goes down, ready once
    /// every channel is open.
    pub fn health(&self) -> PeerHealth {
        let connection_down = matches!(
            self.connection,
            ConnectionState::Disconnected | ConnectionState::Failed | ConnectionState::Closed
        );
        let channel_down =
            self.channels.iter().any(|state| matches!(state, ChannelState::Closing | ChannelState::Closed));
        if connection_down || channel_down {
            PeerHealth::Dead
        } else if self.channels.iter().all(|state| *state == ChannelState::Open) {
            PeerHealth::Ready
        } else {
            PeerHealth::Connecting
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(connection: ConnectionState, channels: &[ChannelState]) -> PeerHealth {
        LinkState { connection, channels: channels.to_vec(), max_message_size: None }.health()
    }

    #[test]
    fn a_peer_is_ready_when_every_channel_is_open() {
        use ChannelState::*;
        assert_eq!(health(ConnectionState::Connected, &[Open, Open, Open]), PeerHealth::Ready);
        assert_eq!(health(ConnectionState::Connected, &[Open, Connecting, Open]), PeerHealth::Connecting);
        assert_eq!(health(ConnectionState::New, &[Connecting]), PeerHealth::Connecting);
    }

    #[test]
    fn a_peer_is_dead_when_its_connection_or_any_channel_goes_down() {
        use ChannelState::*;
        for connection in [ConnectionState::Disconnected, ConnectionState::Failed, ConnectionState::Closed] {
            assert_eq!(health(connection, &[Open, Open, Open]), PeerHealth::Dead, "{connection:?}");
        }
        assert_eq!(health(ConnectionState::Connected, &[Open, Closing, Open]), PeerHealth::Dead);
        assert_eq!(health(ConnectionState::Connected, &[Open, Open, Closed]), PeerHealth::Dead);
    }
}
