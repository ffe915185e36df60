//! The relay hub: one per mesh. It knows the mesh's members (peer id -> the connection to that
//! member), which of them can carry relayed traffic (both sides announced relaying and the relay
//! channel is open) and whom each says it reaches; and it moves envelopes between them.
//!
//! As the relay (B): a TO envelope "to C" that arrived from member A goes out on C's relay
//! channel as FROM "from A", if A and C are both relay members, A is within its budget and C's
//! relay channel is not congested; otherwise it is dropped and counted. As an endpoint (A or C):
//! a datagram A's connection to C wants relayed goes TO C on the relay channel of the member
//! chosen to relay for C; a FROM "from A" goes to the core of the connection to A.
//!
//! Everything runs in the pump of the connection the envelope came on (its task: no game poll),
//! with that connection's core locked; the hub then takes its own lock, and hands what goes to
//! another connection to that connection's [`RelayPort`] (a queue and a wake-up). The hub never
//! locks a core: lock order is core, then hub, then ports.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mesh_core::{RelayChoice, RelayOption};

use super::budget::Budget;
use super::envelope::{Envelope, ENVELOPE_HEADER_LEN, MAX_REACH_IDS, MAX_UNSPLIT_ENVELOPE};
use super::port::RelayPort;
use crate::error::TransportError;
use crate::lock::lock;
use crate::peer::PeerConnection;

/// Least time between two REACH envelopes to one member: a change of the mesh is announced
/// within this, and a mesh whose members come and go costs each member at most 4 REACHes a
/// second.
pub const REACH_INTERVAL: Duration = Duration::from_millis(250);

/// How soon after a REACH a member is told the same set again: the relay channel is unreliable
/// (a lost REACH is replaced by the next), and a member that missed one learns within this whom
/// we reach. Each repeat of an unchanged set waits twice as long as the one before, up to
/// [`MAX_REACH_REFRESH`], so an idle mesh is not woken every few seconds for it.
pub const REACH_REFRESH: Duration = Duration::from_secs(2);

/// The longest wait between two REACHes of an unchanged set.
pub const MAX_REACH_REFRESH: Duration = Duration::from_secs(30);

/// Most members a hub registers: past it [`RelayHub`] refuses more (a mesh has far fewer; the
/// bound keeps every per-member walk short).
pub const MAX_RELAY_MEMBERS: usize = 1024;

/// The last REACH sent to a member: the set, when, and how long until it is repeated unchanged.
struct ReachSent {
    members: Vec<i32>,
    at: Instant,
    refresh: Duration,
}

/// What a relay carried for one source member, and what it dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Datagrams forwarded.
    pub packets: u64,
    /// Bytes of datagrams forwarded (the envelopes' payloads).
    pub bytes: u64,
    /// Datagrams dropped because the source was past its budget.
    pub dropped_over_budget: u64,
    /// Datagrams dropped because the destination was no relay member (unknown, or it or the
    /// source did not announce relaying, or its relay channel is not open).
    pub dropped_no_route: u64,
    /// Datagrams dropped because the destination's relay channel was congested.
    pub dropped_congested: u64,
    /// Datagrams forwarded whose envelope was longer than one DATA chunk of the relay channel
    /// ([`MAX_UNSPLIT_ENVELOPE`]), so the relay channel's association split it in two: DTLS
    /// handshake flights (up to 1200 bytes) and the rare retransmission of a chunk cut before the
    /// pair's path became relayed; the relayed path's own packets fit (`RELAYED_SCTP_MTU`).
    pub split_envelopes: u64,
}

/// A hub's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// As a relay: per source member (registered ones only).
    pub sources: BTreeMap<i32, SourceStats>,
    /// Relay-channel messages that were no valid envelope, or a kind a member may not send.
    pub malformed: u64,
    /// As an endpoint: datagrams of our connections sent via a relay.
    pub relayed_sent: u64,
    /// As an endpoint: datagrams that came via a relay and were handed to our connections.
    pub relayed_received: u64,
    /// As an endpoint: datagrams dropped (no relay, or a full queue).
    pub relayed_dropped: u64,
}

/// What a registered connection tells the hub about itself, from its pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemberRelay {
    /// Both sides announced relaying.
    pub(crate) announced: bool,
    /// The relay channel is open and the connection's path is direct.
    pub(crate) relay_open: bool,
    /// Our round-trip time to the member.
    pub(crate) round_trip: Option<Duration>,
}

/// One registered member.
struct Member {
    port: Arc<RelayPort>,
    /// Both sides announced relaying: datagrams relayed from the member are handed to its
    /// connection.
    announced: bool,
    /// Both sides announced relaying, the relay channel is open and the connection's path is
    /// direct: the member can carry relayed traffic (a relayed connection never relays, so there
    /// are no chains of relays).
    relay_open: bool,
    /// What the member may have relayed.
    budget: Budget,
    /// The members it says it reaches (its last REACH).
    reach: Vec<i32>,
    /// Our round-trip time to it.
    round_trip: Option<Duration>,
    /// The reach set last announced to it, and when.
    reach_sent: Option<ReachSent>,
}

struct HubState {
    budget: u64,
    members: BTreeMap<i32, Member>,
    choice: RelayChoice,
    stats: RelayStats,
}

/// The relay hub of one mesh. Cheap to clone; all clones are the same hub.
#[derive(Clone)]
pub struct RelayHub {
    state: Arc<Mutex<HubState>>,
}

impl RelayHub {
    /// A hub with no member that relays at most `budget_bytes_per_second` per source member
    /// (with a burst of one second's worth).
    pub fn new(budget_bytes_per_second: u64) -> Self {
        let state = HubState {
            budget: budget_bytes_per_second,
            members: BTreeMap::new(),
            choice: RelayChoice::new(),
            stats: RelayStats::default(),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// Registers `connection` as our connection to mesh member `peer_id` (1 to 2147483647): it
    /// carries relayed traffic for other members and has its own carried once both sides of it
    /// announced relaying ([`TransportConfig::relay`](crate::TransportConfig::relay)); a
    /// connection where either did not is never relayed for nor through. Refused for a closed
    /// connection, one already registered (with any hub), an id the hub has, or past
    /// [`MAX_RELAY_MEMBERS`].
    pub fn register(&self, peer_id: i32, connection: &PeerConnection) -> Result<(), TransportError> {
        if peer_id < 1 {
            return Err(TransportError::InvalidConfig(format!("peer id {peer_id} is out of range (1 to 2147483647)")));
        }
        let link = connection.link();
        {
            let core = link.core();
            if core.closed {
                return Err(crate::core::closed());
            }
            if core.relay.is_attached() {
                return Err(TransportError::WrongState("the connection is registered with a relay hub already".into()));
            }
        }
        let port = RelayPort::new(Arc::clone(&link.io.wake));
        if !self.add_member(peer_id, Arc::clone(&port), Instant::now()) {
            return Err(TransportError::InvalidConfig(format!(
                "the relay hub has member {peer_id} already, or {MAX_RELAY_MEMBERS} members"
            )));
        }
        // The hub's lock is released: the core's may be taken (never both at once).
        link.core().relay.attach(self.clone(), peer_id, port);
        link.io.wake.notify_one();
        Ok(())
    }

    /// Relays at most `budget_bytes_per_second` per source member from now on (each source's
    /// budget starts again full).
    pub fn set_budget(&self, budget_bytes_per_second: u64) {
        let now = Instant::now();
        let mut state = self.lock();
        state.budget = budget_bytes_per_second;
        for member in state.members.values_mut() {
            member.budget = Budget::new(budget_bytes_per_second, now);
        }
    }

    /// The hub's statistics.
    pub fn stats(&self) -> RelayStats {
        self.lock().stats.clone()
    }

    /// The member relaying for `peer` now, if any.
    pub fn relay_for(&self, peer: i32) -> Option<i32> {
        self.lock().choice.current(peer)
    }

    /// Forgets `peer_id`: its connection is no longer used for relaying, nothing is relayed to or
    /// from it, and the members still relaying are told.
    pub fn unregister(&self, peer_id: i32) {
        let mut state = self.lock();
        if state.members.remove(&peer_id).is_some() {
            state.stats.sources.remove(&peer_id);
            state.choice.forget(peer_id);
            state.choice.forget_member(peer_id);
            state.wake_relay_members();
        }
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        lock(&self.state)
    }

    /// Adds member `peer_id` with its port; `false` if the hub is full or has it already.
    pub(crate) fn add_member(&self, peer_id: i32, port: Arc<RelayPort>, now: Instant) -> bool {
        let mut state = self.lock();
        if state.members.len() >= MAX_RELAY_MEMBERS || state.members.contains_key(&peer_id) {
            return false;
        }
        let budget = Budget::new(state.budget, now);
        let member = Member {
            port,
            announced: false,
            relay_open: false,
            budget,
            reach: Vec::new(),
            round_trip: None,
            reach_sent: None,
        };
        state.members.insert(peer_id, member);
        state.stats.sources.insert(peer_id, SourceStats::default());
        true
    }

    /// What member `peer_id`'s connection says of relaying now (see [`MemberRelay`]). A change
    /// of who can relay is announced to the other relay members.
    pub(crate) fn update_member(&self, peer_id: i32, update: MemberRelay) {
        let mut state = self.lock();
        let Some(member) = state.members.get_mut(&peer_id) else { return };
        member.round_trip = update.round_trip;
        member.announced = update.announced;
        let relay_open = update.announced && update.relay_open;
        if member.relay_open != relay_open {
            member.relay_open = relay_open;
            if !relay_open {
                member.reach.clear();
                member.reach_sent = None;
            }
            state.wake_relay_members();
        }
    }

    /// A message that came on member `from`'s relay channel at `now`.
    pub(crate) fn on_message(&self, from: i32, message: &Bytes, now: Instant) {
        let mut state = self.lock();
        let state = &mut *state;
        let source_open = state.members.get(&from).is_some_and(|member| member.relay_open);
        match Envelope::parse(message) {
            Some(Envelope::To { peer, datagram }) if source_open => state.forward(from, peer, datagram, now),
            Some(Envelope::From { peer, datagram }) if source_open => {
                let delivered = peer != from
                    && state.members.get(&peer).is_some_and(|member| member.announced && member.port.receive(datagram));
                if delivered {
                    state.stats.relayed_received += 1;
                } else {
                    state.stats.relayed_dropped += 1;
                }
            }
            Some(Envelope::Reach { members }) if source_open => {
                if let Some(member) = state.members.get_mut(&from) {
                    member.reach = members;
                }
            }
            Some(_) => {
                // A relay envelope from a member that may not relay.
                if let Some(source) = state.stats.sources.get_mut(&from) {
                    source.dropped_no_route += 1;
                }
            }
            None => state.stats.malformed += 1,
        }
    }

    /// The REACH envelope to send member `to` at `now`: if the set of relay members changed since
    /// the last one and [`REACH_INTERVAL`] has passed, or it did not and [`REACH_REFRESH`] has;
    /// else `None`. Also when to ask again.
    pub(crate) fn poll_reach(&self, to: i32, now: Instant) -> (Option<Bytes>, Option<Instant>) {
        let mut state = self.lock();
        let reach: Vec<i32> = state
            .members
            .iter()
            .filter(|(id, member)| **id != to && member.relay_open)
            .map(|(id, _)| *id)
            .take(MAX_REACH_IDS)
            .collect();
        let Some(member) = state.members.get_mut(&to).filter(|member| member.relay_open) else {
            return (None, None);
        };
        let (wait, refresh) = match &member.reach_sent {
            Some(sent) if sent.members == reach => {
                (Some(sent.at + sent.refresh), (sent.refresh * 2).min(MAX_REACH_REFRESH))
            }
            Some(sent) => (Some(sent.at + REACH_INTERVAL), REACH_REFRESH),
            None => (None, REACH_REFRESH),
        };
        match wait.filter(|at| *at > now) {
            Some(at) => (None, Some(at)),
            None => {
                let envelope = Envelope::Reach { members: reach.clone() }.encode();
                member.reach_sent = Some(ReachSent { members: reach, at: now, refresh });
                (envelope, Some(now + refresh))
            }
        }
    }

    /// The member chosen at `now` to relay for `peer` (see [`RelayChoice`]): among the relay
    /// members that say they reach it; `None` if there is none.
    pub(crate) fn choose_relay(&self, peer: i32, now: Instant) -> Option<i32> {
        let mut state = self.lock();
        let state = &mut *state;
        let options: Vec<RelayOption> = state
            .members
            .iter()
            .filter(|(id, member)| **id != peer && member.relay_open && member.reach.contains(&peer))
            .map(|(id, member)| RelayOption { member: *id, round_trip: member.round_trip })
            .collect();
        state.choice.choose(now, peer, &options)
    }

    /// Sends `datagram` of our connection to `peer` via the relay chosen for it; `false` if it
    /// was dropped (no relay, or its channel congested).
    pub(crate) fn send_via_relay(&self, peer: i32, datagram: Bytes, now: Instant) -> bool {
        let relay = self.choose_relay(peer, now);
        let mut state = self.lock();
        let port = relay.and_then(|relay| state.members.get(&relay)).map(|member| Arc::clone(&member.port));
        let sent = port
            .is_some_and(|port| Envelope::To { peer, datagram }.encode().is_some_and(|envelope| port.send(envelope)));
        if sent {
            state.stats.relayed_sent += 1;
        } else {
            state.stats.relayed_dropped += 1;
        }
        sent
    }
}

impl HubState {
    /// Forwards a datagram member `from` sent "to `to`", as the relay.
    fn forward(&mut self, from: i32, to: i32, datagram: Bytes, now: Instant) {
        let len = datagram.len();
        let route = (to != from)
            .then(|| self.members.get(&to))
            .flatten()
            .filter(|member| member.relay_open)
            .map(|member| Arc::clone(&member.port));
        let Some(source) = self.stats.sources.get_mut(&from) else { return };
        let Some(port) = route else {
            source.dropped_no_route += 1;
            return;
        };
        let within_budget = self.members.get_mut(&from).is_some_and(|member| member.budget.take(len, now));
        if !within_budget {
            source.dropped_over_budget += 1;
            return;
        }
        let envelope = Envelope::From { peer: from, datagram }.encode();
        if envelope.is_some_and(|envelope| port.send(envelope)) {
            source.packets += 1;
            source.bytes += len as u64;
            if ENVELOPE_HEADER_LEN + len > MAX_UNSPLIT_ENVELOPE {
                source.split_envelopes += 1;
            }
        } else {
            source.dropped_congested += 1;
        }
    }

    /// Wakes every relay member's task, so that it announces the changed set.
    fn wake_relay_members(&self) {
        for member in self.members.values().filter(|member| member.relay_open) {
            member.port.poke();
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Notify;

    use super::*;

    fn open(round_trip: Option<Duration>) -> MemberRelay {
        MemberRelay { announced: true, relay_open: true, round_trip }
    }

    fn record(len: usize) -> Bytes {
        Bytes::from(vec![23u8; len])
    }

    fn hub_with(members: &[i32], budget: u64, now: Instant) -> (RelayHub, BTreeMap<i32, Arc<RelayPort>>) {
        let hub = RelayHub::new(budget);
        let mut ports = BTreeMap::new();
        for id in members {
            let port = RelayPort::new(Arc::new(Notify::new()));
            assert!(hub.add_member(*id, Arc::clone(&port), now));
            hub.update_member(*id, open(None));
            ports.insert(*id, port);
        }
        (hub, ports)
    }

    /// Whether nothing was queued on `port`.
    fn idle(port: &RelayPort) -> bool {
        port.take_outbox().is_empty() && port.take_inbox().is_empty()
    }

    fn to(peer: i32, datagram: Bytes) -> Bytes {
        Envelope::To { peer, datagram }.encode().expect("valid")
    }

    #[test]
    fn the_relay_forwards_to_as_from_and_counts() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3], 1_000_000, now);
        hub.on_message(2, &to(3, record(100)), now);
        let out = ports[&3].take_outbox();
        assert_eq!(out.len(), 1);
        assert_eq!(Envelope::parse(&out[0]), Some(Envelope::From { peer: 2, datagram: record(100) }));
        assert!(ports[&2].take_outbox().is_empty());
        let stats = hub.stats();
        assert_eq!(stats.sources[&2], SourceStats { packets: 1, bytes: 100, ..SourceStats::default() });
    }

    #[test]
    fn nothing_is_relayed_for_a_member_that_did_not_announce() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3], 1_000_000, now);
        let plain = RelayPort::new(Arc::new(Notify::new()));
        assert!(hub.add_member(4, Arc::clone(&plain), now));
        // 4 never opened a relay channel: nothing goes to it, and what it sends is not relayed.
        hub.on_message(2, &to(4, record(100)), now);
        hub.on_message(4, &to(3, record(100)), now);
        hub.on_message(2, &to(2, record(100)), now);
        hub.on_message(2, &to(77, record(100)), now);
        assert!(idle(&plain) && idle(&ports[&3]) && idle(&ports[&2]));
        let stats = hub.stats();
        assert_eq!(stats.sources[&2].dropped_no_route, 3);
        assert_eq!(stats.sources[&4].dropped_no_route, 1);
        assert_eq!(stats.sources[&2].packets + stats.sources[&4].packets, 0);
        // A member whose relay channel closes stops being relayed to.
        hub.update_member(3, MemberRelay { relay_open: false, ..open(None) });
        hub.on_message(2, &to(3, record(100)), now);
        assert!(idle(&ports[&3]));
    }

    #[test]
    fn past_its_budget_a_source_is_dropped_and_counted_and_others_pass() {
        let start = Instant::now();
        let (hub, ports) = hub_with(&[2, 3, 4], 10_000, start);
        for _ in 0..20 {
            hub.on_message(2, &to(3, record(1000)), start);
        }
        hub.on_message(4, &to(3, record(1000)), start);
        let stats = hub.stats();
        assert_eq!(stats.sources[&2].packets, 10, "a second's budget");
        assert_eq!(stats.sources[&2].dropped_over_budget, 10);
        assert_eq!(stats.sources[&4].packets, 1, "another source has its own budget");
        assert_eq!(ports[&3].take_outbox().len(), 11);
        hub.on_message(2, &to(3, record(1000)), start + Duration::from_millis(100));
        assert_eq!(hub.stats().sources[&2].packets, 11, "the budget refills");
    }

    #[test]
    fn a_congested_relay_channel_drops_rather_than_queues() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3], u64::MAX, now);
        for _ in 0..100 {
            hub.on_message(2, &to(3, record(1500)), now);
        }
        let stats = hub.stats().sources[&2];
        assert!(stats.dropped_congested > 0 && stats.packets > 0);
        assert_eq!(stats.packets + stats.dropped_congested, 100);
        let queued: usize = ports[&3].take_outbox().iter().map(Bytes::len).sum();
        assert!(queued <= super::super::port::MAX_RELAY_OUTBOX_BYTES);
    }

    #[test]
    fn garbage_and_from_a_stranger_are_counted_as_such() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3], 1_000_000, now);
        hub.on_message(2, &Bytes::from_static(b"hello"), now);
        hub.on_message(99, &to(3, record(10)), now);
        assert_eq!(hub.stats().malformed, 1);
        assert!(idle(&ports[&3]));
    }

    #[test]
    fn a_from_envelope_goes_to_the_connection_of_its_sender() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3], 1_000_000, now);
        let from = Envelope::From { peer: 3, datagram: record(50) }.encode().expect("valid");
        hub.on_message(2, &from, now);
        assert_eq!(ports[&3].take_inbox(), vec![record(50)]);
        let unknown = Envelope::From { peer: 42, datagram: record(50) }.encode().expect("valid");
        hub.on_message(2, &unknown, now);
        let stats = hub.stats();
        assert_eq!((stats.relayed_received, stats.relayed_dropped), (1, 1));
    }

    #[test]
    fn reach_is_announced_on_change_and_rate_limited() {
        let start = Instant::now();
        let (hub, _ports) = hub_with(&[2, 3], 1_000_000, start);
        let (first, _) = hub.poll_reach(2, start);
        assert_eq!(Envelope::parse(&first.expect("a first REACH")), Some(Envelope::Reach { members: vec![3] }));
        assert_eq!(hub.poll_reach(2, start), (None, Some(start + REACH_REFRESH)), "nothing changed");
        let port = RelayPort::new(Arc::new(Notify::new()));
        assert!(hub.add_member(4, port, start));
        hub.update_member(4, open(None));
        let soon = start + Duration::from_millis(10);
        assert_eq!(hub.poll_reach(2, soon), (None, Some(start + REACH_INTERVAL)), "rate limited");
        let (second, _) = hub.poll_reach(2, start + REACH_INTERVAL);
        assert_eq!(Envelope::parse(&second.expect("the change")), Some(Envelope::Reach { members: vec![3, 4] }));
        hub.unregister(3);
        let (third, _) = hub.poll_reach(2, start + 2 * REACH_INTERVAL);
        assert_eq!(Envelope::parse(&third.expect("the change")), Some(Envelope::Reach { members: vec![4] }));
        // Unchanged, it is told again after the refresh (a REACH may be lost), then twice as late
        // each time, up to the longest refresh.
        let mut refreshed = start + 2 * REACH_INTERVAL + REACH_REFRESH;
        let mut refresh = REACH_REFRESH;
        for _ in 0..8 {
            assert_eq!(hub.poll_reach(2, refreshed - Duration::from_millis(1)).0, None);
            assert!(hub.poll_reach(2, refreshed).0.is_some());
            refresh = (refresh * 2).min(MAX_REACH_REFRESH);
            refreshed += refresh;
        }
        assert_eq!(refresh, MAX_REACH_REFRESH);
    }

    #[test]
    fn the_endpoint_sends_via_the_member_that_reaches_the_peer() {
        let now = Instant::now();
        let (hub, ports) = hub_with(&[2, 3, 5], 1_000_000, now);
        hub.update_member(2, open(Some(Duration::from_millis(30))));
        hub.update_member(3, open(Some(Duration::from_millis(10))));
        assert!(!hub.send_via_relay(9, record(10), now), "nobody reaches 9 yet");
        let reach = |members: Vec<i32>| Envelope::Reach { members }.encode().expect("valid");
        hub.on_message(2, &reach(vec![9, 5]), now);
        hub.on_message(3, &reach(vec![9]), now);
        assert!(hub.send_via_relay(9, record(10), now));
        assert_eq!(hub.relay_for(9), Some(3), "the faster one");
        let out = ports[&3].take_outbox();
        assert_eq!(Envelope::parse(&out[0]), Some(Envelope::To { peer: 9, datagram: record(10) }));
        // 3 stops reaching 9: 2 takes over.
        hub.on_message(3, &reach(vec![]), now);
        assert!(hub.send_via_relay(9, record(10), now));
        assert_eq!(hub.relay_for(9), Some(2));
        assert_eq!(ports[&2].take_outbox().len(), 1);
        let stats = hub.stats();
        assert_eq!((stats.relayed_sent, stats.relayed_dropped), (2, 1));
    }
}
