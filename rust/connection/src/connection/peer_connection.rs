//! [`Connection`]: the parts of this crate driven together, as an `RTCPeerConnection` for data
//! channels that takes datagrams and the time and gives back datagrams, events and a deadline.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use log::debug;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::early::{EarlyCandidate, EarlyDatagram, EarlyInput, MAX_LOCAL_CANDIDATES};
use super::{
    ConnectionConfig, ConnectionError, ConnectionEvent, ConnectionFailure, ConnectionState, ConnectionStats,
    SignalingState,
};
use crate::channels::{
    ChannelEvent, ChannelId, ChannelLimits, ChannelOptions, ChannelState, DataChannels, DtlsRole, SctpCommand,
};
use crate::ice_dtls::{
    self, LocalCandidate, LocalCertificate, PathKind, SecurePath, SecurePathConfig, SecurePathEvent, Transmit,
};
use crate::sctp::{Association, SctpError, SctpEvent};
use crate::sdp::limits::MAX_REMOTE_CANDIDATES;
use crate::sdp::{
    self, DescriptionKind, IceCredentials, LocalDescription, RemoteDescription, PWD_RANDOM_BYTES, UFRAG_RANDOM_BYTES,
};

/// Most SCTP packets [`Connection::poll_transmit`] seals into DTLS records in one call while
/// looking for a datagram to return (each one gives a datagram, so one is almost always enough;
/// the bound keeps a call finite whatever the parts do).
const MAX_PACKETS_PER_POLL: usize = 64;

/// The secure path before and after the other side's description.
enum Path {
    /// Before: our credentials only. It is never driven; it writes our candidates' lines (their
    /// foundation and priority are ICE's) and is replaced, candidates replayed, once the
    /// description gives our DTLS role and the other side's fingerprint.
    Staging(SecurePath),
    /// After: the path that runs ICE and DTLS.
    Live(SecurePath),
}

/// One WebRTC connection carrying data channels (see the [module](super)'s documentation).
///
/// Calls that reach the association take `now`; [`Connection::poll_event`] uses the latest
/// `now` any call gave, for what reading an event makes the channel table send (a DCEP ACK, a
/// stream reset answering the other side's). The association's events are read as the caller
/// reads ours, so that a caller that reads slowly holds the association's receive window shut
/// rather than a queue here growing: read events after every call (channels open as they are
/// read, too).
pub struct Connection {
    config: ConnectionConfig,
    /// Draws what the parts made later need (the association's tags and secret, jitter seeds).
    rng: StdRng,
    certificate: LocalCertificate,
    local: LocalDescription,
    signaling: SignalingState,
    state: ConnectionState,
    path: Path,
    /// Whether we sent the first offer: we are then ICE controlling.
    offered_first: bool,
    /// Our DTLS role, once the other side's description is applied.
    role: Option<DtlsRole>,
    /// The other side's last description.
    remote: Option<RemoteDescription>,
    /// Our candidates as the pump gave them, replayed into the live path.
    local_candidates: Vec<LocalCandidate>,
    /// Our candidates as our descriptions write them.
    local_candidate_lines: Vec<sdp::Candidate>,
    /// Whether the pump said it gathered every candidate.
    end_of_local_candidates: bool,
    /// The `sdpMid` and `sdpMLineIndex` of our data-channel section in our last offer, as read
    /// back from it (until the other side's description names the section).
    offered_section: Option<(Option<String>, u16)>,
    /// Remote candidates taken, from descriptions and trickled, against [`MAX_REMOTE_CANDIDATES`].
    remote_candidates: usize,
    early: EarlyInput,
    association: Option<Association>,
    channels: DataChannels,
    /// Channels opened before our DTLS role was known (`None` once it is): they are opened
    /// again in a table that knows it.
    early_channels: Option<Vec<ChannelId>>,
    events: VecDeque<ConnectionEvent>,
    /// The largest message the channel table lets through.
    max_message_size: usize,
    /// Whether DTLS completed.
    dtls_connected: bool,
    /// Set once the connection closed or failed: it does nothing more.
    finished: bool,
    /// The latest time a call gave.
    last_now: Instant,
    /// What the pump last said of a relay to the other side (applied once both announced it).
    relay_offered: bool,
    stats: ConnectionStats,
}

impl Connection {
    /// A new connection made at `now`, its ICE credentials, session id and later randomness
    /// drawn from `rng`. Makes a certificate unless `config` has one.
    pub fn new(config: ConnectionConfig, rng: &mut impl Rng, now: Instant) -> Result<Self, ConnectionError> {
        let certificate = match &config.certificate {
            Some(certificate) => certificate.clone(),
            None => LocalCertificate::generate()?,
        };
        let mut ufrag = [0; UFRAG_RANDOM_BYTES];
        let mut pwd = [0; PWD_RANDOM_BYTES];
        rng.fill_bytes(&mut ufrag);
        rng.fill_bytes(&mut pwd);
        let credentials = IceCredentials::from_random(ufrag, pwd);
        let mut local = LocalDescription::new(rng.next_u64(), credentials, certificate.fingerprint());
        local.announce_relay(config.relay);
        let mut own_rng = StdRng::seed_from_u64(rng.next_u64());
        // Until the other side's description says otherwise, we guess what an offerer usually
        // becomes: the DTLS server (answerers answer `active`).
        let guessed_role = DtlsRole::Server;
        let staging = path_config(&config, &certificate, &local, &mut own_rng, true, guessed_role, Vec::new());
        let path = Path::Staging(SecurePath::new(staging, now)?);
        let channels = DataChannels::new(guessed_role, config.channel_limits.clone());
        let max_message_size = config.channel_limits.max_message_size;
        Ok(Self {
            config,
            rng: own_rng,
            certificate,
            local,
            signaling: SignalingState::Stable,
            state: ConnectionState::New,
            path,
            offered_first: false,
            role: None,
            remote: None,
            local_candidates: Vec::new(),
            local_candidate_lines: Vec::new(),
            end_of_local_candidates: false,
            offered_section: None,
            remote_candidates: 0,
            early: EarlyInput::default(),
            association: None,
            channels,
            early_channels: Some(Vec::new()),
            events: VecDeque::new(),
            max_message_size,
            dtls_connected: false,
            finished: false,
            last_now: now,
            relay_offered: false,
            stats: ConnectionStats::default(),
        })
    }

    /// Creates an offer (`a=setup:actpass`, our candidates so far) and applies it: the
    /// signaling state becomes `HaveLocalOffer`. The first offer makes us ICE controlling.
    pub fn create_offer(&mut self) -> Result<String, ConnectionError> {
        let next = self.signaling.create_offer()?;
        if self.remote.is_none() {
            self.offered_first = true;
        }
        let offer = self.local.write_offer(&self.local_candidate_lines, self.end_of_local_candidates);
        if let Ok(ours) = RemoteDescription::parse(DescriptionKind::Offer, &offer) {
            self.offered_section = Some((ours.data.mid, u16::try_from(ours.data.index).unwrap_or(0)));
        }
        self.set_signaling(next);
        Ok(offer)
    }

    /// Creates our answer to the other side's offer and applies it: the signaling state becomes
    /// `Stable`.
    pub fn create_answer(&mut self) -> Result<String, ConnectionError> {
        let next = self.signaling.create_answer()?;
        let remote = self
            .remote
            .as_ref()
            .ok_or(ConnectionError::WrongSignalingState { call: "create_answer", state: self.signaling })?;
        let answer = self.local.write_answer(remote, &self.local_candidate_lines, self.end_of_local_candidates);
        self.set_signaling(next);
        Ok(answer)
    }

    /// Applies the other side's description of `kind`. The first one decides our DTLS role and
    /// starts ICE; a later one may restart ICE (new credentials) but not change the certificate.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        kind: DescriptionKind,
        sdp: &str,
    ) -> Result<(), ConnectionError> {
        self.touch(now);
        let next = self.signaling.apply_remote(kind)?;
        let remote = RemoteDescription::parse(kind, sdp)?;
        if kind == DescriptionKind::Answer {
            self.local.check_answer(&remote)?;
        }
        if let Some(ours) = self.role.filter(|ours| self.remote.is_some() && !remote.setup.keeps(*ours)) {
            return Err(ConnectionError::DtlsRoleFlip { ours });
        }
        match &self.remote {
            None => self.start(now, &remote)?,
            Some(previous) if previous.fingerprint != remote.fingerprint => {
                return Err(ConnectionError::FingerprintChanged)
            }
            Some(previous) if remote.restarts_ice_since(previous) => self.follow_ice_restart(now, kind, &remote)?,
            Some(_) => {}
        }
        for candidate in &remote.candidates {
            if self.remote_candidates < MAX_REMOTE_CANDIDATES {
                self.remote_candidates += 1;
                self.give_remote_candidate(now, candidate);
            }
        }
        self.remote = Some(remote);
        self.set_signaling(next);
        self.settle(now);
        self.apply_relay(now);
        if let Some((candidates, datagrams)) = self.take_early_input() {
            for early in candidates {
                let for_us =
                    self.remote.as_ref().is_some_and(|remote| for_data_section(remote, early.mid(), early.index));
                if for_us {
                    self.give_remote_candidate(now, &early.candidate);
                }
            }
            for datagram in datagrams {
                self.receive(now, datagram.local, datagram.from, &datagram.data);
            }
        }
        Ok(())
    }

    /// Restarts ICE (RFC 8445 §9): new credentials of ours, which the next offer carries (with
    /// our candidates); the answer's new credentials complete it. DTLS and SCTP go on over the
    /// old pair meanwhile. Only once connecting started (after the first exchange) and while no
    /// offer waits for its answer.
    pub fn restart_ice(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.touch(now);
        match (self.signaling, &self.path) {
            (SignalingState::Closed, _) => return Err(ConnectionError::Closed),
            (SignalingState::Stable, Path::Live(_)) => {}
            (state, _) => return Err(ConnectionError::WrongSignalingState { call: "restart_ice", state }),
        }
        self.restart_local_ice(now)?;
        self.settle(now);
        Ok(())
    }

    /// Whether we made the first offer (so are ICE controlling from the start): both sides agree
    /// on it, which makes it the rule for who starts an ICE restart signaled in-band (issue 21).
    pub fn offered_first(&self) -> bool {
        self.offered_first
    }

    /// Our current ICE credentials (ufrag, pwd) and the lines (`candidate:...`) of the candidates
    /// we gathered: what an ICE restart signaled in-band, not through the application, carries.
    pub fn local_ice(&self) -> (String, String, Vec<String>) {
        let ice = self.local.ice();
        let lines = self.local_candidate_lines.iter().map(ToString::to_string).collect();
        (ice.ufrag().to_owned(), ice.pwd().to_owned(), lines)
    }

    /// The other side's ICE credentials and candidates after an ICE restart signaled in-band
    /// (issue 21: through the relayed path, not the application): the credentials are checked
    /// as a description's are, then the checks start with them; each candidate line is parsed
    /// as a trickled one and, like one in a description, refused quietly when it is not usable
    /// (a session takes at most [`MAX_REMOTE_CANDIDATES`]; the restart starts a new session).
    /// Only on a live path; the application's descriptions are not changed.
    pub fn set_remote_ice(
        &mut self,
        now: Instant,
        ufrag: &str,
        pwd: &str,
        candidates: &[String],
    ) -> Result<(), ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        let credentials = IceCredentials::new(ufrag, pwd)?;
        let Path::Live(path) = &mut self.path else {
            return Err(ConnectionError::WrongSignalingState { call: "set_remote_ice", state: self.signaling });
        };
        path.set_remote_credentials(now, credentials.ufrag(), credentials.pwd())?;
        for line in candidates.iter().take(MAX_REMOTE_CANDIDATES) {
            let trimmed = line.trim();
            let parsed = sdp::Candidate::parse(trimmed.strip_prefix("a=").unwrap_or(trimmed));
            match parsed {
                Ok(candidate) if candidate.component == 1 => {
                    if let Err(error) = path.add_remote_candidate(now, &candidate) {
                        debug!("a candidate signaled in-band was refused: {error}");
                    }
                }
                Ok(_) => {}
                Err(error) => debug!("a candidate signaled in-band does not parse: {error}"),
            }
        }
        self.settle(now);
        Ok(())
    }

    /// Adds a candidate the pump gathered; returns the line to signal (`candidate:...`). At
    /// most [`MAX_LOCAL_CANDIDATES`](super::MAX_LOCAL_CANDIDATES).
    pub fn add_local_candidate(&mut self, now: Instant, candidate: LocalCandidate) -> Result<String, ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        if self.local_candidates.len() >= MAX_LOCAL_CANDIDATES {
            return Err(ConnectionError::TooManyLocalCandidates(MAX_LOCAL_CANDIDATES));
        }
        let written = match &mut self.path {
            Path::Staging(path) | Path::Live(path) => path.add_local_candidate(now, candidate)?,
        };
        self.local_candidates.push(candidate);
        let line = written.to_string();
        self.local_candidate_lines.push(written);
        self.settle(now);
        Ok(line)
    }

    /// The `sdpMid` and `sdpMLineIndex` our trickled candidates carry: those of the data-channel
    /// section of the exchange (the other side's offer's when we answered, ours when we
    /// offered); `None` before any description.
    pub fn local_candidate_section(&self) -> Option<(Option<&str>, u16)> {
        match (&self.remote, &self.offered_section) {
            (Some(remote), _) => Some((remote.data.mid.as_deref(), u16::try_from(remote.data.index).unwrap_or(0))),
            (None, Some((mid, index))) => Some((mid.as_deref(), *index)),
            (None, None) => None,
        }
    }

    /// Says the pump gathered every candidate: descriptions written from now on say
    /// `a=end-of-candidates`.
    pub fn end_of_local_candidates(&mut self) {
        self.end_of_local_candidates = true;
    }

    /// Adds a candidate the other side trickled (`candidate:...`, with or without `a=`), with its
    /// `sdpMid` and `sdpMLineIndex` (W3C `addIceCandidate`): one for a section other than the
    /// data channel's transport is ignored (one with neither is taken), as is one for another
    /// component than 1; an empty one or `end-of-candidates` says the other side has no more.
    /// Kept until the remote description is applied; at most [`MAX_REMOTE_CANDIDATES`] with
    /// those of the descriptions.
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        line: &str,
        mid: Option<&str>,
        index: Option<u16>,
    ) -> Result<(), ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        let trimmed = line.trim();
        let bare = trimmed.strip_prefix("a=").unwrap_or(trimmed);
        if bare.is_empty() || bare.eq_ignore_ascii_case("end-of-candidates") {
            return Ok(());
        }
        let candidate = sdp::Candidate::parse(bare)?;
        let for_us = self.remote.as_ref().is_none_or(|remote| for_data_section(remote, mid, index));
        if candidate.component != 1 || !for_us {
            return Ok(());
        }
        if self.remote_candidates >= MAX_REMOTE_CANDIDATES {
            return Err(ConnectionError::TooManyRemoteCandidates(MAX_REMOTE_CANDIDATES));
        }
        self.remote_candidates += 1;
        match &mut self.path {
            Path::Staging(_) => self.early.keep_candidate(candidate, mid, index),
            Path::Live(path) => {
                path.add_remote_candidate(now, &candidate)?;
                self.settle(now);
            }
        }
        Ok(())
    }

    /// Handles a datagram received on the local socket `local` from `from`.
    pub fn handle_datagram(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        self.touch(now);
        self.stats.datagrams_received += 1;
        self.stats.bytes_received += datagram.len() as u64;
        self.receive(now, local, from, datagram);
    }

    /// A datagram for the live path, or kept for it.
    fn receive(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        if self.finished {
            return;
        }
        match &mut self.path {
            Path::Staging(_) => self.early.keep_datagram(local, from, datagram),
            Path::Live(path) => {
                path.handle_datagram(now, local, from, datagram);
                self.settle(now);
            }
        }
    }

    /// The next datagram to send on the direct path. SCTP packets are sealed into DTLS records
    /// as they are asked for, so the association sends what its window allows when the caller
    /// can send it. While records go by the relay, the packets sealed here wait for
    /// [`Connection::poll_relay_transmit`] (at most [`ice_dtls::MAX_RELAY_QUEUE`]).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.touch(now);
        let transmit = self.poll_out(now, |path| path.poll_transmit(now))?;
        self.stats.datagrams_sent += 1;
        self.stats.bytes_sent += transmit.data.len() as u64;
        Some(transmit)
    }

    /// Whether the direct path (ICE's selected pair) is alive: connected, and answering what we
    /// sent while data was outstanding within [`crate::ice_dtls::DIRECT_SILENT_AFTER`]. A relay
    /// hub relays only through members whose direct path is alive.
    pub fn direct_path_alive(&self) -> bool {
        match &self.path {
            Path::Live(path) => !self.finished && path.direct_alive(),
            _ => false,
        }
    }

    /// Whether the other side's current description announced a relayed path
    /// (`a=x-webrtc-mesh-relay`).
    pub fn remote_relay(&self) -> bool {
        self.remote.as_ref().is_some_and(|remote| remote.relay)
    }

    /// The pump says a relay to the other side exists (`available`: a member both reach carries
    /// datagrams between us) or no longer does. Honoured only when both sides announced relay
    /// ([`ConnectionConfig::relay`] and [`Connection::remote_relay`]); said before the other
    /// side's description, it applies once that description is. DTLS starts now if ICE has not
    /// selected a pair yet; records take the relay while the direct pair is not alive.
    pub fn set_relay_path(&mut self, now: Instant, available: bool) {
        self.touch(now);
        self.relay_offered = available;
        self.apply_relay(now);
    }

    /// Handles a datagram of the other side's that came by the relay. Only DTLS is taken (RFC
    /// 7983: first byte 20 to 63); STUN and anything else is dropped (the relay carries no
    /// ICE), as is everything unless both sides announced relay, and, before the other side's
    /// description, everything (its DTLS retransmits). Before DTLS starts, a few are kept (as
    /// direct ones are); DTLS itself drops what does not authenticate or repeats.
    pub fn handle_relayed_datagram(&mut self, now: Instant, datagram: &[u8]) {
        self.touch(now);
        self.stats.relayed_datagrams_received += 1;
        self.stats.relayed_bytes_received += datagram.len() as u64;
        if self.finished || !self.relay_honoured() {
            return;
        }
        if let Path::Live(path) = &mut self.path {
            path.handle_relayed_datagram(now, datagram);
            self.settle(now);
        }
    }

    /// The next datagram to send by the relay (the pump wraps it for the relaying member). ICE
    /// never goes this way: its checks keep going on the direct path, so the pair can upgrade.
    pub fn poll_relay_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.touch(now);
        let data = self.poll_out(now, |path| path.poll_relay_transmit(now))?;
        self.stats.relayed_datagrams_sent += 1;
        self.stats.relayed_bytes_sent += data.len() as u64;
        Some(data)
    }

    /// Whether both sides announced a relayed path.
    fn relay_honoured(&self) -> bool {
        self.config.relay && self.remote_relay()
    }

    /// Tells the live path whether a relay is available, as the pump last said and as both
    /// sides' descriptions allow.
    fn apply_relay(&mut self, now: Instant) {
        let available = self.relay_offered && self.relay_honoured() && !self.finished;
        if let Path::Live(path) = &mut self.path {
            path.set_relay_available(now, available);
            self.settle(now);
        }
    }

    /// The next datagram `take` finds on the path, sealing SCTP packets into DTLS records until
    /// it finds one (at most [`MAX_PACKETS_PER_POLL`]).
    fn poll_out<T>(&mut self, now: Instant, mut take: impl FnMut(&mut SecurePath) -> Option<T>) -> Option<T> {
        let Path::Live(path) = &mut self.path else { return None };
        for _ in 0..MAX_PACKETS_PER_POLL {
            if let Some(out) = take(path) {
                return Some(out);
            }
            if self.finished || !self.dtls_connected {
                return None;
            }
            let association = self.association.as_mut()?;
            let packet = association.poll_transmit(now)?;
            let awaiting = association.bytes_in_flight() > 0;
            if let Err(error) = path.send_application_data(now, &packet) {
                debug!("an SCTP packet could not be sent: {error}");
            }
            if awaiting {
                path.note_awaiting_answer(now);
            }
        }
        None
    }

    /// When [`Connection::handle_timeout`] must be called next; `None`: only when a datagram or
    /// a call comes.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let Path::Live(path) = &self.path else { return None };
        if self.finished {
            return None;
        }
        let association = self.association.as_ref().and_then(Association::poll_timeout);
        [path.poll_timeout(), association].into_iter().flatten().min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.touch(now);
        let Path::Live(path) = &mut self.path else { return };
        if self.finished {
            return;
        }
        path.handle_timeout(now);
        let keepalive = path.take_keepalive_due();
        if let Some(association) = self.association.as_mut() {
            association.handle_timeout(now);
            if keepalive {
                association.send_heartbeat();
            }
        }
        self.settle(now);
    }

    /// The next event. Messages are taken from the association only as they are read, so the
    /// window it advertises shrinks when the caller reads slowly.
    pub fn poll_event(&mut self) -> Option<ConnectionEvent> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            if self.finished {
                return None;
            }
            let event = self.association.as_mut()?.poll_event()?;
            self.on_sctp_event(event);
        }
    }

    /// Opens a data channel (see [`DataChannels::open`]); allowed before the connection is up:
    /// the channel opens once SCTP is. An in-band channel opened before our DTLS role is known
    /// may take another id then ([`ConnectionEvent::ChannelRenumbered`]).
    pub fn open_channel(&mut self, now: Instant, options: ChannelOptions) -> Result<ChannelId, ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        let id = self.channels.open(options)?;
        if let Some(early) = self.early_channels.as_mut() {
            // Bounded by the stream ids: a closed channel's id is forgotten, a reused one kept once.
            let channels = &self.channels;
            early.retain(|early| *early != id && channels.state(*early).is_some());
            early.push(id);
        }
        self.flush_channels(now);
        Ok(id)
    }

    /// Sends one message on an open channel, as binary or text. Refused when the association's
    /// send buffer is full ([`SctpError::SendBufferFull`]): wait for
    /// [`Connection::buffered_amount`] to fall.
    pub fn send(&mut self, now: Instant, id: ChannelId, data: Bytes, binary: bool) -> Result<(), ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        self.channels.send(id, data, binary)?;
        let mut result = Ok(());
        while let Some(command) = self.channels.poll_command() {
            if let Err(error) = self.apply(now, command) {
                if result.is_ok() {
                    result = Err(error.into());
                }
            }
        }
        result
    }

    /// Closes a channel: [`ConnectionEvent::ChannelClosed`] comes once the other side reset its
    /// stream too.
    pub fn close_channel(&mut self, now: Instant, id: ChannelId) -> Result<(), ConnectionError> {
        self.touch(now);
        if self.finished {
            return Err(ConnectionError::Closed);
        }
        self.channels.close(id)?;
        self.flush_channels(now);
        Ok(())
    }

    /// The bytes queued on a channel and not yet sent (cut into chunks); what is in flight
    /// is not counted, though the association's send buffer counts it ([`SctpError::SendBufferFull`]).
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        self.association.as_ref().map_or(0, |association| association.buffered_amount(id.0))
    }

    /// A channel's state, or `None` for one that is closed or never was.
    pub fn channel_state(&self, id: ChannelId) -> Option<ChannelState> {
        self.channels.state(id)
    }

    /// A channel's options (for one the other side opened, what it asked for).
    pub fn channel_options(&self, id: ChannelId) -> Option<&ChannelOptions> {
        self.channels.options(id)
    }

    /// Closes the connection at once: SCTP ABORT and DTLS close_notify go out (take them with
    /// [`Connection::poll_transmit`]), every channel closes.
    pub fn close(&mut self, now: Instant) {
        self.touch(now);
        if self.signaling == SignalingState::Closed {
            return;
        }
        self.set_signaling(SignalingState::Closed);
        if self.finished {
            return;
        }
        if let Path::Live(path) = &mut self.path {
            if let Some(association) = self.association.as_mut() {
                // Nothing is delivered after our own close.
                while association.poll_event().is_some() {}
                association.abort(now);
                for _ in 0..MAX_PACKETS_PER_POLL {
                    let Some(packet) = association.poll_transmit(now) else { break };
                    if let Err(error) = path.send_application_data(now, &packet) {
                        debug!("the SCTP ABORT could not be sent: {error}");
                    }
                }
            }
            path.close(now);
        }
        self.end(None);
    }

    /// The largest message [`Connection::send`] takes: the other side's `max-message-size`
    /// (64 KiB when its description has none), at most our association's; before the other
    /// side's description, the configured channel limit.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// The connection's state.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The signaling state.
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }

    /// Announces a relayed path (or stops announcing it) as [`ConnectionConfig::relay`] would
    /// have: for a connection made before its owner knew (a mesh learns it when the connection
    /// is added). Only before any description was made or applied: refused with
    /// [`ConnectionError::WrongSignalingState`] after.
    pub fn announce_relay(&mut self, relay: bool) -> Result<(), ConnectionError> {
        if self.offered_first || self.remote.is_some() || self.signaling != SignalingState::Stable {
            return Err(ConnectionError::WrongSignalingState { call: "announce_relay", state: self.signaling });
        }
        self.config.relay = relay;
        self.local.announce_relay(relay);
        Ok(())
    }

    /// Our certificate's fingerprint as our descriptions carry it.
    pub fn local_fingerprint(&self) -> sdp::Fingerprint {
        self.certificate.fingerprint()
    }

    /// The connection's counters.
    pub fn stats(&self) -> ConnectionStats {
        let ice_round_trip_time = match &self.path {
            Path::Live(path) => path.round_trip_time(self.last_now),
            Path::Staging(_) => None,
        };
        let (path, path_switches, relay_queue_drops) = match &self.path {
            Path::Live(path) => (path.path_kind(), path.path_switches(), path.relay_queue_drops()),
            Path::Staging(_) => (None, 0, 0),
        };
        ConnectionStats {
            sctp: self.association.as_ref().map(Association::stats),
            ice_round_trip_time,
            path,
            path_switches,
            relay_queue_drops,
            ..self.stats.clone()
        }
    }

    /// Applies the first remote description: our DTLS role and the other side's fingerprint
    /// are known, so the live path replaces the staging one and the channel table learns the
    /// role and the largest message the other side takes.
    fn start(&mut self, now: Instant, remote: &RemoteDescription) -> Result<(), ConnectionError> {
        let role = remote.our_dtls_role();
        let controlling = self.offered_first || remote.ice_lite;
        let config = path_config(
            &self.config,
            &self.certificate,
            &self.local,
            &mut self.rng,
            controlling,
            role,
            vec![remote.fingerprint],
        );
        let mut path = SecurePath::new(config, now)?;
        for candidate in &self.local_candidates {
            if let Err(error) = path.add_local_candidate(now, *candidate) {
                debug!("a local candidate was refused by the live path: {error}");
            }
        }
        path.set_remote_credentials(now, remote.ice.ufrag(), remote.ice.pwd())?;
        self.path = Path::Live(path);
        self.role = Some(role);
        self.local.keep_role(role);
        self.take_role(role, remote.data.max_message_size);
        self.set_state(ConnectionState::Connecting);
        Ok(())
    }

    /// The other side's description carries new ICE credentials: an offer that restarts ICE
    /// gets new credentials of ours for the answer; an answer to our restart completes it.
    fn follow_ice_restart(
        &mut self,
        now: Instant,
        kind: DescriptionKind,
        remote: &RemoteDescription,
    ) -> Result<(), ConnectionError> {
        if kind == DescriptionKind::Offer {
            self.restart_local_ice(now)?;
        }
        if let Path::Live(path) = &mut self.path {
            path.set_remote_credentials(now, remote.ice.ufrag(), remote.ice.pwd())?;
        }
        Ok(())
    }

    /// New local ICE credentials, for the path and the descriptions that follow.
    fn restart_local_ice(&mut self, now: Instant) -> Result<(), ConnectionError> {
        let Path::Live(path) = &mut self.path else { return Ok(()) };
        let mut ufrag = [0; UFRAG_RANDOM_BYTES];
        let mut pwd = [0; PWD_RANDOM_BYTES];
        self.rng.fill_bytes(&mut ufrag);
        self.rng.fill_bytes(&mut pwd);
        let credentials = IceCredentials::from_random(ufrag, pwd);
        path.restart_ice(now, credentials.ufrag(), credentials.pwd())?;
        self.local.restart_ice(credentials);
        Ok(())
    }

    /// The channel table for our DTLS role, with the other side's largest message: the
    /// channels opened so far are opened again in it, in order.
    fn take_role(&mut self, role: DtlsRole, remote_max_message_size: u64) {
        let max_message_size =
            usize::try_from(remote_max_message_size).unwrap_or(usize::MAX).min(self.config.sctp.max_message_size);
        self.max_message_size = max_message_size;
        let limits = ChannelLimits { max_message_size, ..self.config.channel_limits.clone() };
        let guessed = std::mem::replace(&mut self.channels, DataChannels::new(role, limits));
        let mut early = self.early_channels.take().unwrap_or_default();
        // Negotiated channels first: their ids were chosen by the application, not by the role.
        early.sort_by_key(|id| guessed.options(*id).map(|options| options.negotiated_id.is_none()));
        for id in early {
            let Some(options) = guessed.options(id) else { continue };
            match self.channels.open(options.clone()) {
                Ok(new) if new != id => self.events.push_back(ConnectionEvent::ChannelRenumbered { from: id, to: new }),
                Ok(_) => {}
                Err(reason) => {
                    self.events.push_back(ConnectionEvent::ChannelError { id, reason });
                    self.events.push_back(ConnectionEvent::ChannelClosed(id));
                }
            }
        }
    }

    /// Hands a remote candidate to the live path, or keeps it for it.
    fn give_remote_candidate(&mut self, now: Instant, candidate: &sdp::Candidate) {
        match &mut self.path {
            Path::Staging(_) => self.early.keep_candidate(candidate.clone(), None, None),
            Path::Live(path) => {
                if let Err(error) = path.add_remote_candidate(now, candidate) {
                    debug!("a remote candidate was refused: {error}");
                }
            }
        }
    }

    /// What waited for the live path, once it runs.
    fn take_early_input(&mut self) -> Option<(Vec<EarlyCandidate>, VecDeque<EarlyDatagram>)> {
        matches!(self.path, Path::Live(_)).then(|| self.early.take())
    }

    /// Takes the live path's events, then what they made the channel table do.
    fn settle(&mut self, now: Instant) {
        loop {
            let Path::Live(path) = &mut self.path else { return };
            let Some(event) = path.poll_event() else { break };
            self.on_path_event(now, event);
        }
        self.flush_channels(now);
    }

    fn on_path_event(&mut self, now: Instant, event: SecurePathEvent) {
        if self.finished {
            return;
        }
        match event {
            SecurePathEvent::IceStateChanged(ice) => {
                self.events.push_back(ConnectionEvent::IceStateChanged(ice));
                let relay = match &self.path {
                    Path::Live(path) => path.relay_was_offered(),
                    Path::Staging(_) => false,
                };
                match ice {
                    // With a relay, the direct pair's silence is not the peer's: `PeerSilent` says.
                    _ if relay => {}
                    ice_dtls::IceState::Disconnected if self.state == ConnectionState::Connected => {
                        self.set_state(ConnectionState::Disconnected)
                    }
                    ice_dtls::IceState::Connected if self.state == ConnectionState::Disconnected => {
                        self.set_state(ConnectionState::Connected)
                    }
                    _ => {}
                }
            }
            SecurePathEvent::SelectedPair { local, remote } => {
                self.stats.selected_pair = Some((local, remote));
                self.events.push_back(ConnectionEvent::SelectedPair { local, remote });
            }
            SecurePathEvent::PeerSilent(true) if self.state == ConnectionState::Connected => {
                self.set_state(ConnectionState::Disconnected)
            }
            SecurePathEvent::PeerSilent(false) if self.state == ConnectionState::Disconnected => {
                self.set_state(ConnectionState::Connected)
            }
            SecurePathEvent::PeerSilent(_) => {}
            SecurePathEvent::PathChanged(kind) => {
                let mtu = self.sctp_mtu(Some(kind));
                if let Some(association) = self.association.as_mut() {
                    // New packets fit the path (one relay-channel chunk when relayed).
                    association.set_mtu(mtu);
                    if kind == PathKind::Relayed {
                        // A fall-back: what was in flight on the silent direct pair goes again.
                        association.path_changed(now);
                    }
                }
                self.events.push_back(ConnectionEvent::PathChanged(kind));
            }
            SecurePathEvent::IceRoleChanged { controlling } => debug!("ICE role conflict: controlling {controlling}"),
            SecurePathEvent::Connected => {
                self.dtls_connected = true;
                if let Some(role) = self.role {
                    let sctp = self.config.sctp.clone();
                    let mut association = Association::new(sctp, role, &mut self.rng, now);
                    let (path_rtt, kind) = match &self.path {
                        Path::Live(path) => (path.round_trip_time(now), path.path_kind()),
                        _ => (None, None),
                    };
                    if kind == Some(PathKind::Relayed) {
                        association.set_mtu(self.sctp_mtu(kind));
                    }
                    if let Some(rtt) = path_rtt {
                        association.set_path_rtt(rtt);
                    }
                    self.association = Some(association);
                }
                self.set_state(ConnectionState::Connected);
            }
            SecurePathEvent::ApplicationData(packet) => {
                if let Some(association) = self.association.as_mut() {
                    association.handle_packet(now, &packet);
                }
            }
            SecurePathEvent::Closed => self.end(None),
            SecurePathEvent::Failed(reason) => self.end(Some(ConnectionFailure::Path(reason))),
        }
    }

    /// The largest SCTP packet for records taking `path`: the configured MTU, lowered to
    /// [`ice_dtls::RELAYED_SCTP_MTU`] on the relay so that a relayed datagram fits one chunk of
    /// the relay channel.
    fn sctp_mtu(&self, path: Option<PathKind>) -> usize {
        match path {
            Some(PathKind::Relayed) => self.config.sctp.mtu.min(ice_dtls::RELAYED_SCTP_MTU),
            _ => self.config.sctp.mtu,
        }
    }

    /// An event of the association, read as the caller reads events.
    fn on_sctp_event(&mut self, event: SctpEvent) {
        let now = self.last_now;
        match event {
            SctpEvent::Closed(error) => {
                let failure = match error {
                    SctpError::Aborted | SctpError::AbortedLocally | SctpError::ShutDown => None,
                    error => Some(ConnectionFailure::Sctp(error)),
                };
                if let Path::Live(path) = &mut self.path {
                    path.close(now);
                }
                self.end(failure);
            }
            event => {
                self.channels.handle_sctp_event(event);
                self.flush_channels(now);
            }
        }
    }

    /// Carries the channel table's commands to the association and its events to ours.
    fn flush_channels(&mut self, now: Instant) {
        while let Some(command) = self.channels.poll_command() {
            if let Err(error) = self.apply(now, command) {
                debug!("the association refused a channel command: {error}");
            }
        }
        while let Some(event) = self.channels.poll_event() {
            self.events.push_back(match event {
                ChannelEvent::Opened(id) => ConnectionEvent::ChannelOpened(id),
                ChannelEvent::RemoteOpened { id, options } => ConnectionEvent::RemoteChannel { id, options },
                ChannelEvent::Message { id, data, binary } => ConnectionEvent::Message { id, data, binary },
                ChannelEvent::Closed(id) => ConnectionEvent::ChannelClosed(id),
                ChannelEvent::Error { id, reason } => ConnectionEvent::ChannelError { id, reason },
            });
        }
    }

    /// One command of the channel table, to the association.
    fn apply(&mut self, now: Instant, command: SctpCommand) -> Result<(), SctpError> {
        let association = self.association.as_mut().ok_or(SctpError::NotConnected)?;
        match command {
            SctpCommand::Send { stream, ppid, data, options } => association.send(now, stream, ppid, data, options),
            SctpCommand::ResetStreams(streams) => {
                association.reset_streams(now, &streams);
                Ok(())
            }
        }
    }

    /// The connection is over: closed (`failure` None) or failed. Every channel closes.
    fn end(&mut self, failure: Option<ConnectionFailure>) {
        if self.finished {
            return;
        }
        self.finished = true;
        // What the association received before the end is still delivered (a last message
        // before the other side closed), within its receive buffer.
        while let Some(event) = self.association.as_mut().and_then(Association::poll_event) {
            if !matches!(event, SctpEvent::Closed(_)) {
                self.channels.handle_sctp_event(event);
            }
        }
        let state = match failure {
            Some(failure) => {
                self.events.push_back(ConnectionEvent::Failed(failure));
                ConnectionState::Failed
            }
            None => ConnectionState::Closed,
        };
        self.channels.handle_sctp_event(SctpEvent::Closed(SctpError::AbortedLocally));
        while self.channels.poll_command().is_some() {}
        self.flush_channels(self.last_now);
        self.set_state(state);
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state;
            self.events.push_back(ConnectionEvent::StateChanged(state));
        }
    }

    fn set_signaling(&mut self, state: SignalingState) {
        if self.signaling != state {
            self.signaling = state;
            self.events.push_back(ConnectionEvent::SignalingStateChanged(state));
        }
    }

    /// Time moves on only: the latest `now` given is kept for [`Connection::poll_event`].
    fn touch(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
    }
}

/// Whether a trickled candidate with this `sdpMid` and `sdpMLineIndex` is for the transport of
/// `remote`'s data-channel section; one with neither is taken as such (a caller with a single
/// section in mind).
fn for_data_section(remote: &RemoteDescription, mid: Option<&str>, index: Option<u16>) -> bool {
    (mid.is_none() && index.is_none()) || remote.takes_trickled(mid, index)
}

/// What a secure path with our credentials and certificate is made with.
fn path_config(
    config: &ConnectionConfig,
    certificate: &LocalCertificate,
    local: &LocalDescription,
    rng: &mut StdRng,
    controlling: bool,
    role: DtlsRole,
    remote_fingerprints: Vec<sdp::Fingerprint>,
) -> SecurePathConfig {
    SecurePathConfig {
        ice_controlling: controlling,
        local_ufrag: local.ice().ufrag().to_owned(),
        local_pwd: local.ice().pwd().to_owned(),
        dtls_role: role,
        certificate: certificate.clone(),
        remote_fingerprints,
        timeouts: config.timeouts,
        jitter_seed: rng.next_u64(),
        dtls_seed_for_tests: config.dtls_seed_for_tests,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<Connection>();
    }
}
