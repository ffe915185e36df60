//! Which stream ids each side opens channels on (RFC 8832 §6: the DTLS client even ids, the
//! server odd ones, so both may open at once without colliding) and how ours are handed out.

use crate::sctp::StreamId;
use crate::DtlsRole;

/// Stream 65535 is reserved (RFC 8832 §6); no channel uses it.
pub(crate) const RESERVED_STREAM: StreamId = u16::MAX;

/// Whether a channel opened in-band on this stream belongs to the side with this role.
pub(crate) fn opened_by(role: DtlsRole, stream: StreamId) -> bool {
    stream.is_multiple_of(2) == (role == DtlsRole::Client)
}

/// Hands out our side's stream ids in turn: after the last one handed out, not the lowest free
/// one, so a stream closed a moment ago (its reset perhaps still under way in the association)
/// is reused only after every other id of our parity.
#[derive(Debug)]
pub(crate) struct StreamIds {
    role: DtlsRole,
    /// The id the next search starts at.
    next: StreamId,
}

impl StreamIds {
    /// Starts at 0 for the client, 1 for the server.
    pub(crate) fn new(role: DtlsRole) -> Self {
        Self { role, next: if role == DtlsRole::Client { 0 } else { 1 } }
    }

    /// The next id of our parity for which `taken` is false, or None when all 32767 or 32768
    /// are taken. Looks at each id at most once.
    pub(crate) fn allocate(&mut self, taken: impl Fn(StreamId) -> bool) -> Option<StreamId> {
        let first = if self.role == DtlsRole::Client { 0 } else { 1 };
        let mut candidate = self.next;
        for _ in 0..=u16::MAX / 2 {
            let after = match candidate.checked_add(2) {
                Some(after) if after != RESERVED_STREAM => after,
                _ => first,
            };
            if candidate != RESERVED_STREAM && !taken(candidate) {
                self.next = after;
                return Some(candidate);
            }
            candidate = after;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_owns_even_ids_and_the_server_odd_ones() {
        use DtlsRole::{Client, Server};
        assert!(opened_by(Client, 0) && opened_by(Client, 65534) && !opened_by(Client, 1));
        assert!(opened_by(Server, 1) && opened_by(Server, 65533) && !opened_by(Server, 2));
    }

    #[test]
    fn ids_go_round_not_back_to_the_lowest_free_one() {
        let mut ids = StreamIds::new(DtlsRole::Server);
        assert_eq!(ids.allocate(|_| false), Some(1));
        assert_eq!(ids.allocate(|_| false), Some(3));
        assert_eq!(ids.allocate(|id| id == 5), Some(7));
        let mut ids = StreamIds::new(DtlsRole::Client);
        assert_eq!(ids.allocate(|id| id < 10), Some(10));
    }

    #[test]
    fn ids_wrap_and_never_give_the_reserved_one() {
        let mut ids = StreamIds::new(DtlsRole::Server);
        assert_eq!(ids.allocate(|id| id < 65533), Some(65533));
        assert_eq!(ids.allocate(|_| false), Some(1), "65535 is reserved");
        let mut ids = StreamIds::new(DtlsRole::Client);
        assert_eq!(ids.allocate(|id| id < 65534), Some(65534));
        assert_eq!(ids.allocate(|_| false), Some(0));
    }

    #[test]
    fn none_when_every_id_of_our_parity_is_taken() {
        assert_eq!(StreamIds::new(DtlsRole::Client).allocate(|id| id % 2 == 0), None);
        assert_eq!(StreamIds::new(DtlsRole::Server).allocate(|id| id % 2 == 1), None);
        assert_eq!(StreamIds::new(DtlsRole::Server).allocate(|id| id != 65533), Some(65533));
    }
}
