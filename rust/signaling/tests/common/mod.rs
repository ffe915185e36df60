//! What the tests on the real server binary share: the binary as a child process (started on a
//! free port of 127.0.0.1, killed and reaped when dropped), its memory from `/proc`, WebSocket
//! clients to it, and sending a protocol message, reading the next one and joining a lobby, each
//! within a bound.
//!
//! A test file that has `mod common;` defines two constants at its top level, used here:
//! `STEP: Duration`, the bound on one network step (start, connect, a send, an answer), and
//! `PREFIX: &str`, what its figure lines start with. Linux only (`/proc`).

// Each test file uses only part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{Kind, Message};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

use crate::{PREFIX, STEP};

/// A client's WebSocket.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Frames read at most while waiting for one message.
const FRAMES_PER_MESSAGE: usize = 64;
/// Messages read at most while waiting for the JOIN that ends the answer to a JOIN (more than a
/// lobby's peers can be: the server's default limit is 64).
const MESSAGES_PER_JOIN: usize = 256;

/// Prints one figure line on stderr, after the test's `PREFIX`.
pub(crate) fn figure(text: impl std::fmt::Display) {
    eprintln!("{PREFIX} {text}");
}

/// Locks `mutex`, even one that a panicking thread held.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A child process that is killed and reaped when dropped.
pub(crate) struct Process {
    /// The process.
    pub(crate) child: Child,
}

impl Process {
    /// Kills it with SIGKILL and reaps it.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }

    /// Its exit code, once it exits within `within` (`None` if it runs on or was killed).
    pub(crate) fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code(),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return None,
            }
        }
        None
    }

    /// A field of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`; 0 if unreadable).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|line| line.starts_with(field)).unwrap_or_default();
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0)
    }

    /// Resident memory now, KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory so far, KiB.
    pub(crate) fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server binary as a child process.
pub(crate) struct Server {
    /// The process; dropping it kills it and waits for it.
    pub(crate) process: Process,
    /// Where it listens.
    pub(crate) address: SocketAddr,
    /// The lines on its stderr that report a panic.
    panics: Arc<Mutex<Vec<String>>>,
    /// Every line on its stderr so far.
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server on a free port of 127.0.0.1 with `args` and waits (a `STEP` at most)
    /// for the address it prints. Every line on its stdout goes to `on_stdout`; its stderr is
    /// echoed, each line prefixed `server stderr:`.
    pub(crate) fn start(args: &[&str], mut on_stdout: impl FnMut(&str) + Send + 'static) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_webrtc-mesh-signaling"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        // The guard exists before the wait, so that a server that never answers is killed too.
        let mut process = Process { child };
        let stdout = process.child.stdout.take().expect("the server's stdout");
        let stderr = process.child.stderr.take().expect("the server's stderr");
        let (address_sender, address) = std::sync::mpsc::channel();
        // Both pipes are read to their end (the server's exit) so that its writes never block.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let printed =
                    line.strip_prefix("listening on ws://").or_else(|| line.strip_prefix("listening on wss://"));
                if let Some(address) = printed {
                    let _ = address_sender.send(address.to_owned());
                }
                on_stdout(&line);
            }
        });
        let panics = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::clone(&panics);
        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let all_lines = Arc::clone(&stderr_lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("server stderr: {line}");
                if line.contains("panicked") {
                    lock(&shared).push(line.clone());
                }
                lock(&all_lines).push(line);
            }
        });
        let printed = address.recv_timeout(STEP).expect("the server prints its address");
        let address: SocketAddr = printed.parse().expect("the printed address");
        assert!(address.ip().is_loopback(), "the server listens on {address}");
        Self { process, address, panics, stderr: stderr_lines }
    }

    /// Every line on its stderr so far.
    pub(crate) fn stderr_lines(&self) -> Vec<String> {
        lock(&self.stderr).clone()
    }

    /// Panics unless the process is still running and has reported no panic; `when` says when
    /// in the test.
    pub(crate) fn assert_alive(&mut self, when: &str) {
        match self.process.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => panic!("the server exited {when}: {status}"),
            Err(error) => panic!("the server's state is unknown {when}: {error}"),
        }
        let panics = lock(&self.panics);
        assert!(panics.is_empty(), "the server panicked {when}: {panics:?}");
    }

    /// A WebSocket client connected to it.
    pub(crate) async fn connect(&self) -> Ws {
        handshake(self.address, tcp(self.address).await).await
    }
}

/// A TCP connection to `address`, within a `STEP`.
pub(crate) async fn tcp(address: SocketAddr) -> TcpStream {
    timeout(STEP, TcpStream::connect(address))
        .await
        .expect("a TCP connection within the step")
        .expect("a TCP connection")
}

/// The WebSocket handshake with the server at `address` over `stream`, within a `STEP`.
pub(crate) async fn handshake(address: SocketAddr, stream: TcpStream) -> Ws {
    let url = format!("ws://{address}");
    timeout(STEP, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("a handshake within the step")
        .expect("a handshake")
        .0
}

/// Sends a protocol message, within a `STEP`.
pub(crate) async fn send(ws: &mut Ws, message: Message) {
    timeout(STEP, ws.send(Frame::Text(message.to_json().into())))
        .await
        .expect("a send within the step")
        .expect("a send");
}

/// The next protocol message within `within`, or how the connection ended as `Err`.
pub(crate) async fn next_within(ws: &mut Ws, within: Duration) -> Result<Message, String> {
    let deadline = tokio::time::Instant::now() + within;
    for _ in 0..FRAMES_PER_MESSAGE {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Err(format!("no message within {within:?}")),
            Ok(Some(Ok(Frame::Text(text)))) => return Message::parse(text.as_str()).map_err(|error| error.to_string()),
            Ok(Some(Ok(Frame::Close(frame)))) => {
                return Err(format!("closed: {}", frame.map(|frame| frame.reason.to_string()).unwrap_or_default()))
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(None) => return Err("ended".into()),
        }
    }
    Err(format!("{FRAMES_PER_MESSAGE} frames without a message"))
}

/// The next protocol message within a `STEP`, or how the connection ended as `Err`.
pub(crate) async fn next(ws: &mut Ws) -> Result<Message, String> {
    next_within(ws, STEP).await
}

/// The answer to a JOIN.
#[derive(Debug, Clone)]
pub(crate) struct Joined {
    /// The peer id the server gave.
    pub(crate) peer_id: i64,
    /// The lobby's name.
    pub(crate) lobby: String,
    /// The peers it was told about while joining, in the order told.
    pub(crate) peers: Vec<i64>,
    /// From sending the JOIN to the last message of the answer (the server's JOIN).
    pub(crate) answer: Duration,
}

/// Sends a JOIN for `lobby` ("" creates one; `mesh` as the JOIN's id 0) and reads the answer:
/// ID, a PEER_CONNECT per peer, then JOIN with the lobby's name. Anything else panics.
pub(crate) async fn join(ws: &mut Ws, lobby: &str) -> Joined {
    send(ws, Message::new(Kind::Join, 0, lobby)).await;
    let sent = Instant::now();
    let id = next(ws).await.expect("an answer to JOIN");
    assert_eq!(id.kind, Kind::Id, "{id:?}");
    let mut peers = Vec::new();
    for _ in 0..MESSAGES_PER_JOIN {
        let message = next(ws).await.expect("the rest of the answer to JOIN");
        match message.kind {
            Kind::PeerConnect => peers.push(message.id),
            Kind::Join => return Joined { peer_id: id.id, lobby: message.data, peers, answer: sent.elapsed() },
            _ => panic!("unexpected while joining: {message:?}"),
        }
    }
    panic!("no JOIN in the answer")
}

/// Sends `request` (an HTTP request head, say) on a new connection to `address` and reads until
/// the server closes it (a `STEP` at most): everything it answered, or why reading ended early.
pub(crate) async fn ask(address: SocketAddr, request: &[u8]) -> Result<String, String> {
    let mut stream = tcp(address).await;
    ask_on(&mut stream, request).await
}

/// Sends `request` on `stream` and reads until the server closes it (a `STEP` at most).
pub(crate) async fn ask_on(stream: &mut TcpStream, request: &[u8]) -> Result<String, String> {
    // The server may close before taking everything (an oversized head): a failed write is no
    // failure here, the answer and the close are what is judged.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    match timeout(STEP, stream.read_to_end(&mut answer)).await {
        Err(_) => Err(format!("not closed within {STEP:?}; read {answer:?}")),
        Ok(Err(error)) if answer.is_empty() => Err(error.to_string()),
        Ok(_) => Ok(String::from_utf8_lossy(&answer).into_owned()),
    }
}

/// The status code of an HTTP answer.
pub(crate) fn status(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or_default()
}
