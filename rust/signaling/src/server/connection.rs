//! One connection's I/O: the handshake (TLS when served directly as `wss://`, then the request
//! head: a health check is answered, anything but a WebSocket upgrade refused, and the upgrade
//! done by tungstenite, reading the client's forwarded address when the TCP peer is a trusted
//! proxy), a reader that turns frames into [`Event`]s for the pump, and a writer that carries
//! out the pump's [`Command`]s. It decides nothing: every rule is the state machine's.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

use super::forwarded::{forwarded_address, ProxyHeader};
use super::plain_http::Answer;
use super::replayed::Replayed;
use super::request_head::{self, Asked, Unread};
use super::tls::starts_with_tls;
use crate::error::SignalingError;
use crate::protocol::{close_reason, CLOSE_CODE};
use crate::signaling::ClientId;

/// How long a connection whose reading ended waits for its writer to send what is queued
/// (the close frame, typically) before it is dropped.
const WRITER_GRACE: Duration = Duration::from_secs(1);
/// What tungstenite reads from the socket at a time, and its read buffer's size. Its default
/// (128 KiB, zero-filled at the first read) made every open connection cost over 128 KiB;
/// signaling messages are small, and a larger frame still gets the room it needs.
const READ_BUFFER_SIZE: usize = 4096;
/// Frames written into tungstenite's write buffer at most between two flushes.
const FRAMES_PER_FLUSH: usize = 64;

/// What a connection reports to the pump.
#[derive(Debug)]
pub(super) enum Event {
    /// The handshake is done; `forwarded` is the client's address as its trusted proxy forwarded
    /// it (`None`: not behind a trusted proxy, or the proxy forwarded none).
    Opened { client: ClientId, forwarded: Option<IpAddr> },
    /// A text frame.
    Text { client: ClientId, text: String },
    /// A binary frame.
    Binary { client: ClientId },
    /// A ping or a pong.
    Control { client: ClientId },
    /// Reading or writing failed, or a frame broke the size limit.
    Failed { client: ClientId, error: String },
    /// The connection ended: closed by the client, or without a handshake.
    Ended { client: ClientId, reason: SignalingError },
}

/// What the pump asks a connection to do.
#[derive(Debug)]
pub(super) enum Command {
    /// Send a text frame; the permits are its share of the connection's queue limit and, for a
    /// relay, of its sender's share of that queue, given back once it is written.
    Text(String, OwnedSemaphorePermit, Option<OwnedSemaphorePermit>),
    /// Send a ping.
    Ping,
    /// Send a close frame with this reason, then stop (or drop the handshake).
    Close(String),
}

/// How one connection is set up.
pub(super) struct Setup {
    /// Largest text frame accepted, in bytes.
    pub(super) max_frame_size: usize,
    /// How long a write may take (the idle timeout).
    pub(super) write_timeout: Duration,
    /// The TLS acceptor when the server is `wss://`.
    pub(super) tls: Option<TlsAcceptor>,
    /// The header the client's address is read from: only when the TCP peer is a trusted proxy.
    pub(super) proxy_header: Option<ProxyHeader>,
}

/// Runs `client`'s connection until it ends or the pump closes it.
pub(super) async fn run(
    client: ClientId,
    stream: TcpStream,
    setup: Setup,
    events: mpsc::Sender<Event>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    // On a wss:// port, a connection whose first byte starts no TLS record may only ask for the
    // health check, in plain text.
    let tls = match setup.tls.clone() {
        None => None,
        Some(acceptor) => match within_handshake(client, starts_with_tls(&stream), &events, &mut commands).await {
            None => return,
            Some(true) => Some(acceptor),
            Some(false) => None,
        },
    };
    match tls {
        None => {
            let upgrades = setup.tls.is_none();
            let handshake = handshake(stream, &setup, upgrades);
            if let Some(websocket) = open(client, handshake, &events, &mut commands).await {
                talk(client, websocket, setup.write_timeout, events, commands).await;
            }
        }
        Some(acceptor) => {
            let handshake = async {
                let stream =
                    acceptor.accept(stream).await.map_err(|error| SignalingError::NotTls(error.to_string()))?;
                handshake(stream, &setup, true).await
            };
            if let Some(websocket) = open(client, handshake, &events, &mut commands).await {
                talk(client, websocket, setup.write_timeout, events, commands).await;
            }
        }
    }
}

/// Runs `step`, a part of the handshake, until it is done (its result returned) or fails
/// (reported as [`Event::Ended`]), or until the pump closes the connection (its handshake took
/// too long).
async fn within_handshake<T>(
    client: ClientId,
    step: impl std::future::Future<Output = Result<T, SignalingError>>,
    events: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Option<T> {
    tokio::select! {
        done = step => match done {
            Ok(done) => Some(done),
            Err(reason) => {
                let _ = events.send(Event::Ended { client, reason }).await;
                None
            }
        },
        // The only command before the handshake is done is a close: the handshake took too long.
        _ = commands.recv() => None,
    }
}

/// Runs `handshake` until it is done (reported as [`Event::Opened`], and the WebSocket returned)
/// or fails (reported as [`Event::Ended`]), or until the pump closes the connection (its
/// handshake took too long).
async fn open<S>(
    client: ClientId,
    handshake: impl std::future::Future<Output = Result<(WebSocketStream<S>, Option<IpAddr>), SignalingError>>,
    events: &mpsc::Sender<Event>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
) -> Option<WebSocketStream<S>> {
    let (websocket, forwarded) = within_handshake(client, handshake, events, commands).await?;
    events.send(Event::Opened { client, forwarded }).await.ok()?;
    Some(websocket)
}

/// The WebSocket handshake over `stream`; the open WebSocket and the forwarded client address.
/// The request head is read first: a health check is answered (and ends the connection as
/// [`SignalingError::HealthChecked`]), a request that is not an upgrade (or, without `upgrades`,
/// any upgrade) is refused with a 4xx; an upgrade is handed to tungstenite with the bytes read.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    setup: &Setup,
    upgrades: bool,
) -> Result<(WebSocketStream<Replayed<S>>, Option<IpAddr>), SignalingError> {
    let head = match request_head::read(&mut stream).await {
        Ok(head) => head,
        Err(unread) => {
            let answer = match unread {
                Unread::Malformed(_) => Some(Answer::BadRequest),
                Unread::TooLarge => Some(Answer::TooLarge),
                Unread::Ended(_) => None,
            };
            if let Some(answer) = answer {
                answer.write(&mut stream, false).await;
            }
            return Err(SignalingError::NotWebSocket(unread.to_string()));
        }
    };
    let refusal = match head.asked {
        Asked::Upgrade if upgrades => None,
        Asked::Upgrade => Some(Answer::BadRequest),
        Asked::Health => {
            Answer::Healthy.write(&mut stream, head.head_only).await;
            return Err(SignalingError::HealthChecked);
        }
        Asked::Other => Some(Answer::NotFound),
    };
    if let Some(answer) = refusal {
        answer.write(&mut stream, head.head_only).await;
        let details = format!("a plain HTTP request, answered {}", answer.status());
        return Err(SignalingError::NotWebSocket(details));
    }
    let stream = Replayed::new(head.bytes, stream);
    let defaults = WebSocketConfig::default();
    // Unsent bytes (the writer's frame, and the pongs tungstenite answers pings with) wait in
    // the write buffer. Without a limit, a client that pings and never reads would grow it
    // without end. Room for the buffer and two of the largest frames (a relayed message is a
    // little longer than the frame it came in); tungstenite requires more than the buffer.
    // Beyond that, a new pong replaces the one waiting and a message fails, closing the client.
    let max_unsent =
        defaults.write_buffer_size.saturating_add(setup.max_frame_size.saturating_mul(2)).saturating_add(1);
    let websocket_config = defaults
        .read_buffer_size(READ_BUFFER_SIZE)
        .max_write_buffer_size(max_unsent)
        .max_message_size(Some(setup.max_frame_size))
        .max_frame_size(Some(setup.max_frame_size));
    let mut forwarded = None;
    // The callback's type is tungstenite's (its error is the HTTP response refusing a handshake).
    #[allow(clippy::result_large_err)]
    let read_forwarded = |request: &Request, response: Response| {
        forwarded = setup.proxy_header.and_then(|header| forwarded_address(header, request));
        Ok(response)
    };
    let websocket = tokio_tungstenite::accept_hdr_async_with_config(stream, read_forwarded, Some(websocket_config))
        .await
        .map_err(|error| SignalingError::NotWebSocket(error.to_string()))?;
    Ok((websocket, forwarded))
}

/// Reads and writes `client`'s open WebSocket until it ends or the pump closes it.
async fn talk<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    client: ClientId,
    websocket: WebSocketStream<S>,
    write_timeout: Duration,
    events: mpsc::Sender<Event>,
    commands: mpsc::UnboundedReceiver<Command>,
) {
    let (sink, source) = websocket.split();
    let mut writer = tokio::spawn(write(sink, commands, write_timeout));
    let ending = tokio::select! {
        ending = read(client, source, &events) => Some(ending),
        written = &mut writer => {
            match written {
                // The pump closed the client: nothing to report.
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(Event::Failed { client, error }),
                Err(error) => Some(Event::Failed { client, error: error.to_string() }),
            }
        }
    };
    let Some(ending) = ending else { return };
    let _ = events.send(ending).await;
    if !writer.is_finished() {
        let _ = tokio::time::timeout(WRITER_GRACE, &mut writer).await;
        writer.abort();
    }
}

/// Reports frames until the connection ends; returns the event that says how it ended.
async fn read<S: AsyncRead + AsyncWrite + Unpin>(
    client: ClientId,
    mut source: SplitStream<WebSocketStream<S>>,
    events: &mpsc::Sender<Event>,
) -> Event {
    // One turn per frame; the client's idle timeout and the rate limit bound how long it lasts.
    loop {
        let event = match source.next().await {
            None => return Event::Ended { client, reason: SignalingError::ConnectionEnded },
            Some(Err(error)) => return Event::Failed { client, error: error.to_string() },
            Some(Ok(Frame::Close(_))) => return Event::Ended { client, reason: SignalingError::ClosedByClient },
            Some(Ok(Frame::Text(text))) => Event::Text { client, text: text.as_str().to_owned() },
            Some(Ok(Frame::Binary(_))) => Event::Binary { client },
            Some(Ok(Frame::Ping(_) | Frame::Pong(_) | Frame::Frame(_))) => Event::Control { client },
        };
        if events.send(event).await.is_err() {
            // The pump is gone.
            return Event::Ended { client, reason: SignalingError::ConnectionEnded };
        }
    }
}

/// Carries out commands until a close or until the pump drops the queue. Frames queued together
/// (an answer to a JOIN, a burst of relays) are written together and flushed once; each write
/// and flush may take up to `write_timeout`: a client that takes no frames for that long is as
/// good as gone.
async fn write<S: AsyncRead + AsyncWrite + Unpin>(
    mut sink: SplitSink<WebSocketStream<S>, Frame>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    write_timeout: Duration,
) -> Result<(), String> {
    let timed_out = || format!("a frame was not taken within {write_timeout:?}");
    // A command taken from the queue but left for the next round (the round's bound was reached).
    let mut carried = None;
    // One round per burst of queued commands; ends with a close or when the pump drops the queue.
    'commands: loop {
        let first = match carried.take() {
            Some(command) => command,
            None => match commands.recv().await {
                Some(command) => command,
                None => break,
            },
        };
        let mut next = Some(first);
        // At most FRAMES_PER_FLUSH frames go into tungstenite's write buffer before a flush.
        for _ in 0..FRAMES_PER_FLUSH {
            let Some(command) = next.take() else { break };
            // A text's share of the queue limit is held until the text is in tungstenite's
            // write buffer, which has its own limit.
            let (frame, last, _shares) = match command {
                Command::Text(text, queue, sender) => (Frame::Text(text.into()), false, Some((queue, sender))),
                Command::Ping => (Frame::Ping(Default::default()), false, None),
                Command::Close(reason) => {
                    let reason = close_reason(&reason).to_owned();
                    let frame = CloseFrame { code: CloseCode::from(CLOSE_CODE), reason: reason.into() };
                    (Frame::Close(Some(frame)), true, None)
                }
            };
            match tokio::time::timeout(write_timeout, sink.feed(frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(error.to_string()),
                Err(_) => return Err(timed_out()),
            }
            if last {
                let _ = tokio::time::timeout(write_timeout, sink.flush()).await;
                break 'commands;
            }
            next = commands.try_recv().ok();
        }
        match tokio::time::timeout(write_timeout, sink.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => return Err(timed_out()),
        }
        carried = next;
    }
    let _ = tokio::time::timeout(write_timeout, sink.close()).await;
    Ok(())
}
