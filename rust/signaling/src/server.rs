//! The WebSocket pump around the [`Signaling`] state machine: it accepts connections (dropping at
//! once those the state machine refuses: too many in their handshake), reports their events with
//! the current instant and source address, carries out the outputs, and wakes the state machine
//! at its next deadline. The rules it enforces itself are about size: the frame size, which
//! tungstenite checks while reading, and how much may wait to be written to a client. A client
//! that lets server messages pile up does not read: a transport error, for which the state
//! machine closes it. A relayed message that would overflow its receiver's queue, or its
//! sender's share of it, is charged to the sender: the message is dropped and the sender closed,
//! the receiver stays. One log line per connection event goes to stdout.
//!
//! Before the WebSocket handshake the connection's request head is read (bounded: 16 KiB, 124
//! headers, the handshake deadline): a plain `GET /health` is answered `200 ok` and closed
//! ([`health`]), any other request that is not an upgrade refused with a 4xx.
//!
//! With [`Config::tls`] every connection starts with a TLS handshake (`wss://`); with
//! [`Config::trusted_proxies`] a connection from one of them is counted under the client address
//! the proxy forwards ([`ProxyHeader`]) once its handshake is done.
//!
//! [`serve`] is the single-process server: lobbies live in the state machine's memory.
//! [`serve_shared`] shares them with other instances through Redis ([`RedisDirectory`]): the
//! pump also hands the state machine's directory requests to Redis, in order, and reports the
//! lobby events Redis publishes (see `redis_directory.rs` for the data layout, the leases and
//! what happens when Redis fails).

mod connection;
mod forwarded;
pub mod health;
mod plain_http;
mod redis_directory;
mod replayed;
mod request_head;
mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

use crate::error::SignalingError;
use crate::limits::Limits;
use crate::output::Output;
use crate::signaling::{ClientId, Signaling};
use crate::source::Source;
use crate::turn_credentials::{TurnConfig, WallClock};
use connection::{Command, Event, Setup};
pub use forwarded::ProxyHeader;
pub use redis_directory::{DirectoryError, RedisDirectory, RESPONSE_TIMEOUT};
use redis_directory::{Report, Running};
pub use tls::{Tls, TlsError};

/// Events waiting for the pump at most; a connection that finds the queue full waits (and so
/// reads no further) until there is room.
const EVENT_QUEUE_LENGTH: usize = 1024;
/// How long the pump sleeps when no client has a deadline.
const SLEEP_WITHOUT_DEADLINE: Duration = Duration::from_secs(60);
/// How long the pump waits before accepting again after accepting failed (out of descriptors).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);
/// Text waiting for one connection's writer at most, in largest frames (1 MiB with the default
/// frame size). A client that lets more pile up, beyond what its socket took, does not read: it
/// is closed, rather than let the server grow without bound.
const UNSENT_FRAMES: usize = 16;
/// Relayed text (offers, answers, candidates) that may wait for one receiver's writer at most,
/// in largest frames (512 KiB with the default frame size), beside the server's own messages'
/// [`UNSENT_FRAMES`]: relays never fill the room the server's own messages need, so however many
/// members flood one, the receiver is never closed for their sake. Past it the sender holding
/// the most of it is closed.
const RELAY_FRAMES: usize = 8;
/// Text relayed by one sender that may wait for one receiver's writer at most, in largest frames
/// (256 KiB with the default frame size): half of [`RELAY_FRAMES`], so that one member flooding
/// another is stopped while the others' relays still get through. Past it the sender is closed.
const RELAY_SHARE_FRAMES: usize = 4;
/// How long the pump lets close frames go out after the shared directory is lost.
const LOST_GRACE: Duration = Duration::from_millis(500);

/// Everything the server can be told.
#[derive(Debug, Clone)]
pub struct Config {
    /// The numbers the state machine enforces.
    pub limits: Limits,
    /// Largest text frame accepted, in bytes.
    pub max_frame_size: usize,
    /// Serve `wss://` with this certificate and key; `None` serves `ws://`.
    pub tls: Option<Tls>,
    /// Proxies whose connections are counted under the client address they forward (and are
    /// not held to the per-source handshake cap themselves).
    pub trusted_proxies: Vec<IpAddr>,
    /// The header the trusted proxies append the client's address to.
    pub proxy_header: ProxyHeader,
    /// What the TURN credentials lobby members may ask for are made with; `None`: they get an
    /// empty answer.
    pub turn: Option<TurnConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_frame_size: 64 * 1024,
            tls: None,
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::default(),
            turn: None,
        }
    }
}

/// A connection as the pump knows it.
struct Connection {
    /// The TCP peer.
    address: SocketAddr,
    /// The client's address forwarded by a trusted proxy, once its handshake is done.
    forwarded: Option<IpAddr>,
    commands: mpsc::UnboundedSender<Command>,
    /// Bytes of text that may still be queued for its writer; each text holds its share until
    /// it is written.
    unsent: Arc<Semaphore>,
    /// Bytes of relayed text that may still be queued for its writer (see [`RELAY_FRAMES`]).
    relays: Arc<Semaphore>,
    /// For each client that relayed to it lately: bytes of that client's relays that may still
    /// be queued for its writer (see [`RELAY_SHARE_FRAMES`]).
    relayed_from: HashMap<ClientId, Arc<Semaphore>>,
    /// Its WebSocket handshake is done.
    open: bool,
}

impl Connection {
    /// Where the log says it comes from: the TCP peer, and the forwarded address if any.
    fn origin(&self) -> String {
        match self.forwarded {
            Some(forwarded) => format!("{} (for {forwarded})", self.address),
            None => self.address.to_string(),
        }
    }
}

/// The state machine, the connections' command queues, and the queue their events come in by.
struct Pump {
    config: Config,
    signaling: Signaling,
    connections: HashMap<ClientId, Connection>,
    events: mpsc::Sender<Event>,
    /// The shared directory's tasks, when lobbies are shared.
    directory: Option<Running>,
    /// TCP connections closed at once (too many in their handshake) since the last log line
    /// saying so, which the next connection accepted writes.
    refused_at_once: u64,
}

/// Serves clients on `listener` until the future is dropped. Lobby names and peer ids are
/// drawn from the operating system's random source.
pub async fn serve(listener: TcpListener, config: Config) {
    let signaling = Signaling::new(config.limits);
    run(listener, config, signaling, None).await;
}

/// Serves clients on `listener`, sharing lobbies with every other instance connected to the same
/// Redis through `directory`, until the future is dropped. Returns only if Redis is lost: its
/// clients have then been closed (reason: "the shared lobby directory was lost").
pub async fn serve_shared(listener: TcpListener, config: Config, directory: RedisDirectory) -> DirectoryError {
    let (reporter, reports) = mpsc::channel(EVENT_QUEUE_LENGTH);
    let running = redis_directory::start(directory, reporter);
    let signaling = Signaling::with_shared_lobbies(config.limits);
    let lost = run(listener, config, signaling, Some((running, reports))).await;
    lost.unwrap_or_else(|| DirectoryError::Lost("the pump stopped".into()))
}

/// The pump's loop; returns only when the shared directory is lost, with why.
async fn run(
    listener: TcpListener,
    config: Config,
    signaling: Signaling,
    directory: Option<(Running, mpsc::Receiver<Report>)>,
) -> Option<DirectoryError> {
    let signaling = match config.turn.clone() {
        Some(turn) => signaling.with_turn_credentials(turn, WallClock::now()),
        None => signaling,
    };
    let (events, mut inbox) = mpsc::channel(EVENT_QUEUE_LENGTH);
    let (directory, mut reports) = directory.unzip();
    let mut pump = Pump { config, signaling, connections: HashMap::new(), events, directory, refused_at_once: 0 };
    loop {
        let alarm = match pump.signaling.poll_timeout() {
            Some(deadline) => tokio::time::sleep_until(deadline.into()),
            None => tokio::time::sleep(SLEEP_WITHOUT_DEADLINE),
        };
        let mut lost = None;
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, address)) => pump.accept(stream, address),
                Err(error) => {
                    eprintln!("accept failed: {error}");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                }
            },
            Some(event) = inbox.recv() => pump.report(event),
            report = next_report(&mut reports) => lost = pump.directory_report(report),
            () = alarm => pump.signaling.handle_timeout(Instant::now()),
        }
        pump.carry_out_outputs();
        pump.forward_requests();
        if let Some(error) = lost {
            eprintln!("{error}: closing every client in a lobby");
            tokio::time::sleep(LOST_GRACE).await;
            return Some(error);
        }
    }
}

/// The shared directory's next report; never comes when lobbies live in memory.
async fn next_report(reports: &mut Option<mpsc::Receiver<Report>>) -> Report {
    let Some(reports) = reports else { return std::future::pending().await };
    match reports.recv().await {
        Some(report) => report,
        None => Report::Lost(DirectoryError::Lost("the directory's tasks ended".into())),
    }
}

impl Pump {
    /// Hands a report of the shared directory to the state machine; returns the error when the
    /// directory is lost.
    fn directory_report(&mut self, report: Report) -> Option<DirectoryError> {
        match report {
            Report::Event(event) => self.signaling.directory_event(event),
            Report::Refused { ticket, reason } => self.signaling.join_refused(ticket, reason),
            Report::Lost(error) => {
                self.signaling.directory_lost();
                self.directory = None;
                return Some(error);
            }
        }
        None
    }

    /// Sends the state machine's requests to the shared directory, in order.
    fn forward_requests(&mut self) {
        while let Some(request) = self.signaling.poll_request() {
            if let Some(directory) = &self.directory {
                // If the directory's tasks are gone, their loss is on the way as a report.
                let _ = directory.requests.send(request);
            }
        }
    }

    fn accept(&mut self, stream: TcpStream, address: SocketAddr) {
        let proxied = self.config.trusted_proxies.contains(&address.ip());
        let source = (!proxied).then(|| Source::of(address.ip()));
        // Refused (too many handshakes): the stream is dropped, which closes it, and only counted,
        // so that a flood of connections costs no more than that; the next connection accepted
        // logs the count.
        let Some(client) = self.signaling.accept(Instant::now(), source) else {
            self.refused_at_once = self.refused_at_once.saturating_add(1);
            return;
        };
        if self.refused_at_once > 0 {
            let refused = std::mem::take(&mut self.refused_at_once);
            println!("{:.3} refused {refused} connections at once (too many in their handshake)", unix_seconds());
        }
        // Answers are bursts of small frames (ID, PEER_CONNECTs, JOIN): without this, Nagle's
        // algorithm held each burst's second frame until the client's delayed ACK (~40 ms).
        let _ = stream.set_nodelay(true);
        let (commands, queue) = mpsc::unbounded_channel();
        let unsent = Arc::new(Semaphore::new(self.max_unsent()));
        let relays = Arc::new(Semaphore::new(self.max_relayed()));
        let connection = Connection {
            address,
            forwarded: None,
            commands,
            unsent,
            relays,
            relayed_from: HashMap::new(),
            open: false,
        };
        self.connections.insert(client, connection);
        let setup = Setup {
            max_frame_size: self.config.max_frame_size,
            write_timeout: self.config.limits.idle_timeout,
            tls: self.config.tls.as_ref().map(Tls::acceptor),
            proxy_header: proxied.then_some(self.config.proxy_header),
        };
        tokio::spawn(connection::run(client, stream, setup, self.events.clone(), queue));
    }

    fn report(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Opened { client, forwarded } => {
                let Some(connection) = self.connections.get_mut(&client) else { return };
                connection.open = true;
                connection.forwarded = forwarded;
                log(client, &connection.origin(), "connected");
                let source = Source::of(forwarded.unwrap_or(connection.address.ip()));
                self.signaling.open(client, now, source);
            }
            Event::Text { client, text } => self.signaling.receive_text(client, &text, now),
            Event::Binary { client } => self.signaling.receive_binary(client, now),
            Event::Control { client } => self.signaling.receive_control(client, now),
            Event::Failed { client, error } => self.signaling.transport_failed(client, error),
            Event::Ended { client, reason } => {
                // Health checks (every 30 s from a container's HEALTHCHECK) are not logged.
                let logged = reason != SignalingError::HealthChecked;
                if let Some(connection) = self.connections.remove(&client).filter(|_| logged) {
                    let verdict = if connection.open { "closed" } else { "refused" };
                    log(client, &connection.origin(), &format!("{verdict}: {reason}"));
                }
                self.signaling.disconnected(client);
            }
        }
    }

    fn carry_out_outputs(&mut self) {
        while let Some(output) = self.signaling.poll_output() {
            match output {
                Output::Send { client, message } => self.send_text(client, message.to_json()),
                Output::Relay { client, from, message } => self.relay_text(client, from, message.to_json()),
                Output::Ping { client } => self.command(client, Command::Ping),
                Output::Close { client, reason } => {
                    let Some(connection) = self.connections.remove(&client) else { continue };
                    let verdict = if connection.open { "closed" } else { "refused" };
                    log(client, &connection.origin(), &format!("{verdict}: {reason}"));
                    let _ = connection.commands.send(Command::Close(reason.to_string()));
                }
                Output::Joined { client, lobby, peer_id } => {
                    if let Some(connection) = self.connections.get(&client) {
                        log(client, &connection.origin(), &format!("joined lobby {lobby} as peer {peer_id}"));
                    }
                }
            }
        }
    }

    /// Bytes of text that may wait for one connection's writer.
    fn max_unsent(&self) -> usize {
        self.config.max_frame_size.saturating_mul(UNSENT_FRAMES).min(Semaphore::MAX_PERMITS)
    }

    /// Queues `text` for `client`, or fails the client if that would put more than
    /// [`Pump::max_unsent`] in front of its writer (its close is then among the outputs).
    fn send_text(&mut self, client: ClientId, text: String) {
        let Some(connection) = self.connections.get(&client) else { return };
        let size = u32::try_from(text.len()).unwrap_or(u32::MAX);
        match Arc::clone(&connection.unsent).try_acquire_many_owned(size) {
            Ok(share) => self.command(client, Command::Text(text, share, None)),
            Err(_) => {
                let error = format!("over {} bytes wait to be written: the client does not read", self.max_unsent());
                self.signaling.transport_failed(client, error);
            }
        }
    }

    /// Bytes of relayed text that may wait for one receiver's writer.
    fn max_relayed(&self) -> usize {
        self.config.max_frame_size.saturating_mul(RELAY_FRAMES).min(Semaphore::MAX_PERMITS)
    }

    /// Bytes of one sender's relays that may wait for one receiver's writer.
    fn max_relay_share(&self) -> usize {
        self.config.max_frame_size.saturating_mul(RELAY_SHARE_FRAMES).min(Semaphore::MAX_PERMITS)
    }

    /// Queues `text`, relayed from `from` (`None`: a member on another instance), for `client`,
    /// within the receiver's room for relays ([`Pump::max_relayed`]) and the sender's share of it
    /// ([`Pump::max_relay_share`]). Past the share, the sender pays: the text is dropped and the
    /// sender closed. Past the room (several senders flooding one receiver), the text is dropped
    /// and the sender holding the most of the room is closed. The receiver always stays: relays
    /// never take the room the server's own messages need. (A sender on another instance is
    /// bounded by its own instance's rate limit; only its text is dropped.)
    fn relay_text(&mut self, client: ClientId, from: Option<ClientId>, text: String) {
        let max_share = self.max_relay_share();
        let max_senders = self.config.limits.max_lobby_peers;
        let Some(connection) = self.connections.get_mut(&client) else { return };
        let size = u32::try_from(text.len()).unwrap_or(u32::MAX);
        let sender_share = match from {
            None => Ok(None),
            Some(sender) => {
                if connection.relayed_from.len() >= max_senders && !connection.relayed_from.contains_key(&sender) {
                    // A sender none of whose relays wait holds nothing: its entry can go.
                    connection.relayed_from.retain(|_, share| share.available_permits() < max_share);
                }
                let share =
                    connection.relayed_from.entry(sender).or_insert_with(|| Arc::new(Semaphore::new(max_share)));
                Arc::clone(share).try_acquire_many_owned(size).map(Some)
            }
        };
        let Ok(sender_share) = sender_share else {
            if let Some(sender) = from {
                self.signaling.relay_overflowed(sender, client);
            }
            return;
        };
        match Arc::clone(&connection.relays).try_acquire_many_owned(size) {
            Ok(room) => self.command(client, Command::Text(text, room, sender_share)),
            Err(_) => {
                // The sender holding the most of the receiver's room pays.
                let heaviest = connection
                    .relayed_from
                    .iter()
                    .max_by_key(|(_, share)| max_share - share.available_permits().min(max_share))
                    .map(|(sender, _)| *sender)
                    .or(from);
                log(client, &connection.origin(), "dropped a relay: the room for relays is full");
                if let Some(sender) = heaviest {
                    self.signaling.relay_overflowed(sender, client);
                }
            }
        }
    }

    fn command(&self, client: ClientId, command: Command) {
        if let Some(connection) = self.connections.get(&client) {
            // The connection may have ended already; its end is on the way as an event.
            let _ = connection.commands.send(command);
        }
    }
}

/// One log line: seconds since the Unix epoch, the client, its address, what happened.
fn log(client: ClientId, address: &str, event: &str) {
    println!("{:.3} client {client} {address}: {event}", unix_seconds());
}

/// Seconds since the Unix epoch, for the log.
fn unix_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
