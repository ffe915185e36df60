//! The sender pays, on the real server binary: a lobby member floods the host with offers of the
//! largest size while the host, busy, reads nothing for a while. What waits for the host fills
//! up; the server then closes the flooder (not the host, which used to be closed for "not
//! reading" and took its lobby down with it) and the lobby goes on: the host reads what was
//! queued, hears the flooder leave, and a new guest joins and gets the host's offer.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{figure, join, lock, next, next_within, send, Server};
use futures_util::SinkExt;
use signaling::protocol::{Kind, Message, HOST_ID};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as Frame;

/// What every figure line starts with.
const PREFIX: &str = "signaling relay flood:";
/// One network step.
const STEP: Duration = Duration::from_secs(5);
/// The server's largest frame (its default).
const MAX_FRAME_SIZE: usize = 65536;
/// Offers the flooder sends at most; at the largest size that is 64 MiB, far more than the
/// sockets' buffers and the host's queue hold.
const FLOOD_OFFERS: usize = 1000;
/// How long the flooder may go on before the server must have closed it.
const FLOOD_LIMIT: Duration = Duration::from_secs(60);
/// Frames the host reads at most while catching up.
const CATCH_UP_FRAMES: usize = 10_000;

#[tokio::test]
async fn a_member_flooding_the_host_is_closed_and_the_lobby_goes_on() {
    let (mut server, log, mut host, lobby) = host_a_lobby().await;
    let mut flooder = server.connect().await;
    let flooder_id = join(&mut flooder, &lobby).await.peer_id;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, flooder_id, "")));

    // The host reads nothing while the flooder sends; the flooder reads only to see its close.
    let offer = Message::new(Kind::Offer, HOST_ID, "o".repeat(MAX_FRAME_SIZE - 64)).to_json();
    assert!(offer.len() <= MAX_FRAME_SIZE);
    let started = Instant::now();
    let mut sent = 0;
    while sent < FLOOD_OFFERS && started.elapsed() < FLOOD_LIMIT {
        match timeout(STEP, flooder.send(Frame::Text(offer.clone().into()))).await {
            Ok(Ok(())) => sent += 1,
            // The server closed it (a write fails) or stopped reading it: see why below.
            _ => break,
        }
    }
    let took = started.elapsed();
    // Its close frame may be lost to the reset of a socket closed with unread data in it, so the
    // server's log says why it was closed.
    let ended = until_ended(&mut flooder).await;
    figure(format_args!(
        "the flooder sent {sent} offers of {} KiB before it was closed, in {took:?}",
        offer.len() / 1024
    ));
    figure(format_args!("the flooder's end as it saw it: {ended}"));
    let overflow = format!("closed: peer {HOST_ID} does not read as fast as you send");
    let closes = close_lines(&log).await;
    assert_eq!(closes.len(), 1, "one client closed, the flooder: {closes:?}");
    assert!(closes[0].ends_with(&overflow), "{closes:?}");
    server.assert_alive("after the flood");

    // The host was never closed: it reads what was queued for it, then hears the flooder leave.
    let mut offers = 0;
    let mut left = false;
    for _ in 0..CATCH_UP_FRAMES {
        match next(&mut host).await {
            Ok(message) if message.kind == Kind::Offer && message.id == flooder_id => offers += 1,
            Ok(message) if message == Message::new(Kind::PeerDisconnect, flooder_id, "") => {
                left = true;
                break;
            }
            other => panic!("the host got {other:?} while catching up"),
        }
    }
    figure(format_args!("the host read {offers} of the flooder's offers, then its PEER_DISCONNECT"));
    assert!(left, "the host hears that the flooder left");
    assert!(offers < sent, "some offers were dropped rather than queued without end");

    // The lobby works: a new guest joins, and the host's offer reaches it.
    let mut guest = server.connect().await;
    let guest_id = join(&mut guest, &lobby).await.peer_id;
    assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, guest_id, "")));
    send(&mut host, Message::new(Kind::Offer, guest_id, "offer-sdp")).await;
    assert_eq!(next(&mut guest).await, Ok(Message::new(Kind::Offer, HOST_ID, "offer-sdp")));
    server.assert_alive("at the end");
}

/// The real server, with its log lines kept, and a host in a lobby of its own. The rate limit is
/// raised so that only what waits for the host is at stake (at the default rate a flooder would
/// be closed for flooding after its burst of 200).
async fn host_a_lobby() -> (Server, Arc<Mutex<Vec<String>>>, common::Ws, String) {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&log);
    let server =
        Server::start(&["--max-messages-per-second", "100000"], move |line| lock(&lines).push(line.to_owned()));
    let mut host = server.connect().await;
    let lobby = join(&mut host, "").await.lobby;
    (server, log, host, lobby)
}

/// The server's log lines that say a client was closed, once there is one (the log is read on
/// another thread, so a line may come a little after what it tells).
async fn close_lines(log: &Mutex<Vec<String>>) -> Vec<String> {
    let closes = || lock(log).iter().filter(|line| line.contains("closed")).cloned().collect::<Vec<_>>();
    let started = Instant::now();
    while closes().is_empty() && started.elapsed() < STEP {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    closes()
}

/// How the flooder's connection ended, as it saw it (it is sent no messages).
async fn until_ended(flooder: &mut common::Ws) -> String {
    match next_within(flooder, STEP).await {
        Ok(message) => panic!("the flooder was sent {message:?}"),
        Err(reason) => reason,
    }
}

/// Several members flood the host at once, each within its own share: together they fill the
/// room for relays, and the one holding the most of it pays each time. The host is never closed
/// (the server's own messages to it have room of their own), hears a newcomer join, and the
/// lobby goes on.
#[tokio::test]
async fn several_members_flooding_the_host_at_once_never_close_the_host() {
    let (mut server, log, mut host, lobby) = host_a_lobby().await;
    let mut flooders = Vec::new();
    for _ in 0..4 {
        let mut flooder = server.connect().await;
        let id = join(&mut flooder, &lobby).await.peer_id;
        assert_eq!(next(&mut host).await, Ok(Message::new(Kind::PeerConnect, id, "")));
        flooders.push(flooder);
    }
    let offer = Message::new(Kind::Offer, HOST_ID, "o".repeat(MAX_FRAME_SIZE - 64)).to_json();
    let floods = flooders.into_iter().map(|mut flooder| {
        let offer = offer.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            for _ in 0..FLOOD_OFFERS / 4 {
                let sent = timeout(STEP, flooder.send(Frame::Text(offer.clone().into()))).await;
                if !matches!(sent, Ok(Ok(()))) || started.elapsed() > FLOOD_LIMIT {
                    break;
                }
            }
            flooder
        })
    });
    let mut flooders = Vec::new();
    for flood in floods {
        flooders.push(flood.await.expect("a flood task"));
    }
    // A newcomer joins: the server tells the host, whose queue is full of relays.
    let mut guest = server.connect().await;
    let guest_id = join(&mut guest, &lobby).await.peer_id;
    let closes = close_lines(&log).await;
    figure(format_args!("{} of 4 flooders closed while flooding the host together", closes.len()));
    assert!(!closes.is_empty(), "the room for relays filled and a flooder paid");
    assert!(
        closes.iter().all(|line| line.ends_with(&format!("closed: peer {HOST_ID} does not read as fast as you send"))),
        "only flooders are closed, never the host: {closes:?}"
    );
    // The host catches up and hears the newcomer.
    let mut heard = false;
    for _ in 0..CATCH_UP_FRAMES {
        match next(&mut host).await {
            Ok(message) if message == Message::new(Kind::PeerConnect, guest_id, "") => {
                heard = true;
                break;
            }
            Ok(_) => {}
            Err(reason) => panic!("the host was closed: {reason}"),
        }
    }
    assert!(heard, "the host hears the newcomer join");
    send(&mut host, Message::new(Kind::Offer, guest_id, "offer-sdp")).await;
    // The guest heard the flooders leave first.
    let mut offer = None;
    for _ in 0..8 {
        match next(&mut guest).await {
            Ok(message) if message.kind == Kind::PeerDisconnect => {}
            other => {
                offer = Some(other);
                break;
            }
        }
    }
    assert_eq!(offer, Some(Ok(Message::new(Kind::Offer, HOST_ID, "offer-sdp"))));
    drop(flooders);
    server.assert_alive("at the end");
}
