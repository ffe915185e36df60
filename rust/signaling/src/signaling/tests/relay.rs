//! Relaying OFFER, ANSWER and CANDIDATE within a lobby.

use super::*;

#[test]
fn relayed_messages_are_rewritten_to_name_their_sender() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (guest, guest_id, _) = test.join(true, &name);
    let offer = test.send(host, Message::new(Kind::Offer, guest_id, "offer-sdp"));
    assert_eq!(offer, [Output::Send { client: guest, message: Message::new(Kind::Offer, 1, "offer-sdp") }]);
    let answer = test.send(guest, Message::new(Kind::Answer, 1, "answer-sdp"));
    assert_eq!(answer, [Output::Send { client: host, message: Message::new(Kind::Answer, guest_id, "answer-sdp") }]);
    let candidate = test.send(guest, Message::new(Kind::Candidate, 1, "\n0\n0\ncandidate:1"));
    let expected = Message::new(Kind::Candidate, guest_id, "\n0\n0\ncandidate:1");
    assert_eq!(candidate, [Output::Send { client: host, message: expected }]);
}

#[test]
fn a_message_to_a_peer_outside_the_lobby_closes_the_sender() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (sender, sender_id, _) = test.join(true, &name);
    let (_, other_lobby) = test.host(true);
    let (_, stranger_id, _) = test.join(true, &other_lobby);
    let outputs = test.send(sender, Message::new(Kind::Offer, stranger_id, "sdp"));
    assert_eq!(
        outputs,
        [
            Output::Close { client: sender, reason: SignalingError::NoSuchPeer(stranger_id) },
            Output::Send { client: host, message: Message::new(Kind::PeerDisconnect, sender_id, "") },
        ]
    );
}

#[test]
fn a_message_to_oneself_closes_the_sender() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    let outputs = test.send(host, Message::new(Kind::Candidate, HOST_ID, "x"));
    assert_eq!(closed(&outputs, host), Some(SignalingError::MessageToSelf));
}
