//! The server over real WebSockets on 127.0.0.1: a lobby formed and relayed through, and
//! hostile clients closed without disturbing it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webrtc_mesh_signaling::lobby::Limits;
use webrtc_mesh_signaling::protocol::{Kind, Message};
use webrtc_mesh_signaling::server::{serve, Config};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn start() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = Config {
        limits: Limits::default(),
        max_frame_size: 1024,
        idle_timeout: Duration::from_secs(3),
        join_timeout: Duration::from_millis(800),
        max_messages_per_second: 20,
    };
    tokio::spawn(serve(listener, config));
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
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), client.next()).await.expect("no frame within 5 s");
        match frame {
            Some(Ok(Frame::Text(text))) => return Ok(Message::parse(text.as_str()).unwrap()),
            Some(Ok(Frame::Close(frame))) => return Err(frame.map(|f| f.reason.to_string()).unwrap_or_default()),
            Some(Ok(_)) => continue,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err("ended".into()),
        }
    }
}

async fn join(url: &str, lobby: &str) -> (Client, i64, String) {
    let mut client = connect(url).await;
    send(&mut client, Message::new(Kind::Join, 0, lobby)).await;
    let id = next(&mut client).await.unwrap();
    assert_eq!(id.kind, Kind::Id);
    loop {
        let message = next(&mut client).await.unwrap();
        if message.kind == Kind::Join {
            return (client, id.id, message.data);
        }
    }
}

#[tokio::test]
async fn a_lobby_forms_relays_and_survives_hostile_clients() {
    let url = start().await;
    let (mut host, host_id, lobby) = join(&url, "").await;
    assert_eq!(host_id, 1);
    let (mut guest, guest_id, joined) = join(&url, &lobby).await;
    assert_eq!(joined, lobby);
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, guest_id, "")));

    // Hostile clients, each closed with a reason.
    let mut garbage = connect(&url).await;
    garbage.send(Frame::Text("{not json".into())).await.unwrap();
    assert!(next(&mut garbage).await.unwrap_err().contains("invalid message"));

    let mut early = connect(&url).await;
    send(&mut early, Message::new(Kind::Offer, 1, "sdp")).await;
    assert!(next(&mut early).await.unwrap_err().contains("join a lobby first"));

    let (mut intruder, _, _) = join(&url, &lobby).await;
    let _ = next(&mut host).await; // its PEER_CONNECT
    let _ = next(&mut guest).await;
    send(&mut intruder, Message::new(Kind::Offer, 424242, "sdp")).await;
    assert!(next(&mut intruder).await.unwrap_err().contains("no peer 424242"));
    assert_eq!(next(&mut host).await.map(|m| m.kind), Ok(Kind::PeerDisconnect));
    let _ = next(&mut guest).await;

    let mut oversized = connect(&url).await;
    let huge = Message::new(Kind::Join, 0, "x".repeat(4096)).to_json();
    let _ = oversized.send(Frame::Text(huge.into())).await;
    assert!(next(&mut oversized).await.is_err(), "an oversized frame closes the client");

    let (mut flooder, _, _) = join(&url, "").await;
    let mut closed = None;
    for _ in 0..200 {
        if flooder.send(Frame::Text(Message::new(Kind::Seal, 0, "").to_json().into())).await.is_err() {
            break;
        }
    }
    while closed.is_none() {
        if let Err(reason) = next(&mut flooder).await {
            closed = Some(reason);
        }
    }
    assert!(closed.unwrap().contains("flooding"));

    let mut silent = connect(&url).await;
    assert!(next(&mut silent).await.unwrap_err().contains("did not join"));

    // The lobby still relays, rewritten to name the sender.
    send(&mut host, Message::new(Kind::Offer, guest_id, "offer-sdp")).await;
    assert_eq!(next(&mut guest).await, Ok(Message::new(Kind::Offer, 1, "offer-sdp")));
    send(&mut guest, Message::new(Kind::Candidate, 1, "\n0\n0\ncandidate:1")).await;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::Candidate, guest_id, "\n0\n0\ncandidate:1")));
    send(&mut host, Message::new(Kind::Seal, 0, "")).await;
    assert_eq!(next(&mut guest).await.map(|m| m.kind), Ok(Kind::Seal));
    let mut late = connect(&url).await;
    send(&mut late, Message::new(Kind::Join, 0, &lobby)).await;
    assert!(next(&mut late).await.unwrap_err().contains("sealed"));
}
