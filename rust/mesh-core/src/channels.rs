//! The data channels every peer gets, as the engine's WebRTCMultiplayerPeer lays them out.

use crate::error::{invalid, MeshError};

/// Godot's `MultiplayerPeer.TransferMode`, with the engine's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferMode {
    /// Unordered, may be lost.
    Unreliable = 0,
    /// Ordered, may be lost.
    UnreliableOrdered = 1,
    /// Ordered and never lost.
    Reliable = 2,
}

impl TransferMode {
    /// The mode with Godot's number `value`.
    pub fn from_godot(value: i64) -> Result<Self, MeshError> {
        match value {
            0 => Ok(Self::Unreliable),
            1 => Ok(Self::UnreliableOrdered),
            2 => Ok(Self::Reliable),
            other => Err(invalid(format!("{other} is not a MultiplayerPeer.TransferMode"))),
        }
    }

    /// Index of the built-in channel used for this mode on transfer channel 0.
    pub fn builtin_index(self) -> usize {
        match self {
            Self::Reliable => 0,
            Self::UnreliableOrdered => 1,
            Self::Unreliable => 2,
        }
    }
}

/// Number of channels every peer has before the `channels_config` extras.
pub const BUILTIN_CHANNELS: usize = 3;

/// The negotiated stream id of the relay channel (issue 21): on a connection where both sides
/// announced relaying, the transport keeps this channel for carrying other members' traffic and
/// never shows it to the game. 65534, the highest id a negotiated channel may take (W3C
/// `createDataChannel`; 65535 is reserved), so that it stays clear of Godot's layout (ids 1, 2,
/// 3, then 4 on for the `channels_config` extras) while costing that layout one id.
pub const RELAY_STREAM_ID: u16 = 65534;

/// The most `channels_config` extras a peer can have: their stream ids follow the built-in
/// channels' and must stay below [`RELAY_STREAM_ID`].
pub const MAX_EXTRA_CHANNELS: usize = RELAY_STREAM_ID as usize - 1 - BUILTIN_CHANNELS;

/// One data channel to create for a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// Channel label, the same as the engine's so both interoperate.
    pub label: String,
    /// Negotiated SCTP stream id.
    pub id: u16,
    /// Delivered in order.
    pub ordered: bool,
    /// Partial reliability: give up after this many milliseconds.
    pub max_packet_life_time: Option<u16>,
    /// The transfer mode this channel serves.
    pub mode: TransferMode,
}

/// The channels of one peer: "reliable" (id 1), "ordered" (id 2) and "unreliable" (id 3), the
/// last two with `unreliable_lifetime` as packet lifetime, then one per extra mode, labelled
/// with its id ("4", "5", ...); extra unreliable channels get a lifetime of 1 ms.
pub fn channel_layout(unreliable_lifetime: u16, extras: &[TransferMode]) -> Vec<ChannelSpec> {
    let builtin = [
        ("reliable", TransferMode::Reliable, None),
        ("ordered", TransferMode::UnreliableOrdered, Some(unreliable_lifetime)),
        ("unreliable", TransferMode::Unreliable, Some(unreliable_lifetime)),
    ];
    let builtin = builtin.into_iter().enumerate().map(|(index, (label, mode, lifetime))| ChannelSpec {
        label: label.to_owned(),
        id: index as u16 + 1,
        ordered: mode != TransferMode::Unreliable,
        max_packet_life_time: lifetime,
        mode,
    });
    let extra = extras.iter().enumerate().map(|(index, &mode)| {
        let id = (BUILTIN_CHANNELS + index + 1) as u16;
        ChannelSpec {
            label: id.to_string(),
            id,
            ordered: mode != TransferMode::Unreliable,
            max_packet_life_time: (mode != TransferMode::Reliable).then_some(1),
            mode,
        }
    });
    builtin.chain(extra).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_channels_match_the_engine() {
        let layout = channel_layout(7, &[]);
        let summary: Vec<_> =
            layout.iter().map(|c| (c.label.as_str(), c.id, c.ordered, c.max_packet_life_time)).collect();
        assert_eq!(
            summary,
            [("reliable", 1, true, None), ("ordered", 2, true, Some(7)), ("unreliable", 3, false, Some(7))]
        );
    }

    #[test]
    fn extra_channels_are_labelled_by_id() {
        let extras = [TransferMode::Reliable, TransferMode::UnreliableOrdered, TransferMode::Unreliable];
        let layout = channel_layout(1, &extras);
        let summary: Vec<_> =
            layout[3..].iter().map(|c| (c.label.as_str(), c.id, c.ordered, c.max_packet_life_time, c.mode)).collect();
        assert_eq!(
            summary,
            [
                ("4", 4, true, None, TransferMode::Reliable),
                ("5", 5, true, Some(1), TransferMode::UnreliableOrdered),
                ("6", 6, false, Some(1), TransferMode::Unreliable),
            ]
        );
    }

    #[test]
    fn transfer_modes_use_godot_numbers() {
        assert_eq!(TransferMode::from_godot(2), Ok(TransferMode::Reliable));
        assert_eq!(TransferMode::from_godot(0), Ok(TransferMode::Unreliable));
        assert!(TransferMode::from_godot(3).is_err());
        assert!(TransferMode::from_godot(-1).is_err());
    }
}
