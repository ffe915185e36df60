//! TURN credentials: lobby members who ask get them (or an empty answer from a server without a
//! TURN secret), asking again soon gives the same ones, and asking is paid for from the message
//! budget like any message.

use super::*;
use crate::turn_credentials::{credential_for, TurnConfig, WallClock};

const SECRET: &str = "lab-secret";
const URL: &str = "turn:198.18.0.1:3478?transport=udp";
const TTL: u64 = 600;
/// The Unix time the tests' clock starts at.
const START_UNIX: u64 = 1_800_000_000;

/// A harness whose server hands out credentials, its wall clock at `START_UNIX` at the start.
fn with_turn() -> Harness {
    let mut test = Harness::new();
    let clock = WallClock { at: test.now, unix_seconds: START_UNIX };
    let server = std::mem::replace(&mut test.server, Signaling::new(limits()).with_seed(SEED));
    test.server = server.with_turn_credentials(TurnConfig::new(SECRET, vec![URL.into()], TTL), clock);
    test
}

fn request() -> Message {
    Message::new(Kind::TurnCredentials, 0, "")
}

/// The credentials in the one answer `client` got: (username, credential, ttl, urls).
fn credentials(outputs: &[Output], client: ClientId) -> (String, String, u64, Vec<String>) {
    let answers = sent_to(outputs, client);
    assert_eq!(answers.len(), 1, "{outputs:?}");
    assert_eq!((answers[0].kind, answers[0].id), (Kind::TurnCredentials, 0));
    let data: serde_json::Value = serde_json::from_str(&answers[0].data).unwrap();
    let urls = data["urls"].as_array().unwrap().iter().map(|url| url.as_str().unwrap().to_owned()).collect();
    (
        data["username"].as_str().unwrap().to_owned(),
        data["credential"].as_str().unwrap().to_owned(),
        data["ttl"].as_u64().unwrap(),
        urls,
    )
}

#[test]
fn a_member_who_asks_gets_credentials_named_after_its_peer_id_that_expire_after_the_ttl() {
    let mut test = with_turn();
    let (host, lobby) = test.host(true);
    let (guest, guest_id, _) = test.join(true, &lobby);
    test.now += Duration::from_secs(5);
    let outputs = test.send(guest, request());
    assert!(only_about(&outputs, guest), "{outputs:?}");
    let (username, credential, ttl, urls) = credentials(&outputs, guest);
    assert_eq!(username, format!("{}:{guest_id}", START_UNIX + 5 + TTL));
    assert_eq!(credential, credential_for(SECRET, &username));
    assert_eq!((ttl, urls), (TTL, vec![URL.to_owned()]));
    let (host_username, ..) = credentials(&test.send(host, request()), host);
    assert_eq!(host_username, format!("{}:1", START_UNIX + 5 + TTL));
}

#[test]
fn asking_again_gives_the_same_credentials_until_half_their_lifetime_is_spent() {
    let mut test = with_turn();
    let (host, _) = test.host(true);
    let (first, ..) = credentials(&test.send(host, request()), host);
    test.now += Duration::from_secs(TTL / 2 - 1);
    let (again, _, ttl, _) = credentials(&test.send(host, request()), host);
    assert_eq!(again, first);
    assert_eq!(ttl, TTL / 2 + 1, "the answer says how long is left");
    test.now += Duration::from_secs(1);
    let (renewed, _, ttl, _) = credentials(&test.send(host, request()), host);
    assert_eq!(renewed, format!("{}:1", START_UNIX + TTL / 2 + TTL));
    assert_eq!(ttl, TTL);
}

#[test]
fn a_server_without_a_turn_secret_answers_empty_and_keeps_the_client() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    let outputs = test.send(host, request());
    assert_eq!(outputs, [Output::Send { client: host, message: Message::new(Kind::TurnCredentials, 0, "") }]);
    assert_eq!(closed(&test.send(host, Message::new(Kind::Seal, 0, "")), host), None);
}

#[test]
fn only_members_get_credentials() {
    let mut test = with_turn();
    let client = test.connect();
    let outputs = test.send(client, request());
    assert_eq!(outputs, [Output::Close { client, reason: SignalingError::NotInLobby }]);
}

#[test]
fn requests_are_paid_from_the_message_budget() {
    let mut test = with_turn();
    let (host, _) = test.host(true);
    // The JOIN was the first of the 20 messages a client may send at once at 10 per second.
    for sent in 2..=20 {
        assert_eq!(closed(&test.send(host, request()), host), None, "request {sent}");
    }
    assert_eq!(test.send(host, request()), [Output::Close { client: host, reason: SignalingError::Flooding }]);
}
