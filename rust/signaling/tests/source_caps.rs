//! The caps per source address and on handshakes, on the real server binary: clients and lobbies
//! per address, connections still in their handshake (per address and in all: past the cap a TCP
//! connection is closed at once), and a trusted proxy's forwarded address (the last hop of
//! X-Forwarded-For, read only when the TCP peer is that proxy).

mod common;

use std::time::Duration;

use common::{join, next, tcp, Server, Ws};
use signaling::protocol::{Kind, Message};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// What every figure line starts with.
const PREFIX: &str = "signaling source caps:";
/// One network step.
const STEP: Duration = Duration::from_secs(5);
/// The join timeout the servers here run with: the handshakes held open must outlast the test's
/// steps (a connection refused at once ends within a step).
const JOIN_TIMEOUT: &str = "30";

/// A WebSocket to `server` whose handshake carries `X-Forwarded-For: forwarded_for`.
async fn connect_forwarded(server: &Server, forwarded_for: &str) -> Ws {
    handshake_forwarded(server, tcp(server.address).await, forwarded_for).await
}

/// The WebSocket handshake over `stream`, with `X-Forwarded-For: forwarded_for`.
async fn handshake_forwarded(server: &Server, stream: TcpStream, forwarded_for: &str) -> Ws {
    handshake_with_header(server, stream, "X-Forwarded-For", forwarded_for).await
}

/// The WebSocket handshake over `stream`, with the header `name: value`.
async fn handshake_with_header(server: &Server, stream: TcpStream, name: &'static str, value: &str) -> Ws {
    let mut request = format!("ws://{}", server.address).into_client_request().expect("a request");
    request.headers_mut().insert(name, HeaderValue::from_str(value).expect("a header value"));
    timeout(STEP, tokio_tungstenite::client_async(request, stream))
        .await
        .expect("a handshake within the step")
        .expect("a handshake")
        .0
}

/// Whether the server closed `stream` (end of stream or reset) within a step, having sent
/// nothing.
async fn closed_at_once(stream: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    matches!(timeout(STEP, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}

/// A client's JOIN creating a lobby is answered, or refused with this reason.
async fn create_lobby(ws: &mut Ws) -> Result<String, String> {
    common::send(ws, Message::new(Kind::Join, 0, "")).await;
    let id = next(ws).await?;
    assert_eq!(id.kind, Kind::Id);
    loop {
        let message = next(ws).await?;
        if message.kind == Kind::Join {
            return Ok(message.data);
        }
    }
}

#[tokio::test]
async fn clients_and_lobbies_per_address_are_capped() {
    let mut server = Server::start(
        &["--max-clients-per-source", "3", "--max-lobbies-per-source", "1", "--join-timeout", JOIN_TIMEOUT],
        |_| {},
    );
    let mut first = server.connect().await;
    let lobby = create_lobby(&mut first).await.expect("the first lobby");
    let mut second = server.connect().await;
    assert_eq!(create_lobby(&mut second).await, Err("closed: too many lobbies from your address".into()));
    let mut second = server.connect().await;
    join(&mut second, &lobby).await;
    let mut third = server.connect().await;
    // Joined, so that the server counts it before the fourth finishes its handshake.
    join(&mut third, &lobby).await;
    let mut fourth = server.connect().await;
    assert_eq!(next(&mut fourth).await, Err("closed: too many connections from your address".into()));
    drop(third.close(None).await);
    // Its end reaches the server; then there is room for one more.
    let mut replaced = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut again = server.connect().await;
        if timeout(Duration::from_millis(200), next(&mut again)).await.is_err() {
            join(&mut again, &lobby).await;
            replaced = true;
            break;
        }
    }
    assert!(replaced, "a client left: room for another");
    server.assert_alive("at the end");
}

#[tokio::test]
async fn past_the_handshake_caps_tcp_connections_are_closed_at_once() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let lines = std::sync::Arc::clone(&log);
    let mut server =
        Server::start(&["--max-handshakes-per-source", "2", "--join-timeout", JOIN_TIMEOUT], move |line| {
            common::lock(&lines).push(line.to_owned())
        });
    // Two connections that have not started their handshake hold this address's share.
    let mut held = vec![tcp(server.address).await, tcp(server.address).await];
    let mut third = tcp(server.address).await;
    assert!(closed_at_once(&mut third).await, "past the per-source cap");
    // One finishes its handshake: room for another.
    let first = held.remove(0);
    let mut opened = common::handshake(server.address, first).await;
    // Joined, so that the server has counted its handshake as done.
    join(&mut opened, "").await;
    let fourth = tcp(server.address).await;
    for stream in [held.remove(0), fourth] {
        let mut ws = common::handshake(server.address, stream).await;
        join(&mut ws, "").await;
    }
    // The next connection accepted logs the refusal (the server writes its log as it goes).
    let deadline = std::time::Instant::now() + STEP;
    let refusals = loop {
        let refusals: Vec<String> =
            common::lock(&log).iter().filter(|line| line.contains("at once")).cloned().collect();
        if !refusals.is_empty() || std::time::Instant::now() > deadline {
            break refusals;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refusals.len(), 1, "{:?}", common::lock(&log));
    assert!(refusals[0].ends_with("refused 1 connections at once (too many in their handshake)"), "{refusals:?}");
    server.assert_alive("at the end");
}

#[tokio::test]
async fn past_the_total_handshake_cap_even_a_trusted_proxys_connections_are_closed_at_once() {
    let mut server = Server::start(
        &["--trusted-proxy", "127.0.0.1", "--max-handshakes", "2", "--join-timeout", JOIN_TIMEOUT],
        |_| {},
    );
    let held = [tcp(server.address).await, tcp(server.address).await];
    let mut third = tcp(server.address).await;
    assert!(closed_at_once(&mut third).await, "past the total cap");
    for stream in held {
        let mut ws = handshake_forwarded(&server, stream, "198.51.100.1").await;
        join(&mut ws, "").await;
    }
    server.assert_alive("at the end");
}

#[tokio::test]
async fn a_trusted_proxys_clients_are_counted_by_the_address_it_forwards() {
    let mut server = Server::start(
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--max-clients-per-source",
            "2",
            "--max-handshakes-per-source",
            "1",
            "--join-timeout",
            JOIN_TIMEOUT,
        ],
        |_| {},
    );
    // The proxy itself is not held to the per-source handshake cap: three at once.
    let streams = [tcp(server.address).await, tcp(server.address).await, tcp(server.address).await];
    let mut clients = Vec::new();
    for (stream, client) in streams.into_iter().zip(["198.51.100.1", "198.51.100.1", "198.51.100.2"]) {
        clients.push(handshake_forwarded(&server, stream, client).await);
    }
    for ws in &mut clients {
        join(ws, "").await;
    }
    // A third client of 198.51.100.1 is one too many.
    let mut third = connect_forwarded(&server, "198.51.100.1").await;
    assert_eq!(next(&mut third).await, Err("closed: too many connections from your address".into()));
    // Only the last hop (the one the proxy appended) counts: what a client wrote before it is
    // not believed.
    let mut spoofing = connect_forwarded(&server, "198.51.100.2, 198.51.100.1").await;
    assert_eq!(next(&mut spoofing).await, Err("closed: too many connections from your address".into()));
    let mut honest = connect_forwarded(&server, "198.51.100.1, 198.51.100.3").await;
    join(&mut honest, "").await;
    server.assert_alive("at the end");
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let mut server = Server::start(&["--max-clients-per-source", "1", "--join-timeout", JOIN_TIMEOUT], |_| {});
    let mut first = connect_forwarded(&server, "198.51.100.1").await;
    join(&mut first, "").await;
    let mut second = connect_forwarded(&server, "198.51.100.2").await;
    assert_eq!(
        next(&mut second).await,
        Err("closed: too many connections from your address".into()),
        "both are 127.0.0.1, whatever they say"
    );
    server.assert_alive("at the end");
}

#[tokio::test]
async fn an_address_guessing_lobby_names_runs_out_of_joins_by_name() {
    let mut server = Server::start(&["--max-join-misses-per-hour", "1"], |_| {});
    let mut host = server.connect().await;
    let lobby = join(&mut host, "").await.lobby;
    // The burst of 10 misses, each on a new connection as a stranger would make them.
    for guess in [
        "AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE", "FFFFFFFF", "GGGGGGGG", "HHHHHHHH", "JJJJJJJJ",
        "KKKKKKKK",
    ] {
        let mut guesser = server.connect().await;
        common::send(&mut guesser, Message::new(Kind::Join, 0, guess)).await;
        assert_eq!(next(&mut guesser).await, Err("closed: the lobby does not exist".into()), "{guess}");
    }
    // Then even the right name is refused, and says nothing about the lobby.
    let mut guesser = server.connect().await;
    common::send(&mut guesser, Message::new(Kind::Join, 0, &lobby)).await;
    let refused = next(&mut guesser).await;
    assert_eq!(refused, Err("closed: too many joins to lobbies that do not exist from your address".into()));
    // Creating a lobby is no guess.
    let mut creator = server.connect().await;
    join(&mut creator, "").await;
    server.assert_alive("at the end");
}

#[tokio::test]
async fn a_proxy_writing_forwarded_is_read_from_that_header_only() {
    let mut server = Server::start(
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--proxy-header",
            "forwarded",
            "--max-clients-per-source",
            "1",
            "--join-timeout",
            JOIN_TIMEOUT,
        ],
        |_| {},
    );
    let connect = |name: &'static str, value: &'static str| {
        let server = &server;
        async move { handshake_with_header(server, tcp(server.address).await, name, value).await }
    };
    let mut v4 = connect("Forwarded", "for=198.51.100.1;proto=https").await;
    join(&mut v4, "").await;
    let mut v6 = connect("Forwarded", "for=203.0.113.7, for=\"[2001:db8:1:2::1]:4711\"").await;
    join(&mut v6, "").await;
    let mut same_64 = connect("Forwarded", "for=\"[2001:db8:1:2:ffff::9]\"").await;
    assert_eq!(next(&mut same_64).await, Err("closed: too many connections from your address".into()), "one /64");
    // X-Forwarded-For is not the header this proxy writes: such clients count as the proxy.
    let mut first = connect("X-Forwarded-For", "198.51.100.8").await;
    join(&mut first, "").await;
    let mut second = connect("X-Forwarded-For", "198.51.100.9").await;
    assert_eq!(next(&mut second).await, Err("closed: too many connections from your address".into()));
    server.assert_alive("at the end");
}
