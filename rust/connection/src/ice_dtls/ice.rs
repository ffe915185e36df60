//! The ICE side of the path: `rtc-ice`'s agent, with its role conflicts, pacing and timer
//! mended at its edge (see [`super::role_conflict`], [`super::check_pacing`],
//! [`super::consent`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_ice::crypto::RTCCryptoProvider;
use rtc_ice::mdns::MulticastDnsMode;
use rtc_ice::state::ConnectionState;
use rtc_ice::{Agent, AgentConfig, Event};
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use sansio::Protocol;

use super::candidates::{remote_to_ice, to_sdp, LocalCandidate, MAX_REMOTE_CANDIDATES};
use super::check_pacing::{is_binding_request, CheckPacing, AGENT_CHECK_INTERVAL, CHECK_INTERVAL};
use super::config::SecurePathConfig;
use super::consent::{ConsentSchedule, QUIET_PROBE_SPACING};
use super::error::SecurePathError;
use super::events::{IceState, Transmit};
use super::held_checks::{HeldCheck, HeldChecks};
use super::replay_guard::ReplayGuard;
use super::role_conflict::RoleConflicts;
use super::stun_peek::{check_for, is_indication, success_transaction};
use crate::sdp;

/// The most peer addresses remembered as having passed an authenticated check (DTLS is taken only
/// from those and the selected pair's); the one that passed longest ago makes room.
pub(super) const MAX_CHECKED_ADDRESSES: usize = 16;

/// The most peer-reflexive candidates (RFC 8445 §7.3.1.3) the agent learns in one ICE session:
/// past it, a check from an address that is not yet a remote candidate is dropped unanswered.
/// A check's MESSAGE-INTEGRITY does not cover the address it came from, so whoever saw one
/// check could otherwise replay it from any number of addresses, each a new candidate (and
/// pairs, and lookups over all of them: 10 000 replays cost 7 times as much per replay at the
/// end as at the start). The peer's own are a few (a NAT rebinding, a new path).
pub(super) const MAX_PEER_REFLEXIVE_CANDIDATES: usize = 16;

/// What the ICE side reports to the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IceEvent {
    /// The agent's state changed.
    State(IceState),
    /// A pair was selected: local socket, remote address.
    Selected(SocketAddr, SocketAddr),
    /// Our role changed (controlling or not).
    Role(bool),
}

/// The agent and what we keep beside it.
pub(super) struct IceSession {
    agent: Agent,
    crypto: Arc<dyn RTCCryptoProvider>,
    roles: RoleConflicts,
    held: HeldChecks,
    /// Our username fragment: checks addressed to it may be held.
    local_ufrag: String,
    pacing: CheckPacing,
    consent: ConsentSchedule,
    /// Remote candidates taken in this ICE session, against [`MAX_REMOTE_CANDIDATES`].
    remote_candidates: usize,
    /// Our candidates as the agent took them (the caller bounds how many): the agent drops
    /// them all when it fails, and an ICE restart after that (over a relayed path that outlived
    /// it) gives them back.
    local_candidates: Vec<LocalCandidate>,
    remote_pwd: Option<String>,
    /// When something authenticated last came from the peer.
    last_heard: Option<Instant>,
    /// Addresses whose checks carried our credentials and were answered with a success
    /// response, the latest last (at most [`MAX_CHECKED_ADDRESSES`]); kept through an ICE
    /// restart, as the selected pair is.
    checked: VecDeque<SocketAddr>,
    /// Keeps replayed checks and answers from counting as the peer's consent.
    replays: ReplayGuard,
    selected: Option<(SocketAddr, SocketAddr)>,
    /// Set while the agent reads a consent check on the selected pair once connected: a check
    /// it queues then is the triggered check rtc-ice's controlled agent sends for every check
    /// without USE-CANDIDATE, which a succeeded pair does not need (RFC 8445 §7.3.1.4), and is
    /// dropped; it doubled the answering side's checks and its peer's wake-ups.
    reading_consent_check: bool,
    state: IceState,
    transmits: VecDeque<Transmit>,
    events: VecDeque<IceEvent>,
    /// When [`IceSession::handle_timeout`] must run next.
    deadline: Option<Instant>,
}

impl IceSession {
    /// An agent with `config`'s credentials, role and timers, started at `now`.
    pub(super) fn new(config: &SecurePathConfig, now: Instant) -> Result<Self, SecurePathError> {
        let invalid = |error: rtc_ice::crypto::CryptoError| SecurePathError::InvalidConfig(error.to_string());
        let crypto = rtc_ice::crypto::default_provider().map_err(invalid)?;
        let timeouts = config.timeouts;
        let agent_config = AgentConfig {
            local_ufrag: config.local_ufrag.clone(),
            local_pwd: config.local_pwd.clone(),
            multicast_dns_mode: MulticastDnsMode::Disabled,
            disconnected_timeout: Some(timeouts.disconnected),
            // The agent counts its failed timeout from `disconnected` on.
            failed_timeout: Some(timeouts.failed.saturating_sub(timeouts.disconnected).max(Duration::from_millis(1))),
            // The least spacing of consent checks; [`ConsentSchedule`] decides when they go.
            keepalive_interval: Some(QUIET_PROBE_SPACING),
            // Its runs are spaced by [`CheckPacing`]; its own gate only must not skip one.
            check_interval: AGENT_CHECK_INTERVAL,
            max_binding_requests: Some(max_binding_requests(timeouts.failed)),
            is_controlling: config.ice_controlling,
            host_acceptance_min_wait: Some(Duration::ZERO),
            srflx_acceptance_min_wait: Some(Duration::ZERO),
            prflx_acceptance_min_wait: Some(Duration::ZERO),
            relay_acceptance_min_wait: Some(Duration::ZERO),
            ..AgentConfig::default()
        };
        let agent = Agent::new(now, Arc::new(agent_config), Arc::clone(&crypto))
            .map_err(|error| SecurePathError::InvalidConfig(error.to_string()))?;
        Ok(Self {
            agent,
            crypto,
            roles: RoleConflicts::default(),
            held: HeldChecks::default(),
            local_ufrag: config.local_ufrag.clone(),
            pacing: CheckPacing::default(),
            consent: ConsentSchedule::new(
                timeouts.consent_interval,
                timeouts.disconnected,
                timeouts.failed,
                config.jitter_seed,
            ),
            remote_candidates: 0,
            local_candidates: Vec::new(),
            remote_pwd: None,
            last_heard: None,
            checked: VecDeque::new(),
            replays: ReplayGuard::default(),
            selected: None,
            reading_consent_check: false,
            state: IceState::New,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            deadline: None,
        })
    }

    /// Adds a local candidate the pump gathered; returns it as signaled.
    pub(super) fn add_local_candidate(
        &mut self,
        now: Instant,
        candidate: LocalCandidate,
    ) -> Result<sdp::Candidate, SecurePathError> {
        let ice = candidate.to_ice()?;
        let line = to_sdp(&ice)?;
        self.agent.add_local_candidate(ice).map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))?;
        self.local_candidates.push(candidate);
        self.drain(now, false);
        Ok(line)
    }

    /// Adds a signaled remote candidate; refuses it past [`MAX_REMOTE_CANDIDATES`] (counted
    /// whether the agent can use it or not).
    pub(super) fn add_remote_candidate(
        &mut self,
        now: Instant,
        candidate: &sdp::Candidate,
    ) -> Result<(), SecurePathError> {
        if self.remote_candidates >= MAX_REMOTE_CANDIDATES {
            return Err(SecurePathError::TooManyRemoteCandidates);
        }
        self.remote_candidates += 1;
        let Some(candidate) = remote_to_ice(candidate)? else { return Ok(()) };
        self.agent
            .add_remote_candidate(candidate)
            .map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))?;
        self.drain(now, false);
        Ok(())
    }

    /// Sets the peer's credentials and starts the checks.
    pub(super) fn set_remote_credentials(
        &mut self,
        now: Instant,
        ufrag: String,
        pwd: String,
    ) -> Result<(), SecurePathError> {
        let controlling = self.agent.role();
        self.agent
            .start_connectivity_checks(now, controlling, ufrag, pwd.clone())
            .map_err(|error| SecurePathError::InvalidConfig(error.to_string()))?;
        self.remote_pwd = Some(pwd);
        self.drain(now, false);
        for check in self.held.take_all() {
            self.read_stun(now, check.local, check.from, &check.datagram);
        }
        Ok(())
    }

    /// Restarts ICE with new local credentials (our local candidates are kept); the peer's new
    /// credentials and candidates follow through [`IceSession::set_remote_credentials`] and
    /// [`IceSession::add_remote_candidate`]. The old pair stays in use until a new one is selected.
    pub(super) fn restart(&mut self, now: Instant, ufrag: String, pwd: String) -> Result<(), SecurePathError> {
        self.agent
            .restart(now, ufrag.clone(), pwd, true)
            .map_err(|error| SecurePathError::InvalidConfig(error.to_string()))?;
        if self.agent.get_local_candidates().is_empty() {
            // The agent failed before (it then drops every candidate): ours again.
            for candidate in &self.local_candidates {
                let added = candidate.to_ice().and_then(|ice| {
                    self.agent
                        .add_local_candidate(ice)
                        .map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
                });
                if let Err(error) = added {
                    log::debug!("a local candidate was refused after the restart: {error}");
                }
            }
        }
        self.local_ufrag = ufrag;
        self.remote_candidates = 0;
        self.remote_pwd = None;
        self.roles.clear();
        self.held.clear();
        self.pacing.new_session();
        self.drain(now, false);
        Ok(())
    }

    /// Handles a STUN datagram received on `local` from `from`.
    pub(super) fn handle_stun(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        let controlling = self.agent.role();
        if let Some(pwd) = &self.remote_pwd {
            if self.roles.is_conflict_answer(datagram, controlling, pwd, self.crypto.crypto()) {
                log::debug!("487 from {from} to a check of ours: switching to controlling={}", !controlling);
                self.agent.set_role(!controlling);
                self.events.push_back(IceEvent::Role(!controlling));
                self.last_heard = Some(now);
                self.drain(now, false);
                return;
            }
        }
        let accepted = self.read_stun(now, local, from, datagram);
        if accepted && success_transaction(datagram).is_some() {
            for check in self.held.take_nominations_from(from) {
                self.read_stun(now, check.local, check.from, &check.datagram);
            }
        }
    }

    /// Hands a STUN datagram to the agent; holds a check it leaves unanswered for now (see
    /// [`super::held_checks`]). Returns whether the agent took it.
    fn read_stun(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) -> bool {
        // Indications prove nothing (no integrity is required of them), and the agent would count
        // one as hearing from the peer: they are dropped here. Keepalives need no answer.
        if is_indication(datagram) {
            log::debug!("a STUN indication from {from}: dropped");
            return false;
        }
        // Every check and answer is noted; replays are dropped once a pair is selected.
        let admitted = self.replays.admits(now, datagram);
        if self.selected.is_some() && !admitted {
            log::debug!("a replayed check or answer from {from}: dropped");
            return false;
        }
        let controlling = self.agent.role();
        let check = check_for(datagram, &self.local_ufrag);
        let learned = self.agent.get_remote_candidates().len().saturating_sub(self.remote_candidates);
        if check.is_some() && learned >= MAX_PEER_REFLEXIVE_CANDIDATES && !self.knows_remote(from) {
            log::debug!("a check from {from}, past {MAX_PEER_REFLEXIVE_CANDIDATES} peer-reflexive candidates: dropped");
            return false;
        }
        let sent_before = self.transmits.len();
        let message = TaggedBytesMut { now, transport: context(local, from), message: BytesMut::from(datagram) };
        let accepted = self.agent.handle_read(message).is_ok();
        if accepted && self.knows_remote(from) {
            self.last_heard = Some(now);
        }
        let switched = self.agent.role() != controlling;
        self.reading_consent_check = check.is_some_and(|(_, nominating)| !nominating)
            && self.selected == Some((local, from))
            && self.state == IceState::Connected
            && self.agent.state() == ConnectionState::Connected;
        if accepted && self.reading_consent_check {
            self.consent.peer_checked(now);
        }
        self.drain(now, switched);
        self.reading_consent_check = false;
        if accepted && self.agent.role() && self.selected.is_none() && success_transaction(datagram).is_some() {
            // A check of ours succeeded: the agent nominates at its next tick, let it come now.
            self.pacing.hurry_once();
            self.refresh_deadline();
        }
        if let Some((transaction, nominating)) = check {
            let answered = self
                .transmits
                .iter()
                .skip(sent_before)
                .any(|transmit| success_transaction(&transmit.data) == Some(transaction));
            if answered {
                self.note_checked(from);
            }
            let waits = self.remote_pwd.is_none() || (nominating && !self.agent.role() && self.selected.is_none());
            if !answered && waits {
                log::debug!("holding a check from {from} the agent cannot answer yet");
                self.held.hold(HeldCheck { local, from, datagram: datagram.to_vec(), nominating });
            }
        }
        accepted
    }

    /// Notes authenticated DTLS from `from` on `local`: the peer is alive on that path.
    pub(super) fn heard_authenticated(&mut self, now: Instant, local: SocketAddr, from: SocketAddr) {
        if self.agent.is_valid_non_stun_traffic(now, context(local, from)) {
            self.last_heard = Some(now);
            self.refresh_deadline();
        }
    }

    /// Whether `from` is one of the peer's candidates (signaled, or learned from an authenticated
    /// check), or the selected pair's (kept through an ICE restart, which drops the candidates).
    fn knows_remote(&self, from: SocketAddr) -> bool {
        self.selected.is_some_and(|(_, remote)| remote == from)
            || self.agent.get_remote_candidates().iter().any(|candidate| candidate.addr() == from)
    }

    /// Whether `from` proved it is the peer: the selected pair's remote address (the agent
    /// selects only a pair whose check succeeded), or an address whose check carrying our
    /// credentials we answered. A candidate the peer merely listed proves nothing: on our
    /// network its private address may be anyone's.
    pub(super) fn passed_check(&self, from: SocketAddr) -> bool {
        self.selected.is_some_and(|(_, remote)| remote == from) || self.checked.contains(&from)
    }

    /// Remembers that `from` passed a check, as the latest.
    fn note_checked(&mut self, from: SocketAddr) {
        self.checked.retain(|address| *address != from);
        if self.checked.len() == MAX_CHECKED_ADDRESSES {
            self.checked.pop_front();
        }
        self.checked.push_back(from);
    }

    /// The agent's state as last reported.
    pub(super) fn state(&self) -> IceState {
        self.state
    }

    /// When something authenticated last came from the peer on the direct path (an accepted
    /// check or answer, or DTLS on the selected pair).
    pub(super) fn last_heard(&self) -> Option<Instant> {
        self.last_heard
    }

    /// The selected pair: local socket, remote address.
    pub(super) fn selected(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected
    }

    /// The round-trip time of the latest check answered on the selected pair, once one was.
    pub(super) fn round_trip_time(&self, now: Instant) -> Option<Duration> {
        let (local, remote) = self.agent.get_selected_candidate_pair()?;
        let (local, remote) = (local.id(), remote.id());
        let pair = self.agent.get_candidate_pairs_stats(now).into_iter().find(|pair| {
            pair.local_candidate_id == local && pair.remote_candidate_id == remote && pair.responses_received > 0
        })?;
        Duration::try_from_secs_f64(pair.current_round_trip_time).ok()
    }

    /// Runs the agent if it is due.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|deadline| deadline > now) {
            return;
        }
        if let Err(error) = self.agent.handle_timeout(now) {
            log::debug!("ICE timeout: {error}");
        }
        self.pacing.ticked(now, self.pairs());
        if self.selected.is_some() {
            self.consent.ran(now);
        }
        self.drain(now, false);
    }

    /// When [`IceSession::handle_timeout`] must run next.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next datagram to send.
    pub(super) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub(super) fn poll_event(&mut self) -> Option<IceEvent> {
        self.events.pop_front()
    }

    /// Closes the agent (no more checks).
    pub(super) fn close(&mut self) {
        if let Err(error) = self.agent.close() {
            log::debug!("ICE close: {error}");
        }
        self.set_state(IceState::Closed);
        self.deadline = None;
    }

    /// Takes what the agent queued; `switched`: the agent switched roles in this call, so its
    /// 487 answers are wrong (see [`super::role_conflict`]).
    fn drain(&mut self, now: Instant, switched: bool) {
        let controlling = self.agent.role();
        let (mut checks, mut others) = (Vec::new(), Vec::new());
        while let Some(message) = self.agent.poll_write() {
            if switched && RoleConflicts::is_wrong_conflict_answer(&message.message) {
                log::debug!("holding back rtc-ice's 487 after it switched roles");
                continue;
            }
            let transmit = Transmit {
                local: message.transport.local_addr,
                to: message.transport.peer_addr,
                data: message.message.to_vec(),
            };
            if is_binding_request(&transmit.data) {
                if self.reading_consent_check {
                    log::trace!("dropping rtc-ice's triggered check on the selected pair");
                    continue;
                }
                checks.push(transmit);
            } else {
                others.push(transmit);
            }
        }
        let (selected, checked) = (self.selected, &self.checked);
        let passed = |to: SocketAddr| selected.is_some_and(|(_, remote)| remote == to) || checked.contains(&to);
        others.extend(self.pacing.admit(checks, now, passed));
        for transmit in others {
            self.roles.on_sending(&transmit.data, controlling);
            self.replays.on_sending(&transmit.data);
            self.transmits.push_back(transmit);
        }
        while let Some(event) = self.agent.poll_event() {
            match event.event {
                Event::ConnectionStateChange(state) => self.set_state(map_state(state)),
                Event::SelectedCandidatePairChange(local, remote) => {
                    let pair = (local.base_addr(), remote.addr());
                    self.selected = Some(pair);
                    self.last_heard = Some(now);
                    self.consent.restart(now);
                    self.events.push_back(IceEvent::Selected(pair.0, pair.1));
                }
                Event::RoleChange(controlling) => self.events.push_back(IceEvent::Role(controlling)),
                _ => {}
            }
        }
        self.refresh_deadline();
    }

    /// The candidate pairs the agent may check (local times remote candidates).
    fn pairs(&self) -> usize {
        self.agent.get_local_candidates().len() * self.agent.get_remote_candidates().len()
    }

    fn set_state(&mut self, state: IceState) {
        if state != self.state {
            self.state = state;
            self.events.push_back(IceEvent::State(state));
        }
    }

    /// Works out when the agent must run next: while connecting, when it asks (paced); once a
    /// pair is selected, when [`ConsentSchedule`] says.
    fn refresh_deadline(&mut self) {
        self.deadline = match self.state {
            IceState::Failed | IceState::Closed => None,
            IceState::Connected | IceState::Disconnected
                if self.selected.is_some() && self.agent.state() != ConnectionState::Checking =>
            {
                let disconnected = self.state == IceState::Disconnected;
                self.last_heard.and_then(|heard| self.consent.next_run(heard, disconnected))
            }
            _ => {
                let asked = self.agent.poll_timeout();
                match (asked, self.pacing.earliest(self.pairs())) {
                    (Some(asked), Some(earliest)) => Some(asked.max(earliest)),
                    (asked, _) => asked,
                }
            }
        };
    }
}

/// Checks per pair before it counts as failed: enough to keep checking a pair for the whole
/// failed timeout at the check interval (a pair whose checks are all lost for a while at 30 %
/// loss still gets through).
fn max_binding_requests(failed: Duration) -> u16 {
    let ticks = failed.as_millis() / CHECK_INTERVAL.as_millis().max(1);
    u16::try_from(ticks).unwrap_or(u16::MAX).max(7)
}

/// A UDP transport context for `local` and `peer`.
fn context(local: SocketAddr, peer: SocketAddr) -> TransportContext {
    TransportContext { local_addr: local, peer_addr: peer, transport_protocol: TransportProtocol::UDP, ecn: None }
}

/// Our state for the agent's.
fn map_state(state: ConnectionState) -> IceState {
    match state {
        ConnectionState::Unspecified | ConnectionState::New => IceState::New,
        ConnectionState::Checking => IceState::Checking,
        ConnectionState::Connected | ConnectionState::Completed => IceState::Connected,
        ConnectionState::Disconnected => IceState::Disconnected,
        ConnectionState::Failed => IceState::Failed,
        _ => IceState::Closed,
    }
}
