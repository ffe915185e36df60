//! The pump over real WebSockets on 127.0.0.1, end to end: two clients meet in a lobby and relay
//! an offer; an oversized frame (the one rule the WebSocket layer decides) closes its sender;
//! and a client that never joins is closed when the state machine's deadline, armed as the
//! pump's timer, passes; a lobby member asks for TURN credentials and gets them. Every rule is tested on the state machine itself, without a network.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use signaling::limits::Limits;
use signaling::protocol::{Kind, Message};
use signaling::server::{serve, Config};
use signaling::turn_credentials::{credential_for, TurnConfig};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const JOIN_TIMEOUT: Duration = Duration::from_millis(300);
const MAX_FRAME_SIZE: usize = 1024;

async fn start() -> String {
    start_with(None).await
}

/// A server on a free port of 127.0.0.1 that makes TURN credentials with `turn`; its URL.
async fn start_with(turn: Option<TurnConfig>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let limits = Limits { join_timeout: JOIN_TIMEOUT, ..Limits::default() };
    tokio::spawn(serve(listener, Config { limits, max_frame_size: MAX_FRAME_SIZE, turn, ..Config::default() }));
    format!("ws://{address}")
}

async fn connect(url: &str) -> Client {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn send(client: &mut Client, message: Message) {
    client.send(Frame::Text(message.to_json().into())).await.unwrap();
}

/// The next protocol message, or the close reason as `Err`.
async fn next(client: &mut Client) -> Result<Message, String> {
    for _ in 0..16 {
        let frame = tokio::time::timeout(Duration::from_secs(2), client.next()).await.expect("no frame within 2 s");
        match frame {
            Some(Ok(Frame::Text(text))) => return Ok(Message::parse(text.as_str()).unwrap()),
            Some(Ok(Frame::Close(frame))) => return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default()),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("ended".into()),
        }
    }
    panic!("16 frames without a message")
}

/// Connects and joins `lobby` ("" creates one): the client, its peer id, the lobby's name.
async fn join(url: &str, lobby: &str) -> (Client, i64, String) {
    let mut client = connect(url).await;
    send(&mut client, Message::new(Kind::Join, 0, lobby)).await;
    let id = next(&mut client).await.unwrap();
    assert_eq!(id.kind, Kind::Id);
    for _ in 0..16 {
        let message = next(&mut client).await.unwrap();
        if message.kind == Kind::Join {
            return (client, id.id, message.data);
        }
    }
    panic!("no JOIN answer")
}

#[tokio::test]
async fn two_clients_meet_and_relay_while_hostile_ones_are_closed() {
    let url = start().await;
    let mut silent = connect(&url).await;

    let (mut host, host_id, lobby) = join(&url, "").await;
    assert_eq!(host_id, 1);
    let (mut guest, guest_id, joined) = join(&url, &lobby).await;
    assert_eq!(joined, lobby);
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, guest_id, "")));
    send(&mut host, Message::new(Kind::Offer, guest_id, "offer-sdp")).await;
    assert_eq!(next(&mut guest).await, Ok(Message::new(Kind::Offer, 1, "offer-sdp")));

    let mut oversized = connect(&url).await;
    let huge = Message::new(Kind::Join, 0, "x".repeat(2 * MAX_FRAME_SIZE)).to_json();
    let _ = oversized.send(Frame::Text(huge.into())).await;
    let reason = next(&mut oversized).await.unwrap_err();
    assert!(reason.contains("transport error"), "{reason}");

    assert_eq!(next(&mut silent).await, Err("did not join a lobby in time".into()));
}

#[tokio::test]
async fn a_close_reason_quoting_a_long_multibyte_input_is_cut_to_123_bytes_on_a_character_boundary() {
    let url = start().await;
    let mut client = connect(&url).await;
    // The parser's error quotes the string: far over a close frame's 123 bytes, in 2-byte
    // characters that do not line up with the cut.
    let quoted = "é".repeat(400);
    client.send(Frame::Text(format!(r#"{{"type":"{quoted}","id":0}}"#).into())).await.unwrap();
    let reason = next(&mut client).await.unwrap_err();
    assert!(reason.len() <= 123 && reason.len() > 100, "{} bytes: {reason}", reason.len());
    assert!(reason.starts_with("invalid message: invalid type: string \"éé"), "{reason}");
    assert!(reason.ends_with('é'), "cut on a character boundary: {reason}");
}

#[tokio::test]
async fn two_servers_started_alike_hand_out_different_lobby_names() {
    let (one, two) = (start().await, start().await);
    let mut names = Vec::new();
    for url in [&one, &two, &one, &two] {
        let (_client, _, name) = join(url, "").await;
        assert!(name.len() == 8 && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{name}");
        names.push(name);
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
}

#[tokio::test]
async fn a_lobby_member_gets_turn_credentials_that_expire_after_the_ttl() {
    let urls = vec!["turn:127.0.0.1:3478?transport=udp".to_owned(), "turns:127.0.0.1:5349?transport=tcp".to_owned()];
    let url = start_with(Some(TurnConfig::new("websocket-test-secret", urls.clone(), 900))).await;
    let (mut host, _, _) = join(&url, "").await;
    send(&mut host, Message::new(Kind::TurnCredentials, 0, "")).await;
    let answer = next(&mut host).await.unwrap();
    assert_eq!(answer.kind, Kind::TurnCredentials);
    let data: serde_json::Value = serde_json::from_str(&answer.data).unwrap();
    let username = data["username"].as_str().unwrap();
    assert_eq!(data["credential"].as_str().unwrap(), credential_for("websocket-test-secret", username));
    assert_eq!(data["urls"], serde_json::json!(urls));
    assert_eq!(data["ttl"], 900);
    let (expiry, label) = username.split_once(':').unwrap();
    assert_eq!(label, "1");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let expiry: u64 = expiry.parse().unwrap();
    assert!((now + 900 - 60..=now + 900).contains(&expiry), "expires at {expiry}, now {now}");

    // Without a secret the answer is empty, and the client stays.
    let url = start().await;
    let (mut host, _, _) = join(&url, "").await;
    send(&mut host, Message::new(Kind::TurnCredentials, 0, "")).await;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::TurnCredentials, 0, "")));
    send(&mut host, Message::new(Kind::Seal, 0, "")).await;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::Seal, 0, "")));
}
