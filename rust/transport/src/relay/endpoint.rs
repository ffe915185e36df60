//! One connection's part in relaying, run by its pump with its core locked: the relay channel
//! (opened when both sides announced relaying, never shown to the game), what the hub queued
//! for it (envelopes to send, relayed datagrams for the core), what the core wants relayed, and
//! when the connection is given a relayed path ([`RELAY_AFTER`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::channels::{ChannelId, ChannelOptions as CoreChannelOptions};
use connection::connection::{Connection, ConnectionState as CoreState, PathKind};
use connection::sctp::Reliability;

use super::envelope::Envelope;
use super::hub::{MemberRelay, RelayHub};
use super::ice_restart::IceRestart;
use super::port::RelayPort;
use super::RELAY_STREAM_ID;

/// How long after the remote description a connection that both sides announced for relaying
/// waits for its direct path before it takes a relay too: a few seconds, so that a pair that
/// connects directly never starts DTLS on the relay, and far below ICE's failure (10 s). From
/// then on a relay stays available beside the direct path, so that a direct path that breaks
/// falls back to it.
pub const RELAY_AFTER: Duration = Duration::from_secs(3);

/// Most bytes the relay channel may hold unsent in the core before envelopes
/// for it are dropped (the relayed connections' SCTP recovers them): 256 KiB, what a fast
/// direct channel keeps in flight.
pub const MAX_RELAY_CHANNEL_BUFFERED: usize = 256 * 1024;

/// How often the round-trip time the hub chooses relays by is refreshed.
const ROUND_TRIP_REFRESH: Duration = Duration::from_secs(1);

/// The label of the relay channel (it is negotiated: nothing announces it in-band).
const RELAY_LABEL: &str = "webrtc-mesh-relay";

/// A connection's relaying state.
#[derive(Default)]
pub(crate) struct RelayEnd {
    /// Whether we announce relaying (the connection's configuration).
    pub(crate) enabled: bool,
    /// The hub, our peer's id there and our port, once the connection is registered.
    member: Option<(RelayHub, i32, Arc<RelayPort>)>,
    /// The relay channel's id in the core, once made.
    channel: Option<ChannelId>,
    /// The relay channel is open.
    channel_open: bool,
    /// When the remote description was first applied.
    remote_at: Option<Instant>,
    /// What the core was last told of a relay.
    relay_path: bool,
    /// The path records take, as the core last reported.
    path: Option<PathKind>,
    /// What the hub was last told, and when the round-trip time was.
    told: Option<(MemberRelay, Instant)>,
    /// Envelopes dropped because the relay channel was not open or congested.
    channel_drops: u64,
    /// ICE restarts signaled on the relay channel once a direct path broke.
    restart: IceRestart,
}

impl RelayEnd {
    /// A connection's relaying state; `enabled` if it announces relaying.
    pub(crate) fn new(enabled: bool) -> Self {
        Self { enabled, ..Self::default() }
    }

    /// Registers with `hub` as member `peer_id`, with `port`.
    pub(crate) fn attach(&mut self, hub: RelayHub, peer_id: i32, port: Arc<RelayPort>) {
        self.member = Some((hub, peer_id, port));
        self.told = None;
    }

    /// Whether the connection is registered with a hub.
    pub(crate) fn is_attached(&self) -> bool {
        self.member.is_some()
    }

    /// The connection closed: it carries nothing any more.
    pub(crate) fn on_closed(&mut self) {
        if let Some((hub, peer, _)) = &self.member {
            hub.update_member(*peer, MemberRelay { announced: false, relay_open: false, round_trip: None });
        }
        self.channel_open = false;
    }

    /// The relay channel's id, if this is it.
    pub(crate) fn is_relay_channel(&self, id: ChannelId) -> bool {
        self.channel == Some(id)
    }

    /// The path records take, and the member relaying if it is the relay.
    pub(crate) fn path(&self) -> (Option<PathKind>, Option<i32>) {
        let relay = match (self.path, &self.member) {
            (Some(PathKind::Relayed), Some((hub, peer, _))) => hub.relay_for(*peer),
            _ => None,
        };
        (self.path, relay)
    }

    /// Whether relayed datagrams or envelopes wait for the pump.
    pub(crate) fn has_waiting(&self) -> bool {
        self.member.as_ref().is_some_and(|(_, _, port)| port.has_waiting())
    }

    /// The remote description was applied at `now`: opens the relay channel if both sides
    /// announced relaying.
    pub(crate) fn on_remote_description(&mut self, conn: &mut Connection, now: Instant) {
        self.remote_at.get_or_insert(now);
        if !self.enabled || !conn.remote_relay() || self.channel.is_some() {
            return;
        }
        let options = CoreChannelOptions {
            label: RELAY_LABEL.to_owned(),
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            negotiated_id: Some(RELAY_STREAM_ID),
            ..CoreChannelOptions::default()
        };
        match conn.open_channel(now, options) {
            Ok(id) => self.channel = Some(id),
            Err(error) => log::warn!("cannot open the relay channel: {error}"),
        }
    }

    /// A channel opened; returns whether it was the relay channel.
    pub(crate) fn on_channel_opened(&mut self, id: ChannelId) -> bool {
        let ours = self.is_relay_channel(id);
        self.channel_open |= ours;
        ours
    }

    /// A channel closed; returns whether it was the relay channel.
    pub(crate) fn on_channel_closed(&mut self, id: ChannelId) -> bool {
        let ours = self.is_relay_channel(id);
        if ours {
            self.channel_open = false;
            self.channel = None;
        }
        ours
    }

    /// The channel took another id (opened before the DTLS role was known).
    pub(crate) fn on_channel_renumbered(&mut self, from: ChannelId, to: ChannelId) -> bool {
        let ours = self.is_relay_channel(from);
        if ours {
            self.channel = Some(to);
        }
        ours
    }

    /// The core reported the path records take, at `now`.
    pub(crate) fn on_path_changed(&mut self, kind: PathKind, now: Instant) {
        self.path = Some(kind);
        self.restart.on_path_changed(kind, now);
    }

    /// A message on the relay channel: an ICE restart's offer or answer from our peer (an
    /// answer to an offer goes back at once), or else for the hub, told first what changed (the
    /// channel may have opened in this same pass).
    pub(crate) fn on_message(&mut self, conn: &mut Connection, data: &Bytes, now: Instant) {
        if let Some(Envelope::Restart { message }) = Envelope::parse(data) {
            if let Some(answer) = self.restart.on_message(conn, &message, now) {
                self.send_restart(conn, answer, now);
            }
            return;
        }
        if let Some((hub, peer, _)) = self.member.clone() {
            self.tell_hub(&hub, peer, conn, now);
            hub.on_message(peer, data, now);
        }
    }

    /// Hands the core the datagrams that came via a relay; returns how many.
    pub(crate) fn receive(&self, conn: &mut Connection, now: Instant) -> usize {
        let Some((_, _, port)) = &self.member else { return 0 };
        let datagrams = port.take_inbox();
        for datagram in &datagrams {
            conn.handle_relayed_datagram(now, datagram);
        }
        datagrams.len()
    }

    /// The pump's relay step, before it sends: tells the hub what changed, sends the REACH due
    /// and the envelopes queued for the relay channel, and gives the core a relayed path once
    /// [`RELAY_AFTER`] has passed and a member relays for our peer. Returns when it must run
    /// again (a REACH held back by its interval, or [`RELAY_AFTER`]).
    pub(crate) fn step(&mut self, conn: &mut Connection, now: Instant) -> Option<Instant> {
        let (hub, peer, port) = self.member.clone()?;
        port.clear_poke();
        self.tell_hub(&hub, peer, conn, now);
        let (reach, reach_again) = hub.poll_reach(peer, now);
        for envelope in reach.into_iter().chain(port.take_outbox()) {
            self.send_on_channel(conn, envelope, now);
        }
        let announced = self.enabled && conn.remote_relay();
        let relay_due = self.remote_at.map(|at| at + RELAY_AFTER);
        let waiting = relay_due.filter(|due| *due > now);
        let available = announced && waiting.is_none() && relay_due.is_some() && hub.choose_relay(peer, now).is_some();
        if available != self.relay_path {
            self.relay_path = available;
            conn.set_relay_path(now, available);
        }
        let usable = announced && self.channel_open;
        let (offer, restart_again) = self.restart.poll_offer(conn, usable, now);
        if let Some(offer) = offer {
            self.send_restart(conn, offer, now);
        }
        [reach_again, waiting.filter(|_| announced), restart_again].into_iter().flatten().min()
    }

    /// In-band ICE restarts made or followed so far.
    pub(crate) fn ice_restarts(&self) -> u64 {
        self.restart.restarts()
    }

    /// Sends an ICE restart message to our peer on the relay channel.
    fn send_restart(&mut self, conn: &mut Connection, message: Bytes, now: Instant) {
        let envelope = Envelope::Restart { message }.encode();
        match envelope {
            Some(envelope) => self.send_on_channel(conn, envelope, now),
            None => log::debug!("in-band ICE restart: the message does not fit an envelope"),
        }
    }

    /// Sends what the core has for the relay, each datagram to our peer via the member relaying
    /// for it.
    pub(crate) fn flush(&self, conn: &mut Connection, now: Instant) {
        let Some((hub, peer, _)) = &self.member else {
            // Not registered: nothing can carry it.
            while conn.poll_relay_transmit(now).is_some() {}
            return;
        };
        while let Some(datagram) = conn.poll_relay_transmit(now) {
            hub.send_via_relay(*peer, Bytes::from(datagram), now);
        }
    }

    /// Envelopes dropped because the relay channel was not open or was congested.
    pub(crate) fn channel_drops(&self) -> u64 {
        self.channel_drops
    }

    fn send_on_channel(&mut self, conn: &mut Connection, envelope: Bytes, now: Instant) {
        let Some(id) = self.channel.filter(|_| self.channel_open) else {
            self.channel_drops += 1;
            return;
        };
        if conn.buffered_amount(id) >= MAX_RELAY_CHANNEL_BUFFERED {
            self.channel_drops += 1;
            return;
        }
        if let Err(error) = conn.send(now, id, envelope, true) {
            self.channel_drops += 1;
            log::debug!("relay channel: send failed: {error}");
        }
    }

    /// Tells the hub whether this connection can carry relayed traffic (both announced, the
    /// relay channel open, connected on a direct path that answers) when that changes, and the round-trip
    /// time at most every [`ROUND_TRIP_REFRESH`].
    fn tell_hub(&mut self, hub: &RelayHub, peer: i32, conn: &Connection, now: Instant) {
        let announced = self.enabled && conn.remote_relay();
        let relay_open = self.channel_open
            && conn.state() == CoreState::Connected
            && self.path.is_none_or(|path| path == PathKind::Direct)
            && conn.direct_path_alive();
        let fresh = self.told.as_ref().is_some_and(|(told, at)| {
            told.announced == announced
                && told.relay_open == relay_open
                && now.saturating_duration_since(*at) < ROUND_TRIP_REFRESH
        });
        if fresh {
            return;
        }
        let stats = conn.stats();
        let round_trip = stats.sctp.as_ref().and_then(|sctp| sctp.srtt).or(stats.ice_round_trip_time);
        let update = MemberRelay { announced, relay_open, round_trip };
        hub.update_member(peer, update);
        self.told = Some((update, now));
    }
}
