//! DTLS datagrams that arrive before ICE has selected a pair, kept until it has.
//!
//! The peer starts DTLS as soon as its own check succeeds; its ClientHello often arrives before
//! our agent has selected the pair (the success answer to our nominating check is still on its
//! way). Dropping it costs the peer a retransmission timeout (1 s in most stacks). Anyone can
//! send to our sockets, so the store is small, and its datagrams are handed to DTLS only if they
//! come from an address that passed an authenticated ICE check by then.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// Datagrams kept at most (the newest): a ClientHello and its retransmissions, or a flight.
pub(super) const MAX_KEPT: usize = 8;
/// The largest datagram kept, in bytes (a handshake datagram fits one path MTU).
pub(super) const MAX_KEPT_BYTES: usize = 1500;

/// One kept datagram: the local socket that got it, the sender, the bytes.
pub(super) type Kept = (SocketAddr, SocketAddr, Vec<u8>);

/// The kept datagrams.
#[derive(Default)]
pub(super) struct EarlyDatagrams {
    kept: VecDeque<Kept>,
}

impl EarlyDatagrams {
    /// Keeps a datagram (the oldest goes past [`MAX_KEPT`]; one above [`MAX_KEPT_BYTES`] is not
    /// kept).
    pub(super) fn keep(&mut self, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        if datagram.len() > MAX_KEPT_BYTES {
            return;
        }
        if self.kept.len() == MAX_KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back((local, from, datagram.to_vec()));
    }

    /// Takes every kept datagram, oldest first.
    pub(super) fn take(&mut self) -> VecDeque<Kept> {
        std::mem::take(&mut self.kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_count_and_size() {
        let address: SocketAddr = ([10, 0, 0, 1], 5000).into();
        let mut early = EarlyDatagrams::default();
        early.keep(address, address, &[22; MAX_KEPT_BYTES + 1]);
        assert!(early.take().is_empty());
        for index in 0..(MAX_KEPT + 5) {
            early.keep(address, address, &[22, index as u8]);
        }
        let kept = early.take();
        assert_eq!(kept.len(), MAX_KEPT);
        assert_eq!(kept.front().map(|(_, _, data)| data[1]), Some(5));
        assert!(early.take().is_empty());
    }
}
