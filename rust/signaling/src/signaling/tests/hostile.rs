//! Clients that break the protocol: each is closed with a reason, and no one else is touched.

use super::*;

#[test]
fn bad_json_closes_the_sender_with_the_parsers_reason() {
    let mut test = Harness::new();
    let client = test.connect();
    let outputs = test.text(client, "{not json");
    assert!(matches!(closed(&outputs, client), Some(SignalingError::InvalidMessage(_))), "{outputs:?}");
    let client = test.connect();
    let outputs = test.text(client, "[1,2]");
    assert_eq!(closed(&outputs, client), Some(SignalingError::InvalidMessage("not a JSON object".into())));
}

#[test]
fn an_unknown_message_type_closes_the_sender() {
    let mut test = Harness::new();
    let client = test.connect();
    let outputs = test.text(client, r#"{"type":42,"id":0,"data":""}"#);
    assert_eq!(closed(&outputs, client), Some(SignalingError::UnknownMessageType(42)));
}

#[test]
fn any_message_but_join_before_joining_closes_the_sender() {
    let mut test = Harness::new();
    for kind in [
        Kind::Offer,
        Kind::Answer,
        Kind::Candidate,
        Kind::Seal,
        Kind::Id,
        Kind::PeerConnect,
        Kind::PeerDisconnect,
        Kind::TurnCredentials,
    ] {
        let client = test.connect();
        let outputs = test.send(client, Message::new(kind, 1, "x"));
        assert_eq!(outputs, [Output::Close { client, reason: SignalingError::NotInLobby }], "{kind:?}");
    }
}

#[test]
fn a_second_join_closes_the_sender() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let outputs = test.send(host, Message::new(Kind::Join, 0, name));
    assert_eq!(closed(&outputs, host), Some(SignalingError::AlreadyInLobby));
}

#[test]
fn message_types_only_the_server_sends_close_a_client_that_sends_them() {
    let mut test = Harness::new();
    let (_, name) = test.host(true);
    for kind in [Kind::Id, Kind::PeerConnect, Kind::PeerDisconnect] {
        let (member, _, _) = test.join(true, &name);
        let outputs = test.send(member, Message::new(kind, 1, ""));
        assert_eq!(closed(&outputs, member), Some(SignalingError::ServerOnlyMessageType), "{kind:?}");
    }
}

#[test]
fn a_binary_frame_closes_the_sender() {
    let mut test = Harness::new();
    let client = test.connect();
    test.server.receive_binary(client, test.now);
    assert_eq!(test.outputs(), [Output::Close { client, reason: SignalingError::BinaryFrame }]);
}

#[test]
fn a_transport_error_closes_the_client_and_its_lobby_hears_it_left() {
    // An oversized frame reaches the state machine this way: the WebSocket layer refuses it.
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (guest, guest_id, _) = test.join(true, &name);
    test.server.transport_failed(guest, "Space limit exceeded".into());
    assert_eq!(
        test.outputs(),
        [
            Output::Close { client: guest, reason: SignalingError::Transport("Space limit exceeded".into()) },
            Output::Send { client: host, message: Message::new(Kind::PeerDisconnect, guest_id, "") },
        ]
    );
}

#[test]
fn a_client_outside_a_lobby_touches_no_one_else_whatever_it_sends() {
    let mut test = Harness::new();
    let (_, name) = test.host(true);
    test.join(true, &name);
    let hostile = [
        "{nope".to_owned(),
        r#"{"type":7,"id":0}"#.to_owned(),
        Message::new(Kind::Offer, HOST_ID, "sdp").to_json(),
        Message::new(Kind::PeerDisconnect, HOST_ID, "").to_json(),
        Message::new(Kind::Join, 0, "NOSUCHLB").to_json(),
    ];
    for text in hostile {
        let client = test.connect();
        let outputs = test.text(client, &text);
        assert!(closed(&outputs, client).is_some(), "{text} was accepted");
        assert!(only_about(&outputs, client), "{text} touched another client: {outputs:?}");
    }
}

#[test]
fn reports_about_a_closed_client_are_ignored() {
    let mut test = Harness::new();
    let client = test.connect();
    test.text(client, "{nope");
    test.server.open(client, test.now, source());
    test.server.receive_text(client, &Message::new(Kind::Join, 0, "").to_json(), test.now);
    test.server.receive_binary(client, test.now);
    test.server.receive_control(client, test.now);
    test.server.transport_failed(client, "late".into());
    test.server.disconnected(client);
    assert_eq!(test.outputs(), []);
    assert_eq!(test.server.poll_timeout(), None);
}
