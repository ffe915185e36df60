//! Relaying OFFER, ANSWER and CANDIDATE within a lobby.

use super::*;

#[test]
fn relayed_messages_are_rewritten_to_name_their_sender() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (guest, guest_id, _) = test.join(true, &name);
    let offer = test.send(host, Message::new(Kind::Offer, guest_id, "offer-sdp"));
    let expected = Message::new(Kind::Offer, 1, "offer-sdp");
    assert_eq!(offer, [Output::Relay { client: guest, from: Some(host), message: expected }]);
    let answer = test.send(guest, Message::new(Kind::Answer, 1, "answer-sdp"));
    let expected = Message::new(Kind::Answer, guest_id, "answer-sdp");
    assert_eq!(answer, [Output::Relay { client: host, from: Some(guest), message: expected }]);
    let candidate = test.send(guest, Message::new(Kind::Candidate, 1, "\n0\n0\ncandidate:1"));
    let expected = Message::new(Kind::Candidate, guest_id, "\n0\n0\ncandidate:1");
    assert_eq!(candidate, [Output::Relay { client: host, from: Some(guest), message: expected }]);
}

#[test]
fn a_relay_that_overflows_its_receiver_closes_its_sender_not_the_receiver() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (guest, guest_id, _) = test.join(true, &name);
    let (other, other_id, _) = test.join(true, &name);
    test.outputs();
    test.server.relay_overflowed(guest, host);
    let outputs = test.outputs();
    assert_eq!(closed(&outputs, guest), Some(SignalingError::RelayOverflow(HOST_ID)));
    assert_eq!(closed(&outputs, host), None, "the flooded host stays");
    assert_eq!(sent_to(&outputs, other), [Message::new(Kind::PeerDisconnect, guest_id, "")]);
    let offer = test.send(host, Message::new(Kind::Offer, other_id, "still-works"));
    assert_eq!(sent_to(&offer, other), [Message::new(Kind::Offer, HOST_ID, "still-works")]);
    test.server.relay_overflowed(guest, host);
    assert_eq!(test.outputs(), [], "a sender already gone is not closed twice");
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
