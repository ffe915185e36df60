//! One lobby: its members in join order (the first is the host, peer 1), its mode, whether it is
//! sealed, and who hears about whom.

use crate::protocol::HOST_ID;
use crate::signaling::ClientId;

/// Characters of lobby names: capitals and digits without the look-alikes I, O, 0 and 1.
const NAME_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a lobby name (40 random bits).
const NAME_LENGTH: usize = 8;

/// A lobby name made from random bits.
pub(crate) fn lobby_name(mut bits: u64) -> String {
    let base = NAME_ALPHABET.len() as u64;
    (0..NAME_LENGTH)
        .map(|_| {
            let character = char::from(NAME_ALPHABET[(bits % base) as usize]);
            bits /= base;
            character
        })
        .collect()
}

/// Whether `name` could be a lobby's name (one [`lobby_name`] makes).
pub(crate) fn is_lobby_name(name: &str) -> bool {
    name.len() == NAME_LENGTH && name.bytes().all(|byte| NAME_ALPHABET.contains(&byte))
}

/// Where a member's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seat {
    /// A client of this server.
    Here(ClientId),
    /// A client of another instance sharing the lobby (or one of ours that left, until the
    /// shared directory says so): messages to it go through the directory.
    Away,
}

/// A lobby's state: all of it in the single-process server, this instance's view of it when
/// lobbies are shared.
#[derive(Debug)]
pub(crate) struct Lobby {
    /// Every peer connects to every other (otherwise only to the host).
    mesh: bool,
    /// No one may join any more.
    sealed: bool,
    /// Members and their peer ids, in join order; the first is the host.
    members: Vec<(Seat, i64)>,
}

impl Lobby {
    /// An empty lobby.
    pub(crate) fn new(mesh: bool) -> Self {
        Self { mesh, sealed: false, members: Vec::new() }
    }

    /// A view of a shared lobby whose members, in join order, are all elsewhere.
    pub(crate) fn away(mesh: bool, members: &[i64]) -> Self {
        Self { mesh, sealed: false, members: members.iter().map(|&peer_id| (Seat::Away, peer_id)).collect() }
    }

    /// Whether every peer connects to every other.
    pub(crate) fn is_mesh(&self) -> bool {
        self.mesh
    }

    /// Whether its host sealed it.
    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// Seals it: no one joins after.
    pub(crate) fn seal(&mut self) {
        self.sealed = true;
    }

    /// How many peers it has.
    pub(crate) fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The client that created it (peer 1), if it is one of ours.
    pub(crate) fn host(&self) -> Option<ClientId> {
        self.client_of(HOST_ID)
    }

    /// Where the member whose peer id is `peer_id` is.
    pub(crate) fn seat_of(&self, peer_id: i64) -> Option<Seat> {
        self.members.iter().find(|&&(_, id)| id == peer_id).map(|&(seat, _)| seat)
    }

    /// Our client whose peer id is `peer_id`.
    pub(crate) fn client_of(&self, peer_id: i64) -> Option<ClientId> {
        match self.seat_of(peer_id) {
            Some(Seat::Here(client)) => Some(client),
            _ => None,
        }
    }

    /// Every member that is a client of ours, with its peer id, in join order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (ClientId, i64)> + '_ {
        self.members.iter().filter_map(|&(seat, peer_id)| match seat {
            Seat::Here(client) => Some((client, peer_id)),
            Seat::Away => None,
        })
    }

    /// Every member with its seat, in join order.
    pub(crate) fn seats(&self) -> impl Iterator<Item = (Seat, i64)> + '_ {
        self.members.iter().copied()
    }

    /// Whether any member is a client of ours.
    pub(crate) fn has_clients(&self) -> bool {
        self.members().next().is_some()
    }

    /// Whether the members `a` and `b` (peer ids) are told about each other: always in a mesh,
    /// and only when one is the host otherwise.
    pub(crate) fn connects(&self, a: i64, b: i64) -> bool {
        self.mesh || a == HOST_ID || b == HOST_ID
    }

    /// Adds a member at the end.
    pub(crate) fn add(&mut self, seat: Seat, peer_id: i64) {
        self.members.push((seat, peer_id));
    }

    /// Removes our client `client`.
    pub(crate) fn remove(&mut self, client: ClientId) {
        self.members.retain(|&(seat, _)| seat != Seat::Here(client));
    }

    /// Removes the member `peer_id`; returns where it was.
    pub(crate) fn remove_peer(&mut self, peer_id: i64) -> Option<Seat> {
        let index = self.members.iter().position(|&(_, id)| id == peer_id)?;
        Some(self.members.remove(index).0)
    }

    /// Our client `client` left, but stays a member until the shared directory says it left.
    pub(crate) fn move_away(&mut self, client: ClientId) {
        for (seat, _) in &mut self.members {
            if *seat == Seat::Here(client) {
                *seat = Seat::Away;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_eight_unambiguous_characters() {
        assert_eq!(lobby_name(0), "AAAAAAAA");
        assert_eq!(lobby_name(31), "9AAAAAAA");
        let name = lobby_name(u64::MAX);
        assert_eq!(name.len(), NAME_LENGTH);
        assert!(name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
        assert!(!name.contains(['I', 'O', '0', '1']));
        assert!(is_lobby_name(&name) && is_lobby_name("ZQDEVNT6"));
        assert!(!is_lobby_name("ZQDEVNT") && !is_lobby_name("ZQDEVNT0") && !is_lobby_name("zqdevnt6"));
    }
}
