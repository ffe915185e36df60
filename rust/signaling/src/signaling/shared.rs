//! The state machine's side of shared lobbies: joins sent to the directory and waiting for their
//! answer, and the lobby events that come back (see [`crate::directory`]).
//!
//! This instance's view of a lobby (in [`Signaling`]'s lobby map) exists while one of its clients
//! is a member. It starts from the member list in the first [`Event::Joined`] of one of its own
//! joins and then follows the lobby's events, which come in the directory's order, so every
//! instance's view goes through the same states.

use std::collections::{BTreeMap, VecDeque};

use super::{ClientId, Signaling, PEER_ID_SPAN};
use crate::client::Membership;
use crate::directory::{Event, Request, Ticket};
use crate::error::SignalingError;
use crate::lobby::{is_lobby_name, lobby_name, Lobby, Seat};
use crate::output::Output;
use crate::protocol::{Kind, Message, HOST_ID};

/// Peer ids offered with each join: the directory takes the first that no member has. With
/// 2^31 ids and at most a few hundred members, all of them being taken means a broken generator.
const PEER_ID_CANDIDATES: usize = 8;

/// A join sent to the directory and not answered yet.
#[derive(Debug)]
struct PendingJoin {
    /// The client that asked; `None` once it is gone (its peer, if the join succeeds, then
    /// leaves at once).
    client: Option<ClientId>,
    /// The lobby.
    lobby: String,
    /// It creates the lobby.
    creates: bool,
}

/// What the state machine keeps about the shared directory.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// Requests not yet read with [`Signaling::poll_request`].
    pub(super) requests: VecDeque<Request>,
    /// The last ticket handed out.
    last_ticket: Ticket,
    /// Joins waiting for their answer.
    pending: BTreeMap<Ticket, PendingJoin>,
    /// The ticket of each client whose join waits for its answer.
    joining: BTreeMap<ClientId, Ticket>,
    /// The directory is gone: nothing more is requested.
    lost: bool,
}

impl Signaling {
    /// Whether `client`'s join waits for the shared directory's answer.
    pub(super) fn is_joining(&self, client: ClientId) -> bool {
        self.shared.as_ref().is_some_and(|shared| shared.joining.contains_key(&client))
    }

    /// Queues `request` for the shared directory (unless it is gone).
    pub(super) fn request(&mut self, request: Request) {
        if let Some(shared) = self.shared.as_mut().filter(|shared| !shared.lost) {
            shared.requests.push_back(request);
        }
    }

    /// Sends `client`'s JOIN to the directory: a new lobby (with a name drawn here) when
    /// `requested` is empty, otherwise the lobby it names.
    pub(super) fn request_join(&mut self, client: ClientId, mesh: bool, requested: &str) {
        let creates = requested.is_empty();
        let lobby = if creates {
            if self.hosted_count() >= self.limits.max_lobbies {
                self.close(client, SignalingError::TooManyLobbies);
                return;
            }
            if let Err(reason) = self.count_lobby_creation(client) {
                self.close(client, reason);
                return;
            }
            let lobbies = &self.lobbies;
            match self.random.draw_unused(lobby_name, |name| lobbies.contains_key(name)) {
                Some(name) => name,
                None => {
                    self.close(client, SignalingError::NoUnusedId);
                    return;
                }
            }
        } else if is_lobby_name(requested) {
            requested.to_owned()
        } else {
            // No lobby has such a name: refused without asking the directory.
            self.close(client, SignalingError::NoSuchLobby);
            return;
        };
        // Peer ids offered with a join into an existing lobby (none when it creates one).
        let candidates: Option<Vec<i64>> = (0..if creates { 0 } else { PEER_ID_CANDIDATES })
            .map(|_| self.random.next_u64().map(|bits| (bits % PEER_ID_SPAN) as i64 + 2))
            .collect();
        let Some(candidates) = candidates else {
            self.close(client, SignalingError::NoUnusedId);
            return;
        };
        if !self.is_watched(&lobby) {
            self.request(Request::Watch { lobby: lobby.clone() });
        }
        let Some(shared) = self.shared.as_mut() else { return };
        shared.last_ticket = shared.last_ticket.wrapping_add(1);
        let ticket = shared.last_ticket;
        shared.pending.insert(ticket, PendingJoin { client: Some(client), lobby: lobby.clone(), creates });
        shared.joining.insert(client, ticket);
        let request = if creates {
            Request::Create { ticket, lobby, mesh }
        } else {
            Request::Join { ticket, lobby, candidates, max_peers: self.limits.max_lobby_peers }
        };
        self.request(request);
    }

    /// `client` is gone: a join of its in flight is orphaned; as a member it stays in the view
    /// (away) until the directory says it left, and the directory is told.
    pub(super) fn leave_shared(&mut self, client: ClientId, membership: Option<Membership>) {
        if let Some(shared) = self.shared.as_mut() {
            if let Some(ticket) = shared.joining.remove(&client) {
                if let Some(pending) = shared.pending.get_mut(&ticket) {
                    pending.client = None;
                }
            }
        }
        let Some(Membership { lobby: name, peer_id }) = membership else { return };
        if let Some(lobby) = self.lobbies.get_mut(&name) {
            lobby.move_away(client);
        }
        let request = if peer_id == HOST_ID {
            Request::Close { lobby: name.clone() }
        } else {
            Request::Leave { lobby: name.clone(), peer_id }
        };
        self.request(request);
        self.drop_view_if_unused(&name);
    }

    /// The directory refused the join `ticket`: its client, if still here, is closed.
    pub(super) fn refuse_join(&mut self, ticket: Ticket, reason: SignalingError) {
        let Some(pending) = self.shared.as_mut().and_then(|shared| shared.pending.remove(&ticket)) else { return };
        if let Some(client) = pending.client {
            if let Some(shared) = self.shared.as_mut() {
                shared.joining.remove(&client);
            }
            self.close(client, reason);
        }
        self.drop_view_if_unused(&pending.lobby);
    }

    /// The directory is gone: every client in a lobby or joining one is closed.
    pub(super) fn lose_directory(&mut self) {
        let Some(shared) = self.shared.as_mut() else { return };
        shared.lost = true;
        shared.requests.clear();
        shared.pending.clear();
        let joining: Vec<ClientId> = std::mem::take(&mut shared.joining).into_keys().collect();
        let members: Vec<ClientId> = self.lobbies.values().flat_map(|lobby| lobby.members().map(|(c, _)| c)).collect();
        self.lobbies.clear();
        for client in joining.into_iter().chain(members) {
            if self.clients.contains_key(&client) {
                self.close(client, SignalingError::DirectoryLost);
            }
        }
    }

    /// Applies one lobby event from the directory.
    pub(super) fn apply_event(&mut self, event: Event) {
        match event {
            Event::Joined { lobby, peer_id, ticket, mesh, members } => {
                let pending = ticket.and_then(|ticket| self.shared.as_mut()?.pending.remove(&ticket));
                match pending {
                    Some(PendingJoin { client: Some(client), .. }) if self.clients.contains_key(&client) => {
                        if let Some(shared) = self.shared.as_mut() {
                            shared.joining.remove(&client);
                        }
                        self.lobbies.entry(lobby.clone()).or_insert_with(|| Lobby::away(mesh, &members));
                        self.admit_here(client, &lobby, peer_id);
                    }
                    Some(_) => {
                        // Ours, but its client left meanwhile: the peer leaves at once.
                        self.peer_joined_elsewhere(&lobby, peer_id);
                        let request = if peer_id == HOST_ID {
                            Request::Close { lobby: lobby.clone() }
                        } else {
                            Request::Leave { lobby: lobby.clone(), peer_id }
                        };
                        self.request(request);
                        self.drop_view_if_unused(&lobby);
                    }
                    None => self.peer_joined_elsewhere(&lobby, peer_id),
                }
            }
            Event::Left { lobby: name, peer_id } => {
                let Some(lobby) = self.lobbies.get_mut(&name) else { return };
                let seat = lobby.remove_peer(peer_id);
                for (member, member_id) in lobby.members() {
                    if lobby.connects(member_id, peer_id) {
                        let message = Message::new(Kind::PeerDisconnect, peer_id, "");
                        self.outputs.push_back(Output::Send { client: member, message });
                    }
                }
                if let Some(Seat::Here(client)) = seat {
                    // The directory dropped a client of ours (its lease ran out).
                    self.close_without_lobby(client, SignalingError::DirectoryLost);
                }
                self.drop_view_if_unused(&name);
            }
            Event::Sealed { lobby: name } => {
                let Some(lobby) = self.lobbies.get_mut(&name) else { return };
                lobby.seal();
                for (member, _) in lobby.members() {
                    self.outputs.push_back(Output::Send { client: member, message: Message::new(Kind::Seal, 0, "") });
                }
            }
            Event::Closed { lobby: name } => {
                let Some(ended) = self.lobbies.remove(&name) else { return };
                for (member, member_id) in ended.members() {
                    let reason =
                        if member_id == HOST_ID { SignalingError::DirectoryLost } else { SignalingError::HostLeft };
                    self.close_without_lobby(member, reason);
                }
                self.drop_view_if_unused(&name);
            }
            Event::Relayed { lobby, to, message } => {
                if let Some(member) = self.lobbies.get(&lobby).and_then(|lobby| lobby.client_of(to)) {
                    self.outputs.push_back(Output::Relay { client: member, from: None, message });
                }
            }
        }
    }

    /// Closes `client` whose lobby the directory already dropped, so that nothing is requested
    /// about its leaving.
    fn close_without_lobby(&mut self, client: ClientId, reason: SignalingError) {
        if let Some(state) = self.clients.get_mut(&client) {
            state.leave_lobby();
        }
        self.close(client, reason);
    }

    /// `peer_id` joined `name` from elsewhere: our members that connect to it hear about it.
    fn peer_joined_elsewhere(&mut self, name: &str, peer_id: i64) {
        let Some(lobby) = self.lobbies.get_mut(name) else { return };
        for (member, member_id) in lobby.members() {
            if lobby.connects(member_id, peer_id) {
                let message = Message::new(Kind::PeerConnect, peer_id, "");
                self.outputs.push_back(Output::Send { client: member, message });
            }
        }
        lobby.add(Seat::Away, peer_id);
    }

    /// Drops the view of `name` once no client of ours is in it, and stops watching it once no
    /// join to it waits either.
    fn drop_view_if_unused(&mut self, name: &str) {
        if self.lobbies.get(name).is_some_and(|lobby| !lobby.has_clients()) {
            self.lobbies.remove(name);
        }
        if !self.is_watched(name) {
            self.request(Request::Unwatch { lobby: name.to_owned() });
        }
    }

    /// Whether this instance receives `name`'s events: one of its clients is in it or joining it.
    fn is_watched(&self, name: &str) -> bool {
        self.lobbies.contains_key(name)
            || self.shared.as_ref().is_some_and(|shared| shared.pending.values().any(|pending| pending.lobby == name))
    }

    /// Lobbies whose host is a client of ours, or being created by one.
    fn hosted_count(&self) -> usize {
        let creating = self.shared.as_ref().map_or(0, |shared| shared.pending.values().filter(|p| p.creates).count());
        creating + self.lobbies.values().filter(|lobby| lobby.host().is_some()).count()
    }
}
