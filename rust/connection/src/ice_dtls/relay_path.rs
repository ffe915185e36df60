//! The relayed path beside ICE's direct one: a member both sides reach carries our DTLS datagrams
//! (the pump wraps them for it). It has no ICE: whether it exists is the pump's word
//! ([`RelayPath::set_available`]); whether it lives is DTLS's (records that authenticate).
//!
//! Bounded: [`MAX_RELAY_QUEUE`] datagrams wait for the pump (the oldest goes first, a loss SCTP
//! recovers), and datagrams relayed before DTLS starts are kept as direct ones are
//! ([`super::early_datagrams::MAX_KEPT`] of at most [`super::early_datagrams::MAX_KEPT_BYTES`]).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::early_datagrams::{MAX_KEPT, MAX_KEPT_BYTES};
use super::secure_path::DTLS_RECORD_OVERHEAD;

/// The largest SCTP packet of the relay channel's own association (the association between a
/// member and its relay, which carries our datagrams): WebRTC's 1200, `SctpConfig::default`.
pub const RELAY_CHANNEL_MTU: usize = 1200;
/// Bytes the pump puts before each relayed datagram (the transport's envelope header: version,
/// kind, peer id) that [`RELAYED_SCTP_MTU`] leaves room for.
pub const RELAY_ENVELOPE_ALLOWANCE: usize = 6;
/// The largest SCTP packet of ours while records go by the relay, so that one relayed datagram
/// (envelope and DTLS record around it) fits one DATA chunk of the relay channel and is never
/// split in two: [`RELAY_CHANNEL_MTU`] 1200 - SCTP common header 12 - DATA chunk header 16 -
/// [`RELAY_ENVELOPE_ALLOWANCE`] 6 - [`DTLS_RECORD_OVERHEAD`] 37 = 1129 bytes (1128 in practice:
/// chunks are padded to 4 bytes). The direct path uses the association's configured MTU (1200).
pub const RELAYED_SCTP_MTU: usize = RELAY_CHANNEL_MTU - 12 - 16 - RELAY_ENVELOPE_ALLOWANCE - DTLS_RECORD_OVERHEAD;

/// Datagrams at most waiting for `SecurePath::poll_relay_transmit`: a congestion window's worth
/// of full packets (SCTP's window stays far under it; only a pump that never polls fills it).
pub const MAX_RELAY_QUEUE: usize = 256;

/// While records go by the relay, something is sent on it at least this often: an SCTP
/// HEARTBEAT (the peer answers), so an idle relayed path stays heard well within the
/// disconnected (5 s) and failed (15 s) timeouts. A relay has no ICE consent to do this.
pub const RELAY_KEEPALIVE: Duration = Duration::from_secs(2);

/// The relay's state: offered or not, when last heard, what waits to go.
#[derive(Debug, Default)]
pub(super) struct RelayPath {
    available: bool,
    /// When it last became available.
    since: Option<Instant>,
    /// When authenticated DTLS last came by it.
    heard: Option<Instant>,
    /// When we last put a datagram on it (or a keepalive was asked for).
    last_sent: Option<Instant>,
    queue: VecDeque<Vec<u8>>,
    /// Datagrams relayed before DTLS started.
    early: VecDeque<Vec<u8>>,
    /// Datagrams dropped past [`MAX_RELAY_QUEUE`].
    dropped: u64,
}

impl RelayPath {
    /// The pump says a relay exists (or no longer); returns whether that changed.
    pub(super) fn set_available(&mut self, now: Instant, available: bool) -> bool {
        if self.available == available {
            return false;
        }
        self.available = available;
        if available {
            self.since = Some(now);
        } else {
            self.queue.clear();
        }
        true
    }

    /// Whether a relay exists.
    pub(super) fn is_available(&self) -> bool {
        self.available
    }

    /// Whether a relay was ever offered (failure then waits for every path to go silent).
    pub(super) fn was_ever_available(&self) -> bool {
        self.since.is_some()
    }

    /// Notes authenticated DTLS by the relay at `now`.
    pub(super) fn heard(&mut self, now: Instant) {
        self.heard = Some(now);
    }

    /// The latest sign of life: heard, or made available (a new relay gets its chance).
    pub(super) fn last_alive(&self) -> Option<Instant> {
        [self.heard, self.since].into_iter().flatten().max()
    }

    /// Keeps a datagram relayed before DTLS started (bounded as direct ones are).
    pub(super) fn keep_early(&mut self, datagram: &[u8]) {
        if datagram.len() > MAX_KEPT_BYTES {
            return;
        }
        if self.early.len() == MAX_KEPT {
            self.early.pop_front();
        }
        self.early.push_back(datagram.to_vec());
    }

    /// Takes the datagrams relayed before DTLS started, oldest first.
    pub(super) fn take_early(&mut self) -> VecDeque<Vec<u8>> {
        std::mem::take(&mut self.early)
    }

    /// Queues a datagram for the relay, sent at `now`.
    pub(super) fn push(&mut self, now: Instant, datagram: Vec<u8>) {
        if self.queue.len() == MAX_RELAY_QUEUE {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(datagram);
        self.last_sent = Some(now);
    }

    /// The next datagram for the relay.
    pub(super) fn pop(&mut self) -> Option<Vec<u8>> {
        self.queue.pop_front()
    }

    /// Datagrams dropped because the pump did not take them in time.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// When a keepalive is due if nothing goes out before.
    pub(super) fn keepalive_due(&self) -> Option<Instant> {
        let last = [self.last_sent, self.since].into_iter().flatten().max()?;
        self.available.then_some(last + RELAY_KEEPALIVE)
    }

    /// Notes a keepalive asked for at `now`.
    pub(super) fn keepalive_sent(&mut self, now: Instant) {
        self.last_sent = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_and_early_store_are_bounded() {
        let now = Instant::now();
        let mut relay = RelayPath::default();
        for index in 0..(MAX_RELAY_QUEUE + 3) {
            relay.push(now, vec![23, index as u8]);
        }
        assert_eq!(relay.dropped(), 3);
        assert_eq!(relay.pop().map(|data| data[1]), Some(3));
        relay.keep_early(&[22; MAX_KEPT_BYTES + 1]);
        for index in 0..(MAX_KEPT + 2) {
            relay.keep_early(&[22, index as u8]);
        }
        let early = relay.take_early();
        assert_eq!((early.len(), early.front().map(|data| data[1])), (MAX_KEPT, Some(2)));
    }

    #[test]
    fn keepalives_fall_due_only_while_available() {
        let now = Instant::now();
        let mut relay = RelayPath::default();
        assert_eq!(relay.keepalive_due(), None);
        assert!(relay.set_available(now, true) && !relay.set_available(now, true));
        assert_eq!(relay.keepalive_due(), Some(now + RELAY_KEEPALIVE));
        relay.push(now + RELAY_KEEPALIVE, vec![23]);
        assert_eq!(relay.keepalive_due(), Some(now + RELAY_KEEPALIVE * 2));
        assert!(relay.set_available(now, false));
        assert_eq!((relay.keepalive_due(), relay.pop()), (None, None));
        assert!(relay.was_ever_available());
    }
}
