//! Shared lobbies: what the state machine asks of the directory, and what it does with the
//! directory's events (handed to it here by hand, as the pump would from Redis).

use super::*;
use crate::directory::{Event, Request};

/// A peer id another instance's client gets.
const ELSEWHERE: i64 = 5;

fn shared() -> Harness {
    Harness { server: Signaling::with_shared_lobbies(limits()).with_seed(SEED), now: Instant::now() }
}

impl Harness {
    /// Every request waiting, in order.
    fn requests(&mut self) -> Vec<Request> {
        std::iter::from_fn(|| self.server.poll_request()).take(10_000).collect()
    }

    /// The directory's event; what the server does about it.
    fn event(&mut self, event: Event) -> Vec<Output> {
        self.server.directory_event(event);
        self.outputs()
    }

    /// A client of ours creates a lobby, and the directory confirms it: the client and the name.
    fn shared_host(&mut self, mesh: bool) -> (ClientId, String) {
        let client = self.connect();
        let outputs = self.send(client, Message::new(Kind::Join, if mesh { 0 } else { 1 }, ""));
        assert_eq!(outputs, [], "nothing is decided before the directory answers");
        let (ticket, lobby) = match self.requests().as_slice() {
            [Request::Watch { lobby: watched }, Request::Create { ticket, lobby, mesh: asked }] => {
                assert_eq!((watched, *asked), (lobby, mesh));
                (*ticket, lobby.clone())
            }
            other => panic!("{other:?}"),
        };
        let joined = self.event(Event::Joined {
            lobby: lobby.clone(),
            peer_id: HOST_ID,
            ticket: Some(ticket),
            mesh,
            members: vec![],
        });
        assert_eq!(lobby_joined(&joined, client), Some(lobby.clone()));
        (client, lobby)
    }

    /// A client of ours joins `lobby`, the directory gives it `peer_id` after `members`: the
    /// client and what happened.
    fn shared_join(&mut self, lobby: &str, peer_id: i64, members: &[i64]) -> (ClientId, Vec<Output>) {
        let client = self.connect();
        self.send(client, Message::new(Kind::Join, 0, lobby));
        let ticket = self
            .requests()
            .into_iter()
            .find_map(|request| match request {
                Request::Join { ticket, lobby: asked, candidates, max_peers } => {
                    assert_eq!((asked.as_str(), candidates.len(), max_peers), (lobby, 8, limits().max_lobby_peers));
                    assert!(candidates.iter().all(|id| (2..=i64::from(i32::MAX)).contains(id)));
                    Some(ticket)
                }
                _ => None,
            })
            .expect("a join request");
        let event =
            Event::Joined { lobby: lobby.into(), peer_id, ticket: Some(ticket), mesh: true, members: members.to_vec() };
        (client, self.event(event))
    }

    /// Another instance's client joins `lobby` as `peer_id`.
    fn elsewhere_joins(&mut self, lobby: &str, peer_id: i64, members: &[i64]) -> Vec<Output> {
        self.event(Event::Joined { lobby: lobby.into(), peer_id, ticket: None, mesh: true, members: members.to_vec() })
    }
}

#[test]
fn a_join_is_decided_by_the_directory_and_told_when_its_event_comes_back() {
    let mut test = shared();
    let (host, lobby) = test.shared_host(true);
    assert_eq!(lobby.len(), 8);
    let told = test.elsewhere_joins(&lobby, ELSEWHERE, &[1]);
    assert_eq!(told, [Output::Send { client: host, message: Message::new(Kind::PeerConnect, ELSEWHERE, "") }]);

    let (guest, outputs) = test.shared_join(&lobby, 9, &[1, ELSEWHERE]);
    let to_guest: Vec<_> = sent_to(&outputs, guest).iter().map(|m| (m.kind, m.id)).collect();
    assert_eq!(to_guest, [(Kind::Id, 9), (Kind::PeerConnect, 1), (Kind::PeerConnect, ELSEWHERE), (Kind::Join, 0)]);
    assert_eq!(sent_to(&outputs, host), [Message::new(Kind::PeerConnect, 9, "")]);
    assert!(outputs.contains(&Output::Joined { client: guest, lobby: lobby.clone(), peer_id: 9 }));
    assert_eq!(test.requests(), [], "the lobby is watched already");
}

#[test]
fn a_view_starts_from_the_members_in_the_first_joined_event() {
    let mut test = shared();
    let (guest, outputs) = test.shared_join("ABCDEFGH", 9, &[1, ELSEWHERE]);
    let to_guest: Vec<_> = sent_to(&outputs, guest).iter().map(|m| (m.kind, m.id)).collect();
    assert_eq!(to_guest, [(Kind::Id, 9), (Kind::PeerConnect, 1), (Kind::PeerConnect, ELSEWHERE), (Kind::Join, 0)]);
    let outputs = test.send(guest, Message::new(Kind::Offer, 1, "sdp"));
    assert_eq!(outputs, [], "the host is elsewhere");
    let relay = Request::Relay { lobby: "ABCDEFGH".into(), to: 1, message: Message::new(Kind::Offer, 9, "sdp") };
    assert_eq!(test.requests(), [relay]);
}

#[test]
fn relays_go_straight_to_our_clients_and_through_the_directory_to_others() {
    let mut test = shared();
    let (host, lobby) = test.shared_host(true);
    test.elsewhere_joins(&lobby, ELSEWHERE, &[1]);
    let (guest, _) = test.shared_join(&lobby, 9, &[1, ELSEWHERE]);

    let outputs = test.send(host, Message::new(Kind::Offer, 9, "to-guest"));
    let expected = Message::new(Kind::Offer, 1, "to-guest");
    assert_eq!(outputs, [Output::Relay { client: guest, from: Some(host), message: expected }]);
    assert_eq!(test.requests(), []);
    test.send(host, Message::new(Kind::Offer, ELSEWHERE, "away"));
    let relay = Request::Relay { lobby: lobby.clone(), to: ELSEWHERE, message: Message::new(Kind::Offer, 1, "away") };
    assert_eq!(test.requests(), [relay]);

    let answer = Message::new(Kind::Answer, ELSEWHERE, "answer");
    let outputs = test.event(Event::Relayed { lobby: lobby.clone(), to: HOST_ID, message: answer.clone() });
    assert_eq!(outputs, [Output::Relay { client: host, from: None, message: answer.clone() }]);
    let outputs = test.event(Event::Relayed { lobby: lobby.clone(), to: ELSEWHERE, message: answer });
    assert_eq!(outputs, [], "a relay for a member elsewhere is not ours to deliver");

    let outputs = test.send(guest, Message::new(Kind::Offer, 77, "nobody"));
    assert_eq!(closed(&outputs, guest), Some(SignalingError::NoSuchPeer(77)));
}

#[test]
fn leaves_and_seals_are_told_when_the_directory_says_so() {
    let mut test = shared();
    let (host, lobby) = test.shared_host(true);
    let (guest, _) = test.shared_join(&lobby, 9, &[1]);
    test.elsewhere_joins(&lobby, ELSEWHERE, &[1, 9]);

    test.server.disconnected(guest);
    assert_eq!(test.outputs(), [], "the leave waits for the directory");
    assert_eq!(test.requests(), [Request::Leave { lobby: lobby.clone(), peer_id: 9 }]);
    let outputs = test.send(host, Message::new(Kind::Candidate, 9, "late"));
    assert_eq!(outputs, [], "until then a message to it is not an error");
    test.requests();
    let outputs = test.event(Event::Left { lobby: lobby.clone(), peer_id: 9 });
    assert_eq!(outputs, [Output::Send { client: host, message: Message::new(Kind::PeerDisconnect, 9, "") }]);
    let outputs = test.event(Event::Left { lobby: lobby.clone(), peer_id: ELSEWHERE });
    assert_eq!(sent_to(&outputs, host), [Message::new(Kind::PeerDisconnect, ELSEWHERE, "")]);

    let (member, _) = test.shared_join(&lobby, 11, &[1]);
    let outputs = test.send(member, Message::new(Kind::Seal, 0, ""));
    assert_eq!(closed(&outputs, member), Some(SignalingError::NotHost));
    test.requests();
    test.event(Event::Left { lobby: lobby.clone(), peer_id: 11 });
    assert_eq!(test.send(host, Message::new(Kind::Seal, 0, "")), []);
    assert_eq!(test.requests(), [Request::Seal { lobby: lobby.clone() }]);
    let outputs = test.event(Event::Sealed { lobby: lobby.clone() });
    assert_eq!(outputs, [Output::Send { client: host, message: Message::new(Kind::Seal, 0, "") }]);

    test.server.disconnected(host);
    assert_eq!(
        test.requests(),
        [Request::Close { lobby: lobby.clone() }, Request::Unwatch { lobby }],
        "the host leaving ends the lobby; no client of ours is left in it"
    );
}

#[test]
fn a_lobby_the_directory_closes_closes_our_members() {
    let mut test = shared();
    let (first, _) = test.shared_join("ABCDEFGH", 9, &[1]);
    let (second, _) = test.shared_join("ABCDEFGH", 10, &[1, 9]);
    test.requests();
    let outputs = test.event(Event::Closed { lobby: "ABCDEFGH".into() });
    assert_eq!(
        outputs,
        [
            Output::Close { client: first, reason: SignalingError::HostLeft },
            Output::Close { client: second, reason: SignalingError::HostLeft },
        ]
    );
    assert_eq!(test.requests(), [Request::Unwatch { lobby: "ABCDEFGH".into() }], "no leave for a lobby that is gone");
}

#[test]
fn a_client_the_directory_dropped_is_closed() {
    let mut test = shared();
    let (host, lobby) = test.shared_host(true);
    let (guest, _) = test.shared_join(&lobby, 9, &[1]);
    let outputs = test.event(Event::Left { lobby: lobby.clone(), peer_id: 9 });
    assert_eq!(
        outputs,
        [
            Output::Send { client: host, message: Message::new(Kind::PeerDisconnect, 9, "") },
            Output::Close { client: guest, reason: SignalingError::DirectoryLost },
        ]
    );
    assert_eq!(test.requests(), [], "the directory knows already");
}

#[test]
fn refused_joins_close_the_client_and_unknown_names_never_reach_the_directory() {
    let mut test = shared();
    let client = test.connect();
    test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
    let ticket = match test.requests().as_slice() {
        [Request::Watch { .. }, Request::Join { ticket, .. }] => *ticket,
        other => panic!("{other:?}"),
    };
    let again = test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
    assert_eq!(closed(&again, client), Some(SignalingError::AlreadyInLobby), "one JOIN at a time");
    assert_eq!(test.requests(), [], "the join in flight stays watched until answered");
    test.server.join_refused(ticket, SignalingError::LobbySealed);
    assert_eq!(test.outputs(), [], "its client is gone already");
    assert_eq!(test.requests(), [Request::Unwatch { lobby: "ABCDEFGH".into() }]);

    let client = test.connect();
    test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
    let ticket = match test.requests().as_slice() {
        [Request::Watch { .. }, Request::Join { ticket, .. }] => *ticket,
        other => panic!("{other:?}"),
    };
    test.server.join_refused(ticket, SignalingError::LobbyFull);
    assert_eq!(test.outputs(), [Output::Close { client, reason: SignalingError::LobbyFull }]);
    assert_eq!(test.requests(), [Request::Unwatch { lobby: "ABCDEFGH".into() }]);

    let (client, _, outputs) = test.join(true, "no such name, and long");
    assert_eq!(closed(&outputs, client), Some(SignalingError::NoSuchLobby));
    assert_eq!(test.requests(), []);
}

#[test]
fn a_client_gone_before_its_join_is_decided_leaves_at_once() {
    let mut test = shared();
    let client = test.connect();
    test.send(client, Message::new(Kind::Join, 0, "ABCDEFGH"));
    let ticket = match test.requests().as_slice() {
        [Request::Watch { .. }, Request::Join { ticket, .. }] => *ticket,
        other => panic!("{other:?}"),
    };
    test.advance(limits().join_timeout);
    assert_eq!(test.requests(), [], "its join is still in flight");
    let outputs = test.event(Event::Joined {
        lobby: "ABCDEFGH".into(),
        peer_id: 9,
        ticket: Some(ticket),
        mesh: true,
        members: vec![1],
    });
    assert_eq!(outputs, []);
    assert_eq!(
        test.requests(),
        [Request::Leave { lobby: "ABCDEFGH".into(), peer_id: 9 }, Request::Unwatch { lobby: "ABCDEFGH".into() }]
    );
}

#[test]
fn losing_the_directory_closes_members_and_joiners_and_asks_nothing_more() {
    let mut test = shared();
    let (host, _) = test.shared_host(true);
    let joiner = test.connect();
    test.send(joiner, Message::new(Kind::Join, 0, "ABCDEFGH"));
    let idle = test.connect();
    test.requests();
    test.server.directory_lost();
    let outputs = test.outputs();
    assert_eq!(closed(&outputs, host), Some(SignalingError::DirectoryLost));
    assert_eq!(closed(&outputs, joiner), Some(SignalingError::DirectoryLost));
    assert_eq!(closed(&outputs, idle), None, "a client in no lobby may stay until its join timeout");
    assert_eq!(test.requests(), []);
}

#[test]
fn the_lobby_limit_counts_the_lobbies_our_clients_host() {
    let mut test = Harness {
        server: Signaling::with_shared_lobbies(Limits { max_lobbies: 1, ..limits() }).with_seed(SEED),
        now: Instant::now(),
    };
    let (host, _) = test.shared_host(true);
    test.shared_join("ABCDEFGH", 9, &[1]);
    let (refused, _, outputs) = test.join(true, "");
    assert_eq!(closed(&outputs, refused), Some(SignalingError::TooManyLobbies));
    test.server.disconnected(host);
    test.requests();
    let client = test.connect();
    test.send(client, Message::new(Kind::Join, 0, ""));
    assert!(matches!(test.requests().as_slice(), [Request::Watch { .. }, Request::Create { .. }]));
}

#[test]
fn the_in_memory_server_asks_the_directory_nothing() {
    let mut test = Harness::new();
    let (host, name) = test.host(true);
    test.join(true, &name);
    test.send(host, Message::new(Kind::Seal, 0, ""));
    test.server.directory_event(Event::Closed { lobby: name });
    assert_eq!(test.outputs(), []);
    assert_eq!(test.server.poll_request(), None);
}
