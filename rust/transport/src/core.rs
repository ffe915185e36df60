//! One connection's sans-IO core ([`connection::connection::Connection`]) and what the transport
//! keeps beside it: the channels' handles, the STUN/TURN clients, the mDNS queries, the held
//! message; and the signaling steps the handle runs on it. The pump ([`crate::pump`]) drives it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use connection::channels::{ChannelId, ChannelLimits as CoreChannelLimits};
use connection::connection::{Connection, ConnectionConfig, ConnectionError, DescriptionKind};
use connection::ice_dtls::{LocalCandidate, Timeouts};
use connection::sctp::{SctpConfig, SctpError};
use connection::sdp::CandidateKind;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::sync::Notify;

use crate::channel::{ChannelLimits, ChannelOptions, ChannelShared, ChannelSink, DataChannel, Packet};
use crate::config::TransportConfig;
use crate::error::{excerpt, TransportError};
use crate::events::PeerEvent;
use crate::ice_tally::IceTally;
use crate::io::Io;
use crate::mdns::MdnsResolver;
use crate::relay::endpoint::RelayEnd;
use crate::servers::IceServers;
use crate::states::{ChannelState, ConnectionState, GatheringState, SdpKind};
use crate::stats::CandidateType;

/// How long a peer may stay silent before the connection reads `disconnected`; a mesh then
/// drops the peer and emits `peer_disconnected` (Godot's behaviour). An idle peer was last heard
/// at most half of this (3.5 s, the secure path's quiet probe) before an outage starts, so an
/// outage of up to 3.5 s always passes unseen, one of 4 s when it starts within 3 s of the last
/// exchange (always on a busy path, where data counts), and a killed peer is noticed in 7-10.5 s
/// (7 s when it was sending). Anything authenticated from the
/// peer counts (data too).
const DISCONNECTED_TIMEOUT: Duration = Duration::from_secs(7);
/// Consent checks on an idle path, ±20 %: RFC 7675's pace (4-6 s). Each side hears the other's
/// checks as well as the answers to its own, and the secure path probes a peer it has not heard
/// for half of [`DISCONNECTED_TIMEOUT`], so an idle connection sends about one datagram a second
/// both ways together and its task wakes a little more than once a second (16 idle connections
/// at 60 fps, measured by the bench: 1.2 wake-ups a second each against 3.0 with checks every
/// 1.25 s, and 1.1 % of a core for the process against 1.5 %). Traffic counts as consent, so a busy path sends checks only at this pace and the
/// core's timer is not woken in between.
const CONSENT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a peer may stay silent before the connection fails; also the budget of the ICE
/// checks and of the DTLS handshake, so a handshake that cannot complete fails within it (the
/// tests bound a failure at 15 s).
pub(crate) const FAILED_TIMEOUT: Duration = Duration::from_secs(10);

/// SCTP streams offered each way: every id but the reserved 65535 (RFC 8831), as browsers offer.
const SCTP_STREAMS: u16 = u16::MAX;

/// Where gathering local candidates stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gathering {
    /// No local description yet.
    NotStarted,
    /// Host candidates given; STUN and TURN servers asked.
    Running,
    /// Every server answered or gave up.
    Done,
}

/// A connection's core and its surroundings, behind the link's one lock.
pub(crate) struct Core {
    /// The sans-IO connection: ICE, DTLS, SCTP, data channels, descriptions.
    pub(crate) conn: Connection,
    /// Every live channel, by its id in the core.
    pub(crate) channels: HashMap<ChannelId, Arc<ChannelShared>>,
    /// STUN and TURN clients.
    pub(crate) servers: IceServers,
    /// `.local` names of remote candidates being resolved.
    pub(crate) mdns: MdnsResolver,
    /// What ICE had to work with, to explain a failure.
    pub(crate) ice: IceTally,
    /// The addresses host candidates are made of.
    pub(crate) host_addresses: Vec<SocketAddr>,
    pub(crate) gathering: Gathering,
    /// Our candidates as handed to the core (for the statistics' candidate types).
    pub(crate) local_candidates: Vec<LocalCandidate>,
    /// The remote candidates signaled to us, by address (for the statistics' candidate types).
    pub(crate) signaled: Vec<(SocketAddr, CandidateType)>,
    /// The connection state last reported to the handle.
    pub(crate) state: ConnectionState,
    pub(crate) max_message_size: Arc<AtomicUsize>,
    /// Set once the connection is closed, by either side: the task then ends.
    pub(crate) closed: bool,
    /// When the last full pass of the pump said it must run again; `None` once anything was done
    /// to the core since (a call of the handle), so that the next pass runs in full.
    pub(crate) due_at: Option<Instant>,
    /// Most received, unread bytes per channel.
    receive_limit: usize,
    /// Close every channel the remote side opens in-band (a mesh's connection).
    pub(crate) refuse_remote_channels: bool,
    /// A refusal was logged already.
    pub(crate) refusal_logged: bool,
    /// A received message whose reliable channel was full: nothing more is read from the core
    /// until it is delivered (or its channel closed).
    pub(crate) held: Option<HeldMessage>,
    /// Whether any DTLS record came from the peer, and whether we sent one: a handshake that
    /// timed out with neither is one the peer never started ([`TransportError::HandshakeNeverStarted`]).
    pub(crate) dtls_heard: bool,
    pub(crate) dtls_sent: bool,
    /// A pass of a caller that polls fast left what the core had to send (acknowledgements, for
    /// the most part) for the caller's next call: a message it sends meanwhile carries them.
    pub(crate) unflushed: bool,
    /// Messages the current pass of the pump took from the core for the channels.
    pub(crate) delivered: usize,
    /// Relaying through a common mesh member: the relay channel, the hub.
    pub(crate) relay: RelayEnd,
}

/// A received message waiting for room in its channel, and since when.
pub(crate) struct HeldMessage {
    pub(crate) channel: ChannelId,
    pub(crate) packet: Packet,
    pub(crate) since: Instant,
}

impl Core {
    /// Builds the core for `config`, whose candidates will be `host_addresses`; `wake` wakes the
    /// connection's task.
    pub(crate) fn build(
        config: &TransportConfig,
        host_addresses: Vec<SocketAddr>,
        max_message_size: Arc<AtomicUsize>,
        wake: Arc<Notify>,
        now: Instant,
    ) -> Result<Self, TransportError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|error| TransportError::InvalidConfig(format!("no random source: {error}")))?;
        let mut rng = StdRng::from_seed(seed);
        let core_config = ConnectionConfig {
            channel_limits: CoreChannelLimits {
                max_label_bytes: crate::channel::MAX_LABEL_BYTES,
                ..CoreChannelLimits::default()
            },
            timeouts: Timeouts {
                disconnected: DISCONNECTED_TIMEOUT,
                failed: FAILED_TIMEOUT,
                consent_interval: CONSENT_INTERVAL,
                ..Timeouts::default()
            },
            // Every stream id a channel may take: in-band channels take ids in turn, not the
            // lowest free one, so a long-lived connection reaches high ids (what browsers offer).
            sctp: SctpConfig { max_streams: SCTP_STREAMS, ..SctpConfig::default() },
            relay: config.relay,
            ..ConnectionConfig::default()
        };
        let conn = Connection::new(core_config, &mut rng, now)
            .map_err(|error| TransportError::InvalidConfig(format!("cannot make the connection: {error}")))?;
        Ok(Self {
            conn,
            channels: HashMap::new(),
            servers: IceServers::new(config, &host_addresses, wake),
            mdns: MdnsResolver::default(),
            ice: IceTally::new(config.has_relay()),
            host_addresses,
            gathering: Gathering::NotStarted,
            local_candidates: Vec::new(),
            signaled: Vec::new(),
            state: ConnectionState::New,
            max_message_size,
            closed: false,
            due_at: None,
            receive_limit: config.channel_receive_limit,
            refuse_remote_channels: false,
            refusal_logged: false,
            held: None,
            dtls_heard: false,
            dtls_sent: false,
            unflushed: false,
            delivered: 0,
            relay: RelayEnd::new(config.relay),
        })
    }

    /// Creates an offer (the core applies it at once).
    pub(crate) fn create_offer(&mut self, io: &Io) -> Result<(), TransportError> {
        let offer = self.conn.create_offer().map_err(|error| signaling("create_offer", error))?;
        io.push_event(PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp: offer });
        Ok(())
    }

    /// Applies a local offer: the core applied it when it made it, so this starts gathering.
    pub(crate) fn set_local_description(&mut self, io: &Io, now: Instant) {
        self.start_gathering(io, now);
    }

    /// Applies the remote description; for an offer, creates and applies the answer too.
    pub(crate) fn set_remote_description(
        &mut self,
        io: &Io,
        kind: SdpKind,
        sdp: &str,
        now: Instant,
    ) -> Result<(), TransportError> {
        let core_kind = match kind {
            SdpKind::Offer => DescriptionKind::Offer,
            SdpKind::Answer => DescriptionKind::Answer,
            SdpKind::Pranswer => {
                return Err(TransportError::Signaling {
                    step: "set_remote_description",
                    reason: "provisional answers (pranswer) are not supported; send the final answer".into(),
                })
            }
        };
        self.conn
            .set_remote_description(now, core_kind, sdp)
            .map_err(|error| description_error("set_remote_description", error))?;
        self.relay.on_remote_description(&mut self.conn, now);
        let candidates = remote_candidate_lines(sdp);
        for line in &candidates {
            self.note_signaled(line);
        }
        self.ice.remote_candidates(candidates.len());
        for line in candidates.iter().filter(|line| crate::mdns::is_mdns_candidate(line)) {
            self.mdns.resolve(line, now);
        }
        if kind == SdpKind::Offer {
            let answer = self.conn.create_answer().map_err(|error| signaling("create_answer", error))?;
            io.push_event(PeerEvent::SessionDescriptionCreated { kind: SdpKind::Answer, sdp: answer });
            self.start_gathering(io, now);
        }
        Ok(())
    }

    /// Adds a remote candidate (a `.local` one once its name is resolved); refuses it past
    /// [`crate::MAX_REMOTE_CANDIDATES`].
    /// Whether the connection is over: closed, or failed or closed in its core (which the pump
    /// may not have reported yet).
    pub(crate) fn connection_over(&self) -> bool {
        self.closed
            || matches!(
                self.conn.state(),
                connection::connection::ConnectionState::Failed | connection::connection::ConnectionState::Closed
            )
    }

    pub(crate) fn add_ice_candidate(
        &mut self,
        mid: &str,
        index: u16,
        candidate: &str,
        now: Instant,
    ) -> Result<(), TransportError> {
        let mid = (!mid.is_empty()).then_some(mid);
        if crate::mdns::is_mdns_candidate(candidate) {
            if self.conn.signaling_state() == connection::connection::SignalingState::Closed {
                return Err(closed());
            }
            self.mdns.resolve(candidate, now);
            self.ice.remote_candidates(1);
            return Ok(());
        }
        self.conn.add_remote_candidate(now, candidate, mid, Some(index)).map_err(|error| match error {
            ConnectionError::TooManyRemoteCandidates(most) => TransportError::TooManyCandidates(most),
            ConnectionError::Sdp(error) => {
                TransportError::InvalidCandidate(format!("'{}': {}", excerpt(candidate), excerpt(&error.to_string())))
            }
            ConnectionError::Closed => closed(),
            error => signaling("add_ice_candidate", error),
        })?;
        self.note_signaled(candidate);
        self.ice.remote_candidates(1);
        Ok(())
    }

    /// Hands the core a remote candidate whose `.local` name was resolved.
    pub(crate) fn add_resolved_candidate(&mut self, line: &str, now: Instant) {
        match self.conn.add_remote_candidate(now, line, None, None) {
            Ok(()) => self.note_signaled(line),
            Err(error) => log::debug!("a resolved mDNS candidate was refused: {error}"),
        }
    }

    /// Remembers a signaled candidate's address and type (for the statistics).
    fn note_signaled(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let typ = words.iter().skip_while(|word| **word != "typ").nth(1).copied();
        let address = words.get(4).and_then(|ip| ip.parse().ok());
        let port = words.get(5).and_then(|port| port.parse().ok());
        if let (Some(ip), Some(port), Some(kind)) = (address, port, typ.and_then(CandidateType::from_name)) {
            if self.signaled.len() < crate::MAX_REMOTE_CANDIDATES {
                self.signaled.push((SocketAddr::new(ip, port), kind));
            }
        }
    }

    /// Creates a data channel.
    pub(crate) fn create_data_channel(
        &mut self,
        sink: &Weak<dyn ChannelSink>,
        label: &str,
        options: ChannelOptions,
        now: Instant,
    ) -> Result<DataChannel, TransportError> {
        let id = self
            .conn
            .open_channel(now, options.to_core(label))
            .map_err(|error| TransportError::Channel { label: excerpt(label), reason: error.to_string() })?;
        let shared = ChannelShared::new(label.to_owned(), options, id, self.limits(), Weak::clone(sink));
        self.channels.insert(id, Arc::clone(&shared));
        Ok(DataChannel::new(shared))
    }

    /// What a new channel is made with.
    fn limits(&self) -> ChannelLimits {
        ChannelLimits { max_message_size: Arc::clone(&self.max_message_size), receive_limit: self.receive_limit }
    }

    /// Wraps a channel the remote side opened (the core bounds how many it may open), unless the
    /// connection refuses them all: then it is closed at once (a warning the first time).
    pub(crate) fn adopt_remote_channel(
        &mut self,
        sink: &Weak<dyn ChannelSink>,
        id: ChannelId,
        options: connection::channels::ChannelOptions,
        now: Instant,
    ) -> Option<DataChannel> {
        if self.refuse_remote_channels {
            let label = excerpt(&options.label);
            if let Err(error) = self.conn.close_channel(now, id) {
                log::debug!("data channel '{label}': close failed: {error}");
            }
            let reason = "this connection refuses channels opened by the remote side (a mesh reads only its \
                          negotiated channels)";
            if std::mem::replace(&mut self.refusal_logged, true) {
                log::debug!("the remote side opened data channel '{label}'; closed it: {reason}");
            } else {
                log::warn!("the remote side opened data channel '{label}'; closed it: {reason} (logged once)");
            }
            return None;
        }
        let (label, options) = ChannelOptions::from_core(options);
        let shared = ChannelShared::new(label, options, id, self.limits(), Weak::clone(sink));
        shared.set_stream_id(id.0);
        self.channels.insert(id, Arc::clone(&shared));
        Some(DataChannel::new(shared))
    }

    /// Starts closing a channel.
    pub(crate) fn close_channel(&mut self, channel: &ChannelShared, now: Instant) {
        channel.drop_queued();
        if let Err(error) = self.conn.close_channel(now, channel.core_id()) {
            log::debug!("data channel '{}': close failed: {error}", channel.label());
            self.channels.remove(&channel.core_id());
            channel.set_state(ChannelState::Closed);
        }
    }

    /// Closes the connection: tells the remote side (SCTP ABORT, DTLS close_notify), releases TURN
    /// allocations and closes every channel.
    pub(crate) fn close(&mut self, io: &Io, now: Instant) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.relay.on_closed();
        self.conn.close(now);
        // The goodbyes first (over a relay, they need its allocation), then the allocations.
        self.flush(io, now);
        self.servers.close(now);
        self.flush(io, now);
        for (_, channel) in self.channels.drain() {
            channel.drop_queued();
            channel.set_state(ChannelState::Closed);
        }
        io.wake.notify_one();
    }

    /// Starts gathering once a local description is set: host candidates at once, server-
    /// reflexive and relay ones as the STUN and TURN servers answer.
    fn start_gathering(&mut self, io: &Io, now: Instant) {
        if self.gathering != Gathering::NotStarted {
            return;
        }
        self.gathering = Gathering::Running;
        io.push_event(PeerEvent::GatheringStateChanged(GatheringState::Gathering));
        if !self.servers.relay_only() {
            for address in self.host_addresses.clone() {
                let candidate = LocalCandidate { kind: CandidateKind::Host, address, base: address };
                self.add_local_candidate(io, candidate, now);
            }
        }
        self.servers.start(io.port.local_addr(), &self.host_addresses, now);
        io.wake.notify_one();
    }

    /// Hands the core a local candidate and signals it.
    pub(crate) fn add_local_candidate(&mut self, io: &Io, candidate: LocalCandidate, now: Instant) {
        match self.conn.add_local_candidate(now, candidate) {
            Ok(line) => {
                self.ice.local_candidate(&line);
                self.local_candidates.push(candidate);
                let (mid, index) = self.conn.local_candidate_section().unwrap_or((None, 0));
                let mid = mid.unwrap_or("0").to_owned();
                io.push_event(PeerEvent::IceCandidateCreated { mid, index, candidate: line });
            }
            Err(error) => log::warn!("cannot add a local candidate: {error}"),
        }
    }

    /// Sends a message on a channel through the core. When the association's send buffer is full
    /// (queued and in-flight bytes at its limit, as under heavy loss), a reliable channel's
    /// message is given back, to go once acknowledgements make room (never dropped), and an
    /// unreliable channel's is dropped, as a message gone stale behind congestion is (it must
    /// not wait behind the backlog). Any other refusal (the channel closed meanwhile) drops it.
    pub(crate) fn send_to_core(&mut self, channel: &ChannelShared, packet: Packet, now: Instant) -> Result<(), Packet> {
        let Packet { data, is_string } = packet;
        let data = data.freeze();
        match self.conn.send(now, channel.core_id(), data.clone(), !is_string) {
            Ok(()) => Ok(()),
            Err(ConnectionError::Sctp(SctpError::SendBufferFull)) if channel.is_reliable() => {
                Err(Packet { data: BytesMut::from(data), is_string })
            }
            Err(error) => {
                log::debug!("data channel '{}': send failed: {error}", channel.label());
                Ok(())
            }
        }
    }
}

/// The error of a signaling step the core refused.
fn signaling(step: &'static str, error: impl std::fmt::Display) -> TransportError {
    TransportError::Signaling { step, reason: excerpt(&error.to_string()) }
}

/// The error of a description the core refused: one it cannot read is malformed.
fn description_error(step: &'static str, error: ConnectionError) -> TransportError {
    match error {
        ConnectionError::Sdp(connection::sdp::SdpError::UnsupportedFingerprint(hash)) => {
            TransportError::UnsupportedFingerprint(hash)
        }
        ConnectionError::Sdp(error) => TransportError::InvalidSdp(excerpt(&error.to_string())),
        ConnectionError::Closed => closed(),
        error => signaling(step, error),
    }
}

/// The refusal of a call on a closed connection.
pub(crate) fn closed() -> TransportError {
    TransportError::WrongState("the connection is closed".into())
}

/// The candidate lines of a description (`candidate:...`), at most
/// [`crate::MAX_REMOTE_CANDIDATES`].
fn remote_candidate_lines(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a="))
        .filter(|line| line.starts_with("candidate:"))
        .take(crate::MAX_REMOTE_CANDIDATES)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_lines_are_read_and_bounded() {
        let mut sdp = String::from("v=0\r\n");
        for n in 0..100 {
            sdp.push_str(&format!("a=candidate:{n} 1 udp 1 10.0.0.1 {n} typ host\r\n"));
        }
        let lines = remote_candidate_lines(&sdp);
        assert_eq!(lines.len(), crate::MAX_REMOTE_CANDIDATES);
        assert!(lines[0].starts_with("candidate:0 "));
    }
}
