//! The signaling state machine (JSEP, RFC 8829 §3.2, without provisional answers or rollback):
//! which description may be created or applied when, and what refusing one says.

use super::ConnectionError;
use crate::sdp::DescriptionKind;

/// Where the offer/answer exchange stands, numbered as Godot's
/// `WebRTCPeerConnection.SignalingState` (3 and 4, provisional answers, never occur here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalingState {
    /// No exchange in progress.
    Stable = 0,
    /// We created (and applied) an offer and wait for the answer.
    HaveLocalOffer = 1,
    /// The other side's offer is applied; our answer is next.
    HaveRemoteOffer = 2,
    /// The connection is closed.
    Closed = 5,
}

impl SignalingState {
    /// The state after we create an offer, or why we may not.
    pub(super) fn create_offer(self) -> Result<Self, ConnectionError> {
        match self {
            Self::Stable | Self::HaveLocalOffer => Ok(Self::HaveLocalOffer),
            Self::HaveRemoteOffer => Err(ConnectionError::WrongSignalingState { call: "create_offer", state: self }),
            Self::Closed => Err(ConnectionError::Closed),
        }
    }

    /// The state after we create our answer, or why we may not.
    pub(super) fn create_answer(self) -> Result<Self, ConnectionError> {
        match self {
            Self::HaveRemoteOffer => Ok(Self::Stable),
            Self::Stable | Self::HaveLocalOffer => {
                Err(ConnectionError::WrongSignalingState { call: "create_answer", state: self })
            }
            Self::Closed => Err(ConnectionError::Closed),
        }
    }

    /// The state after the other side's description of `kind` is applied, or why it may not
    /// be: an offer while ours waits for its answer is glare, an answer needs our offer.
    pub(super) fn apply_remote(self, kind: DescriptionKind) -> Result<Self, ConnectionError> {
        match (self, kind) {
            (Self::Closed, _) => Err(ConnectionError::Closed),
            (Self::Stable | Self::HaveRemoteOffer, DescriptionKind::Offer) => Ok(Self::HaveRemoteOffer),
            (Self::HaveLocalOffer, DescriptionKind::Offer) => Err(ConnectionError::Glare),
            (Self::HaveLocalOffer, DescriptionKind::Answer) => Ok(Self::Stable),
            (Self::Stable | Self::HaveRemoteOffer, DescriptionKind::Answer) => {
                Err(ConnectionError::AnswerWithoutOffer { state: self })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DescriptionKind::{Answer, Offer};
    use SignalingState::{Closed, HaveLocalOffer, HaveRemoteOffer, Stable};

    #[test]
    fn an_offer_and_its_answer_come_back_to_stable_on_both_sides() {
        let offerer = Stable.create_offer().unwrap();
        assert_eq!(offerer, HaveLocalOffer);
        let answerer = Stable.apply_remote(Offer).unwrap();
        assert_eq!(answerer, HaveRemoteOffer);
        assert_eq!(answerer.create_answer(), Ok(Stable));
        assert_eq!(offerer.apply_remote(Answer), Ok(Stable));
        assert_eq!(HaveLocalOffer.create_offer(), Ok(HaveLocalOffer), "an offer may be made again");
        assert_eq!(HaveRemoteOffer.apply_remote(Offer), Ok(HaveRemoteOffer), "a new offer replaces one");
    }

    #[test]
    fn glare_and_answers_out_of_turn_are_refused() {
        assert_eq!(HaveLocalOffer.apply_remote(Offer), Err(ConnectionError::Glare));
        assert_eq!(Stable.apply_remote(Answer), Err(ConnectionError::AnswerWithoutOffer { state: Stable }));
        assert_eq!(
            HaveRemoteOffer.apply_remote(Answer),
            Err(ConnectionError::AnswerWithoutOffer { state: HaveRemoteOffer })
        );
        assert_eq!(
            HaveRemoteOffer.create_offer(),
            Err(ConnectionError::WrongSignalingState { call: "create_offer", state: HaveRemoteOffer })
        );
        assert_eq!(
            Stable.create_answer(),
            Err(ConnectionError::WrongSignalingState { call: "create_answer", state: Stable })
        );
        for result in [Closed.create_offer(), Closed.create_answer(), Closed.apply_remote(Offer)] {
            assert_eq!(result, Err(ConnectionError::Closed));
        }
    }

    #[test]
    fn states_are_numbered_as_godots() {
        assert_eq!([Stable, HaveLocalOffer, HaveRemoteOffer, Closed].map(|state| state as u8), [0, 1, 2, 5]);
    }
}
