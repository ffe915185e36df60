//! The shared lobby directory in Redis: how several server instances share lobbies.
//!
//! Each lobby `NAME` is three hashes and one pub/sub channel, all named with the hash tag
//! `{NAME}` so that a lobby lives in one Redis Cluster slot:
//!
//! - `signaling:{NAME}`: `mesh` and `sealed` (`1` or `0`), and `seq`, the number of joins so far;
//! - `signaling:{NAME}:members`: peer id → `"<seq> <instance>"` (join order, and the instance
//!   holding the client);
//! - `signaling:{NAME}:leases`: instance → the Redis time (ms) its lease in this lobby ends;
//! - channel `signaling:{NAME}:events`: the lobby's events as JSON (`{"e":"joined",...}`,
//!   `left`, `sealed`, `closed`, `relay`).
//!
//! Every change is one Lua script (in `redis_directory/`), so it is atomic and publishes its
//! event in the same step: every instance watching the lobby receives the events in the order
//! the changes happened. Joins take the first free id among candidates the state machine drew.
//! An instance subscribes to a lobby's channel (and waits for Redis to confirm) before it sends
//! a join, so it receives its own join's event with the members before it.
//!
//! **Leases.** Every third of the lease, each instance runs `tick.lua` on every lobby it watches:
//! it renews its own lease there and removes the members of instances whose lease ran out,
//! publishing their leaving (or the lobby's end, if the host's instance is gone). An instance
//! that dies (even by SIGKILL) stops renewing, so its peers are removed at most a lease and a
//! third of one after its last renewal, and the others hear `PEER_DISCONNECT`. The keys expire
//! three leases after the last renewal or join, so lobbies whose every instance died go away.
//!
//! **Failure.** Requests are carried out in order, consecutive ones in one pipeline (relays and
//! scripts) on one multiplexed connection; subscriptions go over a second connection. If either
//! fails or Redis does not answer within [`RESPONSE_TIMEOUT`], the directory is lost: the pump
//! closes its clients and `serve_shared` returns the error.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Script, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::directory::{Event, Request, Ticket};
use crate::error::SignalingError;
use crate::protocol::{Kind, Message};
use crate::random::os_u64;

/// How long Redis may take to connect or to answer before the directory counts as lost.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests sent in one pipeline at most.
const BATCH: usize = 256;
/// What every key and channel starts with.
const PREFIX: &str = "signaling:";

/// Why the shared directory could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// Connecting to Redis (or loading the scripts) failed; holds the client's words.
    Connect(String),
    /// The connection to Redis failed or stopped answering while serving; holds why.
    Lost(String),
}

impl fmt::Display for DirectoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(details) => write!(f, "cannot use Redis: {details}"),
            Self::Lost(details) => write!(f, "lost Redis: {details}"),
        }
    }
}

impl std::error::Error for DirectoryError {}

/// The Lua scripts, each one atomic change of a lobby.
struct Scripts {
    join: Script,
    leave: Script,
    close: Script,
    seal: Script,
    tick: Script,
}

impl Scripts {
    fn new() -> Self {
        Self {
            join: Script::new(include_str!("redis_directory/join.lua")),
            leave: Script::new(include_str!("redis_directory/leave.lua")),
            close: Script::new(include_str!("redis_directory/close.lua")),
            seal: Script::new(include_str!("redis_directory/seal.lua")),
            tick: Script::new(include_str!("redis_directory/tick.lua")),
        }
    }

    fn all(&self) -> [&Script; 5] {
        [&self.join, &self.leave, &self.close, &self.seal, &self.tick]
    }
}

/// A connected Redis lobby directory, ready to be handed to `serve_shared`.
pub struct RedisDirectory {
    commands: MultiplexedConnection,
    subscriptions: PubSubSink,
    stream: PubSubStream,
    /// This instance's name in Redis: 16 random hex digits.
    instance: String,
    lease: Duration,
    scripts: Scripts,
}

impl fmt::Debug for RedisDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDirectory").field("instance", &self.instance).field("lease", &self.lease).finish()
    }
}

impl RedisDirectory {
    /// Connects to the Redis server at `url` (`redis://host:port/db`) and loads the scripts.
    /// `lease` is how long the instance's peers outlive it: another instance removes them within
    /// a lease and a third after this one stops.
    pub async fn connect(url: &str, lease: Duration) -> Result<Self, DirectoryError> {
        let failed = |error: redis::RedisError| DirectoryError::Connect(error.to_string());
        let client = redis::Client::open(url).map_err(failed)?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let mut commands = client.get_multiplexed_async_connection_with_config(&config).await.map_err(failed)?;
        let pubsub = tokio::time::timeout(RESPONSE_TIMEOUT, client.get_async_pubsub())
            .await
            .map_err(|_| DirectoryError::Connect("no answer to the subscription connection".into()))?
            .map_err(failed)?;
        let scripts = Scripts::new();
        for script in scripts.all() {
            script.prepare_invoke().load_async(&mut commands).await.map_err(failed)?;
        }
        let (subscriptions, stream) = pubsub.split();
        let instance =
            os_u64().ok_or_else(|| DirectoryError::Connect("the operating system's random source failed".into()))?;
        let instance = format!("{instance:016x}");
        Ok(Self { commands, subscriptions, stream, instance, lease: lease.max(Duration::from_millis(30)), scripts })
    }

    /// This instance's name in Redis.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}

/// What the directory tells the pump.
#[derive(Debug)]
pub(super) enum Report {
    /// A lobby event.
    Event(Event),
    /// A join was refused.
    Refused { ticket: Ticket, reason: SignalingError },
    /// The directory is lost.
    Lost(DirectoryError),
}

/// The directory's running tasks; dropping this stops them.
pub(super) struct Running {
    /// Where the pump sends requests.
    pub(super) requests: mpsc::UnboundedSender<Request>,
    tasks: [JoinHandle<()>; 2],
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts carrying out requests and reporting events to `reports`.
pub(super) fn start(directory: RedisDirectory, reports: mpsc::Sender<Report>) -> Running {
    let RedisDirectory { commands, subscriptions, stream, instance, lease, scripts } = directory;
    let (requests, queue) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read(stream, instance.clone(), reports.clone()));
    let writer = Writer { commands, subscriptions, instance, lease, scripts, watched: BTreeSet::new() };
    let writer = tokio::spawn(writer.run(queue, reports));
    Running { requests, tasks: [reader, writer] }
}

/// The JSON of the events on a lobby's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "lowercase")]
enum Published {
    Joined { peer: i64, instance: String, ticket: String, mesh: bool, members: String },
    Left { peer: i64 },
    Sealed,
    Closed,
    Relay { to: i64, from: i64, kind: i64, data: String },
}

fn lobby_key(lobby: &str) -> String {
    format!("{PREFIX}{{{lobby}}}")
}

/// A lobby's keys, in the order the scripts take them: `[lobby, members, leases]`.
fn keys(lobby: &str) -> [String; 3] {
    let lobby = lobby_key(lobby);
    let (members, leases) = (format!("{lobby}:members"), format!("{lobby}:leases"));
    [lobby, members, leases]
}

fn channel(lobby: &str) -> String {
    format!("{}:events", lobby_key(lobby))
}

/// The lobby a channel belongs to.
fn lobby_of(channel: &str) -> Option<&str> {
    channel.strip_prefix(PREFIX)?.strip_prefix('{')?.strip_suffix("}:events")
}

/// Turns a published event into the state machine's words; `None` for anything malformed.
fn decode(channel: &str, payload: &[u8], instance: &str) -> Option<Event> {
    let lobby = lobby_of(channel)?.to_owned();
    Some(match serde_json::from_slice::<Published>(payload).ok()? {
        Published::Joined { peer, instance: joiner, ticket, mesh, members } => Event::Joined {
            lobby,
            peer_id: peer,
            ticket: if joiner == instance { ticket.parse().ok() } else { None },
            mesh,
            members: members.split_whitespace().filter_map(|id| id.parse().ok()).collect(),
        },
        Published::Left { peer } => Event::Left { lobby, peer_id: peer },
        Published::Sealed => Event::Sealed { lobby },
        Published::Closed => Event::Closed { lobby },
        Published::Relay { to, from, kind, data } => {
            Event::Relayed { lobby, to, message: Message::new(Kind::from_number(kind)?, from, data) }
        }
    })
}

/// Reports every event received until the subscription connection ends.
async fn read(mut stream: PubSubStream, instance: String, reports: mpsc::Sender<Report>) {
    // One turn per published event; ends with the connection.
    while let Some(message) = stream.next().await {
        let Some(event) = decode(message.get_channel_name(), message.get_payload_bytes(), &instance) else {
            eprintln!("ignored a malformed event on {}", message.get_channel_name());
            continue;
        };
        if reports.send(Report::Event(event)).await.is_err() {
            return;
        }
    }
    let _ = reports.send(Report::Lost(DirectoryError::Lost("the subscription connection closed".into()))).await;
}

/// What a pipelined command's answer means.
enum Answer {
    /// Nothing to report.
    Ignored,
    /// The answer to the join `ticket`.
    Join(Ticket),
}

/// Carries out requests, in order, and renews the leases.
struct Writer {
    commands: MultiplexedConnection,
    subscriptions: PubSubSink,
    instance: String,
    lease: Duration,
    scripts: Scripts,
    /// Lobbies subscribed to.
    watched: BTreeSet<String>,
}

impl Writer {
    async fn run(mut self, mut queue: mpsc::UnboundedReceiver<Request>, reports: mpsc::Sender<Report>) {
        let mut tick = tokio::time::interval(self.lease / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One turn per batch of requests or tick; ends when the pump drops the queue or Redis fails.
        loop {
            let done = tokio::select! {
                first = queue.recv() => {
                    let Some(first) = first else { return };
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match queue.try_recv() {
                            Ok(request) => batch.push(request),
                            Err(_) => break,
                        }
                    }
                    self.carry_out(batch, &reports).await
                }
                _ = tick.tick() => self.tick().await,
            };
            if let Err(error) = done {
                let _ = reports.send(Report::Lost(DirectoryError::Lost(error))).await;
                return;
            }
        }
    }

    fn lease_ms(&self) -> u64 {
        u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX)
    }

    fn keep_ms(&self) -> u64 {
        self.lease_ms().saturating_mul(3)
    }

    /// Carries out `batch` in order: subscriptions one by one, everything between them in one
    /// pipeline.
    async fn carry_out(&mut self, batch: Vec<Request>, reports: &mpsc::Sender<Report>) -> Result<(), String> {
        let mut pipe = redis::pipe();
        let mut answers = Vec::new();
        for request in batch {
            match request {
                Request::Watch { lobby } => {
                    self.flush(&mut pipe, &mut answers, reports).await?;
                    if self.watched.insert(lobby.clone()) {
                        self.subscribe(true, &lobby).await?;
                    }
                }
                Request::Unwatch { lobby } => {
                    self.flush(&mut pipe, &mut answers, reports).await?;
                    if self.watched.remove(&lobby) {
                        self.subscribe(false, &lobby).await?;
                    }
                }
                Request::Create { ticket, lobby, mesh } => {
                    let mut invocation = self.scripts.join.prepare_invoke();
                    invocation.key(&keys(&lobby)[..]).arg(channel(&lobby)).arg(&self.instance).arg(ticket);
                    invocation.arg(self.lease_ms()).arg(self.keep_ms()).arg("1").arg(if mesh { "1" } else { "0" });
                    invocation.arg(0);
                    pipe.invoke_script(&invocation);
                    answers.push(Answer::Join(ticket));
                }
                Request::Join { ticket, lobby, candidates, max_peers } => {
                    let mut invocation = self.scripts.join.prepare_invoke();
                    invocation.key(&keys(&lobby)[..]).arg(channel(&lobby)).arg(&self.instance).arg(ticket);
                    invocation.arg(self.lease_ms()).arg(self.keep_ms()).arg("0").arg("0").arg(max_peers);
                    invocation.arg(candidates);
                    pipe.invoke_script(&invocation);
                    answers.push(Answer::Join(ticket));
                }
                Request::Leave { lobby, peer_id } => {
                    let mut invocation = self.scripts.leave.prepare_invoke();
                    invocation.key(&keys(&lobby)[..]).arg(channel(&lobby)).arg(peer_id);
                    pipe.invoke_script(&invocation);
                    answers.push(Answer::Ignored);
                }
                Request::Close { lobby } => {
                    let mut invocation = self.scripts.close.prepare_invoke();
                    invocation.key(&keys(&lobby)[..]).arg(channel(&lobby)).arg(&self.instance);
                    pipe.invoke_script(&invocation);
                    answers.push(Answer::Ignored);
                }
                Request::Seal { lobby } => {
                    let mut invocation = self.scripts.seal.prepare_invoke();
                    invocation.key(&keys(&lobby)[..]).arg(channel(&lobby)).arg(&self.instance);
                    pipe.invoke_script(&invocation);
                    answers.push(Answer::Ignored);
                }
                Request::Relay { lobby, to, message } => {
                    let published =
                        Published::Relay { to, from: message.id, kind: message.kind as i64, data: message.data };
                    let payload = serde_json::to_string(&published).map_err(|error| error.to_string())?;
                    pipe.cmd("PUBLISH").arg(channel(&lobby)).arg(payload);
                    answers.push(Answer::Ignored);
                }
            }
        }
        self.flush(&mut pipe, &mut answers, reports).await
    }

    async fn subscribe(&mut self, subscribe: bool, lobby: &str) -> Result<(), String> {
        let channel = channel(lobby);
        let done = if subscribe {
            tokio::time::timeout(RESPONSE_TIMEOUT, self.subscriptions.subscribe(&channel)).await
        } else {
            tokio::time::timeout(RESPONSE_TIMEOUT, self.subscriptions.unsubscribe(&channel)).await
        };
        match done {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("subscribing to {channel}: {error}")),
            Err(_) => Err(format!("subscribing to {channel}: no answer within {RESPONSE_TIMEOUT:?}")),
        }
    }

    /// Sends the pipeline (if it holds anything) and reports the answers to joins.
    async fn flush(
        &mut self,
        pipe: &mut redis::Pipeline,
        answers: &mut Vec<Answer>,
        reports: &mpsc::Sender<Report>,
    ) -> Result<(), String> {
        if answers.is_empty() {
            return Ok(());
        }
        let values: Vec<Value> = pipe.query_async(&mut self.commands).await.map_err(|error| error.to_string())?;
        pipe.clear();
        for (answer, value) in answers.drain(..).zip(values) {
            let Answer::Join(ticket) = answer else { continue };
            let refusal = match value {
                Value::Int(_) => continue,
                Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Value::SimpleString(text) => text,
                other => format!("{other:?}"),
            };
            let reason = match refusal.as_str() {
                "missing" => SignalingError::NoSuchLobby,
                "sealed" => SignalingError::LobbySealed,
                "full" => SignalingError::LobbyFull,
                _ => SignalingError::NoUnusedId,
            };
            if reports.send(Report::Refused { ticket, reason }).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Renews this instance's lease in every watched lobby and removes the peers of instances
    /// whose lease ran out (one pipeline).
    async fn tick(&mut self) -> Result<(), String> {
        if self.watched.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for lobby in &self.watched {
            let mut invocation = self.scripts.tick.prepare_invoke();
            invocation.key(&keys(lobby)[..]).arg(channel(lobby)).arg(&self.instance);
            invocation.arg(self.lease_ms()).arg(self.keep_ms());
            pipe.invoke_script(&invocation).ignore();
        }
        pipe.query_async::<()>(&mut self.commands).await.map_err(|error| error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_channels_share_the_lobbys_hash_tag() {
        assert_eq!(keys("AB"), ["signaling:{AB}", "signaling:{AB}:members", "signaling:{AB}:leases"]);
        assert_eq!(channel("AB"), "signaling:{AB}:events");
        assert_eq!(lobby_of(&channel("AB")), Some("AB"));
        assert_eq!(lobby_of("other"), None);
    }

    #[test]
    fn published_events_decode_and_only_our_joins_carry_a_ticket() {
        let joined = br#"{"e":"joined","peer":7,"instance":"me","ticket":"3","mesh":true,"members":"1 5"}"#;
        let event = decode("signaling:{AB}:events", joined, "me");
        let expected =
            Event::Joined { lobby: "AB".into(), peer_id: 7, ticket: Some(3), mesh: true, members: vec![1, 5] };
        assert_eq!(event, Some(expected));
        let theirs = decode("signaling:{AB}:events", joined, "other");
        assert!(matches!(theirs, Some(Event::Joined { ticket: None, .. })));
        let empty = br#"{"e":"joined","peer":1,"instance":"me","ticket":"1","mesh":false,"members":""}"#;
        assert!(
            matches!(decode("signaling:{AB}:events", empty, "me"), Some(Event::Joined { members, .. }) if members.is_empty())
        );
        assert_eq!(
            decode("signaling:{AB}:events", br#"{"e":"sealed"}"#, "me"),
            Some(Event::Sealed { lobby: "AB".into() })
        );
        let relay =
            serde_json::to_vec(&Published::Relay { to: 5, from: 1, kind: 4, data: "sdp".into() }).unwrap_or_default();
        assert_eq!(
            decode("signaling:{AB}:events", &relay, "me"),
            Some(Event::Relayed { lobby: "AB".into(), to: 5, message: Message::new(Kind::Offer, 1, "sdp") })
        );
        assert_eq!(decode("signaling:{AB}:events", b"garbage", "me"), None);
    }
}
