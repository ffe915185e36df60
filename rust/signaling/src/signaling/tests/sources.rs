//! The caps per source address: connections in their handshake, clients, lobbies created.

use super::*;

fn at(address: &str) -> Source {
    Source::of(address.parse().unwrap())
}

#[test]
fn past_the_handshake_caps_new_connections_are_refused_at_once() {
    let mut test = Harness::with(Limits { max_handshakes: 3, max_handshakes_per_source: 2, ..limits() });
    let (a, b, c) = (at("192.0.2.1"), at("192.0.2.2"), at("192.0.2.3"));
    let first = test.server.accept(test.now, Some(a)).expect("a's first");
    assert!(test.server.accept(test.now, Some(a)).is_some(), "a's second");
    assert_eq!(test.server.accept(test.now, Some(a)), None, "a's third: over the per-source cap");
    assert!(test.server.accept(test.now, Some(b)).is_some(), "b is another source");
    assert_eq!(test.server.accept(test.now, Some(c)), None, "over the total cap");
    assert_eq!(test.server.accept(test.now, None), None, "a proxy's connections count in the total");
    assert_eq!(test.outputs(), [], "refused connections were never numbered");
    test.server.open(first, test.now, a);
    assert!(test.server.accept(test.now, Some(a)).is_some(), "a finished one handshake: room again");
}

#[test]
fn a_trusted_proxys_connections_are_not_held_to_the_per_source_handshake_cap() {
    let mut test = Harness::with(Limits { max_handshakes_per_source: 1, ..limits() });
    let behind_proxy: Vec<_> = (0..3).map(|_| test.server.accept(test.now, None).expect("accepted")).collect();
    for (n, client) in behind_proxy.into_iter().enumerate() {
        test.server.open(client, test.now, at(&format!("198.51.100.{n}")));
    }
    assert_eq!(test.outputs(), []);
}

#[test]
fn handshakes_that_time_out_or_fail_give_their_room_back() {
    let mut test = Harness::with(Limits { max_handshakes_per_source: 1, ..limits() });
    let a = at("192.0.2.1");
    let first = test.server.accept(test.now, Some(a)).expect("accepted");
    assert_eq!(test.server.accept(test.now, Some(a)), None);
    test.server.disconnected(first);
    let second = test.server.accept(test.now, Some(a)).expect("room again after a failed handshake");
    let outputs = test.advance(limits().join_timeout);
    assert_eq!(closed(&outputs, second), Some(SignalingError::HandshakeTimedOut));
    assert!(test.server.accept(test.now, Some(a)).is_some(), "room again after a timeout");
}

#[test]
fn past_the_per_source_client_cap_a_new_client_is_closed() {
    let mut test = Harness::with(Limits { max_clients_per_source: 2, ..limits() });
    let a = at("192.0.2.1");
    let first = test.connect_from(a);
    test.connect_from(a);
    let third = test.connect_from(a);
    let outputs = test.outputs();
    assert_eq!(closed(&outputs, third), Some(SignalingError::TooManyClientsFromSource));
    assert!(only_about(&outputs, third));
    test.connect_from(at("192.0.2.2"));
    assert_eq!(test.outputs(), [], "another source is not affected");
    test.server.disconnected(first);
    test.connect_from(a);
    assert_eq!(test.outputs(), [], "a client left: room again");
}

#[test]
fn ipv6_clients_are_counted_by_their_slash_64() {
    let mut test = Harness::with(Limits { max_clients_per_source: 2, ..limits() });
    test.connect_from(at("2001:db8:0:1::1"));
    test.connect_from(at("2001:db8:0:1::2"));
    let third = test.connect_from(at("2001:db8:0:1:ffff::3"));
    assert_eq!(closed(&test.outputs(), third), Some(SignalingError::TooManyClientsFromSource));
    test.connect_from(at("2001:db8:0:2::1"));
    assert_eq!(test.outputs(), [], "another /64");
}

#[test]
fn past_the_per_source_lobby_cap_creating_one_is_refused_but_joining_is_not() {
    let mut test = Harness::with(Limits { max_lobbies_per_source: 1, ..limits() });
    let a = at("192.0.2.1");
    let host = test.connect_from(a);
    let outputs = test.send(host, Message::new(Kind::Join, 0, ""));
    let lobby = lobby_joined(&outputs, host).expect("the first lobby");
    let second = test.connect_from(a);
    let outputs = test.send(second, Message::new(Kind::Join, 0, ""));
    assert_eq!(closed(&outputs, second), Some(SignalingError::TooManyLobbiesFromSource));
    let guest = test.connect_from(a);
    let outputs = test.send(guest, Message::new(Kind::Join, 0, &lobby));
    assert_eq!(lobby_joined(&outputs, guest), Some(lobby), "joining is not creating");
    let elsewhere = test.connect_from(at("192.0.2.2"));
    let outputs = test.send(elsewhere, Message::new(Kind::Join, 0, ""));
    assert!(lobby_joined(&outputs, elsewhere).is_some(), "another source creates its own");
    test.server.disconnected(host);
    test.outputs();
    let again = test.connect_from(a);
    let outputs = test.send(again, Message::new(Kind::Join, 0, ""));
    assert!(lobby_joined(&outputs, again).is_some(), "the lobby ended: room again");
}

#[test]
fn shared_lobbies_are_held_to_the_per_source_lobby_cap_too() {
    let mut test = Harness {
        server: Signaling::with_shared_lobbies(Limits { max_lobbies_per_source: 1, ..limits() }).with_seed(SEED),
        now: Instant::now(),
    };
    let a = at("192.0.2.1");
    let first = test.connect_from(a);
    test.send(first, Message::new(Kind::Join, 0, ""));
    assert!(matches!(test.server.poll_request(), Some(Request::Watch { .. })));
    assert!(matches!(test.server.poll_request(), Some(Request::Create { .. })));
    let second = test.connect_from(a);
    let outputs = test.send(second, Message::new(Kind::Join, 0, ""));
    assert_eq!(closed(&outputs, second), Some(SignalingError::TooManyLobbiesFromSource));
    assert_eq!(test.server.poll_request(), None);
}

#[test]
fn a_source_that_guesses_lobby_names_runs_out_of_joins_by_name() {
    let mut test = Harness::new();
    let (_, lobby) = test.host(true);
    let guesser = at("192.0.2.9");
    for n in 0..crate::join_misses::MISS_BURST {
        let client = test.connect_from(guesser);
        let outputs = test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
        assert_eq!(closed(&outputs, client), Some(SignalingError::NoSuchLobby), "miss {n}");
    }
    let client = test.connect_from(guesser);
    let outputs = test.send(client, Message::new(Kind::Join, 0, &lobby));
    assert_eq!(closed(&outputs, client), Some(SignalingError::TooManyJoinMisses), "even a right guess is refused");
    let client = test.connect_from(guesser);
    let outputs = test.send(client, Message::new(Kind::Join, 0, ""));
    assert!(lobby_joined(&outputs, client).is_some(), "creating a lobby is no guess");
    let player = test.connect_from(at("192.0.2.10"));
    let outputs = test.send(player, Message::new(Kind::Join, 0, &lobby));
    assert_eq!(lobby_joined(&outputs, player), Some(lobby.clone()), "another source is not affected");
    // 60 an hour: one more a minute later.
    test.now += Duration::from_secs(60);
    let client = test.connect_from(guesser);
    let outputs = test.send(client, Message::new(Kind::Join, 0, &lobby));
    assert_eq!(lobby_joined(&outputs, client), Some(lobby), "a right guess costs nothing");
}

#[test]
fn misses_the_shared_directory_refuses_are_charged_too() {
    let mut test = Harness { server: Signaling::with_shared_lobbies(limits()).with_seed(SEED), now: Instant::now() };
    let guesser = at("192.0.2.9");
    for _ in 0..crate::join_misses::MISS_BURST {
        let client = test.connect_from(guesser);
        test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
        let ticket = std::iter::from_fn(|| test.server.poll_request())
            .find_map(|request| match request {
                Request::Join { ticket, .. } => Some(ticket),
                _ => None,
            })
            .expect("a join request");
        test.server.join_refused(ticket, SignalingError::NoSuchLobby);
        assert_eq!(closed(&test.outputs(), client), Some(SignalingError::NoSuchLobby));
        while test.server.poll_request().is_some() {}
    }
    let client = test.connect_from(guesser);
    let outputs = test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
    assert_eq!(closed(&outputs, client), Some(SignalingError::TooManyJoinMisses));
    assert_eq!(test.server.poll_request(), None, "nothing asked of the directory");
}
