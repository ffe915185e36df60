//! The messages: JSON text frames `{"type": int, "id": int, "data": string}`, numbered as in
//! Godot's `webrtc_signaling` demo.

use serde::{Deserialize, Serialize};

use crate::error::SignalingError;

/// The peer id of every lobby's host.
pub const HOST_ID: i64 = 1;

/// The WebSocket close code of every close the server decides (as in Godot's demo server).
pub const CLOSE_CODE: u16 = 4000;

/// Bytes of a close frame's reason at most: a control frame's payload is at most 125 bytes
/// (RFC 6455, section 5.5), two of which are the close code.
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// `reason` cut to [`MAX_CLOSE_REASON_BYTES`] at a character boundary, so that it fits a close
/// frame and stays UTF-8 (reasons may quote what a client sent).
pub(crate) fn close_reason(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_CLOSE_REASON_BYTES);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.get(..end).unwrap_or_default()
}

/// Message types, numbered as in Godot's demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Client: join the lobby named in `data` ("" creates one); `id` 0 asks for a mesh.
    /// Server: the lobby joined, in `data`.
    Join = 0,
    /// Server: your peer id is `id`; `data` is "true" in a mesh lobby.
    Id = 1,
    /// Server: peer `id` joined your lobby.
    PeerConnect = 2,
    /// Server: peer `id` left your lobby.
    PeerDisconnect = 3,
    /// Relayed: an SDP offer for (client) or from (server) peer `id`.
    Offer = 4,
    /// Relayed: an SDP answer.
    Answer = 5,
    /// Relayed: an ICE candidate ("\nmid\nindex\nsdp" in Godot's demo; opaque here).
    Candidate = 6,
    /// Client (host only): seal the lobby. Server: the lobby is sealed.
    Seal = 7,
    /// Not in Godot's demo. Client (a lobby member): send me TURN credentials. Server, only in
    /// answer: `data` is a JSON object `{"urls": [...], "username": "...", "credential": "...",
    /// "ttl": seconds}` (an `RTCIceServer` dictionary plus the seconds it has left), or "" when
    /// the server has no TURN server to offer.
    TurnCredentials = 8,
}

impl Kind {
    /// The kind numbered `number`, if any.
    pub(crate) fn from_number(number: i64) -> Option<Self> {
        Some(match number {
            0 => Self::Join,
            1 => Self::Id,
            2 => Self::PeerConnect,
            3 => Self::PeerDisconnect,
            4 => Self::Offer,
            5 => Self::Answer,
            6 => Self::Candidate,
            7 => Self::Seal,
            8 => Self::TurnCredentials,
            _ => return None,
        })
    }
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What it is.
    pub kind: Kind,
    /// A peer id (meaning depends on the kind).
    pub id: i64,
    /// Payload text.
    pub data: String,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: i64,
    id: i64,
    #[serde(default)]
    data: String,
}

impl Message {
    /// A message of `kind` with `id` and `data`.
    pub fn new(kind: Kind, id: i64, data: impl Into<String>) -> Self {
        Self { kind, id, data: data.into() }
    }

    /// Parses a text frame; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, SignalingError> {
        let invalid = |error: serde_json::Error| SignalingError::InvalidMessage(error.to_string());
        let value: serde_json::Value = serde_json::from_str(text).map_err(invalid)?;
        if !value.is_object() {
            return Err(SignalingError::InvalidMessage("not a JSON object".into()));
        }
        let wire: Wire = serde_json::from_value(value).map_err(invalid)?;
        let kind = Kind::from_number(wire.kind).ok_or(SignalingError::UnknownMessageType(wire.kind))?;
        Ok(Self { kind, id: wire.id, data: wire.data })
    }

    /// The text frame.
    pub fn to_json(&self) -> String {
        let wire = Wire { kind: self.kind as i64, id: self.id, data: self.data.clone() };
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_a_round_trip_and_data_is_optional() {
        let message = Message::new(Kind::Offer, 5, "v=0");
        assert_eq!(message.to_json(), r#"{"type":4,"id":5,"data":"v=0"}"#);
        assert_eq!(Message::parse(&message.to_json()), Ok(message));
        assert_eq!(Message::parse(r#"{"type":0,"id":0}"#), Ok(Message::new(Kind::Join, 0, "")));
    }

    #[test]
    fn close_reasons_are_cut_at_a_character_boundary() {
        assert_eq!(close_reason("short"), "short");
        let long = format!("x{}", "é".repeat(100));
        let cut = close_reason(&long);
        assert_eq!(cut.len(), 123, "x and 61 two-byte characters");
        assert!(long.starts_with(cut));
        let euro = "€".repeat(50);
        assert_eq!(close_reason(&euro).len(), 123, "41 three-byte characters");
        assert_eq!(close_reason(&"🎮".repeat(40)).len(), 120, "30 four-byte characters");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let reason = |text: &str| Message::parse(text).map_err(|error| error.to_string()).unwrap_err();
        assert!(reason("not json").starts_with("invalid message: "));
        assert_eq!(reason(r#"{"type":9,"id":0,"data":""}"#), "unknown message type 9");
        assert!(reason(r#"{"type":"0","id":0,"data":""}"#).starts_with("invalid message: "));
        assert!(reason(r#"{"type":0,"data":""}"#).starts_with("invalid message: "));
        assert_eq!(reason("[1,2]"), "invalid message: not a JSON object");
    }
}
