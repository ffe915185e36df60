//! One test per rule of the state machine, each driving time by hand.

mod flood;
mod hostile;
mod ids;
mod lobbies;
mod relay;
mod shared;
mod sources;
mod timeouts;
mod turn;

use std::time::{Duration, Instant};

use super::*;

/// The seed every test uses, so that names and ids repeat from run to run.
const SEED: u64 = 7;

/// Small numbers, so that every limit is easy to reach.
fn limits() -> Limits {
    Limits {
        max_clients: 8,
        max_lobbies: 4,
        max_lobby_peers: 4,
        join_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(30),
        max_messages_per_second: 10,
        max_handshakes: 8,
        max_handshakes_per_source: 8,
        max_clients_per_source: 8,
        max_lobbies_per_source: 4,
        max_join_misses_per_hour: 60,
    }
}

/// Where the tests' clients come from, unless a test says otherwise.
fn source() -> Source {
    Source::of(std::net::Ipv4Addr::LOCALHOST.into())
}

/// A state machine and the hand-driven clock it is fed.
struct Harness {
    server: Signaling,
    now: Instant,
}

impl Harness {
    fn new() -> Self {
        Self::with(limits())
    }

    fn with(limits: Limits) -> Self {
        Self { server: Signaling::new(limits).with_seed(SEED), now: Instant::now() }
    }

    /// Every output waiting, in order.
    fn outputs(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.server.poll_output()).take(10_000).collect()
    }

    /// A client whose handshake is done.
    fn connect(&mut self) -> ClientId {
        self.connect_from(source())
    }

    /// A client from `source` whose handshake is done (and which may have been closed at once).
    fn connect_from(&mut self, source: Source) -> ClientId {
        let client = self.server.accept(self.now, Some(source)).expect("accepted");
        self.server.open(client, self.now, source);
        client
    }

    /// `text` from `client` as a text frame; what the server does about it.
    fn text(&mut self, client: ClientId, text: &str) -> Vec<Output> {
        self.server.receive_text(client, text, self.now);
        self.outputs()
    }

    fn send(&mut self, client: ClientId, message: Message) -> Vec<Output> {
        self.text(client, &message.to_json())
    }

    /// A new client joins `lobby` ("" creates one): the client, its peer id, what happened.
    fn join(&mut self, mesh: bool, lobby: &str) -> (ClientId, i64, Vec<Output>) {
        let client = self.connect();
        let outputs = self.send(client, Message::new(Kind::Join, if mesh { 0 } else { 1 }, lobby));
        let peer_id = sent_to(&outputs, client).iter().find(|m| m.kind == Kind::Id).map_or(0, |m| m.id);
        (client, peer_id, outputs)
    }

    /// A new client creates a lobby: the client and the lobby's name.
    fn host(&mut self, mesh: bool) -> (ClientId, String) {
        let (client, _, outputs) = self.join(mesh, "");
        (client, lobby_joined(&outputs, client).unwrap())
    }

    /// Moves the clock on by `by` and lets deadlines pass; what the server does about them.
    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        self.server.handle_timeout(self.now);
        self.outputs()
    }
}

/// The messages sent to `client`, in order.
fn sent_to(outputs: &[Output], client: ClientId) -> Vec<Message> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Send { client: to, message } | Output::Relay { client: to, message, .. } if *to == client => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect()
}

/// Why `client` was closed, if it was.
fn closed(outputs: &[Output], client: ClientId) -> Option<SignalingError> {
    outputs.iter().find_map(|output| match output {
        Output::Close { client: to, reason } if *to == client => Some(reason.clone()),
        _ => None,
    })
}

/// The lobby name in the JOIN answer `client` got.
fn lobby_joined(outputs: &[Output], client: ClientId) -> Option<String> {
    sent_to(outputs, client).into_iter().find(|m| m.kind == Kind::Join).map(|m| m.data)
}

/// Whether every output is about `client` alone.
fn only_about(outputs: &[Output], client: ClientId) -> bool {
    outputs.iter().all(|output| match output {
        Output::Send { client: to, .. }
        | Output::Relay { client: to, .. }
        | Output::Ping { client: to }
        | Output::Close { client: to, .. }
        | Output::Joined { client: to, .. } => *to == client,
    })
}
