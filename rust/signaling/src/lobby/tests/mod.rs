use super::*;

fn sent_to(actions: &[Action], client: ClientId) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send(to, message) if *to == client => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn closed(actions: &[Action], client: ClientId) -> Option<String> {
    actions.iter().find_map(|action| match action {
        Action::Close(to, _, reason) if *to == client => Some(reason.clone()),
        _ => None,
    })
}

fn join(server: &mut Signaling, client: ClientId, mesh: bool, lobby: &str) -> Vec<Action> {
    server.connect(client);
    let id = if mesh { 0 } else { 1 };
    server.receive(client, &Message::new(Kind::Join, id, lobby).to_json())
}

fn lobby_of(actions: &[Action], client: ClientId) -> String {
    sent_to(actions, client).into_iter().find(|m| m.kind == Kind::Join).map(|m| m.data).unwrap()
}

fn id_of(actions: &[Action], client: ClientId) -> i64 {
    sent_to(actions, client).into_iter().find(|m| m.kind == Kind::Id).map(|m| m.id).unwrap()
}

#[test]
fn the_host_is_1_and_a_mesh_connects_everyone() {
    let mut server = Signaling::new(Limits::default());
    let created = join(&mut server, 1, true, "");
    assert_eq!(sent_to(&created, 1)[0], Message::new(Kind::Id, 1, "true"));
    let name = lobby_of(&created, 1);
    assert_eq!(name.len(), 8);
    let second = join(&mut server, 2, true, &name);
    let id2 = id_of(&second, 2);
    assert!(id2 >= 2);
    assert_eq!(sent_to(&second, 1), [Message::new(Kind::PeerConnect, id2, "")]);
    let third = join(&mut server, 3, true, &name);
    let id3 = id_of(&third, 3);
    let kinds: Vec<_> = sent_to(&third, 3).iter().map(|m| (m.kind, m.id)).collect();
    assert_eq!(kinds, [(Kind::Id, id3), (Kind::PeerConnect, 1), (Kind::PeerConnect, id2), (Kind::Join, 0)]);
    assert_eq!(sent_to(&third, 2), [Message::new(Kind::PeerConnect, id3, "")]);
}

#[test]
fn a_client_server_lobby_connects_clients_to_the_host_only() {
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 1, false, ""), 1);
    join(&mut server, 2, false, &name);
    let third = join(&mut server, 3, false, &name);
    assert_eq!(sent_to(&third, 2), []);
    let to_3: Vec<_> = sent_to(&third, 3).iter().map(|m| m.kind).collect();
    assert_eq!(to_3, [Kind::Id, Kind::PeerConnect, Kind::Join]);
    assert_eq!(sent_to(&third, 3)[0].data, "");
}

#[test]
fn relayed_messages_name_the_sender() {
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 10, true, ""), 10);
    let id = id_of(&join(&mut server, 20, true, &name), 20);
    let offer = server.receive(10, &Message::new(Kind::Offer, id, "sdp").to_json());
    assert_eq!(offer, [Action::Send(20, Message::new(Kind::Offer, 1, "sdp"))]);
    let candidate = server.receive(20, &Message::new(Kind::Candidate, 1, "\n0\n0\ncandidate").to_json());
    assert_eq!(candidate, [Action::Send(10, Message::new(Kind::Candidate, id, "\n0\n0\ncandidate"))]);
}

#[test]
fn sealing_is_for_the_host_and_stops_joins() {
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 1, true, ""), 1);
    join(&mut server, 2, true, &name);
    assert!(closed(&server.receive(2, &Message::new(Kind::Seal, 0, "").to_json()), 2).unwrap().contains("only the host"));
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 1, true, ""), 1);
    join(&mut server, 2, true, &name);
    let sealed = server.receive(1, &Message::new(Kind::Seal, 0, "").to_json());
    assert_eq!(sent_to(&sealed, 1), [Message::new(Kind::Seal, 0, "")]);
    assert_eq!(sent_to(&sealed, 2), [Message::new(Kind::Seal, 0, "")]);
    assert!(closed(&join(&mut server, 3, true, &name), 3).unwrap().contains("sealed"));
}

#[test]
fn leaving_is_announced_and_the_host_leaving_ends_the_lobby() {
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 1, true, ""), 1);
    let id2 = id_of(&join(&mut server, 2, true, &name), 2);
    join(&mut server, 3, true, &name);
    let left = server.disconnect(2);
    assert_eq!(sent_to(&left, 1), [Message::new(Kind::PeerDisconnect, id2, "")]);
    assert_eq!(sent_to(&left, 3), [Message::new(Kind::PeerDisconnect, id2, "")]);
    let host_left = server.disconnect(1);
    assert!(closed(&host_left, 3).unwrap().contains("host"));
    assert_eq!(server.lobby_count(), 0);
    assert!(closed(&join(&mut server, 4, true, &name), 4).unwrap().contains("does not exist"));
}

#[test]
fn hostile_messages_close_only_their_sender() {
    let mut server = Signaling::new(Limits::default());
    let name = lobby_of(&join(&mut server, 1, true, ""), 1);
    let cases: [(&str, &str); 6] = [
        ("{nope", "invalid message"),
        (r#"{"type":42,"id":0,"data":""}"#, "unknown message type"),
        (r#"{"type":4,"id":1,"data":"x"}"#, "join a lobby first"),
        (r#"{"type":2,"id":1,"data":""}"#, "join a lobby first"),
        (r#"{"type":0,"id":0,"data":"NOSUCHLOBBY"}"#, "does not exist"),
        (r#"{"type":0,"id":0,"data":""}"#, ""),
    ];
    for (index, (text, reason)) in cases.iter().enumerate() {
        let client = 100 + index as u64;
        server.connect(client);
        let actions = server.receive(client, text);
        match closed(&actions, client) {
            Some(got) => assert!(got.contains(reason), "{text}: {got}"),
            None => assert!(reason.is_empty(), "{text} should have been refused"),
        }
        assert!(actions.iter().all(|a| matches!(a, Action::Send(to, _) | Action::Close(to, _, _) if *to == client)), "{text} touched another client");
    }
    let member = 200;
    join(&mut server, member, true, &name);
    for (text, reason) in [
        (r#"{"type":0,"id":0,"data":""}"#, "already in a lobby"),
        (r#"{"type":4,"id":999,"data":"x"}"#, "no peer 999"),
        (r#"{"type":1,"id":1,"data":""}"#, "may not send"),
    ] {
        assert!(closed(&server.receive(member, text), member).unwrap().contains(reason), "{text}");
    }
}

#[test]
fn limits_hold() {
    let limits = Limits { max_clients: 2, max_lobbies: 1, max_lobby_peers: 2 };
    let mut server = Signaling::new(limits);
    let name = lobby_of(&join(&mut server, 1, true, ""), 1);
    assert!(closed(&join(&mut server, 2, true, ""), 2).unwrap().contains("too many lobbies"));
    server.disconnect(2);
    join(&mut server, 3, true, &name);
    assert!(closed(&server.connect(4), 4).unwrap().contains("full"));
    server.disconnect(3);
    server.connect(5);
    let mut server2 = Signaling::new(Limits { max_clients: 10, max_lobbies: 1, max_lobby_peers: 2 });
    let name = lobby_of(&join(&mut server2, 1, true, ""), 1);
    join(&mut server2, 2, true, &name);
    assert!(closed(&join(&mut server2, 3, true, &name), 3).unwrap().contains("lobby is full"));
}
