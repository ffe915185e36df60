//! The connection's one error type: why a call was refused.

use thiserror::Error;

use super::SignalingState;
use crate::channels::ChannelError;
use crate::ice_dtls::SecurePathError;
use crate::sctp::SctpError;
use crate::sdp::SdpError;

/// Why a call on a [`Connection`](super::Connection) was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConnectionError {
    /// The connection is closed (by `close`, by the other side, or by a failure).
    #[error("the connection is closed")]
    Closed,
    /// The other side's offer arrived while ours waits for its answer (glare): as in Godot
    /// without rollback, the offer is refused; one side must give way (a mesh lets the peer
    /// with the lower id offer).
    #[error("an offer arrived while our own offer waits for its answer (glare): one side must give way")]
    Glare,
    /// An answer arrived while no offer of ours waits for one.
    #[error("an answer arrived but no offer of ours waits for one (signaling state {state:?})")]
    AnswerWithoutOffer {
        /// The signaling state when it arrived.
        state: SignalingState,
    },
    /// The call does not fit the signaling state (an answer with no offer to answer, an offer
    /// while the other side's waits for our answer).
    #[error("{call} is not allowed in signaling state {state:?}")]
    WrongSignalingState {
        /// The call refused.
        call: &'static str,
        /// The signaling state it was made in.
        state: SignalingState,
    },
    /// A description or candidate that cannot be read or used.
    #[error(transparent)]
    Sdp(#[from] SdpError),
    /// The other side's new description names another certificate than before: a connection
    /// keeps its DTLS session.
    #[error("the new description's certificate fingerprint differs from the one the connection was made with")]
    FingerprintChanged,
    /// The other side signaled more candidates than
    /// [`MAX_REMOTE_CANDIDATES`](crate::sdp::limits::MAX_REMOTE_CANDIDATES).
    #[error("the other side signaled more than {0} candidates: this one is refused")]
    TooManyRemoteCandidates(usize),
    /// More local candidates than [`MAX_LOCAL_CANDIDATES`](super::MAX_LOCAL_CANDIDATES).
    #[error("the connection already has {0} local candidates, the most it takes")]
    TooManyLocalCandidates(usize),
    /// ICE or DTLS refused the call.
    #[error(transparent)]
    SecurePath(#[from] SecurePathError),
    /// The channel table refused the call.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The SCTP association refused the message (its send buffer is full, say).
    #[error(transparent)]
    Sctp(#[from] SctpError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_do() {
        assert!(ConnectionError::Glare.to_string().contains("one side must give way"));
        let answer = ConnectionError::AnswerWithoutOffer { state: SignalingState::Stable };
        assert_eq!(answer.to_string(), "an answer arrived but no offer of ours waits for one (signaling state Stable)");
        let full = ConnectionError::from(SctpError::SendBufferFull);
        assert_eq!(full.to_string(), SctpError::SendBufferFull.to_string());
    }
}
