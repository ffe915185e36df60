//! What a connection reports to its handle.

use crate::channel::DataChannel;
use crate::error::TransportError;
use crate::states::{ConnectionState, GatheringState, SdpKind, SignalingState};

/// Something the connection reports, in the order it happened.
#[derive(Debug)]
pub enum PeerEvent {
    /// A local description was created (an offer after `create_offer`, or the answer to a
    /// remote offer, which is applied locally already).
    SessionDescriptionCreated {
        /// Offer or answer.
        kind: SdpKind,
        /// The SDP text.
        sdp: String,
    },
    /// A local ICE candidate to send to the remote side.
    IceCandidateCreated {
        /// Media stream id.
        mid: String,
        /// Media line index.
        index: u16,
        /// The candidate line.
        candidate: String,
    },
    /// The remote side opened a channel in-band.
    DataChannelReceived(DataChannel),
    /// The connection state changed.
    ConnectionStateChanged(ConnectionState),
    /// The gathering state changed.
    GatheringStateChanged(GatheringState),
    /// The signaling state changed.
    SignalingStateChanged(SignalingState),
    /// Something failed after the call that started it returned.
    Error(TransportError),
}
