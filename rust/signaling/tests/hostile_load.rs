//! Hostile load on the real server binary. The server runs as a child process on 127.0.0.1 (port
//! 0, the chosen address read from its log) so that its resident memory can be read from
//! `/proc/<pid>/status`, a crash is seen as the process ending, and a panic in any of its tasks
//! is seen on its stderr. A guard kills and reaps it when the test ends, passed or failed. In
//! order:
//!
//! 1. concurrent clients join at once (a fifth create lobbies, the rest join those and send their
//!    host an offer) and stay open, reading, until the end;
//! 2. hostile clients, each of which the server must end within seconds: random binary frames,
//!    frames over the size limit (one frame, or fragments that add up), invalid UTF-8 in text
//!    frames, deeply nested JSON (100k nested arrays, and nesting that fits in a frame), huge
//!    numbers, fields of the wrong type, and raw garbage instead of a WebSocket handshake; half of
//!    the WebSocket ones join a lobby first;
//! 3. clients that never read: text floods (closed for flooding), lobby hosts sent large relays
//!    they never read (their relayers are closed: the sender pays), and ping floods whose pongs
//!    they never read; meanwhile a normal pair relays offers, and must not be slowed down;
//! 4. rapid connect/disconnect cycles, a few at a time: TCP only, handshake only, join and drop
//!    at once, join and drop after the answer, join and close properly;
//! 5. at once, a fresh two-peer lobby: A creates it, B joins, both get their ids and
//!    peer_connect, A's offer reaches B, all within 2 s.
//!
//! Then the concurrent clients must all still be open with every offer delivered, every
//! connection the test made must be over in the server's log, and the server's resident memory
//! must be back under a bound. Figures go to stderr, one per line, prefixed
//! `signaling hostile load:` (see them with `--nocapture`).
//!
//! Two modes, chosen by the environment:
//! - by default (as `cargo test --workspace` runs it): 100 concurrent clients, 16 hostile clients
//!   of each kind, 8 text flooders, 4 unread hosts, 4 ping flooders, 500 connect/disconnect
//!   cycles; a few seconds in a debug build on two cores;
//! - with `FAULTS_FULL=1`: 500 concurrent clients, 64 of each hostile kind, 40 text flooders, 20
//!   unread hosts, 20 ping flooders, 5000 cycles; meant for `--release`.
//!
//! Each client needs one file descriptor in the test and one in the server (which inherits the
//! test's limits). The test does not raise the open-file limit (that takes `libc` and unsafe
//! code); it reads the soft limit from `/proc/self/limits` and, should it be too low, holds fewer
//! concurrent clients and says so. Linux only (`/proc`).

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{figure, join, lock, next, send, Joined, Server, Ws};
use futures_util::stream::{self, StreamExt};
use futures_util::SinkExt;
use signaling::protocol::{Kind, Message, HOST_ID};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data as OpData, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as RawFrame;
use tokio_tungstenite::tungstenite::Message as Frame;

/// What every figure line starts with.
const PREFIX: &str = "signaling hostile load:";
/// The server's largest frame (its default, passed explicitly because the payloads depend on it).
const MAX_FRAME_SIZE: usize = 65536;
/// The server's rate limit (its default): bursts of up to twice this are allowed.
const MAX_MESSAGES_PER_SECOND: usize = 100;
/// The server's peers per lobby at most (its default).
const MAX_LOBBY_PEERS: usize = 64;
/// One network step (connect, handshake, an answer, the server ending a hostile client) takes at
/// most this long.
const STEP: Duration = Duration::from_secs(5);
/// One phase takes at most this long.
const PHASE: Duration = Duration::from_secs(120);
/// The final lobby must work within this.
const FINAL_LOBBY_LIMIT: Duration = Duration::from_secs(2);
/// A relay between two normal clients while others flood must arrive within this.
const PROBE_LIMIT: Duration = Duration::from_secs(2);
/// Hostile clients at once.
const HOSTILE_CONCURRENCY: usize = 16;
/// Connect/disconnect cycles at once.
const CYCLE_CONCURRENCY: usize = 16;
/// Messages a text flooder sends at most (the server allows a burst of 200).
const FLOOD_MESSAGES: usize = 1000;
/// Offers relayed to each unread host: within the relayer's burst allowance, so that only the
/// host's unread queue is at stake.
const RELAY_BURST: usize = 150;
/// Data bytes in each of those offers (the frames stay under the frame limit).
const RELAY_SIZE: usize = 48 * 1024;
/// Frames read at most while waiting for a connection to end.
const FRAMES_BEFORE_END: usize = 1024;
/// Open files the test needs beside its clients (the runtime, the server's pipes, slack).
const SPARE_FILES: usize = 64;
/// Frames a held client reads at most (it gets a few dozen to a few hundred).
const HELD_FRAMES: usize = 100_000;

// The bounds on the server's resident memory. Per client the server holds at most: for a normal
// client ~13 KiB (measured: a 4 KiB read buffer, two tasks, a channel, its lobby entry); for a
// client that does not read, also its queue of unsent text (16 frames of 64 KiB: 1 MiB) and
// tungstenite's unsent bytes (its 128 KiB write buffer and two frames: 256 KiB); for a client
// whose frame is being read, that frame (64 KiB) and what parsing it takes. Each allowance below
// is that with room to spare. When neither was bounded and every connection's read buffer took
// 128 KiB, the default run took the server to 48-55 MB and the full run to 347-356 MB.

/// Peak allowance per held client.
const HELD_CLIENT_KIB: u64 = 32;
/// Peak allowance per unread host (its queue and tungstenite's unsent bytes, 1.25 MiB).
const UNREAD_HOST_KIB: u64 = 1536;
/// Peak allowance per ping flooder (tungstenite's unsent bytes, 256 KiB).
const PING_FLOODER_KIB: u64 = 512;
/// Peak allowance per hostile client at once (one frame of the largest size, parsed).
const HOSTILE_CLIENT_KIB: u64 = 256;
/// Peak allowance beside the clients: the runtime, and the memory the allocator keeps after
/// freeing it (glibc keeps it in per-thread arenas for reuse) from one phase into the next.
const PEAK_SLACK_KIB: u64 = 24 * 1024;
/// Growth allowed from start to end, after every client has gone. The server then holds no
/// client state (the test checks its log ended every connection), so what stays is what the
/// allocator keeps for reuse: +3 MiB measured after the default run, +8 to +15 MiB after the
/// full one. Leaked per-connection state (at least its 4 KiB read buffer) over the full run's
/// 6000 connections would cross it.
const AFTER_GROWTH_KIB: u64 = 24 * 1024;

/// How much of each kind of load a run applies.
#[derive(Debug, Clone, Copy)]
struct Counts {
    /// `FAULTS_FULL=1` was set.
    full: bool,
    /// Clients held open from phase 1 to the end.
    concurrent: usize,
    /// Hostile clients of each kind.
    hostile_per_kind: usize,
    /// Clients that flood text messages without reading.
    text_flooders: usize,
    /// Lobby hosts that never read while their guest relays large offers to them.
    unread_hosts: usize,
    /// Clients that flood pings without reading the pongs.
    ping_flooders: usize,
    /// Pings each ping flooder sends.
    pings_each: usize,
    /// Connect/disconnect cycles.
    cycles: usize,
}

impl Counts {
    /// The default counts, or the full ones when `FAULTS_FULL=1`.
    fn from_env() -> Self {
        let full = std::env::var("FAULTS_FULL").is_ok_and(|value| value == "1");
        if full {
            Self {
                full,
                concurrent: 500,
                hostile_per_kind: 64,
                text_flooders: 40,
                unread_hosts: 20,
                ping_flooders: 20,
                pings_each: 100_000,
                cycles: 5000,
            }
        } else {
            Self {
                full,
                concurrent: 100,
                hostile_per_kind: 16,
                text_flooders: 8,
                unread_hosts: 4,
                ping_flooders: 4,
                pings_each: 20_000,
                cycles: 500,
            }
        }
    }

    /// Connections open at once at most, in the test and so in the server: the held clients and
    /// the largest phase beside them.
    fn open_at_once(&self) -> usize {
        let never_reading = self.text_flooders + 2 * self.unread_hosts + self.ping_flooders + 2;
        self.concurrent + never_reading.max(HOSTILE_CONCURRENCY).max(CYCLE_CONCURRENCY) + 2
    }
}

/// The soft limit on open files of this process (the server inherits it); `None` if unreadable.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A small seeded generator (xorshift64*), so that the hostile payloads are the same every run.
struct Seeded(u64);

impl Seeded {
    /// The next 64 bits.
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    /// `n` random bytes.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Up to `at_most` random bytes (how many is random too).
    fn some_bytes(&mut self, at_most: usize) -> Vec<u8> {
        let n = self.below(at_most + 1);
        self.bytes(n)
    }
}

/// What the server's log says so far.
#[derive(Debug, Default)]
struct ServerLog {
    /// Connections whose WebSocket handshake finished.
    connected: usize,
    /// Connections that ended (closed or refused), by reason, numbers replaced by `N`.
    ended: BTreeMap<String, usize>,
    /// Clients closed because too much waited to be written to them.
    not_reading: usize,
}

impl ServerLog {
    /// Connections that ended, whatever the reason.
    fn ended_total(&self) -> usize {
        self.ended.values().sum()
    }

    /// Connections that ended for a reason starting with `reason`.
    fn ended_for(&self, reason: &str) -> usize {
        self.ended.iter().filter(|(key, _)| key.starts_with(reason)).map(|(_, count)| count).sum()
    }

    /// Takes in one stdout line: `<seconds> client <n> <address>: <event>`.
    fn read_line(&mut self, line: &str) {
        let Some((_, event)) = line.split_once(": ") else { return };
        if event == "connected" {
            self.connected += 1;
        } else if let Some(reason) = event.strip_prefix("closed: ").or_else(|| event.strip_prefix("refused: ")) {
            *self.ended.entry(reason_key(reason)).or_default() += 1;
            self.not_reading += usize::from(reason.ends_with("the client does not read"));
        }
    }
}

/// A close reason without its details (after ':' or '(') and with numbers as `N`, so that reasons
/// can be counted.
fn reason_key(reason: &str) -> String {
    let head = reason.split([':', '(']).next().unwrap_or_default();
    let words: Vec<&str> =
        head.split_whitespace().map(|word| if word.parse::<i64>().is_ok() { "N" } else { word }).collect();
    words.join(" ")
}

/// Starts the server binary with the limits the payloads depend on; its log, read as it goes.
fn start_server() -> (Server, Arc<Mutex<ServerLog>>) {
    let log = Arc::new(Mutex::new(ServerLog::default()));
    let shared = Arc::clone(&log);
    let server = Server::start(
        &[
            "--max-frame-size",
            &MAX_FRAME_SIZE.to_string(),
            "--max-messages-per-second",
            &MAX_MESSAGES_PER_SECOND.to_string(),
            "--max-lobby-peers",
            &MAX_LOBBY_PEERS.to_string(),
            // Every client here comes from 127.0.0.1: the per-source caps would stop the load
            // itself (tests/source_caps.rs tests them).
            "--max-handshakes",
            "100000",
            "--max-handshakes-per-source",
            "100000",
            "--max-clients-per-source",
            "100000",
            "--max-lobbies-per-source",
            "100000",
        ],
        move |line| lock(&shared).read_line(line),
    );
    (server, log)
}

/// Where clients connect, and how many connections the test made there.
#[derive(Clone)]
struct Target {
    /// The server's address.
    address: SocketAddr,
    /// TCP connections made so far.
    made: Arc<AtomicUsize>,
}

impl Target {
    /// A TCP connection to the server (counted).
    async fn tcp(&self) -> TcpStream {
        let stream = common::tcp(self.address).await;
        self.made.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        stream
    }

    /// A WebSocket to the server.
    async fn websocket(&self) -> Ws {
        common::handshake(self.address, self.tcp().await).await
    }
}

/// Reads until the server ends the connection; how it ended (its close reason, or the error), or
/// `Err` if it did not end within the step.
async fn until_ended(ws: &mut Ws) -> Result<String, String> {
    for _ in 0..FRAMES_BEFORE_END {
        match timeout(STEP, ws.next()).await {
            Err(_) => return Err("not ended within the step".into()),
            Ok(None) => return Ok("ended without a close frame".into()),
            Ok(Some(Err(error))) => return Ok(format!("ended: {error}")),
            Ok(Some(Ok(Frame::Close(frame)))) => {
                return Ok(frame.map(|frame| frame.reason.to_string()).unwrap_or_default());
            }
            Ok(Some(Ok(_))) => continue,
        }
    }
    Err(format!("{FRAMES_BEFORE_END} frames and not ended"))
}

/// What a held client saw.
#[derive(Debug, Default)]
struct HeldReport {
    /// It created its lobby.
    host: bool,
    /// Offers from the held guests it received.
    offers: usize,
    /// Frames it received after joining.
    frames: usize,
    /// How the server ended it, if it did.
    ended: Option<String>,
}

/// The data of the offer each held guest sends its host.
const HELD_OFFER: &str = "held offer";

/// A client held open for the whole test: it joins `lobby` ("" creates one; a guest then sends
/// its host an offer), reports the answer on `joined`, and reads (so answering pings) until `stop`
/// turns true or `deadline` passes.
async fn held_client(
    target: Target,
    lobby: String,
    joined: mpsc::UnboundedSender<Joined>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) -> HeldReport {
    let mut ws = target.websocket().await;
    let answer = join(&mut ws, &lobby).await;
    let mut report = HeldReport { host: lobby.is_empty(), ..HeldReport::default() };
    if !report.host {
        send(&mut ws, Message::new(Kind::Offer, HOST_ID, HELD_OFFER)).await;
    }
    let _ = joined.send(answer);
    // One turn per frame; the stop signal and the deadline end it.
    for _ in 0..HELD_FRAMES {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep_until(deadline.into()) => {
                report.ended = Some("the test's deadline passed".into());
                break;
            }
            frame = ws.next() => {
                report.frames += 1;
                match frame {
                    Some(Ok(Frame::Text(text))) => {
                        let message = Message::parse(text.as_str()).expect("the server's messages parse");
                        report.offers += usize::from(message.kind == Kind::Offer && message.data == HELD_OFFER);
                    }
                    Some(Ok(Frame::Close(frame))) => {
                        report.ended = Some(frame.map(|frame| frame.reason.to_string()).unwrap_or_default());
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        report.ended = Some(error.to_string());
                        break;
                    }
                    None => {
                        report.ended = Some("ended".into());
                        break;
                    }
                }
            }
        }
    }
    if report.frames >= HELD_FRAMES && report.ended.is_none() {
        report.ended = Some(format!("{HELD_FRAMES} frames"));
    }
    let _ = timeout(STEP, ws.close(None)).await;
    report
}

/// The kinds of hostile client of phase 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hostile {
    /// Binary frames of random bytes.
    RandomBinary,
    /// A frame over the size limit, or fragments that add up to more than it.
    Oversized,
    /// Text frames that are not UTF-8.
    InvalidUtf8,
    /// JSON nested deeper than any parser should follow.
    DeepNesting,
    /// Numbers beyond any integer type.
    HugeNumber,
    /// Fields of the wrong type, missing fields, values that are not objects.
    WrongTypes,
    /// Bytes that are not a WebSocket handshake, on a bare TCP connection.
    TcpGarbage,
}

/// Every kind, in the order they are printed.
const HOSTILE_KINDS: [Hostile; 7] = [
    Hostile::RandomBinary,
    Hostile::Oversized,
    Hostile::InvalidUtf8,
    Hostile::DeepNesting,
    Hostile::HugeNumber,
    Hostile::WrongTypes,
    Hostile::TcpGarbage,
];

/// A text frame that may hold anything (even invalid UTF-8), final or not.
fn raw_text(bytes: Vec<u8>, last: bool) -> Frame {
    Frame::Frame(RawFrame::message(bytes, OpCode::Data(OpData::Text), last))
}

/// A continuation frame, final or not.
fn raw_continuation(bytes: Vec<u8>, last: bool) -> Frame {
    Frame::Frame(RawFrame::message(bytes, OpCode::Data(OpData::Continue), last))
}

/// A text frame.
fn text(text: String) -> Frame {
    Frame::Text(text.into())
}

/// `open`, `depth` times, then `middle`, then `close`, `depth` times.
fn nested(open: &str, depth: usize, middle: &str, close: &str) -> String {
    format!("{}{middle}{}", open.repeat(depth), close.repeat(depth))
}

/// Messages with fields of the wrong type, missing fields, or no object at all: each is refused
/// whether or not its sender joined (a SEAL from a guest and a PEER_CONNECT after joining are
/// refused too).
const WRONG_TYPES: [&str; 18] = [
    r#"{"type":"0","id":0,"data":""}"#,
    r#"{"type":0,"id":"1","data":""}"#,
    r#"{"type":0,"id":0,"data":5}"#,
    r#"{"type":null,"id":0}"#,
    r#"{"type":[0],"id":0}"#,
    r#"{"type":{},"id":0}"#,
    r#"{"type":true,"id":0}"#,
    r#"{"type":0}"#,
    r#"{"id":0,"data":""}"#,
    r#"[0,0,""]"#,
    r#""join""#,
    "null",
    r#"{"type":0,"id":0,"data":{"nested":"object"}}"#,
    r#"{"type":0.5,"id":0}"#,
    r#"{"type":-1,"id":0}"#,
    r#"{"type":2,"id":5}"#,
    r#"{"type":7,"id":0,"data":""}"#,
    "",
];

/// The frames a hostile WebSocket client of `kind` sends; `variant` picks among the kind's forms.
fn hostile_frames(kind: Hostile, variant: usize, random: &mut Seeded) -> Vec<Frame> {
    match kind {
        Hostile::RandomBinary => vec![Frame::Binary(random.some_bytes(4096).into())],
        Hostile::Oversized => match variant % 4 {
            0 => {
                let data = {
                    let extra = random.below(MAX_FRAME_SIZE);
                    "x".repeat(MAX_FRAME_SIZE + 1 + extra)
                };
                vec![text(Message::new(Kind::Join, 0, data).to_json())]
            }
            1 => vec![Frame::Binary(random.bytes(MAX_FRAME_SIZE + 1).into())],
            2 => vec![text("y".repeat(4 * MAX_FRAME_SIZE))],
            _ => {
                // Four fragments, each half the limit: the message is twice the limit.
                let half = || "z".repeat(MAX_FRAME_SIZE / 2).into_bytes();
                vec![
                    raw_text(half(), false),
                    raw_continuation(half(), false),
                    raw_continuation(half(), false),
                    raw_continuation(half(), true),
                ]
            }
        },
        Hostile::InvalidUtf8 => match variant % 7 {
            0 => vec![raw_text(vec![0xff, 0xfe, 0xfd], true)],
            1 => vec![raw_text(b"{\"type\":0,\"id\":0,\"data\":\"\xc3\x28\"}".to_vec(), true)],
            // An overlong '/', a lone surrogate, a sequence cut short.
            2 => vec![raw_text(vec![0xc0, 0xaf], true)],
            3 => vec![raw_text(vec![0xed, 0xa0, 0x80], true)],
            4 => vec![raw_text(vec![b'a', 0xe2, 0x82], true)],
            5 => vec![raw_text(vec![b'{', 0xe2], false), raw_continuation(vec![0x82, 0xff], true)],
            _ => {
                // 0xff is never part of UTF-8.
                let mut bytes = random.some_bytes(1024);
                bytes.push(0xff);
                vec![raw_text(bytes, true)]
            }
        },
        Hostile::DeepNesting => vec![text(match variant % 6 {
            // 200 KB: over the frame limit.
            0 => nested("[", 100_000, "", "]"),
            // The rest fit in a frame: the parser's depth limit must refuse them.
            1 => nested("[", 30_000, "", "]"),
            2 => nested(r#"{"a":"#, 10_000, "0", "}"),
            3 => format!(r#"{{"type":0,"id":0,"data":{}}}"#, nested("[", 30_000, "", "]")),
            4 => "[".repeat(65_000),
            _ => format!(r#"{{"type":0,"id":0,"data":"x","extra":{}}}"#, nested(r#"{"a":"#, 10_000, "0", "}")),
        })],
        Hostile::HugeNumber => vec![text(match variant % 8 {
            0 => r#"{"type":0,"id":1e999999,"data":""}"#.to_owned(),
            1 => r#"{"type":123456789012345678901234567890,"id":0}"#.to_owned(),
            2 => format!(r#"{{"type":0,"id":{}}}"#, "9".repeat(60_000)),
            3 => format!(r#"{{"type":0,"id":-{}}}"#, "9".repeat(60_000)),
            4 => format!(r#"{{"type":0,"id":0.{}1}}"#, "0".repeat(60_000)),
            5 => format!(r#"{{"type":4,"id":{},"data":"x"}}"#, i64::MAX),
            6 => format!(r#"{{"type":4,"id":{},"data":"x"}}"#, i64::MIN),
            _ => format!(r#"{{"type":{},"id":0}}"#, u64::MAX),
        })],
        Hostile::WrongTypes => vec![text(WRONG_TYPES[variant % WRONG_TYPES.len()].to_owned())],
        Hostile::TcpGarbage => Vec::new(),
    }
}

/// Bytes a raw TCP client sends instead of a WebSocket handshake; each is refused on arrival
/// (none is the start of a valid request that could wait for more).
fn tcp_garbage(variant: usize, random: &mut Seeded) -> Vec<u8> {
    match variant % 6 {
        0 => {
            // A TLS ClientHello's first bytes, then noise: a wss:// client at a ws:// port.
            let mut bytes = vec![0x16, 0x03, 0x01];
            bytes.extend(random.some_bytes(4096));
            bytes
        }
        1 => b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
        2 => format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Junk: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(),
        3 => b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
               Sec-WebSocket-Version: 99\r\n\r\n"
            .to_vec(),
        4 => vec![0; 4096],
        _ => {
            let mut bytes = vec![0x00];
            bytes.extend(random.some_bytes(65_536));
            bytes
        }
    }
}

/// One hostile client: sends its garbage (half the WebSocket ones after joining one of
/// `lobbies`) and waits for the server to end it. How it ended, or `Err` if it was not ended.
async fn hostile_client(
    target: Target,
    kind: Hostile,
    variant: usize,
    lobbies: Arc<Vec<String>>,
) -> Result<String, String> {
    let mut random = Seeded(0x5eed ^ ((variant as u64) << 8) ^ kind as u64);
    if kind == Hostile::TcpGarbage {
        let mut stream = target.tcp().await;
        // The server may end the connection before taking it all.
        let _ = timeout(STEP, stream.write_all(&tcp_garbage(variant, &mut random))).await;
        let mut buffer = vec![0; 4096];
        for _ in 0..FRAMES_BEFORE_END {
            match timeout(STEP, stream.read(&mut buffer)).await {
                Err(_) => return Err(format!("{kind:?} {variant}: not ended within the step")),
                Ok(Ok(0)) => return Ok("ended".into()),
                // An HTTP error response, say.
                Ok(Ok(_)) => continue,
                Ok(Err(error)) => return Ok(format!("ended: {error}")),
            }
        }
        return Err(format!("{kind:?} {variant}: answered forever"));
    }
    let mut ws = target.websocket().await;
    if random.below(2) == 1 {
        join(&mut ws, &lobbies[variant % lobbies.len()]).await;
    }
    for frame in hostile_frames(kind, variant, &mut random) {
        // The server may end the connection in the middle.
        if !matches!(timeout(STEP, ws.send(frame)).await, Ok(Ok(()))) {
            break;
        }
    }
    until_ended(&mut ws).await.map_err(|error| format!("{kind:?} {variant}: {error}"))
}

/// A text flooder: joins `lobby` as a guest, then sends candidates to the host as fast as it can
/// without reading, [`FLOOD_MESSAGES`] at most. Only then does it read, to see how it was ended.
async fn text_flooder(target: Target, lobby: String) -> Result<String, String> {
    let mut ws = target.websocket().await;
    join(&mut ws, &lobby).await;
    let candidate =
        Message::new(Kind::Candidate, HOST_ID, "\n0\n0\ncandidate:1 1 udp 2122260223 10.0.0.1 5000 typ host");
    for _ in 0..FLOOD_MESSAGES {
        if !matches!(timeout(STEP, ws.send(Frame::Text(candidate.to_json().into()))).await, Ok(Ok(()))) {
            break;
        }
    }
    until_ended(&mut ws).await
}

/// A host that never reads after its JOIN's answer, and a guest that relays [`RELAY_BURST`]
/// offers of [`RELAY_SIZE`] bytes to it. Both are returned, to stay open until the phase ends.
async fn unread_host(target: Target) -> (Ws, Ws) {
    let mut host = target.websocket().await;
    let lobby = join(&mut host, "").await.lobby;
    let mut guest = target.websocket().await;
    join(&mut guest, &lobby).await;
    let offer = Message::new(Kind::Offer, HOST_ID, "o".repeat(RELAY_SIZE)).to_json();
    for _ in 0..RELAY_BURST {
        // The server closes this guest once its offers would overflow what waits for the host.
        if !matches!(timeout(STEP, guest.send(Frame::Text(offer.clone().into()))).await, Ok(Ok(()))) {
            break;
        }
    }
    (host, guest)
}

/// A ping flooder: joins `lobby` as a guest, then sends `pings` pings of the largest size without
/// reading the pongs. Returned, to stay open until the phase ends.
async fn ping_flooder(target: Target, lobby: String, pings: usize) -> Ws {
    let mut ws = target.websocket().await;
    join(&mut ws, &lobby).await;
    let payload = vec![b'p'; 125];
    for sent in 1..=pings {
        let frame = Frame::Ping(payload.clone().into());
        // Flushed every 64 pings.
        let fed =
            if sent % 64 == 0 { timeout(STEP, ws.send(frame)).await } else { timeout(STEP, ws.feed(frame)).await };
        if !matches!(fed, Ok(Ok(()))) {
            break;
        }
    }
    let _ = timeout(STEP, ws.flush()).await;
    ws
}

/// A normal pair in a fresh lobby: the host relays offers to the guest, one every 10 ms, until
/// `done` turns true (at least 5, at most 2000). The worst relay time and the number of relays.
async fn probe(target: Target, mut done: watch::Receiver<bool>) -> (Duration, usize) {
    let mut host = target.websocket().await;
    let lobby = join(&mut host, "").await.lobby;
    let mut guest = target.websocket().await;
    let guest_id = join(&mut guest, &lobby).await.peer_id;
    let mut worst = Duration::ZERO;
    let mut relays = 0;
    while relays < 2000 && (relays < 5 || !*done.borrow_and_update()) {
        let sent = Instant::now();
        send(&mut host, Message::new(Kind::Offer, guest_id, format!("probe {relays}"))).await;
        let offer = next(&mut guest).await.expect("the probe's guest stays open");
        assert_eq!(offer, Message::new(Kind::Offer, HOST_ID, format!("probe {relays}")));
        worst = worst.max(sent.elapsed());
        relays += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = timeout(STEP, host.close(None)).await;
    let _ = timeout(STEP, guest.close(None)).await;
    (worst, relays)
}

/// One connect/disconnect cycle; `variant` picks how far it gets before it goes.
async fn cycle(target: Target, variant: usize, lobbies: Arc<Vec<String>>) {
    let lobby = &lobbies[variant % lobbies.len()];
    match variant % 5 {
        0 => drop(target.tcp().await),
        1 => drop(target.websocket().await),
        2 => {
            let mut ws = target.websocket().await;
            send(&mut ws, Message::new(Kind::Join, 0, lobby.as_str())).await;
        }
        3 => {
            let mut ws = target.websocket().await;
            join(&mut ws, "").await;
        }
        _ => {
            let mut ws = target.websocket().await;
            join(&mut ws, lobby).await;
            let _ = timeout(STEP, ws.close(None)).await;
        }
    }
}

/// The final lobby: A creates it, B joins, both see each other, A's offer reaches B. The worst of
/// the two JOIN answers.
async fn final_lobby(target: &Target) -> Duration {
    let mut a = target.websocket().await;
    let a_joined = join(&mut a, "").await;
    assert_eq!(a_joined.peer_id, HOST_ID);
    let mut b = target.websocket().await;
    let b_joined = join(&mut b, &a_joined.lobby).await;
    assert_eq!(b_joined.lobby, a_joined.lobby);
    assert_eq!(next(&mut a).await, Ok(Message::new(Kind::PeerConnect, b_joined.peer_id, "")));
    send(&mut a, Message::new(Kind::Offer, b_joined.peer_id, "v=0 final")).await;
    assert_eq!(next(&mut b).await, Ok(Message::new(Kind::Offer, HOST_ID, "v=0 final")));
    let _ = timeout(STEP, a.close(None)).await;
    let _ = timeout(STEP, b.close(None)).await;
    a_joined.answer.max(b_joined.answer)
}

/// The five phases of the module's description on one server, then its state and memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg(target_os = "linux")]
async fn the_server_survives_hostile_load_and_still_serves() {
    let mut counts = Counts::from_env();
    figure(format_args!("mode {} (FAULTS_FULL=1 for the full counts)", if counts.full { "full" } else { "default" }));
    let limit = open_files_limit();
    let needed = counts.open_at_once() + SPARE_FILES;
    if let Some(limit) = limit.filter(|&limit| limit < needed) {
        counts.concurrent = counts.concurrent.saturating_sub(needed - limit).max(10);
        figure(format_args!(
            "open files limit {limit} is below the {needed} needed: {} concurrent clients",
            counts.concurrent
        ));
    }
    figure(format_args!(
        "open files soft limit {limit:?}, at most {} needed per process",
        counts.open_at_once() + SPARE_FILES
    ));

    let (mut server, log) = start_server();
    let target = Target { address: server.address, made: Arc::new(AtomicUsize::new(0)) };
    let rss_before = server.process.rss_kib();
    let test_deadline = Instant::now() + 5 * PHASE;

    // Phase 1: concurrent clients, held open until the end.
    let started = Instant::now();
    let hosts = (counts.concurrent / 5).max(1);
    let guests = counts.concurrent - hosts;
    // Guests stop before hosts: a host leaving ends its lobby, and its guests with it.
    let (stop_guests, guests_stopped) = watch::channel(false);
    let (stop_hosts, hosts_stopped) = watch::channel(false);
    let (joined_sender, mut joined) = mpsc::unbounded_channel();
    let spawn_held = |lobby: String, stop: &watch::Receiver<bool>| {
        tokio::spawn(held_client(target.clone(), lobby, joined_sender.clone(), stop.clone(), test_deadline))
    };
    let held_hosts: Vec<_> = (0..hosts).map(|_| spawn_held(String::new(), &hosts_stopped)).collect();
    let mut answers = Vec::new();
    for _ in 0..hosts {
        answers.push(timeout(PHASE, joined.recv()).await.expect("the hosts join within the phase").expect("a host"));
    }
    let lobbies: Arc<Vec<String>> = Arc::new(answers.iter().map(|answer| answer.lobby.clone()).collect());
    let held_guests: Vec<_> = (0..guests).map(|i| spawn_held(lobbies[i % hosts].clone(), &guests_stopped)).collect();
    for _ in 0..guests {
        answers.push(timeout(PHASE, joined.recv()).await.expect("the guests join within the phase").expect("a guest"));
    }
    let worst_concurrent_answer = answers.iter().map(|answer| answer.answer).max().unwrap_or_default();
    let concurrent_took = started.elapsed();
    server.assert_alive("after the concurrent clients joined");
    let rss_concurrent = server.process.rss_kib();

    // Phase 2: hostile clients, a few at a time; the server must end every one.
    let started = Instant::now();
    let jobs: Vec<(Hostile, usize)> = (0..counts.hostile_per_kind)
        .flat_map(|variant| HOSTILE_KINDS.iter().map(move |&kind| (kind, variant)))
        .collect();
    let outcomes: Vec<(Hostile, Result<String, String>)> = timeout(
        PHASE,
        stream::iter(jobs)
            .map(|(kind, variant)| {
                let task = tokio::spawn(hostile_client(target.clone(), kind, variant, Arc::clone(&lobbies)));
                async move { (kind, task.await.unwrap_or_else(|error| Err(format!("{kind:?} {variant}: {error}")))) }
            })
            .buffer_unordered(HOSTILE_CONCURRENCY)
            .collect(),
    )
    .await
    .expect("the hostile clients are done within the phase");
    let hostile_took = started.elapsed();
    let not_ended: Vec<&String> = outcomes.iter().filter_map(|(_, outcome)| outcome.as_ref().err()).collect();
    assert!(not_ended.is_empty(), "hostile clients the server did not end: {not_ended:?}");
    server.assert_alive("after the hostile clients");

    // Phase 3: clients that never read, while a normal pair relays.
    let started = Instant::now();
    let (flood_done, flood_watch) = watch::channel(false);
    let prober = tokio::spawn(probe(target.clone(), flood_watch));
    let flooders: Vec<_> = (0..counts.text_flooders)
        .map(|i| tokio::spawn(text_flooder(target.clone(), lobbies[i % lobbies.len()].clone())))
        .collect();
    let unread: Vec<_> = (0..counts.unread_hosts).map(|_| tokio::spawn(unread_host(target.clone()))).collect();
    let pingers: Vec<_> = (0..counts.ping_flooders)
        .map(|i| {
            tokio::spawn(ping_flooder(target.clone(), lobbies[(i + 1) % lobbies.len()].clone(), counts.pings_each))
        })
        .collect();
    let flood_ends = timeout(PHASE, futures_util::future::join_all(flooders)).await.expect("the text floods end");
    let unread = timeout(PHASE, futures_util::future::join_all(unread)).await.expect("the relays to unread hosts end");
    let pingers = timeout(PHASE, futures_util::future::join_all(pingers)).await.expect("the ping floods end");
    // Let the server take in what was sent before measuring.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_never_read = server.process.rss_kib();
    let _ = flood_done.send(true);
    let (probe_worst, probe_relays) =
        timeout(PHASE, prober).await.expect("the probe ends within the phase").expect("the probe");
    for end in flood_ends {
        let end = end.expect("a text flooder");
        assert!(end.is_ok(), "a text flooder the server did not end: {end:?}");
    }
    // Their connections end here.
    for pair in unread {
        drop(pair.expect("an unread host and its relayer"));
    }
    for pinger in pingers {
        drop(pinger.expect("a ping flooder"));
    }
    let never_read_took = started.elapsed();
    server.assert_alive("after the clients that never read");

    // Phase 4: connect/disconnect cycles, a few at a time.
    let rss_before_cycles = server.process.rss_kib();
    let started = Instant::now();
    let failed_cycles: Vec<String> = timeout(
        PHASE,
        stream::iter(0..counts.cycles)
            .map(|variant| {
                let task = tokio::spawn(cycle(target.clone(), variant, Arc::clone(&lobbies)));
                async move { task.await.err().map(|error| format!("cycle {variant}: {error}")) }
            })
            .buffer_unordered(CYCLE_CONCURRENCY)
            .filter_map(|failed| async move { failed })
            .collect(),
    )
    .await
    .expect("the cycles are done within the phase");
    let cycles_took = started.elapsed();
    let rss_after_cycles = server.process.rss_kib();
    assert!(failed_cycles.is_empty(), "cycles failed: {failed_cycles:?}");
    server.assert_alive("after the connect/disconnect cycles");

    // Phase 5: at once, a normal lobby.
    let started = Instant::now();
    let final_answer =
        timeout(FINAL_LOBBY_LIMIT, final_lobby(&target)).await.expect("the final lobby works within 2 s");
    let final_took = started.elapsed();
    server.assert_alive("after the final lobby");

    // The held clients: all still open, every offer delivered.
    let mut reports = Vec::new();
    for (stop, held) in [(stop_guests, held_guests), (stop_hosts, held_hosts)] {
        let _ = stop.send(true);
        let stopped = timeout(PHASE, futures_util::future::join_all(held)).await.expect("the held clients stop");
        reports.extend(stopped.into_iter().map(|report| report.expect("a held client")));
    }
    let closed: Vec<&String> = reports.iter().filter_map(|report| report.ended.as_ref()).collect();
    assert!(closed.is_empty(), "held clients were ended: {closed:?}");
    let offers: usize = reports.iter().filter(|report| report.host).map(|report| report.offers).sum();
    assert_eq!(offers, guests, "offers from held guests that reached their hosts");
    let held_frames: usize = reports.iter().map(|report| report.frames).sum();

    // Every connection over, in the server's own words.
    let made = target.made.load(Ordering::Relaxed);
    let settle_deadline = Instant::now() + PHASE;
    while lock(&log).ended_total() < made && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.assert_alive("at the end");
    let (connected, ended, reasons, flooding, not_reading) = {
        let log = lock(&log);
        (log.connected, log.ended_total(), format!("{:?}", log.ended), log.ended_for("flooding"), log.not_reading)
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after = server.process.rss_kib();
    let rss_peak = server.process.peak_kib();

    let worst_answer = worst_concurrent_answer.max(final_answer);
    figure(format_args!("concurrent clients {} ({hosts} hosts, {guests} guests)", counts.concurrent));
    for kind in HOSTILE_KINDS {
        let count = outcomes.iter().filter(|(outcome_kind, _)| *outcome_kind == kind).count();
        figure(format_args!("hostile clients {kind:?}: {count}"));
    }
    figure(format_args!("text flooders (never read): {}", counts.text_flooders));
    figure(format_args!(
        "unread hosts (never read, sent {RELAY_BURST} offers of {} KiB each): {}",
        RELAY_SIZE / 1024,
        counts.unread_hosts
    ));
    figure(format_args!("ping flooders (never read, {} pings each): {}", counts.pings_each, counts.ping_flooders));
    figure(format_args!("connect/disconnect cycles: {}", counts.cycles));
    figure(format_args!("phase 1 concurrent joins took {concurrent_took:?}"));
    figure(format_args!("phase 2 hostile clients took {hostile_took:?}"));
    figure(format_args!("phase 3 never-reading clients took {never_read_took:?}"));
    figure(format_args!("phase 4 connect/disconnect cycles took {cycles_took:?}"));
    figure(format_args!("phase 5 final lobby took {final_took:?}"));
    figure(format_args!("worst join answer (concurrent clients and final lobby) {worst_answer:?}"));
    figure(format_args!("worst relay of a normal pair during the floods {probe_worst:?} over {probe_relays} relays"));
    figure(format_args!("held clients received {held_frames} frames; {offers} held offers delivered"));
    figure(format_args!("connections made {made}, handshakes {connected}, ended in the server's log {ended}"));
    figure(format_args!("server end reasons {reasons}"));
    figure(format_args!("clients closed for not reading what waited for them: {not_reading}"));
    figure(format_args!("server RSS before {rss_before} KiB"));
    figure(format_args!("server RSS with the concurrent clients {rss_concurrent} KiB"));
    figure(format_args!("server RSS during the never-reading clients {rss_never_read} KiB"));
    figure(format_args!("server RSS before the cycles {rss_before_cycles} KiB, after them {rss_after_cycles} KiB"));
    figure(format_args!("server RSS peak {rss_peak} KiB"));
    figure(format_args!("server RSS after {rss_after} KiB"));

    let peak_bound = rss_before
        + PEAK_SLACK_KIB
        + counts.concurrent as u64 * HELD_CLIENT_KIB
        + counts.unread_hosts as u64 * UNREAD_HOST_KIB
        + counts.ping_flooders as u64 * PING_FLOODER_KIB
        + HOSTILE_CONCURRENCY as u64 * HOSTILE_CLIENT_KIB;
    let after_bound = rss_before + AFTER_GROWTH_KIB;
    figure(format_args!("server RSS peak bound {peak_bound} KiB, after bound {after_bound} KiB"));

    assert_eq!(ended, made, "connections the server's log has not ended");
    assert_eq!(flooding, counts.text_flooders, "text flooders closed for flooding");
    assert!(probe_worst < PROBE_LIMIT, "a normal pair's relay took {probe_worst:?} during the floods");
    assert!(final_took < FINAL_LOBBY_LIMIT, "the final lobby took {final_took:?}");
    assert!(rss_peak < peak_bound, "the server's resident memory peaked at {rss_peak} KiB (bound {peak_bound} KiB)");
    assert!(rss_after < after_bound, "the server's resident memory ended at {rss_after} KiB (bound {after_bound} KiB)");
}
