//! The states a connection and its channels report, numbered as Godot's `WebRTCPeerConnection`
//! and `WebRTCDataChannel` enums, and the session description types.

use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::{RTCIceGatheringState, RTCPeerConnectionState, RTCSignalingState};

use crate::error::TransportError;

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

impl ConnectionState {
    pub(crate) fn from_rtc(state: RTCPeerConnectionState) -> Self {
        match state {
            RTCPeerConnectionState::Connecting => Self::Connecting,
            RTCPeerConnectionState::Connected => Self::Connected,
            RTCPeerConnectionState::Disconnected => Self::Disconnected,
            RTCPeerConnectionState::Failed => Self::Failed,
            RTCPeerConnectionState::Closed => Self::Closed,
            _ => Self::New,
        }
    }
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

impl GatheringState {
    pub(crate) fn from_rtc(state: RTCIceGatheringState) -> Self {
        match state {
            RTCIceGatheringState::Gathering => Self::Gathering,
            RTCIceGatheringState::Complete => Self::Complete,
            _ => Self::New,
        }
    }
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

impl SignalingState {
    pub(crate) fn from_rtc(state: RTCSignalingState) -> Self {
        match state {
            RTCSignalingState::HaveLocalOffer => Self::HaveLocalOffer,
            RTCSignalingState::HaveRemoteOffer => Self::HaveRemoteOffer,
            RTCSignalingState::HaveLocalPranswer => Self::HaveLocalPranswer,
            RTCSignalingState::HaveRemotePranswer => Self::HaveRemotePranswer,
            RTCSignalingState::Closed => Self::Closed,
            _ => Self::Stable,
        }
    }
}

/// The ready state of a channel, numbered as Godot's `WebRTCDataChannel.ChannelState`.
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

    /// Parses `sdp` as a description of this type; its ICE credentials must have a length RFC
    /// 8839 allows.
    pub(crate) fn describe(self, sdp: String) -> Result<RTCSessionDescription, TransportError> {
        check_ice_credentials(&sdp)?;
        let parsed = match self {
            Self::Offer => RTCSessionDescription::offer(sdp),
            Self::Pranswer => RTCSessionDescription::pranswer(sdp),
            Self::Answer => RTCSessionDescription::answer(sdp),
        };
        // The parser's error quotes the line it stopped at, which may be megabytes long.
        parsed.map_err(|error| TransportError::InvalidSdp(crate::error::excerpt(&error.to_string())))
    }
}

/// Lengths RFC 8839 (section 5.4) allows for `a=ice-ufrag` and `a=ice-pwd`, which libwebrtc
/// enforces too.
const ICE_CREDENTIALS: [(&str, std::ops::RangeInclusive<usize>); 2] = [("ice-ufrag", 4..=256), ("ice-pwd", 22..=256)];

/// Refuses ICE credentials of a length RFC 8839 does not allow. The WebRTC stack takes any, but
/// cannot fit a long one in a STUN message: each connectivity check then failed with an error
/// in the log, over and over, instead of the description being refused once.
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
        assert!(SdpKind::Offer.describe("garbage".into()).is_err());
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
