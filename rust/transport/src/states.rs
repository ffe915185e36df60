//! The states a connection and its channels report (the W3C states, which Godot's
//! `WebRTCPeerConnection` and `WebRTCDataChannel` enums follow; the binding converts each by
//! name), and the session description types.

use connection::connection::{ConnectionState as CoreState, SignalingState as CoreSignaling};

use crate::error::TransportError;

/// Connection state (W3C `RTCPeerConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connecting yet.
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// Connected.
    Connected,
    /// Connectivity lost; may recover.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// Closed, by `close()` or by the remote side (DTLS close_notify, SCTP ABORT or SHUTDOWN).
    Closed,
}

impl ConnectionState {
    /// The core's state.
    pub(crate) fn from_core(state: CoreState) -> Self {
        match state {
            CoreState::New => Self::New,
            CoreState::Connecting => Self::Connecting,
            CoreState::Connected => Self::Connected,
            CoreState::Disconnected => Self::Disconnected,
            CoreState::Failed => Self::Failed,
            CoreState::Closed => Self::Closed,
        }
    }
}

/// ICE gathering state (W3C `RTCIceGatheringState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatheringState {
    /// Nothing gathered yet.
    New,
    /// Gathering candidates.
    Gathering,
    /// Done gathering.
    Complete,
}

/// Signaling state (W3C `RTCSignalingState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer/answer exchange in progress.
    Stable,
    /// A local offer is applied.
    HaveLocalOffer,
    /// A remote offer is applied.
    HaveRemoteOffer,
    /// A local provisional answer is applied.
    HaveLocalPranswer,
    /// A remote provisional answer is applied.
    HaveRemotePranswer,
    /// Closed.
    Closed,
}

impl SignalingState {
    /// The core's signaling state (which has no provisional answers).
    pub(crate) fn from_core(state: CoreSignaling) -> Self {
        match state {
            CoreSignaling::Stable => Self::Stable,
            CoreSignaling::HaveLocalOffer => Self::HaveLocalOffer,
            CoreSignaling::HaveRemoteOffer => Self::HaveRemoteOffer,
            CoreSignaling::Closed => Self::Closed,
        }
    }
}

/// The ready state of a channel (W3C `RTCDataChannelState`). A channel keeps it in an atomic
/// byte (`state as u8`, read back by [`from_u8`](Self::from_u8)): its numbers serve that alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ChannelState {
    /// Created; the connection or the channel handshake is not done yet.
    Connecting = 0,
    /// Packets can be sent and received.
    Open = 1,
    /// Close was requested; the channel is shutting down.
    Closing = 2,
    /// The channel is closed for good.
    Closed = 3,
}

impl ChannelState {
    /// The state stored as `value` (`state as u8`); past the last state, closed.
    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Connecting,
            1 => Self::Open,
            2 => Self::Closing,
            _ => Self::Closed,
        }
    }
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
                "unknown description type '{}' (expected offer, pranswer or answer)",
                crate::error::excerpt(other)
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

    /// Checks what the transport refuses in a description of this type before the core reads
    /// it: ICE credentials of a length RFC 8839 does not allow.
    pub(crate) fn check(self, sdp: &str) -> Result<(), TransportError> {
        check_ice_credentials(sdp)
    }
}

/// Lengths RFC 8839 (section 5.4) allows for `a=ice-ufrag` and `a=ice-pwd`, which libwebrtc
/// enforces too.
const ICE_CREDENTIALS: [(&str, std::ops::RangeInclusive<usize>); 2] = [("ice-ufrag", 4..=256), ("ice-pwd", 22..=256)];

/// Refuses ICE credentials of a length RFC 8839 does not allow, with a message that says so (a
/// long one cannot fit in a STUN message: each connectivity check would fail).
fn check_ice_credentials(sdp: &str) -> Result<(), TransportError> {
    for line in sdp.lines() {
        for (name, lengths) in &ICE_CREDENTIALS {
            let Some(value) = line.trim().strip_prefix("a=").and_then(|rest| rest.strip_prefix(name)) else {
                continue;
            };
            let Some(value) = value.strip_prefix(':') else { continue };
            let length = value.trim().chars().count();
            if !lengths.contains(&length) {
                return Err(TransportError::InvalidSdp(format!(
                    "{name} '{}' is {length} characters long; {} to {} are allowed (RFC 8839)",
                    crate::error::excerpt(value.trim()),
                    lengths.start(),
                    lengths.end()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_types_parse() {
        assert_eq!(SdpKind::parse("offer"), Ok(SdpKind::Offer));
        assert!(SdpKind::parse("rollback").is_err());
    }

    #[test]
    fn ice_credentials_shorter_or_longer_than_rfc_8839_allows_are_refused() {
        let sdp = |ufrag: &str, pwd: &str| format!("v=0\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n");
        let pwd = "p".repeat(22);
        assert_eq!(check_ice_credentials(&sdp("abcd", &pwd)), Ok(()));
        assert_eq!(check_ice_credentials(&sdp(&"u".repeat(256), &"p".repeat(256))), Ok(()));
        for (ufrag, pwd) in
            [("abc", pwd.as_str()), (&"u".repeat(257), &pwd), ("abcd", "short"), ("abcd", &"p".repeat(70000))]
        {
            let refused = check_ice_credentials(&sdp(ufrag, pwd));
            assert!(matches!(&refused, Err(TransportError::InvalidSdp(text)) if text.len() < 200), "{refused:?}");
        }
    }

    #[test]
    fn closed_is_the_last_channel_state() {
        assert_eq!(ChannelState::from_u8(3), ChannelState::Closed);
        assert_eq!(ChannelState::from_u8(200), ChannelState::Closed);
    }
}
