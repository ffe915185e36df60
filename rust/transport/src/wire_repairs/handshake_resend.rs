//! Sends our DTLS handshake flight again when the peer repeats the message it answers.
//!
//! A DTLS server that has sent its flight (ServerHello ... ServerHelloDone) waits for the client's
//! next one, and `rtc-dtls` 0.21.1 cancels its retransmission timer whenever any handshake
//! datagram arrives (`handshaker.rs`, `wait`). When the server's flight is lost, the client
//! repeats its ClientHello every second, each repeat cancels the server's timer again, the server
//! never sends its flight again, and after 8 s the client gives up ("invalid state machine
//! transition"). In the lab at 10% loss this failed about one connection in three. RFC 6347
//! 4.2.4 has a peer that receives a repeat of the message its flight answers send that flight
//! again; this does it at the socket: it keeps digests of the datagrams of the peer's latest
//! handshake flight and the handshake datagrams we sent to its address after them (our answer,
//! the epoch-1 Finished included), and sends our answer again when a datagram of that flight
//! comes again.
//! The same loss hits a client whose flight 5 is lost: the server repeats its flight 4 and the
//! client, waiting for flight 6, answers nothing (in the lab, 1 connection in ~10 at 2% loss).

use std::collections::HashMap;
use std::net::SocketAddr;

use super::peek::{dtls_epoch0_handshake, dtls_records_digest, is_dtls_handshake_flight};

/// Datagrams of each flight kept per address, theirs and ours (a flight is a handful).
const MAX_FLIGHT_DATAGRAMS: usize = 8;
/// Addresses whose handshake is followed at most (a connection has one peer, and only addresses
/// that passed an ICE check get here; relays and peer-reflexive paths add one or two).
const MAX_PEERS: usize = 4;
/// The largest datagram looked at, in bytes: handshake datagrams fit one path MTU (rtc's DTLS
/// sends at most 1200 bytes). Of the peer's flight only digests are kept; with the limits above,
/// at most 4 x 8 x 1500 = 48,000 bytes of ours are held (4 x 8 x 8 bytes of theirs).
const MAX_DATAGRAM_BYTES: usize = 1500;
/// Times one flight is sent again at most.
const MAX_RESENDS: u8 = 7;

/// What one socket knows per address: the last handshake datagram heard, our answer to it.
#[derive(Default)]
pub(super) struct HandshakeResend {
    peers: HashMap<SocketAddr, Exchange>,
}

#[derive(Default)]
struct Exchange {
    /// The digests of the datagrams of the peer's latest flight (not the datagrams: what a
    /// repeat carries is all that is compared).
    heard: Vec<u64>,
    /// Ours that answered it.
    answer: Vec<Vec<u8>>,
    resends: u8,
}

impl HandshakeResend {
    /// Looks at a datagram received from `from`; returns the datagrams to send it again.
    pub(super) fn on_received(&mut self, from: SocketAddr, datagram: &[u8]) -> Vec<Vec<u8>> {
        if !dtls_epoch0_handshake(datagram) || datagram.len() > MAX_DATAGRAM_BYTES {
            return Vec::new();
        }
        // Anyone can send handshake datagrams from many ports: remember a few peers only.
        if self.peers.len() >= MAX_PEERS && !self.peers.contains_key(&from) {
            return Vec::new();
        }
        let Some(digest) = dtls_records_digest(datagram) else { return Vec::new() };
        let exchange = self.peers.entry(from).or_default();
        if !exchange.heard.contains(&digest) {
            if exchange.answer.is_empty() && exchange.heard.len() < MAX_FLIGHT_DATAGRAMS {
                // More of the flight we have not answered yet.
                exchange.heard.push(digest);
            } else {
                *exchange = Exchange { heard: vec![digest], ..Exchange::default() };
            }
            return Vec::new();
        }
        if exchange.answer.is_empty() || exchange.resends == MAX_RESENDS {
            return Vec::new();
        }
        exchange.resends += 1;
        exchange.answer.clone()
    }

    /// Looks at a datagram we send to `to`: handshake datagrams make up our answer.
    pub(super) fn on_sent(&mut self, to: SocketAddr, datagram: &[u8]) {
        if !is_dtls_handshake_flight(datagram) || datagram.len() > MAX_DATAGRAM_BYTES {
            return;
        }
        if let Some(exchange) = self.peers.get_mut(&to) {
            if exchange.resends == 0 && exchange.answer.len() < MAX_FLIGHT_DATAGRAMS {
                exchange.answer.push(datagram.to_vec());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-record epoch-0 handshake datagram: record sequence `seq`, message type `kind`.
    fn handshake(seq: u8, kind: u8, body: u8) -> Vec<u8> {
        let mut record = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, seq, 0, 16, kind, 0, 0, 12, 0, 1];
        record.resize(29, body);
        record
    }

    fn peer() -> SocketAddr {
        "10.0.0.2:4000".parse().expect("a socket address")
    }

    #[test]
    fn a_repeated_message_gets_our_flight_again() {
        let mut resend = HandshakeResend::default();
        let hello = handshake(1, 1, 7);
        assert!(resend.on_received(peer(), &hello).is_empty());
        resend.on_sent(peer(), &handshake(1, 2, 1));
        resend.on_sent(peer(), &handshake(2, 11, 2));
        let again = resend.on_received(peer(), &handshake(5, 1, 7));
        assert_eq!(again, vec![handshake(1, 2, 1), handshake(2, 11, 2)], "a repeat with a new record number");
        resend.on_sent(peer(), &handshake(3, 2, 1));
        assert_eq!(resend.on_received(peer(), &handshake(6, 1, 7)).len(), 2, "what was sent again is not added");
    }

    #[test]
    fn a_new_message_starts_a_new_exchange_and_repeats_are_bounded() {
        let mut resend = HandshakeResend::default();
        resend.on_received(peer(), &handshake(1, 1, 7));
        resend.on_sent(peer(), &handshake(1, 2, 1));
        for _ in 0..MAX_RESENDS {
            assert_eq!(resend.on_received(peer(), &handshake(1, 1, 7)).len(), 1);
        }
        assert!(resend.on_received(peer(), &handshake(1, 1, 7)).is_empty(), "bounded");
        assert!(resend.on_received(peer(), &handshake(2, 16, 9)).is_empty(), "their next flight");
        assert!(resend.on_received(peer(), &handshake(3, 16, 9)).is_empty(), "nothing of ours answers it yet");
    }

    #[test]
    fn a_repeat_of_any_datagram_of_a_flight_of_several_records_gets_our_answer_again() {
        let mut resend = HandshakeResend::default();
        // Their flight 4 in two datagrams, the first of two records.
        let first = [handshake(1, 2, 1), handshake(2, 11, 2)].concat();
        let second = handshake(3, 14, 3);
        assert!(resend.on_received(peer(), &first).is_empty());
        assert!(resend.on_received(peer(), &second).is_empty());
        // Our flight 5: epoch-0 records, then ChangeCipherSpec and an encrypted Finished.
        let finished = [
            vec![20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 1],
            vec![22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9],
        ]
        .concat();
        resend.on_sent(peer(), &handshake(1, 16, 4));
        resend.on_sent(peer(), &finished);
        let repeat = [handshake(7, 2, 1), handshake(8, 11, 2)].concat();
        assert_eq!(resend.on_received(peer(), &repeat), vec![handshake(1, 16, 4), finished.clone()]);
        assert_eq!(resend.on_received(peer(), &handshake(9, 14, 3)).len(), 2);
    }

    #[test]
    fn other_traffic_is_left_alone() {
        let mut resend = HandshakeResend::default();
        let application = [23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4];
        assert!(resend.on_received(peer(), &application).is_empty());
        resend.on_sent(peer(), &application);
        assert!(!resend.peers.contains_key(&peer()));
    }
}
