//! The WebSocket side: accepts clients, feeds their frames to the [`Signaling`] state machine
//! and carries out its actions, with the limits that belong to the transport.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::lobby::{Action, ClientId, Limits, Signaling, PROTOCOL_ERROR};

/// Everything the server can be told.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Limits on clients, lobbies and lobby size.
    pub limits: Limits,
    /// Largest text frame accepted, in bytes.
    pub max_frame_size: usize,
    /// A client that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// A client that has not joined a lobby after this long is closed.
    pub join_timeout: Duration,
    /// Messages per second a client may send (averaged over one second, bursts of twice that).
    pub max_messages_per_second: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_frame_size: 64 * 1024,
            idle_timeout: Duration::from_secs(30),
            join_timeout: Duration::from_secs(10),
            max_messages_per_second: 100,
        }
    }
}

enum Outbound {
    Text(String),
    Ping,
    Close(u16, String),
}

struct Shared {
    config: Config,
    signaling: Mutex<Signaling>,
    outboxes: Mutex<HashMap<ClientId, mpsc::UnboundedSender<Outbound>>>,
    next_client: AtomicU64,
}

impl Shared {
    fn signaling(&self) -> std::sync::MutexGuard<'_, Signaling> {
        self.signaling.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn apply(&self, actions: Vec<Action>) {
        let outboxes = self.outboxes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for action in actions {
            let (client, outbound) = match action {
                Action::Send(client, message) => (client, Outbound::Text(message.to_json())),
                Action::Close(client, code, reason) => (client, Outbound::Close(code, reason)),
            };
            if let Some(outbox) = outboxes.get(&client) {
                let _ = outbox.send(outbound);
            }
        }
    }
}

fn log(client: ClientId, address: SocketAddr, event: &str) {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    println!("{seconds:.3} client {client} {address}: {event}");
}

/// Serves clients on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, config: Config) {
    let shared = Arc::new(Shared {
        config,
        signaling: Mutex::new(Signaling::new(config.limits)),
        outboxes: Mutex::new(HashMap::new()),
        next_client: AtomicU64::new(1),
    });
    loop {
        match listener.accept().await {
            Ok((stream, address)) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move { handle(shared, stream, address).await });
            }
            Err(error) => {
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handle(shared: Arc<Shared>, stream: TcpStream, address: SocketAddr) {
    let client = shared.next_client.fetch_add(1, Ordering::Relaxed);
    let config = shared.config;
    let websocket_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_frame_size))
        .max_frame_size(Some(config.max_frame_size));
    let upgrade = tokio_tungstenite::accept_async_with_config(stream, Some(websocket_config));
    let websocket = match tokio::time::timeout(config.join_timeout, upgrade).await {
        Ok(Ok(websocket)) => websocket,
        Ok(Err(error)) => return log(client, address, &format!("refused: not a WebSocket handshake ({error})")),
        Err(_) => return log(client, address, "refused: handshake timed out"),
    };
    let (mut sink, mut stream) = websocket.split();
    let (outbox, mut outgoing) = mpsc::unbounded_channel();
    shared.outboxes.lock().unwrap_or_else(|p| p.into_inner()).insert(client, outbox.clone());
    log(client, address, "connected");
    let refused = shared.signaling().connect(client);
    shared.apply(refused);

    let writer = tokio::spawn(async move {
        while let Some(outbound) = outgoing.recv().await {
            match outbound {
                Outbound::Text(text) => {
                    if sink.send(Frame::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Outbound::Ping => {
                    if sink.send(Frame::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
                Outbound::Close(code, reason) => {
                    let frame = CloseFrame { code: CloseCode::from(code), reason: reason.into() };
                    let _ = sink.send(Frame::Close(Some(frame))).await;
                    break;
                }
            }
        }
        let _ = sink.close().await;
    });

    let connected_at = Instant::now();
    let mut last_heard = Instant::now();
    let mut budget = f64::from(config.max_messages_per_second) * 2.0;
    let mut budget_at = Instant::now();
    let ping_every = config.idle_timeout / 3;
    // The reason the connection ends, and whether the state machine already sent the close.
    let (reason, close_sent) = loop {
        if !shared.signaling().has_joined(client) && connected_at.elapsed() > config.join_timeout {
            break ("did not join a lobby in time".to_owned(), false);
        }
        if last_heard.elapsed() > config.idle_timeout {
            break ("idle".to_owned(), false);
        }
        let frame = match tokio::time::timeout(ping_every.min(config.join_timeout), stream.next()).await {
            Err(_) => {
                let _ = outbox.send(Outbound::Ping);
                continue;
            }
            Ok(None) => break ("connection ended".to_owned(), true),
            Ok(Some(Err(error))) => break (format!("transport error: {error}"), false),
            Ok(Some(Ok(frame))) => frame,
        };
        last_heard = Instant::now();
        let rate = f64::from(config.max_messages_per_second);
        budget = (budget + budget_at.elapsed().as_secs_f64() * rate).min(rate * 2.0);
        budget_at = Instant::now();
        match frame {
            Frame::Text(text) => {
                budget -= 1.0;
                if budget < 0.0 {
                    break ("flooding".to_owned(), false);
                }
                let actions = shared.signaling().receive(client, text.as_str());
                let own_close = actions.iter().find_map(|action| match action {
                    Action::Close(to, _, reason) if *to == client => Some(reason.clone()),
                    _ => None,
                });
                if let Some(lobby_event) = join_event(&actions, client) {
                    log(client, address, &lobby_event);
                }
                shared.apply(actions);
                if let Some(reason) = own_close {
                    break (reason, true);
                }
            }
            Frame::Binary(_) => break ("binary frames are not part of the protocol".to_owned(), false),
            Frame::Close(_) => break ("closed by the client".to_owned(), true),
            _ => {}
        }
    };
    if !close_sent {
        let _ = outbox.send(Outbound::Close(PROTOCOL_ERROR, reason.clone()));
    }
    log(client, address, &format!("closed: {reason}"));
    let left = shared.signaling().disconnect(client);
    shared.apply(left);
    shared.outboxes.lock().unwrap_or_else(|p| p.into_inner()).remove(&client);
    drop(outbox);
    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
}

fn join_event(actions: &[Action], client: ClientId) -> Option<String> {
    let mut id = None;
    for action in actions {
        if let Action::Send(to, message) = action {
            if *to != client {
                continue;
            }
            match message.kind {
                crate::protocol::Kind::Id => id = Some(message.id),
                crate::protocol::Kind::Join => return Some(format!("joined lobby {} as peer {}", message.data, id.unwrap_or(0))),
                _ => {}
            }
        }
    }
    None
}
