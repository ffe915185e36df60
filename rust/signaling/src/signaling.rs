//! The server's state machine: connections, lobbies and every rule, without any I/O or clock.
//!
//! [`Signaling`] is sans-IO, in the style of quinn-proto's `Connection`: the caller reports what
//! happened with an explicit `now`, then reads what to do. It never reads a clock or touches a
//! socket, so every rule (join, idle and handshake timeouts, pings, the flood limit, lobby rules)
//! can be tested by handing it instants.
//!
//! # Driving it
//!
//! 1. A connection arrives: [`Signaling::accept`] numbers it, or refuses it when too many
//!    connections (from its source, or in all) are in their handshake: drop it at once. It has
//!    the join timeout to finish its handshake (TLS and WebSocket).
//! 2. Its handshake finishes: [`Signaling::open`] with its source address (behind a trusted
//!    proxy, the address the proxy forwarded). It failed: [`Signaling::disconnected`].
//! 3. Each frame from it: [`Signaling::receive_text`], [`Signaling::receive_binary`], or
//!    [`Signaling::receive_control`] for pings and pongs.
//! 4. Reading or writing it fails: [`Signaling::transport_failed`]. It ends (a close frame from
//!    the client, or the end of the stream): [`Signaling::disconnected`].
//! 5. After every call above, and after [`Signaling::handle_timeout`], call
//!    [`Signaling::poll_output`] until it returns `None` and carry out each [`Output`] in order.
//! 6. Then ask [`Signaling::poll_timeout`] for the next deadline, and call
//!    [`Signaling::handle_timeout`] with the current instant once it has passed (calling it
//!    early, or more than once, is harmless). Go back to waiting for 1–4 or the deadline.
//!
//! The instants passed in should not go backwards; if they do, nothing breaks, but time stands
//! still until they catch up. An [`Output::Close`] means the client is forgotten: the state
//! machine ignores anything reported about it afterwards, so the I/O layer need not report its
//! end.
//!
//! Lobby names and peer ids come from the operating system's random source, so that no name can
//! be predicted from the ones handed out before it.
//!
//! A server made [`Signaling::with_turn_credentials`] answers a lobby member's TURN_CREDENTIALS
//! with time-limited TURN credentials (see [`crate::turn_credentials`]); any other answers it
//! with an empty message. The Unix time in them comes from the instants passed in, counted from
//! the [`WallClock`](crate::turn_credentials::WallClock) it was given.
//!
//! # Shared lobbies
//!
//! [`Signaling::with_shared_lobbies`] makes a state machine whose lobbies live in a directory
//! shared with other instances (see [`crate::directory`]). Driving it adds three steps:
//!
//! 7. After every call, also call [`Signaling::poll_request`] until it returns `None` and hand
//!    each [`Request`] to the directory, in order.
//! 8. Report what the directory says: each lobby event with [`Signaling::directory_event`], a
//!    refused join with [`Signaling::join_refused`], and the loss of the directory with
//!    [`Signaling::directory_lost`]; then go to step 5.
//!
//! Every rule about clients (timeouts, pings, the flood limit, the protocol) is the same in both
//! modes; the lobby rules are decided by the directory, and clients hear about joins, leaves,
//! seals and a lobby's end when the directory's event comes back.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::client::{Client, Due, Membership};
use crate::directory::{Event, Request, Ticket};
use crate::error::SignalingError;
use crate::join_misses::JoinMisses;
use crate::limits::Limits;
use crate::lobby::{lobby_name, Lobby, Seat};
use crate::output::Output;
use crate::protocol::{Kind, Message, HOST_ID};
use crate::random::Random;
use crate::source::{Source, SourceTable};
use crate::wake_queue::WakeQueue;

/// A connection, numbered by [`Signaling::accept`] from 1 up.
pub type ClientId = u64;

/// Peer ids other than the host's are drawn from 2 to `i32::MAX` (Godot's peer ids are positive
/// 32-bit integers).
const PEER_ID_SPAN: u64 = i32::MAX as u64 - 1;

/// The server's state: connections, lobbies, and what to do next.
#[derive(Debug)]
pub struct Signaling {
    limits: Limits,
    random: Random,
    next_client: ClientId,
    /// Connections still in their handshake, and their source when it is known already (it is
    /// not for a trusted proxy's connections).
    handshakes: BTreeMap<ClientId, Option<Source>>,
    /// What each source address holds, for the per-source caps.
    sources: SourceTable,
    /// Each source address's budget of JOINs naming lobbies that do not exist.
    join_misses: JoinMisses,
    clients: BTreeMap<ClientId, Client>,
    lobbies: BTreeMap<String, Lobby>,
    wake_queue: WakeQueue,
    outputs: VecDeque<Output>,
    /// The shared directory's bookkeeping; `None` when lobbies live in memory.
    shared: Option<Shared>,
    /// What TURN credentials are made with; `None` when the server has none to give.
    turn: Option<TurnIssuer>,
}

impl Signaling {
    /// A server with no clients, enforcing `limits`, whose lobby names and peer ids are drawn
    /// from the operating system's random source.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            random: Random::System,
            next_client: 1,
            handshakes: BTreeMap::new(),
            sources: SourceTable::default(),
            join_misses: JoinMisses::default(),
            clients: BTreeMap::new(),
            lobbies: BTreeMap::new(),
            wake_queue: WakeQueue::default(),
            outputs: VecDeque::new(),
            shared: None,
            turn: None,
        }
    }

    /// A server like [`Signaling::new`]'s whose lobbies live in a directory shared with other
    /// instances: it sends [`Request`]s and is told [`Event`]s (see the module docs). Its
    /// `max_lobbies` counts the lobbies its own clients host; the other limits are as in
    /// [`Signaling::new`], `max_lobby_peers` being enforced by the directory.
    pub fn with_shared_lobbies(limits: Limits) -> Self {
        Self { shared: Some(Shared::default()), ..Self::new(limits) }
    }

    /// The same server drawing its names and ids from a splitmix64 generator seeded with `seed`,
    /// so that a test's names repeat from run to run (test builds only).
    #[cfg(test)]
    fn with_seed(self, seed: u64) -> Self {
        Self { random: Random::Seeded(seed), ..self }
    }

    /// A connection arrived at `now` from `source` (`None` when it is not known before the
    /// handshake: a trusted proxy's connections); returns its number, or `None` when it is
    /// refused: [`Limits::max_handshakes`] connections are in their handshake, or
    /// [`Limits::max_handshakes_per_source`] from `source`. Its handshake must finish within the
    /// join timeout.
    pub fn accept(&mut self, now: Instant, source: Option<Source>) -> Option<ClientId> {
        if self.handshakes.len() >= self.limits.max_handshakes {
            return None;
        }
        if let Some(source) = source {
            if self.sources.of(source).handshakes >= self.limits.max_handshakes_per_source {
                return None;
            }
            self.sources.update(source, |held| held.handshakes += 1);
        }
        let client = self.next_client;
        self.next_client = self.next_client.wrapping_add(1);
        self.handshakes.insert(client, source);
        self.wake_queue.schedule(client, now.checked_add(self.limits.join_timeout));
        Some(client)
    }

    /// `client`'s handshake finished at `now`; it connects from `source`. It is closed if the
    /// server is full, or holds [`Limits::max_clients_per_source`] clients from `source`;
    /// otherwise it has the join timeout to join a lobby.
    pub fn open(&mut self, client: ClientId, now: Instant, source: Source) {
        let Some(accepted_from) = self.handshakes.remove(&client) else { return };
        if let Some(accepted_from) = accepted_from {
            self.sources.update(accepted_from, |held| held.handshakes = held.handshakes.saturating_sub(1));
        }
        if self.clients.len() >= self.limits.max_clients {
            self.close(client, SignalingError::ServerFull);
            return;
        }
        if self.sources.of(source).clients >= self.limits.max_clients_per_source {
            self.close(client, SignalingError::TooManyClientsFromSource);
            return;
        }
        self.sources.update(source, |held| held.clients += 1);
        let state = Client::new(&self.limits, source, now);
        self.wake_queue.schedule(client, state.next_deadline(&self.limits));
        self.clients.insert(client, state);
    }

    /// Counts the lobby `client` is about to create against its source's cap; the error when
    /// that source created [`Limits::max_lobbies_per_source`] open lobbies already.
    fn count_lobby_creation(&mut self, client: ClientId) -> Result<(), SignalingError> {
        let Some(state) = self.clients.get_mut(&client) else { return Ok(()) };
        let source = state.source();
        if self.sources.of(source).lobbies >= self.limits.max_lobbies_per_source {
            return Err(SignalingError::TooManyLobbiesFromSource);
        }
        state.create_lobby();
        self.sources.update(source, |held| held.lobbies += 1);
        Ok(())
    }

    /// A text frame from `client` at `now`.
    pub fn receive_text(&mut self, client: ClientId, text: &str, now: Instant) {
        let Some(state) = self.clients.get_mut(&client) else { return };
        state.hear(now);
        if !state.spend_message(&self.limits, now) {
            self.close(client, SignalingError::Flooding);
            return;
        }
        let membership = state.membership().cloned();
        let message = match Message::parse(text) {
            Ok(message) => message,
            Err(reason) => {
                self.close(client, reason);
                return;
            }
        };
        match (message.kind, membership) {
            (Kind::Join, Some(_)) => self.close(client, SignalingError::AlreadyInLobby),
            (Kind::Join, None) if self.is_joining(client) => self.close(client, SignalingError::AlreadyInLobby),
            (Kind::Join, None) if !message.data.is_empty() && !self.may_guess(client, now) => {
                self.close(client, SignalingError::TooManyJoinMisses);
            }
            (Kind::Join, None) => self.join(client, message.id == 0, &message.data),
            (_, None) => self.close(client, SignalingError::NotInLobby),
            (Kind::Offer | Kind::Answer | Kind::Candidate, Some(membership)) => {
                self.relay(client, &membership, message);
            }
            (Kind::Seal, Some(membership)) => self.seal(client, &membership),
            (Kind::TurnCredentials, Some(membership)) => self.answer_turn_request(client, &membership, now),
            (Kind::Id | Kind::PeerConnect | Kind::PeerDisconnect, Some(_)) => {
                self.close(client, SignalingError::ServerOnlyMessageType);
            }
        }
    }

    /// A binary frame from `client` at `now`: not part of the protocol, so it is closed.
    pub fn receive_binary(&mut self, client: ClientId, now: Instant) {
        let Some(state) = self.clients.get_mut(&client) else { return };
        state.hear(now);
        self.close(client, SignalingError::BinaryFrame);
    }

    /// A ping or pong from `client` at `now`: it is alive.
    pub fn receive_control(&mut self, client: ClientId, now: Instant) {
        if let Some(state) = self.clients.get_mut(&client) {
            state.hear(now);
        }
    }

    /// Reading from or writing to `client` failed (`error` says how): it is closed.
    pub fn transport_failed(&mut self, client: ClientId, error: String) {
        if self.handshakes.contains_key(&client) || self.clients.contains_key(&client) {
            self.close(client, SignalingError::Transport(error));
        }
    }

    /// A relayed message from `sender` to `receiver` was dropped because it would have
    /// overflowed what waits for `receiver` ([`Output::Relay`]): the sender pays and is closed
    /// ([`SignalingError::RelayOverflow`]); the receiver stays.
    pub fn relay_overflowed(&mut self, sender: ClientId, receiver: ClientId) {
        if !self.clients.contains_key(&sender) {
            return;
        }
        let peer_id =
            self.clients.get(&receiver).and_then(Client::membership).map_or(0, |membership| membership.peer_id);
        self.close(sender, SignalingError::RelayOverflow(peer_id));
    }

    /// `client`'s connection ended (or its handshake failed): it leaves its lobby, and if it
    /// hosted the lobby, the lobby ends and its other members are closed.
    pub fn disconnected(&mut self, client: ClientId) {
        self.forget(client);
    }

    /// Applies every deadline reached at `now`: handshake and join timeouts, pings, idle
    /// timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Each scheduled client wakes at most once per call, even if it is due again at once.
        for _ in 0..self.wake_queue.scheduled_count() {
            let Some(client) = self.wake_queue.pop_due(now) else { break };
            self.wake(client, now);
        }
    }

    /// The next instant [`Signaling::handle_timeout`] has something to do; `None` when no
    /// client has a deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.wake_queue.earliest()
    }

    /// The next thing to do, in order; `None` when there is nothing left.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next request for the shared directory, in order; always `None` when lobbies live in
    /// memory.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.shared.as_mut().and_then(|shared| shared.requests.pop_front())
    }

    /// Something happened in a lobby this instance watches (see [`crate::directory`]). Ignored
    /// when lobbies live in memory.
    pub fn directory_event(&mut self, event: Event) {
        if self.shared.is_some() {
            self.apply_event(event);
        }
    }

    /// The shared directory refused the join `ticket` for `reason`: its client is closed.
    /// Ignored when lobbies live in memory.
    pub fn join_refused(&mut self, ticket: Ticket, reason: SignalingError) {
        self.refuse_join(ticket, reason);
    }

    /// The shared directory can no longer be reached: every client in a lobby or joining one is
    /// closed with [`SignalingError::DirectoryLost`], and no request follows. Ignored when lobbies
    /// live in memory.
    pub fn directory_lost(&mut self) {
        self.lose_directory();
    }

    fn wake(&mut self, client: ClientId, now: Instant) {
        if self.handshakes.contains_key(&client) {
            // A connection in its handshake is woken only by its handshake deadline.
            self.close(client, SignalingError::HandshakeTimedOut);
            return;
        }
        let Some(state) = self.clients.get_mut(&client) else { return };
        match state.due(&self.limits, now) {
            Due::Close(reason) => self.close(client, reason),
            Due::Ping => {
                state.pinged(now);
                self.wake_queue.schedule(client, state.next_deadline(&self.limits));
                self.outputs.push_back(Output::Ping { client });
            }
            Due::Nothing => self.wake_queue.schedule(client, state.next_deadline(&self.limits)),
        }
    }

    fn join(&mut self, client: ClientId, mesh: bool, requested: &str) {
        if self.shared.is_some() {
            self.request_join(client, mesh, requested);
            return;
        }
        let joined = if requested.is_empty() {
            self.count_lobby_creation(client).and_then(|()| self.create_lobby(mesh))
        } else {
            self.admit(requested)
        };
        let (name, peer_id) = match joined {
            Ok(joined) => joined,
            Err(reason) => {
                self.close(client, reason);
                return;
            }
        };
        self.admit_here(client, &name, peer_id);
    }

    /// Our `client` joined `name` as `peer_id`: it gets its id, it and the members hear about
    /// each other, then it gets the JOIN answer (as in the single-process server).
    fn admit_here(&mut self, client: ClientId, name: &str, peer_id: i64) {
        let Some(lobby) = self.lobbies.get_mut(name) else { return };
        let mut sends = vec![(client, Message::new(Kind::Id, peer_id, if lobby.is_mesh() { "true" } else { "" }))];
        for (seat, member_id) in lobby.seats() {
            if lobby.connects(member_id, peer_id) {
                if let Seat::Here(member) = seat {
                    sends.push((member, Message::new(Kind::PeerConnect, peer_id, "")));
                }
                sends.push((client, Message::new(Kind::PeerConnect, member_id, "")));
            }
        }
        lobby.add(Seat::Here(client), peer_id);
        sends.push((client, Message::new(Kind::Join, 0, name)));
        self.outputs.extend(sends.into_iter().map(|(to, message)| Output::Send { client: to, message }));
        self.outputs.push_back(Output::Joined { client, lobby: name.to_owned(), peer_id });
        if let Some(state) = self.clients.get_mut(&client) {
            state.join(Membership { lobby: name.to_owned(), peer_id });
        }
    }

    /// Opens a lobby with a new name; its creator will be the host.
    fn create_lobby(&mut self, mesh: bool) -> Result<(String, i64), SignalingError> {
        if self.lobbies.len() >= self.limits.max_lobbies {
            return Err(SignalingError::TooManyLobbies);
        }
        let lobbies = &self.lobbies;
        let name =
            self.random.draw_unused(lobby_name, |name| lobbies.contains_key(name)).ok_or(SignalingError::NoUnusedId)?;
        self.lobbies.insert(name.clone(), Lobby::new(mesh));
        Ok((name, HOST_ID))
    }

    /// Checks that the lobby `name` takes one more peer, and draws its peer id.
    fn admit(&mut self, name: &str) -> Result<(String, i64), SignalingError> {
        let lobby = self.lobbies.get(name).ok_or(SignalingError::NoSuchLobby)?;
        if lobby.is_sealed() {
            return Err(SignalingError::LobbySealed);
        }
        if lobby.member_count() >= self.limits.max_lobby_peers {
            return Err(SignalingError::LobbyFull);
        }
        let peer_id = self
            .random
            .draw_unused(|bits| (bits % PEER_ID_SPAN) as i64 + 2, |id| lobby.client_of(*id).is_some())
            .ok_or(SignalingError::NoUnusedId)?;
        Ok((name.to_owned(), peer_id))
    }

    /// OFFER, ANSWER and CANDIDATE go to the lobby member they name, rewritten to name the sender:
    /// straight to a client of ours, through the shared directory to a member elsewhere.
    fn relay(&mut self, client: ClientId, sender: &Membership, message: Message) {
        let destination = self.lobbies.get(&sender.lobby).and_then(|lobby| lobby.seat_of(message.id));
        match destination {
            Some(Seat::Here(member)) if member == client => self.close(client, SignalingError::MessageToSelf),
            Some(Seat::Here(member)) => {
                let message = Message::new(message.kind, sender.peer_id, message.data);
                self.outputs.push_back(Output::Relay { client: member, from: Some(client), message });
            }
            Some(Seat::Away) => {
                let to = message.id;
                let message = Message::new(message.kind, sender.peer_id, message.data);
                self.request(Request::Relay { lobby: sender.lobby.clone(), to, message });
            }
            None => self.close(client, SignalingError::NoSuchPeer(message.id)),
        }
    }

    /// The host seals its lobby, and every member (the host too) is told.
    fn seal(&mut self, client: ClientId, sender: &Membership) {
        let Some(lobby) = self.lobbies.get_mut(&sender.lobby) else { return };
        if lobby.host() != Some(client) {
            self.close(client, SignalingError::NotHost);
            return;
        }
        if self.shared.is_some() {
            // Every instance tells its members when the directory's event comes back.
            self.request(Request::Seal { lobby: sender.lobby.clone() });
            return;
        }
        lobby.seal();
        for (member, _) in lobby.members() {
            self.outputs.push_back(Output::Send { client: member, message: Message::new(Kind::Seal, 0, "") });
        }
    }

    /// Whether `client`'s source may send a JOIN naming a lobby at `now` (it has not used up its
    /// budget of misses).
    fn may_guess(&mut self, client: ClientId, now: Instant) -> bool {
        let Some(source) = self.clients.get(&client).map(Client::source) else { return false };
        self.join_misses.may_guess(&self.limits, source, now)
    }

    /// Closes `client` for `reason`, then lets it leave. A JOIN refused because its lobby does
    /// not exist (here, or in the shared directory) is charged to the client's source as a miss,
    /// at the time of the JOIN.
    fn close(&mut self, client: ClientId, reason: SignalingError) {
        if reason == SignalingError::NoSuchLobby {
            if let Some(state) = self.clients.get(&client) {
                self.join_misses.missed(&self.limits, state.source(), state.heard_at());
            }
        }
        self.outputs.push_back(Output::Close { client, reason });
        self.forget(client);
    }

    /// Drops everything about `client`. Its lobby hears that it left; if it was the host, the
    /// lobby ends and its other members are closed.
    fn forget(&mut self, client: ClientId) {
        self.wake_queue.cancel(client);
        if let Some(Some(source)) = self.handshakes.remove(&client) {
            self.sources.update(source, |held| held.handshakes = held.handshakes.saturating_sub(1));
        }
        let state = self.clients.remove(&client);
        if let Some(state) = &state {
            let lobbies = usize::from(state.creates_lobby());
            self.sources.update(state.source(), |held| {
                held.clients = held.clients.saturating_sub(1);
                held.lobbies = held.lobbies.saturating_sub(lobbies);
            });
        }
        let membership = state.and_then(Client::into_membership);
        if self.shared.is_some() {
            self.leave_shared(client, membership);
            return;
        }
        let Some(membership) = membership else { return };
        let Some(lobby) = self.lobbies.get_mut(&membership.lobby) else { return };
        if lobby.host() == Some(client) {
            let Some(ended) = self.lobbies.remove(&membership.lobby) else { return };
            for (member, _) in ended.members().filter(|&(member, _)| member != client) {
                self.close(member, SignalingError::HostLeft);
            }
            return;
        }
        lobby.remove(client);
        for (member, member_id) in lobby.members() {
            if lobby.connects(member_id, membership.peer_id) {
                let message = Message::new(Kind::PeerDisconnect, membership.peer_id, "");
                self.outputs.push_back(Output::Send { client: member, message });
            }
        }
    }
}

mod shared;
mod turn;

use shared::Shared;
use turn::TurnIssuer;

#[cfg(test)]
mod tests;
