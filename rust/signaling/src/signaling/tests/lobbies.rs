//! Lobbies: who is told about whom, and the limits on joining.

use super::*;

#[test]
fn the_host_is_peer_1_and_a_mesh_connects_everyone() {
    let mut test = Harness::new();
    let (host, created) = {
        let (host, host_id, outputs) = test.join(true, "");
        assert_eq!(host_id, HOST_ID);
        (host, outputs)
    };
    let name = lobby_joined(&created, host).unwrap();
    assert_eq!(name.len(), 8);
    assert_eq!(sent_to(&created, host), [Message::new(Kind::Id, 1, "true"), Message::new(Kind::Join, 0, &name)]);
    assert!(created.contains(&Output::Joined { client: host, lobby: name.clone(), peer_id: 1 }));

    let (second, id2, joined) = test.join(true, &name);
    assert!(id2 >= 2);
    assert_eq!(sent_to(&joined, host), [Message::new(Kind::PeerConnect, id2, "")]);
    let (third, id3, joined) = test.join(true, &name);
    let told: Vec<_> = sent_to(&joined, third).iter().map(|m| (m.kind, m.id)).collect();
    assert_eq!(told, [(Kind::Id, id3), (Kind::PeerConnect, 1), (Kind::PeerConnect, id2), (Kind::Join, 0)]);
    assert_eq!(sent_to(&joined, second), [Message::new(Kind::PeerConnect, id3, "")]);
}

#[test]
fn a_client_server_lobby_connects_clients_to_the_host_only() {
    let mut test = Harness::new();
    let (host, name) = test.host(false);
    let (second, _, _) = test.join(false, &name);
    let (third, id3, joined) = test.join(true, &name);
    assert_eq!(sent_to(&joined, second), []);
    assert_eq!(sent_to(&joined, host), [Message::new(Kind::PeerConnect, id3, "")]);
    let told: Vec<_> = sent_to(&joined, third).iter().map(|m| (m.kind, m.id, m.data.clone())).collect();
    assert_eq!(
        told,
        [(Kind::Id, id3, String::new()), (Kind::PeerConnect, 1, String::new()), (Kind::Join, 0, name)],
        "the lobby's mode wins over the joiner's"
    );
}

#[test]
fn joining_a_lobby_that_does_not_exist_closes_the_client() {
    let mut test = Harness::new();
    let (client, _, outputs) = test.join(true, "NOSUCHLB");
    assert_eq!(closed(&outputs, client), Some(SignalingError::NoSuchLobby));
}

#[test]
fn a_full_lobby_refuses_joins() {
    let mut test = Harness::with(Limits { max_lobby_peers: 2, ..limits() });
    let (_, name) = test.host(true);
    test.join(true, &name);
    let (late, _, outputs) = test.join(true, &name);
    assert_eq!(closed(&outputs, late), Some(SignalingError::LobbyFull));
    assert!(only_about(&outputs, late));
}

#[test]
fn no_more_lobbies_open_than_the_limit() {
    let mut test = Harness::with(Limits { max_lobbies: 1, ..limits() });
    let (host, _) = test.host(true);
    let (second, _, outputs) = test.join(true, "");
    assert_eq!(closed(&outputs, second), Some(SignalingError::TooManyLobbies));
    test.server.disconnected(host);
    let (third, _, outputs) = test.join(true, "");
    assert!(lobby_joined(&outputs, third).is_some(), "a lobby closes when its host leaves, making room");
}

#[test]
fn a_full_server_refuses_clients_when_their_handshake_ends() {
    let mut test = Harness::with(Limits { max_clients: 2, ..limits() });
    let first = test.connect();
    test.connect();
    let pending = test.server.accept(test.now, Some(source())).expect("accepted");
    assert_eq!(test.outputs(), [], "a handshake in progress does not count yet");
    test.server.open(pending, test.now, source());
    assert_eq!(test.outputs(), [Output::Close { client: pending, reason: SignalingError::ServerFull }]);
    test.server.disconnected(first);
    let (fourth, _, outputs) = test.join(true, "");
    assert_eq!(closed(&outputs, fourth), None, "one left, so one more fits");
}

#[test]
fn sealing_is_for_the_host_and_stops_joins() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (guest, _, _) = test.join(true, &name);
    let refused = test.send(guest, Message::new(Kind::Seal, 0, ""));
    assert_eq!(closed(&refused, guest), Some(SignalingError::NotHost));

    let (member, _, _) = test.join(true, &name);
    let sealed = test.send(host, Message::new(Kind::Seal, 0, ""));
    assert_eq!(sent_to(&sealed, host), [Message::new(Kind::Seal, 0, "")]);
    assert_eq!(sent_to(&sealed, member), [Message::new(Kind::Seal, 0, "")]);
    let (late, _, outputs) = test.join(true, &name);
    assert_eq!(closed(&outputs, late), Some(SignalingError::LobbySealed));
}

#[test]
fn a_peer_leaving_is_announced_to_the_peers_connected_to_it() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (leaving, leaving_id, _) = test.join(true, &name);
    let (staying, _, _) = test.join(true, &name);
    test.server.disconnected(leaving);
    let left = test.outputs();
    assert_eq!(sent_to(&left, host), [Message::new(Kind::PeerDisconnect, leaving_id, "")]);
    assert_eq!(sent_to(&left, staying), [Message::new(Kind::PeerDisconnect, leaving_id, "")]);

    let (host, name) = test.host(false);
    let (leaving, leaving_id, _) = test.join(false, &name);
    let (staying, _, _) = test.join(false, &name);
    test.server.disconnected(leaving);
    let left = test.outputs();
    assert_eq!(sent_to(&left, host), [Message::new(Kind::PeerDisconnect, leaving_id, "")]);
    assert_eq!(sent_to(&left, staying), [], "in client/server, clients do not know each other");
}

#[test]
fn the_host_leaving_ends_the_lobby_and_closes_its_members() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    let (first, _, _) = test.join(true, &name);
    let (second, _, _) = test.join(true, &name);
    test.server.disconnected(host);
    assert_eq!(
        test.outputs(),
        [
            Output::Close { client: first, reason: SignalingError::HostLeft },
            Output::Close { client: second, reason: SignalingError::HostLeft },
        ],
        "members are closed, not told about each other leaving"
    );
    let (late, _, outputs) = test.join(true, &name);
    assert_eq!(closed(&outputs, late), Some(SignalingError::NoSuchLobby));
}
