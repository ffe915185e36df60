//! The server's state machine: clients, lobbies and the protocol rules, without any I/O.
//!
//! Every call returns [`Action`]s for the I/O layer to carry out. A client that breaks a rule
//! is closed with a reason; nothing it sends can touch another client or lobby.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::protocol::{Kind, Message};

/// A connection, numbered by the I/O layer.
pub type ClientId = u64;

/// Close code for protocol violations (as in Godot's demo server).
pub const PROTOCOL_ERROR: u16 = 4000;
/// The id every lobby's host has.
pub const HOST_ID: i64 = 1;

/// What the I/O layer must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send `message` to the client.
    Send(ClientId, Message),
    /// Close the client's connection with a code and a reason.
    Close(ClientId, u16, String),
}

/// Limits that the state machine enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connected clients at most.
    pub max_clients: usize,
    /// Open lobbies at most.
    pub max_lobbies: usize,
    /// Peers in one lobby at most.
    pub max_lobby_peers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_clients: 4096, max_lobbies: 1024, max_lobby_peers: 64 }
    }
}

struct Client {
    lobby: Option<String>,
    peer_id: i64,
}

struct Lobby {
    mesh: bool,
    sealed: bool,
    /// Members in join order; the first is the host (peer id 1).
    members: Vec<(ClientId, i64)>,
}

impl Lobby {
    fn host(&self) -> Option<ClientId> {
        self.members.first().map(|(client, _)| *client)
    }
}

/// The server's state.
pub struct Signaling {
    limits: Limits,
    clients: HashMap<ClientId, Client>,
    lobbies: HashMap<String, Lobby>,
    random: RandomState,
    counter: u64,
}

fn close(client: ClientId, reason: impl Into<String>) -> Vec<Action> {
    vec![Action::Close(client, PROTOCOL_ERROR, reason.into())]
}

impl Signaling {
    /// A server with no clients.
    pub fn new(limits: Limits) -> Self {
        Self { limits, clients: HashMap::new(), lobbies: HashMap::new(), random: RandomState::new(), counter: 0 }
    }

    /// Number of open lobbies.
    pub fn lobby_count(&self) -> usize {
        self.lobbies.len()
    }

    fn random(&mut self) -> u64 {
        self.counter += 1;
        self.random.hash_one(self.counter)
    }

    /// A client connected. Refused (closed) when the server is full.
    pub fn connect(&mut self, client: ClientId) -> Vec<Action> {
        if self.clients.len() >= self.limits.max_clients {
            return close(client, "the server is full");
        }
        self.clients.insert(client, Client { lobby: None, peer_id: 0 });
        Vec::new()
    }

    /// Whether the client has joined a lobby.
    pub fn has_joined(&self, client: ClientId) -> bool {
        self.clients.get(&client).is_some_and(|c| c.lobby.is_some())
    }

    /// A text frame from a client.
    pub fn receive(&mut self, client: ClientId, text: &str) -> Vec<Action> {
        if !self.clients.contains_key(&client) {
            return Vec::new();
        }
        let message = match Message::parse(text) {
            Ok(message) => message,
            Err(reason) => return close(client, reason),
        };
        let joined = self.has_joined(client);
        match message.kind {
            Kind::Join if joined => close(client, "already in a lobby"),
            Kind::Join => self.join(client, message.id == 0, &message.data),
            _ if !joined => close(client, "join a lobby first"),
            Kind::Offer | Kind::Answer | Kind::Candidate => self.relay(client, message),
            Kind::Seal => self.seal(client),
            Kind::Id | Kind::PeerConnect | Kind::PeerDisconnect => close(client, "clients may not send this message type"),
        }
    }

    fn join(&mut self, client: ClientId, mesh: bool, name: &str) -> Vec<Action> {
        let name = if name.is_empty() {
            if self.lobbies.len() >= self.limits.max_lobbies {
                return close(client, "too many lobbies");
            }
            let name = loop {
                let candidate = lobby_name(self.random());
                if !self.lobbies.contains_key(&candidate) {
                    break candidate;
                }
            };
            self.lobbies.insert(name.clone(), Lobby { mesh, sealed: false, members: Vec::new() });
            name
        } else {
            match self.lobbies.get(name) {
                None => return close(client, "the lobby does not exist"),
                Some(lobby) if lobby.sealed => return close(client, "the lobby is sealed"),
                Some(lobby) if lobby.members.len() >= self.limits.max_lobby_peers => return close(client, "the lobby is full"),
                Some(_) => name.to_owned(),
            }
        };
        let peer_id = self.new_peer_id(&name);
        let Some(lobby) = self.lobbies.get_mut(&name) else { return Vec::new() };
        let mut actions = vec![Action::Send(client, Message::new(Kind::Id, peer_id, if lobby.mesh { "true" } else { "" }))];
        for &(member, member_id) in &lobby.members {
            if lobby.mesh || member_id == HOST_ID {
                actions.push(Action::Send(member, Message::new(Kind::PeerConnect, peer_id, "")));
                actions.push(Action::Send(client, Message::new(Kind::PeerConnect, member_id, "")));
            }
        }
        lobby.members.push((client, peer_id));
        actions.push(Action::Send(client, Message::new(Kind::Join, 0, name.clone())));
        if let Some(state) = self.clients.get_mut(&client) {
            state.lobby = Some(name);
            state.peer_id = peer_id;
        }
        actions
    }

    fn new_peer_id(&mut self, lobby: &str) -> i64 {
        let empty = self.lobbies.get(lobby).is_none_or(|l| l.members.is_empty());
        if empty {
            return HOST_ID;
        }
        loop {
            let id = (self.random() % (i32::MAX as u64 - 1)) as i64 + 2;
            let taken = self.lobbies.get(lobby).is_some_and(|l| l.members.iter().any(|(_, m)| *m == id));
            if !taken {
                return id;
            }
        }
    }

    fn relay(&mut self, client: ClientId, message: Message) -> Vec<Action> {
        let Some((lobby, sender_id)) = self.membership(client) else { return Vec::new() };
        let destination = lobby.members.iter().find(|(_, id)| *id == message.id).map(|(member, _)| *member);
        match destination {
            Some(member) if member != client => {
                vec![Action::Send(member, Message::new(message.kind, sender_id, message.data))]
            }
            Some(_) => close(client, "a message to yourself"),
            None => close(client, format!("no peer {} in this lobby", message.id)),
        }
    }

    fn seal(&mut self, client: ClientId) -> Vec<Action> {
        let Some(name) = self.clients.get(&client).and_then(|c| c.lobby.clone()) else { return Vec::new() };
        let Some(lobby) = self.lobbies.get_mut(&name) else { return Vec::new() };
        if lobby.host() != Some(client) {
            return close(client, "only the host can seal the lobby");
        }
        lobby.sealed = true;
        lobby.members.iter().map(|(member, _)| Action::Send(*member, Message::new(Kind::Seal, 0, ""))).collect()
    }

    fn membership(&self, client: ClientId) -> Option<(&Lobby, i64)> {
        let state = self.clients.get(&client)?;
        Some((self.lobbies.get(state.lobby.as_ref()?)?, state.peer_id))
    }

    /// A client's connection ended (or was closed). Its lobby is told; if it hosted the
    /// lobby, the lobby ends and its other members are closed.
    pub fn disconnect(&mut self, client: ClientId) -> Vec<Action> {
        let Some(state) = self.clients.remove(&client) else { return Vec::new() };
        let Some(name) = state.lobby else { return Vec::new() };
        let Some(lobby) = self.lobbies.get_mut(&name) else { return Vec::new() };
        let was_host = lobby.host() == Some(client);
        lobby.members.retain(|(member, _)| *member != client);
        if was_host {
            let members = self.lobbies.remove(&name).map(|l| l.members).unwrap_or_default();
            return members
                .into_iter()
                .map(|(member, _)| {
                    if let Some(member_state) = self.clients.get_mut(&member) {
                        member_state.lobby = None;
                    }
                    Action::Close(member, PROTOCOL_ERROR, "the host has left".into())
                })
                .collect();
        }
        let notify = Message::new(Kind::PeerDisconnect, state.peer_id, "");
        let actions = lobby
            .members
            .iter()
            .filter(|(_, id)| lobby.mesh || *id == HOST_ID)
            .map(|(member, _)| Action::Send(*member, notify.clone()))
            .collect();
        if lobby.members.is_empty() {
            self.lobbies.remove(&name);
        }
        actions
    }
}

fn lobby_name(mut seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..8)
        .map(|_| {
            let character = ALPHABET[(seed % ALPHABET.len() as u64) as usize] as char;
            seed /= ALPHABET.len() as u64;
            character
        })
        .collect()
}

#[cfg(test)]
mod tests;
