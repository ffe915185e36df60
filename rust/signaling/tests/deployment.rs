//! What a deployment relies on, on the real server binary: the health check over plain HTTP on
//! the signaling port (and that it leaves the WebSocket upgrade alone, refuses every other
//! request with a 4xx, and bounds what it reads), the binary's own `--health-check` probe (the
//! container's HEALTHCHECK), in plain `ws://` and on a port serving `wss://`, and the flags taken
//! from the environment, with the command line winning.

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ask, ask_on, figure, join, lock, status, tcp, Process, Server};
use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{Kind, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Frame;

/// What every figure line starts with.
const PREFIX: &str = "signaling deployment:";
/// One network step.
const STEP: Duration = Duration::from_secs(5);
/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_webrtc-mesh-signaling");

/// Runs the binary's `--health-check` with `args` and `env`; its exit code and stdout.
fn health_check(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let started = Instant::now();
    let Output { status, stdout, .. } = Command::new(BINARY)
        .arg("--health-check")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the probe runs");
    assert!(started.elapsed() < Duration::from_secs(10), "the probe took {:?}", started.elapsed());
    (status.code(), String::from_utf8_lossy(&stdout).into_owned())
}

#[tokio::test]
async fn the_port_answers_the_health_check_and_refuses_other_http_while_websockets_join() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&log);
    let mut server = Server::start(&["--join-timeout", "2"], move |line| lock(&lines).push(line.to_owned()));
    let address = server.address;

    let started = Instant::now();
    let healthy = ask(address, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    figure(format_args!("health check answered in {:?}: {healthy:?}", started.elapsed()));
    assert_eq!(status(&healthy), "200");
    assert!(healthy.ends_with("\r\n\r\nok\n"), "{healthy:?}");
    let head = ask(address, b"HEAD /health HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(status(&head), "200");
    assert!(head.ends_with("\r\n\r\n"), "no body to HEAD: {head:?}");

    for (request, expected) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "404"),
        (b"GET /admin HTTP/1.1\r\n\r\n", "404"),
        (b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "404"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "400"),
        (b"\0\0\0\0\0\0\0\0\r\n\r\n", "400"),
    ] {
        let answer = ask(address, request).await.unwrap();
        assert_eq!(status(&answer), expected, "{request:?} -> {answer:?}");
    }

    // A head over the limit: a 431, or a reset if the server closed with the rest unread; in
    // either case at once, not at the handshake deadline.
    let started = Instant::now();
    let oversized = format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(20 * 1024));
    let outcome = ask(address, oversized.as_bytes()).await;
    figure(format_args!(
        "a 20 KiB head: {:?} after {:?}",
        outcome.as_ref().map(|answer| status(answer)),
        started.elapsed()
    ));
    match outcome {
        Ok(answer) => assert_eq!(status(&answer), "431", "{answer:?}"),
        Err(error) => assert!(!error.contains("not closed"), "{error}"),
    }
    assert!(started.elapsed() < Duration::from_secs(1), "the oversized head took {:?}", started.elapsed());

    // A head that never ends is closed at the handshake deadline (2 s here), without an answer.
    let started = Instant::now();
    let mut slow = tcp(address).await;
    let unanswered = ask_on(&mut slow, b"GET /health HTTP/1.1\r\nX-Slow: ").await.unwrap();
    assert_eq!(unanswered, "");
    let closed_after = started.elapsed();
    figure(format_args!("an unfinished head was closed after {closed_after:?} (join timeout 2 s)"));
    assert!(closed_after >= Duration::from_millis(1500), "closed after {closed_after:?}");

    // The WebSocket upgrade works on the same port, on any path, as before.
    let mut host = server.connect().await;
    let lobby = join(&mut host, "").await;
    assert_eq!(lobby.peer_id, 1);
    let stream = tcp(address).await;
    let url = format!("ws://{address}/health");
    let (mut guest, _) = timeout(STEP, tokio_tungstenite::client_async(url, stream)).await.unwrap().unwrap();
    let joined = join(&mut guest, &lobby.lobby).await;
    assert_eq!(joined.peers, [1]);

    // The binary's own probe, as a HEALTHCHECK runs it.
    let port = address.port().to_string();
    let (code, said) = health_check(&["--port", &port], &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.starts_with("healthy"), "{said}");
    let (code, said) = health_check(&["--host", "0.0.0.0"], &[("WEBRTC_MESH_PORT", &port)]);
    assert_eq!(code, Some(0), "the probe reads the port from the environment as the server does: {said}");

    server.assert_alive("after the HTTP requests");
    drop(server);
    let (code, said) = health_check(&["--port", &port], &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.starts_with("unhealthy"), "{said}");

    let log = lock(&log).clone();
    assert!(!log.iter().any(|line| line.contains("health check")), "health checks are not logged: {log:?}");
    let refusals = log.iter().filter(|line| line.contains("refused: not a WebSocket handshake")).count();
    assert!(refusals >= 6, "the other requests are logged as refused: {log:?}");
}

#[tokio::test]
async fn a_wss_port_answers_the_health_check_in_tls_and_in_plain_text_only() {
    let directory = std::env::temp_dir().join(format!("signaling-deployment-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (certificate, key) = (directory.join("cert.pem"), directory.join("key.pem"));
    std::fs::write(&certificate, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let server =
        Server::start(&["--tls-cert", certificate.to_str().unwrap(), "--tls-key", key.to_str().unwrap()], |_| {});
    let address = server.address;

    let healthy = ask(address, b"GET /health HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(status(&healthy), "200", "{healthy:?}");
    let upgrade = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let refused = ask(address, upgrade).await.unwrap();
    assert_eq!(status(&refused), "400", "no plain-text WebSocket on a wss:// port: {refused:?}");

    // In TLS (a client trusting this certificate): the health check and a wss:// join.
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name.clone(), tcp(address).await).await.unwrap();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = timeout(STEP, tls.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status(&answer), "200", "{answer:?}");
    let tls = connector.connect(name, tcp(address).await).await.unwrap();
    let url = format!("wss://localhost:{}", address.port());
    let (mut client, _) = timeout(STEP, tokio_tungstenite::client_async(url, tls)).await.unwrap().unwrap();
    client.send(Frame::Text(Message::new(Kind::Join, 0, "").to_json().into())).await.unwrap();
    let frame = timeout(STEP, client.next()).await.unwrap().unwrap().unwrap();
    let id = Message::parse(frame.to_text().unwrap()).unwrap();
    assert_eq!(id.kind, Kind::Id, "the wss:// client joins: {id:?}");

    let (code, said) = health_check(&["--port", &address.port().to_string()], &[]);
    assert_eq!(code, Some(0), "the probe needs no certificate: {said}");
    drop(server);
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn flags_come_from_the_environment_and_the_command_line_wins() {
    // Two free ports, released just before the servers take them.
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (from_env, from_command_line) = (free_port(), free_port());
    let env_port = from_env.to_string();
    let environment = [
        ("WEBRTC_MESH_HOST", "127.0.0.1"),
        ("WEBRTC_MESH_PORT", env_port.as_str()),
        ("WEBRTC_MESH_TURN_SECRET", "s3cret"),
        ("WEBRTC_MESH_TURN_URL", "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349?transport=tcp"),
        ("WEBRTC_MESH_TURN_TTL", "600"),
    ];
    let first_line = |args: &[&str]| {
        let child = Command::new(BINARY)
            .args(args)
            .envs(environment)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut process = Process { child };
        let mut stdout = process.child.stdout.take().unwrap();
        // Two lines (the TURN line, then the address) come at once; the process is killed after.
        let deadline = Instant::now() + STEP;
        let mut printed = String::new();
        let mut buffer = [0u8; 512];
        while !printed.contains("listening on") && Instant::now() < deadline {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(count) => printed.push_str(&String::from_utf8_lossy(&buffer[..count])),
            }
        }
        process.kill();
        printed
    };
    let printed = first_line(&[]);
    assert!(printed.contains("TURN credentials for 2 URL(s), valid 600 s"), "{printed}");
    assert!(!printed.contains("s3cret"), "the secret in the log: {printed}");
    assert!(printed.contains(&format!("listening on ws://127.0.0.1:{from_env}")), "{printed}");
    let command_line_port = from_command_line.to_string();
    let printed = first_line(&["--port", &command_line_port, "--turn-ttl", "900"]);
    assert!(printed.contains("valid 900 s"), "{printed}");
    assert!(printed.contains(&format!("listening on ws://127.0.0.1:{from_command_line}")), "{printed}");

    // A value from the environment is checked as one from the command line.
    let Output { status, stderr, .. } =
        Command::new(BINARY).env("WEBRTC_MESH_TURN_TTL", "5").stdin(Stdio::null()).output().unwrap();
    assert_eq!(status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(stderr.contains("--turn-ttl"), "{stderr}");
    // --help names every variable, and shows the values set but the secrets' (the TURN secret,
    // and the Redis URL, which may hold a password).
    let redis_url = "redis://:passw0rd@redis.example.org:6379/0";
    let help =
        Command::new(BINARY).arg("--help").envs(environment).env("WEBRTC_MESH_REDIS", redis_url).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for variable in ["WEBRTC_MESH_PORT", "WEBRTC_MESH_TLS_CERT", "WEBRTC_MESH_TURN_SECRET", "WEBRTC_MESH_REDIS"] {
        assert!(help.contains(&format!("env: {variable}")), "{variable} in --help:\n{help}");
    }
    assert!(help.contains(&format!("[env: WEBRTC_MESH_PORT={env_port}]")), "values are shown:\n{help}");
    assert!(!help.contains("s3cret") && !help.contains("passw0rd"), "a secret in --help:\n{help}");
}
