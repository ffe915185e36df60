//! Two SCTP associations over netsim: an endpoint wrapper that records events and feeds queued
//! messages in as fast as the association takes them.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::sctp::{
    Association, Message, Reliability, Role, SctpConfig, SctpError, SctpEvent, SendOptions, StreamId,
};
use netsim::{Endpoint, LinkConfig, Network, Pair};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// One side: its association, what came out of it, what waits to go in.
pub struct Peer {
    pub assoc: Association,
    pub connected_at: Option<Instant>,
    pub closed: Option<SctpError>,
    pub messages: Vec<(Instant, Message)>,
    pub resets: Vec<Vec<StreamId>>,
    pub outbox: VecDeque<(StreamId, Bytes, SendOptions)>,
    pub send_errors: Vec<SctpError>,
}

impl Peer {
    pub fn new(role: Role, seed: u64, now: Instant) -> Peer {
        Peer::with_config(SctpConfig::default(), role, seed, now)
    }

    pub fn with_config(config: SctpConfig, role: Role, seed: u64, now: Instant) -> Peer {
        let mut rng = StdRng::seed_from_u64(seed);
        Peer {
            assoc: Association::new(config, role, &mut rng, now),
            connected_at: None,
            closed: None,
            messages: Vec::new(),
            resets: Vec::new(),
            outbox: VecDeque::new(),
            send_errors: Vec::new(),
        }
    }

    pub fn is_connected(&self) -> bool {
        self.connected_at.is_some() && self.closed.is_none()
    }

    /// Takes the association's events and hands it queued messages while it takes them.
    pub fn pump(&mut self, now: Instant) {
        while let Some(event) = self.assoc.poll_event() {
            match event {
                SctpEvent::Connected => self.connected_at = Some(now),
                SctpEvent::Message(message) => self.messages.push((now, message)),
                SctpEvent::StreamsReset(streams) => self.resets.push(streams),
                SctpEvent::Closed(error) => self.closed = Some(error),
            }
        }
        if !self.is_connected() {
            return;
        }
        while let Some((stream, data, options)) = self.outbox.front().cloned() {
            match self.assoc.send(now, stream, 53, data, options) {
                Ok(()) => {
                    self.outbox.pop_front();
                }
                Err(SctpError::SendBufferFull) => break,
                Err(error) => {
                    self.send_errors.push(error);
                    self.outbox.pop_front();
                }
            }
        }
    }

    pub fn queue(&mut self, stream: StreamId, data: Bytes, options: SendOptions) {
        self.outbox.push_back((stream, data, options));
    }

    pub fn payloads(&self, stream: StreamId) -> Vec<Bytes> {
        self.messages.iter().filter(|(_, m)| m.stream == stream).map(|(_, m)| m.data.clone()).collect()
    }
}

impl Endpoint for Peer {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        self.assoc.handle_packet(now, datagram);
        self.pump(now);
    }

    fn timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.pump(now);
    }

    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.pump(now);
        self.assoc.poll_transmit(now)
    }

    fn deadline(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

/// A client (A) and a server (B) over `a_to_b` and `b_to_a`.
pub fn pair(seed: u64, a_to_b: LinkConfig, b_to_a: LinkConfig) -> Pair<Peer, Peer> {
    let start = Instant::now();
    let a = Peer::new(Role::Client, seed * 2 + 1, start);
    let b = Peer::new(Role::Server, seed * 2 + 2, start);
    Pair::new(a, b, Network::new(seed, a_to_b, b_to_a), start)
}

/// `pair` connected (panics if it does not within 30 s).
pub fn connected(seed: u64, a_to_b: LinkConfig, b_to_a: LinkConfig) -> Pair<Peer, Peer> {
    let mut pair = pair(seed, a_to_b, b_to_a);
    assert!(pair.run_until(Duration::from_secs(30), |a, b| a.is_connected() && b.is_connected()));
    pair
}

pub const RELIABLE: SendOptions = SendOptions { ordered: true, reliability: Reliability::Reliable };
pub const UNORDERED: SendOptions = SendOptions { ordered: false, reliability: Reliability::Reliable };
pub const UNRELIABLE: SendOptions = SendOptions { ordered: false, reliability: Reliability::MaxRetransmits(0) };

/// A message of `len` bytes whose content tells its index.
pub fn message(index: usize, len: usize) -> Bytes {
    (0..len).map(|i| (index.wrapping_mul(31).wrapping_add(i) % 251) as u8).collect::<Vec<u8>>().into()
}

/// A 20-40 ms RTT link (10 ms one way each direction, 0-20 ms jitter... kept simple: 15 ms one
/// way, 5 ms jitter) with a 20 Mbit/s bottleneck and `loss`.
pub fn game_link(loss: f64) -> LinkConfig {
    LinkConfig::home(Duration::from_millis(15)).with_jitter(Duration::from_millis(5)).with_loss(loss)
}
