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

/// A lobby's state.
#[derive(Debug)]
pub(crate) struct Lobby {
    /// Every peer connects to every other (otherwise only to the host).
    mesh: bool,
    /// No one may join any more.
    sealed: bool,
    /// Members and their peer ids, in join order; the first is the host.
    members: Vec<(ClientId, i64)>,
}

impl Lobby {
    /// An empty lobby.
    pub(crate) fn new(mesh: bool) -> Self {
        Self { mesh, sealed: false, members: Vec::new() }
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

    /// The client that created it.
    pub(crate) fn host(&self) -> Option<ClientId> {
        self.members.first().map(|&(client, _)| client)
    }

    /// The client whose peer id is `peer_id`.
    pub(crate) fn client_of(&self, peer_id: i64) -> Option<ClientId> {
        self.members.iter().find(|&&(_, id)| id == peer_id).map(|&(client, _)| client)
    }

    /// Every member with its peer id, in join order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (ClientId, i64)> + '_ {
        self.members.iter().copied()
    }

    /// Whether the members `a` and `b` (peer ids) are told about each other: always in a mesh,
    /// and only when one is the host otherwise.
    pub(crate) fn connects(&self, a: i64, b: i64) -> bool {
        self.mesh || a == HOST_ID || b == HOST_ID
    }

    /// Adds a member at the end.
    pub(crate) fn add(&mut self, client: ClientId, peer_id: i64) {
        self.members.push((client, peer_id));
    }

    /// Removes a member.
    pub(crate) fn remove(&mut self, client: ClientId) {
        self.members.retain(|&(member, _)| member != client);
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
    }
}
