//! `wss://` served directly, on the real server binary: the test makes two private certificate
//! authorities and server certificates signed by them (rcgen), starts the server with one pair,
//! and connects with clients (rustls) that trust only one authority each. The client trusting
//! the server's authority joins a lobby; one trusting another authority, or none (plain `ws://`),
//! gets no further than the handshake. After the files are replaced and the server gets SIGHUP,
//! new connections see the new certificate while the open ones go on; files that cannot be
//! served keep the certificate in use, and the server says why.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{figure, lock, Server};
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use signaling::protocol::{Kind, Message};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

/// What every figure line starts with.
const PREFIX: &str = "signaling tls:";
/// One network step.
const STEP: Duration = Duration::from_secs(5);
/// The name in the server certificates, which the clients check.
const SERVER_NAME: &str = "localhost";

/// TLS clients held at the end, for the figures (a lobby takes 64 peers by default).
const HELD_TLS_CLIENTS: usize = 48;

/// A client's WebSocket over TLS.
type Wss = WebSocketStream<TlsStream<TcpStream>>;

/// A private certificate authority.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("a CA key");
        Self { issuer: CertifiedIssuer::self_signed(params, key).expect("a CA certificate") }
    }

    /// A certificate for [`SERVER_NAME`] signed by this authority, and its key, both PEM.
    fn server_certificate(&self) -> (String, String) {
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).expect("server parameters");
        let certificate = params.signed_by(&key, &self.issuer).expect("a server certificate");
        (certificate.pem(), key.serialize_pem())
    }

    /// A client configuration that trusts this authority and nothing else.
    fn client(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).expect("the CA certificate is a root");
        let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    }
}

/// A directory of the test's own, removed at the end.
struct Files {
    directory: PathBuf,
}

impl Files {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let directory = std::env::temp_dir().join(format!("signaling-tls-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&directory).expect("a temporary directory");
        Self { directory }
    }

    fn certificate(&self) -> PathBuf {
        self.directory.join("server.pem")
    }

    fn key(&self) -> PathBuf {
        self.directory.join("server.key")
    }

    /// Writes a certificate and key (replacing each file whole, as a renewal tool does).
    fn write(&self, (certificate, key): &(String, String)) {
        for (path, text) in [(self.certificate(), certificate), (self.key(), key)] {
            let staged = path.with_extension("new");
            std::fs::write(&staged, text).expect("write a PEM file");
            std::fs::rename(&staged, &path).expect("replace a PEM file");
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// A WebSocket over TLS to `server` with `connector`, and the certificate the server showed; or
/// why the TLS handshake failed.
async fn connect(server: &Server, connector: &TlsConnector) -> Result<(Wss, CertificateDer<'static>), String> {
    let tcp = common::tcp(server.address).await;
    let name = ServerName::try_from(SERVER_NAME).expect("a server name");
    let tls = timeout(STEP, connector.connect(name, tcp))
        .await
        .expect("a TLS handshake within the step")
        .map_err(|error| error.to_string())?;
    let shown = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).cloned().expect("a certificate");
    let url = format!("wss://{SERVER_NAME}:{}", server.address.port());
    let (ws, _) = timeout(STEP, tokio_tungstenite::client_async(url, tls))
        .await
        .expect("a WebSocket handshake within the step")
        .expect("a WebSocket handshake");
    Ok((ws, shown))
}

/// The next protocol message within a step, or how the connection ended.
async fn next(ws: &mut Wss) -> Result<Message, String> {
    for _ in 0..16 {
        match timeout(STEP, ws.next()).await {
            Err(_) => return Err("nothing within the step".into()),
            Ok(Some(Ok(Frame::Text(text)))) => return Message::parse(text.as_str()).map_err(|error| error.to_string()),
            Ok(Some(Ok(Frame::Close(frame)))) => return Err(format!("closed: {frame:?}")),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(None) => return Err("ended".into()),
        }
    }
    Err("16 frames without a message".into())
}

/// Sends a JOIN for `lobby` ("" creates one) and reads the answer up to the server's JOIN: the
/// peer id and the lobby's name.
async fn join(ws: &mut Wss, lobby: &str) -> (i64, String) {
    let join = Message::new(Kind::Join, 0, lobby).to_json();
    timeout(STEP, ws.send(Frame::Text(join.into()))).await.expect("a send within the step").expect("a send");
    let id = next(ws).await.expect("an ID");
    assert_eq!(id.kind, Kind::Id);
    // An ID, a PEER_CONNECT per member (64 at most by default), then JOIN.
    for _ in 0..=64 {
        let message = next(ws).await.expect("the answer to JOIN");
        if message.kind == Kind::Join {
            return (id.id, message.data);
        }
    }
    panic!("no JOIN in the answer")
}

/// Sends SIGHUP to `server`.
fn hang_up(server: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.process.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -HUP");
}

/// Waits (a step at most) until `count` lines satisfying `matches` were seen.
async fn wait_for_lines(lines: impl Fn() -> Vec<String>, matches: impl Fn(&str) -> bool, count: usize) {
    let deadline = Instant::now() + STEP;
    while lines().iter().filter(|line| matches(line)).count() < count {
        assert!(Instant::now() < deadline, "no such line within the step: {:?}", lines());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn wss_with_a_private_authority_reloaded_on_sighup() {
    let (first, second) = (Authority::new("first test CA"), Authority::new("second test CA"));
    let files = Files::new();
    let first_pair = first.server_certificate();
    files.write(&first_pair);
    let stdout = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&stdout);
    let certificate = files.certificate().to_string_lossy().into_owned();
    let key = files.key().to_string_lossy().into_owned();
    let mut server =
        // The held clients at the end are all 127.0.0.1: room for them.
        Server::start(&["--tls-cert", &certificate, "--tls-key", &key, "--max-clients-per-source", "100"], move |line| {
            lock(&lines).push(line.to_owned())
        });
    let stdout_lines = || lock(&stdout).clone();
    wait_for_lines(stdout_lines, |line| line.starts_with("listening on wss://"), 1).await;

    // A client that trusts the server's authority creates a lobby.
    let (mut host, first_shown) = connect(&server, &first.client()).await.expect("a client trusting the first CA");
    let (host_id, lobby) = join(&mut host, "").await;
    assert_eq!(host_id, 1);
    // One that trusts another authority does not get past TLS.
    let refused =
        connect(&server, &second.client()).await.map(|_| ()).expect_err("a client trusting another CA is refused");
    figure(format_args!("a client trusting another authority: {refused}"));
    assert!(refused.contains("invalid peer certificate"), "{refused}");
    // Nor does plain ws://.
    let plain = tokio_tungstenite::client_async(format!("ws://{}", server.address), common::tcp(server.address).await);
    assert!(timeout(STEP, plain).await.expect("an answer within the step").is_err(), "ws:// to a wss:// server");

    // New files and SIGHUP: new connections see the new certificate; the open one goes on.
    files.write(&second.server_certificate());
    hang_up(&server);
    wait_for_lines(stdout_lines, |line| line == "SIGHUP: reloaded the certificate and key", 1).await;
    let (mut guest, shown) = connect(&server, &second.client()).await.expect("a client trusting the second CA");
    assert_ne!(shown, first_shown, "the new certificate");
    let (guest_id, _) = join(&mut guest, &lobby).await;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, guest_id, "")), "the host, still there");
    let refused =
        connect(&server, &first.client()).await.map(|_| ()).expect_err("the first CA's clients are refused now");
    assert!(refused.contains("invalid peer certificate"), "{refused}");

    // Files that cannot be served: the certificate in use stays, and the server says why.
    std::fs::write(files.key(), "not a key").expect("write");
    hang_up(&server);
    wait_for_lines(|| server.stderr_lines(), |line| line.starts_with("SIGHUP: kept the certificate in use"), 1).await;
    figure(format_args!("a bad reload: {:?}", server.stderr_lines().last()));
    let (mut late, late_shown) = connect(&server, &second.client()).await.expect("the second CA's certificate stays");
    assert_eq!(late_shown, shown);
    let (late_id, _) = join(&mut late, &lobby).await;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, late_id, "")));

    // Figures only: what TLS clients cost (TCP + TLS + WebSocket handshakes and a JOIN each).
    let before = server.process.rss_kib();
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..HELD_TLS_CLIENTS {
        let (mut ws, _) = connect(&server, &second.client()).await.expect("a TLS client");
        join(&mut ws, &lobby).await;
        held.push(ws);
    }
    let took = started.elapsed();
    let grown = server.process.rss_kib().saturating_sub(before);
    figure(format_args!(
        "{HELD_TLS_CLIENTS} TLS clients connected and joined one by one in {took:?} ({:.1} ms each); server RSS +{grown} KiB ({:.1} KiB each)",
        took.as_secs_f64() * 1000.0 / HELD_TLS_CLIENTS as f64,
        grown as f64 / HELD_TLS_CLIENTS as f64
    ));
    server.assert_alive("at the end");
}
