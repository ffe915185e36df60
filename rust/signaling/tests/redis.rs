//! Lobbies shared through Redis, on the real server binary: a `redis-server` on a free port of
//! 127.0.0.1 (no persistence) and two instances started with `--redis`, each a child process
//! killed (and reaped) by a guard when the test ends, passed or failed.
//!
//! - `two_instances_share_a_lobby`: A on instance 1 creates a lobby, B on instance 2 joins it by
//!   name; both get ids and PEER_CONNECT for each other; A's OFFER reaches B, B's ANSWER and
//!   CANDIDATE reach A; C on instance 1 joins (told about A and B, both told about C) and relays
//!   to B; B leaves (A and C get PEER_DISCONNECT); D on instance 2 joins; C tries to seal and is
//!   closed (not the host); A seals (A and D get SEAL, a late joiner on either instance is
//!   refused). Then instance 2 is killed with SIGKILL: A must get PEER_DISCONNECT for D, and a
//!   member on instance 1 of a lobby hosted on instance 2 must be closed ("the host has left"),
//!   within the documented bound: the lease (3 s here) and a third of it. Instance 1 still
//!   serves; then Redis is killed, and instance 1 closes its clients ("the shared lobby directory
//!   was lost") and exits with status 1.
//! - `one_instance_held_clients_and_relay_rate`: the figures of one instance with and without
//!   Redis: concurrent clients held (joined, and their memory), joins per second, messages
//!   relayed per second (with Redis: from clients of one instance to clients of another, so each
//!   goes through Redis). A tiny run by default; `SIGNALING_BENCH=1` (with `--release`, as
//!   `tools/redis-test --bench` runs it) for the full one.
//!
//! When `redis-server` is not installed, the test installs Debian's package if it runs as root
//! with `apt-get` (set `SIGNALING_REDIS_INSTALL=0` to forbid that); if it is still missing, each
//! test prints why and passes without running. Figures go to stderr, prefixed `signaling redis:`
//! (see them with `--nocapture`). Linux only (`/proc`).

mod common;

use std::net::{TcpListener as StdListener, TcpStream as StdStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{figure, next, next_within, send, Joined, Process, Server, Ws};
use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{Kind, Message, HOST_ID};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Frame;

/// What every figure line starts with.
const PREFIX: &str = "signaling redis:";
/// The instances' lease: a dead instance's peers are removed within it and a third of it.
const LEASE: Duration = Duration::from_secs(3);
/// The documented bound for that lease.
const REMOVAL_BOUND: Duration = Duration::from_secs(4);
/// Slack on top of the bound for delivery and a loaded machine.
const REMOVAL_SLACK: Duration = Duration::from_secs(1);
/// One network step (start, connect, an answer) takes at most this long.
const STEP: Duration = Duration::from_secs(10);

/// Whether `redis-server` runs, installing it first when allowed and possible (once per run).
fn redis_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let runs = || Command::new("redis-server").arg("--version").output().is_ok_and(|out| out.status.success());
        if runs() {
            return true;
        }
        let allowed = std::env::var("SIGNALING_REDIS_INSTALL").map_or(true, |value| value != "0");
        let root = std::fs::read_to_string("/proc/self/status")
            .is_ok_and(|status| status.lines().any(|line| line.starts_with("Uid:\t0\t")));
        let apt = Command::new("apt-get").arg("--version").output().is_ok_and(|out| out.status.success());
        if allowed && root && apt {
            figure("redis-server is missing: installing Debian's package");
            let installed = Command::new("sh")
                .args([
                    "-c",
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
            if !installed {
                figure("installing redis-server failed");
            }
        }
        runs()
    })
}

/// Skips the test (prints why and returns `true`) when there is no `redis-server`.
fn skip_without_redis(test: &str) -> bool {
    if redis_available() {
        return false;
    }
    figure(format_args!(
        "SKIPPED {test}: redis-server is not installed (tools/redis-test installs it; \
         or `apt-get install redis-server`)"
    ));
    true
}

/// A free port on 127.0.0.1 (free when asked; the server binding it is retried if lost).
fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// A `redis-server` of this test alone.
struct Redis {
    /// The `redis-server` process; dropping it kills it and waits for it.
    process: Process,
    /// Its port on 127.0.0.1.
    port: u16,
}

impl Redis {
    /// Starts it on a free port of 127.0.0.1 without persistence and waits until it answers.
    fn start() -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        // The guard exists before the wait, so that a server that never answers is killed too.
        let redis = Self { process: Process { child }, port };
        let deadline = Instant::now() + STEP;
        while StdStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server answers on port {port} within {STEP:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    /// A server instance sharing lobbies through it, started with `extra` flags.
    fn instance(&self, extra: &[&str]) -> Server {
        let url = format!("redis://127.0.0.1:{}", self.port);
        let lease = LEASE.as_secs().to_string();
        let mut args = vec!["--redis", &url, "--redis-lease", &lease];
        args.extend_from_slice(extra);
        Server::start(&args, |_| {})
    }
}

/// A client that joined a lobby.
struct Member {
    /// Its WebSocket.
    ws: Ws,
    /// The peer id the server gave.
    peer_id: i64,
    /// The lobby's name.
    lobby: String,
    /// The peers it was told about while joining.
    peers: Vec<i64>,
}

/// Connects to `server` and joins `lobby` ("" creates one; `mesh` as the JOIN's id 0).
async fn join(server: &Server, lobby: &str) -> Member {
    let mut ws = server.connect().await;
    let Joined { peer_id, lobby, peers, .. } = common::join(&mut ws, lobby).await;
    Member { ws, peer_id, lobby, peers }
}

/// Asserts that `ws` gets exactly `expected` next.
async fn expect(ws: &mut Ws, expected: Message, what: &str) {
    assert_eq!(next(ws).await, Ok(expected), "{what}");
}

/// Two instances share a lobby, and end its members when one of them, then Redis, is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_a_lobby() {
    if skip_without_redis("two_instances_share_a_lobby") {
        return;
    }
    let mut redis = Redis::start();
    let mut one = redis.instance(&[]);
    let mut two = redis.instance(&[]);

    let started = Instant::now();
    let mut a = join(&one, "").await;
    assert_eq!((a.peer_id, a.peers.as_slice()), (HOST_ID, &[][..]));
    let mut b = join(&two, &a.lobby).await;
    figure(format_args!("create on instance 1 and join on instance 2: {:?}", started.elapsed()));
    assert_eq!(b.lobby, a.lobby);
    assert_eq!(b.peers, [HOST_ID], "B is told about the host on the other instance");
    expect(&mut a.ws, Message::new(Kind::PeerConnect, b.peer_id, ""), "A is told about B").await;

    let relayed = Instant::now();
    send(&mut a.ws, Message::new(Kind::Offer, b.peer_id, "offer-sdp")).await;
    expect(&mut b.ws, Message::new(Kind::Offer, HOST_ID, "offer-sdp"), "A's offer reaches B").await;
    figure(format_args!("an offer across instances: {:?}", relayed.elapsed()));
    send(&mut b.ws, Message::new(Kind::Answer, HOST_ID, "answer-sdp")).await;
    expect(&mut a.ws, Message::new(Kind::Answer, b.peer_id, "answer-sdp"), "B's answer reaches A").await;
    send(&mut b.ws, Message::new(Kind::Candidate, HOST_ID, "\n0\n0\ncandidate:1")).await;
    expect(&mut a.ws, Message::new(Kind::Candidate, b.peer_id, "\n0\n0\ncandidate:1"), "B's candidate reaches A").await;

    let mut c = join(&one, &a.lobby).await;
    assert_eq!(c.peers, [HOST_ID, b.peer_id], "C is told about A and B, in join order");
    assert!(![HOST_ID, b.peer_id].contains(&c.peer_id), "ids are unique across instances");
    expect(&mut a.ws, Message::new(Kind::PeerConnect, c.peer_id, ""), "A is told about C").await;
    expect(&mut b.ws, Message::new(Kind::PeerConnect, c.peer_id, ""), "B is told about C").await;
    send(&mut c.ws, Message::new(Kind::Offer, b.peer_id, "c-offer")).await;
    expect(&mut b.ws, Message::new(Kind::Offer, c.peer_id, "c-offer"), "C's offer reaches B").await;

    let left = Instant::now();
    b.ws.close(None).await.expect("B closes");
    expect(&mut a.ws, Message::new(Kind::PeerDisconnect, b.peer_id, ""), "A sees B leave").await;
    expect(&mut c.ws, Message::new(Kind::PeerDisconnect, b.peer_id, ""), "C sees B leave").await;
    figure(format_args!("a leave on instance 2 seen on instance 1: {:?}", left.elapsed()));

    let mut d = join(&two, &a.lobby).await;
    assert_eq!(d.peers, [HOST_ID, c.peer_id], "D is told about A and C, not B who left");
    expect(&mut a.ws, Message::new(Kind::PeerConnect, d.peer_id, ""), "A is told about D").await;
    expect(&mut c.ws, Message::new(Kind::PeerConnect, d.peer_id, ""), "C is told about D").await;

    // A lobby hosted on instance 2 with a member on instance 1, to see it end with instance 2.
    let mut host_two = join(&two, "").await;
    let mut guest_one = join(&one, &host_two.lobby).await;
    expect(&mut host_two.ws, Message::new(Kind::PeerConnect, guest_one.peer_id, ""), "the other lobby's host").await;

    send(&mut c.ws, Message::new(Kind::Seal, 0, "")).await;
    assert_eq!(next(&mut c.ws).await, Err("closed: only the host can seal the lobby".into()));
    expect(&mut a.ws, Message::new(Kind::PeerDisconnect, c.peer_id, ""), "A sees C closed").await;
    expect(&mut d.ws, Message::new(Kind::PeerDisconnect, c.peer_id, ""), "D sees C closed").await;
    send(&mut a.ws, Message::new(Kind::Seal, 0, "")).await;
    expect(&mut a.ws, Message::new(Kind::Seal, 0, ""), "the host hears its seal").await;
    expect(&mut d.ws, Message::new(Kind::Seal, 0, ""), "D on instance 2 hears the seal").await;
    for (server, which) in [(&two, "instance 2"), (&one, "instance 1")] {
        let mut late = server.connect().await;
        send(&mut late, Message::new(Kind::Join, 0, a.lobby.clone())).await;
        assert_eq!(next(&mut late).await, Err("closed: the lobby is sealed".into()), "a late joiner on {which}");
    }
    let mut lost = server_connect_and_join_missing(&one).await;
    assert_eq!(next(&mut lost).await, Err("closed: the lobby does not exist".into()));
    one.assert_alive("after the seal");
    two.assert_alive("after the seal");

    two.process.kill();
    let killed = Instant::now();
    let bound = REMOVAL_BOUND + REMOVAL_SLACK;
    let disconnect = next_within(&mut a.ws, bound).await;
    let seen = killed.elapsed();
    assert_eq!(disconnect, Ok(Message::new(Kind::PeerDisconnect, d.peer_id, "")), "A sees D go with its instance");
    figure(format_args!(
        "instance 2 killed: its peer removed on instance 1 after {seen:?} (bound: lease {LEASE:?} + a third = {REMOVAL_BOUND:?})"
    ));
    assert_eq!(
        next_within(&mut guest_one.ws, bound.saturating_sub(killed.elapsed())).await,
        Err("closed: the host has left".into()),
        "a lobby hosted on the dead instance ends"
    );
    figure(format_args!("a lobby hosted on instance 2 ended on instance 1 after {:?}", killed.elapsed()));
    // C was closed before, so A is the only member left on instance 1 with D gone: it still works.
    let mut e = join(&one, "").await;
    let mut f = join(&one, &e.lobby).await;
    expect(&mut e.ws, Message::new(Kind::PeerConnect, f.peer_id, ""), "instance 1 still serves").await;
    send(&mut f.ws, Message::new(Kind::Offer, HOST_ID, "still")).await;
    expect(&mut e.ws, Message::new(Kind::Offer, f.peer_id, "still"), "and relays").await;
    one.assert_alive("after instance 2 was killed");

    redis.process.kill();
    let lost = Instant::now();
    assert_eq!(next(&mut a.ws).await, Err("closed: the shared lobby directory was lost".into()), "Redis is gone");
    let status = one.process.wait_exit(STEP);
    assert_eq!(status, Some(1), "an instance that lost Redis exits with status 1");
    figure(format_args!("Redis killed: instance 1 closed its clients and exited after {:?}", lost.elapsed()));
}

/// A client that asks to join a lobby that does not exist.
async fn server_connect_and_join_missing(server: &Server) -> Ws {
    let mut ws = server.connect().await;
    send(&mut ws, Message::new(Kind::Join, 0, "ABCDEFGH")).await;
    ws
}

/// How big the measurement is.
#[derive(Debug, Clone, Copy)]
struct Size {
    /// Clients held (joined, in lobbies of `LOBBY_SIZE`).
    held: usize,
    /// Sender/receiver pairs relaying at once.
    pairs: usize,
    /// Messages each sender sends.
    messages_each: usize,
}

/// Members per lobby of the held clients.
const LOBBY_SIZE: usize = 8;
/// Joins in flight at once.
const JOINS_AT_ONCE: usize = 64;

impl Size {
    /// The tiny size, or the full one when `SIGNALING_BENCH=1`.
    fn from_env() -> Self {
        if std::env::var("SIGNALING_BENCH").is_ok_and(|value| value == "1") {
            Self { held: 5000, pairs: 50, messages_each: 2000 }
        } else {
            Self { held: 32, pairs: 4, messages_each: 50 }
        }
    }
}

/// Joins `count` clients to `servers` (round robin), in lobbies of [`LOBBY_SIZE`] created on the
/// first; returns them and the joins per second.
async fn hold(servers: &[&Server], count: usize) -> (Vec<Member>, f64) {
    let started = Instant::now();
    let mut held = Vec::with_capacity(count);
    let lobbies = count.div_ceil(LOBBY_SIZE);
    let hosts: Vec<Member> =
        futures_util::stream::iter(0..lobbies).map(|_| join(servers[0], "")).buffered(JOINS_AT_ONCE).collect().await;
    let names: Vec<String> = hosts.iter().map(|host| host.lobby.clone()).collect();
    held.extend(hosts);
    let guests = count.saturating_sub(lobbies);
    let joined: Vec<Member> = futures_util::stream::iter(0..guests)
        .map(|i| join(servers[(i + 1) % servers.len()], &names[i % lobbies]))
        .buffered(JOINS_AT_ONCE)
        .collect()
        .await;
    held.extend(joined);
    let rate = count as f64 / started.elapsed().as_secs_f64();
    (held, rate)
}

/// `pairs` senders on `from` each send `each` offers to a receiver on `to`; returns messages
/// relayed per second (from the first send to the last receipt).
async fn relay_rate(from: &Server, to: &Server, pairs: usize, each: usize) -> f64 {
    let mut meetings = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let mut sender = join(from, "").await;
        let receiver = join(to, &sender.lobby).await;
        expect(&mut sender.ws, Message::new(Kind::PeerConnect, receiver.peer_id, ""), "the pair meets").await;
        meetings.push((sender, receiver));
    }
    let payload = "x".repeat(RELAY_PAYLOAD);
    let started = Instant::now();
    let tasks: Vec<_> = meetings
        .into_iter()
        .map(|(mut sender, mut receiver)| {
            let payload = payload.clone();
            tokio::spawn(async move {
                let to = receiver.peer_id;
                let sending = async {
                    for n in 0..each {
                        let frame = Frame::Text(Message::new(Kind::Offer, to, payload.as_str()).to_json().into());
                        timeout(STEP, sender.ws.feed(frame)).await.expect("a send in time").expect("a send");
                        if n % FLUSH_EVERY == FLUSH_EVERY - 1 || n + 1 == each {
                            timeout(STEP, sender.ws.flush()).await.expect("a flush in time").expect("a flush");
                        }
                    }
                };
                let receiving = async {
                    for n in 0..each {
                        let message = next(&mut receiver.ws).await.expect("a relayed message");
                        assert_eq!((message.kind, message.id), (Kind::Offer, HOST_ID), "message {n}");
                    }
                };
                tokio::join!(sending, receiving);
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a pair relays every message");
    }
    (pairs * each) as f64 / started.elapsed().as_secs_f64()
}

/// Bytes of data in each relayed message (an ICE candidate's size).
const RELAY_PAYLOAD: usize = 100;
/// A sender flushes after this many messages.
const FLUSH_EVERY: usize = 32;
/// The flags of every measured instance: no rate limit in the way, room for every client (all
/// of them from 127.0.0.1, so the per-source caps are raised too).
const BENCH_FLAGS: [&str; 14] = [
    "--max-messages-per-second",
    "1000000",
    "--max-clients",
    "20000",
    "--max-lobbies",
    "20000",
    "--max-handshakes",
    "20000",
    "--max-handshakes-per-source",
    "20000",
    "--max-clients-per-source",
    "20000",
    "--max-lobbies-per-source",
    "20000",
];

/// The figures of one instance in memory, then of instances sharing lobbies through Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_held_clients_and_relay_rate() {
    let size = Size::from_env();
    figure(format_args!(
        "measuring {size:?} (lobbies of {LOBBY_SIZE}, {RELAY_PAYLOAD}-byte offers; SIGNALING_BENCH=1 for the full size)"
    ));
    {
        let mut server = Server::start(&BENCH_FLAGS, |_| {});
        let before = server.process.rss_kib();
        let (held, joins) = hold(&[&server], size.held).await;
        let after = server.process.rss_kib();
        let per_client = after.saturating_sub(before) as f64 / held.len() as f64;
        figure(format_args!(
            "in memory: {} clients held, {joins:.0} joins/s, {per_client:.1} KiB per client ({before} -> {after} KiB)",
            held.len()
        ));
        let rate = relay_rate(&server, &server, size.pairs, size.messages_each).await;
        figure(format_args!("in memory: {rate:.0} messages relayed/s ({} pairs)", size.pairs));
        server.assert_alive("after the in-memory measurement");
    }
    if skip_without_redis("one_instance_held_clients_and_relay_rate (its Redis half)") {
        return;
    }
    let redis = Redis::start();
    let mut one = redis.instance(&BENCH_FLAGS);
    let mut two = redis.instance(&BENCH_FLAGS);
    let before = one.process.rss_kib();
    let redis_before = redis.process.rss_kib();
    let (held, joins) = hold(&[&one], size.held).await;
    let after = one.process.rss_kib();
    let per_client = after.saturating_sub(before) as f64 / held.len() as f64;
    let redis_after = redis.process.rss_kib();
    figure(format_args!(
        "with Redis: {} clients held, {joins:.0} joins/s, {per_client:.1} KiB per client ({before} -> {after} KiB); \
         redis-server {redis_before} -> {redis_after} KiB",
        held.len()
    ));
    let local = relay_rate(&one, &one, size.pairs, size.messages_each).await;
    figure(format_args!("with Redis, both ends on one instance: {local:.0} messages relayed/s ({} pairs)", size.pairs));
    let across = relay_rate(&one, &two, size.pairs, size.messages_each).await;
    figure(format_args!("with Redis, across two instances: {across:.0} messages relayed/s ({} pairs)", size.pairs));
    let (split, split_joins) = hold(&[&one, &two], size.held.min(512)).await;
    figure(format_args!("with Redis: {} joins across two instances, {split_joins:.0} joins/s", split.len()));
    one.assert_alive("after the measurement with Redis");
    two.assert_alive("after the measurement with Redis");
}
