//! Request heads from the open internet, on the real server binary: what each is answered (the
//! health check's edges, heads at and over every limit, heads of empty lines, `HEAD` requests
//! that must get no body), and WebSocket frames sent with the upgrade request (handed to
//! tungstenite with the head, which refuses them) or right after its 101 (taken once, in order).
//! The server must stay up and report no panic throughout.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ask, figure, lock, status, tcp, Server, Ws};
use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{Kind, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

/// What every figure line starts with.
const PREFIX: &str = "signaling request heads:";
/// One network step.
const STEP: Duration = Duration::from_secs(5);
/// The server's limit on a request head, in bytes.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// The server's limit on headers.
const MAX_HEADERS: usize = 124;

/// A masked client frame (RFC 6455 5.2) of `opcode` carrying `payload`.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        length @ 0..=125 => frame.push(0x80 | length as u8),
        length => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(length).unwrap().to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(at, byte)| byte ^ mask[at % 4]));
    frame
}

/// A head of `total` bytes asking for the health check (one padding header makes up the size),
/// with `headers` headers in all.
fn health_head(total: usize, headers: usize) -> Vec<u8> {
    let mut head = b"GET /health HTTP/1.1\r\n".to_vec();
    for at in 1..headers {
        head.extend_from_slice(format!("h{at}: v\r\n").as_bytes());
    }
    let fixed = head.len() + "x-pad: \r\n\r\n".len();
    head.extend_from_slice(format!("x-pad: {}\r\n\r\n", "a".repeat(total - fixed)).as_bytes());
    assert_eq!(head.len(), total);
    head
}

#[tokio::test]
async fn hostile_heads_are_answered_within_the_limits_and_the_server_stays() {
    let mut server = Server::start(&["--join-timeout", "2"], |_| {});
    let address = server.address;

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("a query", b"GET /health?x HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(), "200"),
        ("HTTP/1.0 without Host", b"GET /health HTTP/1.0\r\n\r\n".to_vec(), "200"),
        ("line ends without CR", b"GET /health HTTP/1.1\nHost: a\n\n".to_vec(), "200"),
        ("two empty lines first", b"\r\n\r\nGET /health HTTP/1.1\r\n\r\n".to_vec(), "200"),
        ("the absolute form", b"GET http://a/health HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(), "200"),
        ("a lowercase method", b"get /health HTTP/1.1\r\n\r\n".to_vec(), "404"),
        ("a NUL in a header", b"GET /health HTTP/1.1\r\nX: a\0b\r\n\r\n".to_vec(), "400"),
        ("a NUL in the path", b"GET /hea\0lth HTTP/1.1\r\n\r\n".to_vec(), "400"),
        ("HTTP/2's preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), "400"),
        ("exactly 16 KiB", health_head(MAX_REQUEST_HEAD, 2), "200"),
        ("124 headers", health_head(2048, MAX_HEADERS), "200"),
        ("125 headers", health_head(2048, MAX_HEADERS + 1), "431"),
        ("a flood of empty lines", "\r\n".repeat(1000).into_bytes(), "431"),
    ];
    for (what, request, expected) in &cases {
        let answer = ask(address, request).await;
        figure(format_args!("{what}: {:?}", answer.as_ref().map(|answer| status(answer))));
        assert_eq!(status(&answer.unwrap_or_else(|error| panic!("{what}: {error}"))), *expected, "{what}");
    }
    // One byte over: a 431, or a reset (the server closed with the rest unread).
    let mut over = health_head(MAX_REQUEST_HEAD, 2);
    over.insert(30, b'a');
    match ask(address, &over).await {
        Ok(answer) => assert_eq!(status(&answer), "431", "{answer:?}"),
        Err(error) => assert!(!error.contains("not closed"), "{error}"),
    }

    // HEAD: no body, whatever the answer.
    for (request, expected) in [(&b"HEAD /health HTTP/1.1\r\n\r\n"[..], "200"), (b"HEAD / HTTP/1.1\r\n\r\n", "404")] {
        let answer = ask(address, request).await.unwrap();
        assert_eq!(status(&answer), expected, "{answer:?}");
        assert!(answer.ends_with("\r\n\r\n"), "a body to HEAD: {answer:?}");
    }
    server.assert_alive("after the hostile heads");
}

/// Reads the answer's head a byte at a time (nothing after it is taken), within a `STEP`; empty
/// if the server closed first.
async fn answer_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        match timeout(STEP, stream.read_u8()).await.expect("an answer within the step") {
            Ok(byte) => head.push(byte),
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn frames_sent_before_the_101_reach_tungstenite_which_refuses_them_and_after_it_are_taken() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&log);
    let mut server = Server::start(&[], move |line| lock(&lines).push(line.to_owned()));
    let address = server.address;
    let upgrade = format!(
        "GET / HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let join = client_frame(0x1, Message::new(Kind::Join, 0, "").to_json().as_bytes());

    // The upgrade and a JOIN in one write: the head reader hands both to tungstenite, which
    // refuses data after the request as it did before (RFC 6455 4.1: a client waits for the
    // 101); had the reader kept the JOIN's bytes, tungstenite would have answered 101.
    let mut stream = tcp(address).await;
    stream.write_all(&[upgrade.as_bytes(), &join].concat()).await.unwrap();
    assert_eq!(answer_head(&mut stream).await, "", "no 101 to a request with data after it");
    let deadline = Instant::now() + STEP;
    while !lock(&log).iter().any(|line| line.contains("Junk after client request")) {
        assert!(Instant::now() < deadline, "no refusal in the log: {:?}", lock(&log));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The same upgrade alone, then the JOIN and a ping once the 101 came: the JOIN's answer and
    // the pong (in either order: tungstenite answers the ping while the pump answers the JOIN),
    // then a second ping's pong as the next frame.
    let mut stream = tcp(address).await;
    stream.write_all(upgrade.as_bytes()).await.unwrap();
    let response = answer_head(&mut stream).await;
    assert_eq!(status(&response), "101", "{response}");
    stream.write_all(&[join, client_frame(0x9, b"first")].concat()).await.unwrap();
    let mut ws: Ws = WebSocketStream::from_raw_socket(stream, Role::Client, None).await;
    let mut answer = Vec::new();
    let mut ponged = false;
    while !(ponged && answer.len() == 2) {
        match timeout(STEP, ws.next()).await.expect("a frame within the step") {
            Some(Ok(Frame::Text(text))) if answer.len() < 2 => answer.push(Message::parse(text.as_str()).unwrap().kind),
            Some(Ok(Frame::Pong(payload))) if !ponged => {
                assert_eq!(&payload[..], b"first");
                ponged = true;
            }
            other => panic!("after {answer:?} (ponged: {ponged}): {other:?}"),
        }
    }
    assert_eq!(answer, [Kind::Id, Kind::Join]);
    ws.send(Frame::Ping(b"second"[..].into())).await.unwrap();
    match timeout(STEP, ws.next()).await.expect("a frame within the step") {
        Some(Ok(Frame::Pong(payload))) => assert_eq!(&payload[..], b"second"),
        other => panic!("{other:?}"),
    }
    server.assert_alive("after the pipelined frames");
}
