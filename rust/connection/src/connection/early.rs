//! What comes before the secure path can take it: until the other side's description is applied
//! we know neither our DTLS role nor its fingerprint, so datagrams (a check racing the answer
//! through signaling) and trickled candidates wait here, bounded, and are replayed in order.

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::sdp::Candidate;

/// Most local candidates a connection takes: the pump gathers a host candidate per interface
/// and address family, and a server-reflexive and relayed one per server (a dozen at most).
pub const MAX_LOCAL_CANDIDATES: usize = 64;

/// Most datagrams kept before the remote description is applied; later ones are dropped (ICE
/// sends its checks again).
pub const MAX_EARLY_DATAGRAMS: usize = 16;

/// Longest datagram kept before the remote description is applied (a STUN check or a DTLS
/// ClientHello is well under); longer ones are dropped.
pub const MAX_EARLY_DATAGRAM_BYTES: usize = 2048;

/// A datagram received before the secure path could take it.
#[derive(Debug)]
pub(super) struct EarlyDatagram {
    /// The local socket it came to.
    pub(super) local: SocketAddr,
    /// Where it came from.
    pub(super) from: SocketAddr,
    /// Its bytes.
    pub(super) data: Vec<u8>,
}

/// A trickled candidate received before the remote description that says which section it is for.
#[derive(Debug)]
pub(super) struct EarlyCandidate {
    /// The candidate.
    pub(super) candidate: Candidate,
    /// Its `sdpMid`.
    mid: Option<String>,
    /// Its `sdpMLineIndex`.
    pub(super) index: Option<u16>,
}

impl EarlyCandidate {
    /// Its `sdpMid`.
    pub(super) fn mid(&self) -> Option<&str> {
        self.mid.as_deref()
    }
}

/// Datagrams and trickled candidates waiting for the remote description.
#[derive(Debug, Default)]
pub(super) struct EarlyInput {
    datagrams: VecDeque<EarlyDatagram>,
    /// Trickled remote candidates, in order (the connection bounds how many it takes).
    candidates: Vec<EarlyCandidate>,
}

impl EarlyInput {
    /// Keeps a datagram, unless [`MAX_EARLY_DATAGRAMS`] wait already or it is longer than
    /// [`MAX_EARLY_DATAGRAM_BYTES`].
    pub(super) fn keep_datagram(&mut self, local: SocketAddr, from: SocketAddr, data: &[u8]) {
        if self.datagrams.len() < MAX_EARLY_DATAGRAMS && data.len() <= MAX_EARLY_DATAGRAM_BYTES {
            self.datagrams.push_back(EarlyDatagram { local, from, data: data.to_vec() });
        }
    }

    /// Keeps a trickled remote candidate with its `sdpMid` and `sdpMLineIndex`.
    pub(super) fn keep_candidate(&mut self, candidate: Candidate, mid: Option<&str>, index: Option<u16>) {
        self.candidates.push(EarlyCandidate { candidate, mid: mid.map(str::to_owned), index });
    }

    /// Everything kept, emptied: candidates first (so the datagrams find their senders known).
    pub(super) fn take(&mut self) -> (Vec<EarlyCandidate>, VecDeque<EarlyDatagram>) {
        (std::mem::take(&mut self.candidates), std::mem::take(&mut self.datagrams))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floods_and_giants_are_dropped() {
        let address: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        let mut early = EarlyInput::default();
        early.keep_datagram(address, address, &[0; MAX_EARLY_DATAGRAM_BYTES + 1]);
        for index in 0..100_u8 {
            early.keep_datagram(address, address, &[index]);
        }
        let candidate = Candidate::parse("candidate:1 1 udp 1 192.0.2.2 5000 typ host").unwrap();
        early.keep_candidate(candidate, Some("0"), None);
        let (candidates, datagrams) = early.take();
        assert_eq!(candidates.len(), 1);
        assert_eq!(datagrams.len(), MAX_EARLY_DATAGRAMS);
        assert_eq!(datagrams.front().map(|datagram| datagram.data.clone()), Some(vec![0]), "the first ones kept");
        assert_eq!(early.take().1.len(), 0);
    }
}
