//! The SCTP association (RFC 9260) as WebRTC uses it: one path, inside DTLS, with partial
//! reliability (RFC 3758) and stream reset (RFC 6525).
//!
//! It owns the handshake (INIT / INIT-ACK / COOKIE-ECHO / COOKIE-ACK, simultaneous open
//! included), the verification tags, the shutdown, ABORT, HEARTBEAT answers, ERROR and unknown
//! chunks, and RE-CONFIG; the data itself goes through its receive side and send side. Each
//! outgoing packet bundles control chunks first, then a SACK, a FORWARD-TSN, then DATA chunks
//! while they fit in the MTU.

mod cookie;
mod data_plane;
mod timer;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, warn};

use self::cookie::{CookieContents, CookieSigner};
use self::data_plane::DataPlane;
use self::timer::BackoffTimer;
use super::chunks::{DataChunk, ForwardTsn, Sack, Tsn};
use super::wire::{
    code, kind, Chunk, CommonHeader, ErrorCause, Init, Packet, PacketBuilder, ReconfigParam, ReconfigResult,
    UnknownAction, COMMON_HEADER_LEN, DATA_HEADER_LEN,
};
use super::{SctpConfig, SctpError, SctpEvent, SendOptions, StreamId};
use crate::DtlsRole;

/// The most control chunks waiting to be sent; past it new ones are dropped (an INIT flood
/// cannot grow memory; every control chunk is sent again by its timer or its peer's).
const MAX_CONTROL_QUEUE: usize = 16;
/// How long a state cookie we signed stays valid (RFC 9260 `Valid.Cookie.Life`).
const VALID_COOKIE_LIFE: Duration = Duration::from_secs(60);
/// The most unrecognized chunks reported in one ERROR chunk.
const MAX_REPORTED_CHUNKS: usize = 4;
/// The longest unrecognized chunk reported back (whole, as RFC 9260 §3.3.10.6 asks); a longer
/// one is skipped silently, so that no answer grows past one packet.
const MAX_REPORTED_CHUNK_LEN: usize = 256;

/// The smallest MTU [`Association::set_mtu`] takes: a DATA chunk of 64 payload bytes after the
/// common header, room for the handshake's and RE-CONFIG's small chunks.
pub const MIN_MTU: usize = COMMON_HEADER_LEN + DATA_HEADER_LEN + 64;

/// Counters and estimates of one association.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssociationStats {
    /// SCTP packets sent.
    pub packets_sent: u64,
    /// SCTP packets received (well-formed or not).
    pub packets_received: u64,
    /// Bytes of SCTP packets sent.
    pub bytes_sent: u64,
    /// Bytes of SCTP packets received.
    pub bytes_received: u64,
    /// Packets received and dropped: bad checksum, wrong verification tag, or unreadable.
    pub packets_dropped: u64,
    /// DATA chunks sent again (fast retransmit, T3-rtx, tail-loss probe).
    pub data_retransmissions: u64,
    /// INIT, COOKIE-ECHO, SHUTDOWN, SHUTDOWN-ACK or RE-CONFIG sent again by their timers.
    pub control_retransmissions: u64,
    /// SACKs that started a fast retransmission.
    pub fast_retransmits: u64,
    /// Expiries of the DATA retransmission timer (T3-rtx).
    pub t3_timeouts: u64,
    /// Fast recoveries that cut the congestion window (the path showed a standing queue).
    pub window_reductions: u64,
    /// Fast recoveries whose loss was taken as random (no standing queue): the window stayed.
    pub random_losses: u64,
    /// Tail-loss probes sent.
    pub tail_probes: u64,
    /// Messages abandoned under partial reliability (RFC 3758) once started.
    pub abandoned_messages: u64,
    /// Partially reliable messages dropped before they were ever sent: their lifetime ended, or
    /// they went stale waiting behind congestion.
    pub expired_messages: u64,
    /// The current retransmission timeout.
    pub rto: Duration,
    /// The smoothed round-trip time, once measured.
    pub srtt: Option<Duration>,
    /// The congestion window, in bytes.
    pub cwnd: usize,
    /// The largest packet sent now, in bytes ([`Association::set_mtu`]).
    pub mtu: usize,
}

/// The association's states (RFC 9260 §4), with `Ended` for "closed after having lived".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No association yet: a server waits for INIT.
    Closed,
    /// INIT sent, waiting for INIT-ACK.
    CookieWait,
    /// COOKIE-ECHO sent, waiting for COOKIE-ACK.
    CookieEchoed,
    /// Established.
    Established,
    /// Our user closed: SHUTDOWN goes once everything sent is acknowledged.
    ShutdownPending,
    /// SHUTDOWN sent.
    ShutdownSent,
    /// The peer's SHUTDOWN received: SHUTDOWN-ACK goes once everything sent is acknowledged.
    ShutdownReceived,
    /// SHUTDOWN-ACK sent.
    ShutdownAckSent,
    /// Over: `SctpEvent::Closed` was queued; only already queued chunks still go out.
    Ended,
}

impl State {
    /// Whether DATA and SACKs flow.
    fn carries_data(self) -> bool {
        matches!(self, State::Established | State::ShutdownPending | State::ShutdownSent | State::ShutdownReceived)
    }

    /// Whether new DATA chunks may be put in packets.
    fn sends_data(self) -> bool {
        matches!(self, State::Established | State::ShutdownPending | State::ShutdownReceived)
    }
}

/// A control chunk waiting to be sent, with the verification tag its packet carries.
struct Outgoing {
    tag: u32,
    chunk: Chunk,
}

/// Our outstanding RE-CONFIG request.
struct ResetRequest {
    seq: u32,
    streams: Vec<StreamId>,
    last_tsn: Tsn,
    /// The peer answered "in progress": when the timer expires the request goes again under a
    /// new sequence number (as dcSCTP does; the peer answers a number it saw with its old answer).
    ask_again: bool,
}

/// One SCTP association. Sans-IO: feed it packets and timeouts with the time, take packets,
/// events and its next deadline.
///
/// ```
/// use std::time::Instant;
///
/// use bytes::Bytes;
/// use connection::sctp::{Association, Message, Reliability, DtlsRole, SctpConfig, SctpEvent, SendOptions};
/// use rand::SeedableRng;
///
/// let now = Instant::now();
/// let mut rng = rand::rngs::StdRng::seed_from_u64(1);
/// let mut client = Association::new(SctpConfig::default(), DtlsRole::Client, &mut rng, now);
/// let mut server = Association::new(SctpConfig::default(), DtlsRole::Server, &mut rng, now);
/// // Each packet travels in one DTLS record; here it goes straight across.
/// let exchange = |client: &mut Association, server: &mut Association, now: Instant| {
///     for _ in 0..4 {
///         while let Some(packet) = client.poll_transmit(now) {
///             server.handle_packet(now, &packet);
///         }
///         while let Some(packet) = server.poll_transmit(now) {
///             client.handle_packet(now, &packet);
///         }
///     }
/// };
/// exchange(&mut client, &mut server, now);
/// assert_eq!(client.poll_event(), Some(SctpEvent::Connected));
/// assert_eq!(server.poll_event(), Some(SctpEvent::Connected));
///
/// let options = SendOptions { ordered: true, reliability: Reliability::Reliable };
/// client.send(now, 0, 53, Bytes::from_static(b"hello"), options).unwrap();
/// exchange(&mut client, &mut server, now);
/// let hello = Message { stream: 0, ppid: 53, data: Bytes::from_static(b"hello") };
/// assert_eq!(server.poll_event(), Some(SctpEvent::Message(hello)));
/// // The SACK goes at once or after the server's delayed-SACK timer; then nothing runs.
/// let mut later = now;
/// while let Some(deadline) = server.poll_timeout().or(client.poll_timeout()) {
///     later = later.max(deadline);
///     server.handle_timeout(later);
///     client.handle_timeout(later);
///     exchange(&mut client, &mut server, later);
///     assert!(later - now < std::time::Duration::from_secs(1));
/// }
/// assert_eq!((client.poll_timeout(), server.poll_timeout()), (None, None));
/// ```
pub struct Association {
    config: SctpConfig,
    /// The configured `max_data_payload`: [`Association::set_mtu`] never goes past it.
    configured_max_payload: usize,
    state: State,
    /// The time the association was created: cookie timestamps count from it.
    epoch: Instant,
    /// Our verification tag: what the peer puts in its packets to us.
    local_tag: u32,
    /// Our first TSN and first RE-CONFIG request sequence number.
    local_initial_tsn: Tsn,
    /// What the peer told in its INIT or INIT-ACK, once known.
    peer: Option<CookieContents>,
    cookie_signer: CookieSigner,
    /// The peer's cookie, echoed while in COOKIE-ECHOED.
    cookie_to_echo: Option<Bytes>,
    /// T1-init or T1-cookie.
    handshake_timer: BackoffTimer,
    /// When our first INIT went out.
    init_sent: Option<Instant>,
    /// Our INIT went more than once (Karn's rule: the INIT-ACK then measures nothing).
    init_retransmitted: bool,
    /// The handshake's round trip, once measured: the send side's first RTT sample.
    handshake_rtt: Option<Duration>,
    /// The path's round trip as the layers below measured it (`set_path_rtt`): the first RTT
    /// sample when the handshake gives none.
    path_rtt: Option<Duration>,
    /// T2-shutdown.
    shutdown_timer: BackoffTimer,
    /// Our RE-CONFIG request's retransmission timer.
    reconfig_timer: BackoffTimer,
    /// Consecutive retransmission timeouts (RFC 9260 §8.1), reset by an acknowledgement.
    error_count: u32,
    control: VecDeque<Outgoing>,
    pending_sack: Option<Sack>,
    pending_forward_tsn: Option<ForwardTsn>,
    events: VecDeque<SctpEvent>,
    data: Option<DataPlane>,
    /// Streams waiting to be reset, once drained.
    resets_pending: Vec<StreamId>,
    reset_in_flight: Option<ResetRequest>,
    next_request_seq: u32,
    /// The sequence number the peer's next RE-CONFIG request must carry.
    peer_next_request_seq: u32,
    /// The answer given to the peer's last request, repeated if it asks again.
    last_response: Option<ReconfigResult>,
    stats: AssociationStats,
}

impl Association {
    /// A new association. Draws its verification tag, initial TSN and cookie secret from `rng`.
    /// A [`DtlsRole::Client`] sends INIT at once (its first `poll_transmit`).
    pub fn new(config: SctpConfig, role: DtlsRole, rng: &mut impl rand::Rng, now: Instant) -> Self {
        let mut local_tag = rng.next_u32();
        while local_tag == 0 {
            local_tag = rng.next_u32();
        }
        let local_initial_tsn = rng.next_u32();
        let mut secret = [0; 32];
        rng.fill_bytes(&mut secret);
        let stats = AssociationStats { rto: config.rto_initial, ..AssociationStats::default() };
        let mut association = Association {
            configured_max_payload: config.max_data_payload,
            config,
            state: State::Closed,
            epoch: now,
            local_tag,
            local_initial_tsn,
            peer: None,
            cookie_signer: CookieSigner::new(&secret),
            cookie_to_echo: None,
            handshake_timer: BackoffTimer::default(),
            init_sent: None,
            init_retransmitted: false,
            handshake_rtt: None,
            path_rtt: None,
            shutdown_timer: BackoffTimer::default(),
            reconfig_timer: BackoffTimer::default(),
            error_count: 0,
            control: VecDeque::new(),
            pending_sack: None,
            pending_forward_tsn: None,
            events: VecDeque::new(),
            data: None,
            resets_pending: Vec::new(),
            reset_in_flight: None,
            next_request_seq: local_initial_tsn,
            peer_next_request_seq: 0,
            last_response: None,
            stats,
        };
        if role == DtlsRole::Client {
            association.state = State::CookieWait;
            association.queue_control(0, Chunk::Init(association.our_init(None, Vec::new())));
            association.handshake_timer.start(now, association.config.t1_initial);
        }
        association
    }

    /// Takes the path's round trip as measured below SCTP (ICE's connectivity checks) as the
    /// first RTT sample when the handshake gives none (Karn's rule discards it when INIT or
    /// COOKIE-ECHO went twice, common under loss): without any sample the tail-loss probe cannot
    /// be armed and a lost chunk waits for the 500 ms initial RTO, then its backoff. Ignored past
    /// `t1_initial`, as a cookie's age is: a check answered only on its retransmission measures
    /// the retransmission timer, not the path.
    pub fn set_path_rtt(&mut self, rtt: Duration) {
        if rtt < self.config.t1_initial {
            self.path_rtt = Some(rtt);
        }
    }

    /// Handles one received SCTP packet (one DTLS record's payload).
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) {
        self.stats.packets_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        let Some(packet) = Packet::parse(bytes) else {
            self.stats.packets_dropped += 1;
            return;
        };
        if !self.tag_accepted(&packet) {
            self.stats.packets_dropped += 1;
            return;
        }
        if self.state == State::Ended {
            // The peer missed our SHUTDOWN-COMPLETE (RFC 9260 §8.4 item 5): answer its
            // SHUTDOWN-ACK with one carrying its own tag reflected.
            if packet.chunks.contains(&Chunk::ShutdownAck) {
                self.queue_control(self.local_tag, Chunk::ShutdownComplete { tag_reflected: true });
            }
            return;
        }
        let tag = packet.header.verification_tag;
        // A peer that sends DATA, a SACK, a HEARTBEAT or a FORWARD-TSN has established the
        // association: in COOKIE-ECHOED our COOKIE-ECHO reached it and its COOKIE-ACK was lost
        // (the packet carries our tag, and DTLS authenticated it). Established at once, the DATA
        // is taken instead of dropped unacknowledged until the T1-cookie timer sends the
        // COOKIE-ECHO again (250 ms and more, while the peer's window fills with data it waits
        // to hear of and its unreliable messages expire unsent).
        if self.state == State::CookieEchoed
            && packet.chunks.iter().any(|chunk| {
                matches!(chunk, Chunk::Data(_) | Chunk::Sack(_) | Chunk::Heartbeat(_) | Chunk::ForwardTsn(_))
            })
        {
            self.on_cookie_ack(now);
        }
        let mut unrecognized = Vec::new();
        let carried_data = packet.chunks.iter().any(|chunk| matches!(chunk, Chunk::Data(_)));
        // Only a packet's first SACK is read: a sender bundles at most one, and each costs a walk
        // over the chunks it acknowledges, so 64 of them in one packet would cost 64 walks.
        let mut sack_read = false;
        for chunk in packet.chunks {
            if self.state == State::Ended {
                break;
            }
            match chunk {
                Chunk::Data(data) => self.on_data(now, data),
                Chunk::Init(init) => self.on_init(now, init),
                Chunk::InitAck(init) => self.on_init_ack(now, init),
                Chunk::Sack(sack) if !sack_read => {
                    sack_read = true;
                    self.on_sack(now, &sack);
                }
                Chunk::Sack(_) => {}
                Chunk::Heartbeat(info) => {
                    // Answered when the answer fits one packet.
                    if info.len() + 16 <= self.config.mtu {
                        self.reply(Chunk::HeartbeatAck(info));
                    }
                }
                Chunk::HeartbeatAck(_) => self.error_count = 0,
                Chunk::Abort { causes, .. } => {
                    debug!("sctp: the peer aborted: {causes:?}");
                    self.end(SctpError::Aborted);
                }
                Chunk::Shutdown { cumulative_tsn } => self.on_shutdown(now, cumulative_tsn),
                Chunk::ShutdownAck => self.on_shutdown_ack(),
                Chunk::Error(causes) => debug!("sctp: the peer reported errors: {causes:?}"),
                Chunk::CookieEcho(cookie) => self.on_cookie_echo(now, tag, &cookie),
                Chunk::CookieAck => self.on_cookie_ack(now),
                Chunk::ShutdownComplete { .. } => {
                    if self.state == State::ShutdownAckSent {
                        self.end(SctpError::ShutDown);
                    }
                }
                Chunk::ForwardTsn(forward) => self.on_forward_tsn(now, &forward),
                Chunk::ReConfig(params) => self.on_reconfig(now, params),
                Chunk::Unknown { kind, raw } => {
                    let action = UnknownAction::of(kind);
                    if action.report && unrecognized.len() < MAX_REPORTED_CHUNKS && raw.len() <= MAX_REPORTED_CHUNK_LEN
                    {
                        unrecognized.push(ErrorCause::new(code::UNRECOGNIZED_CHUNK, raw));
                    }
                    if !action.continue_packet {
                        break;
                    }
                }
            }
        }
        if let (true, Some(data)) = (self.state.carries_data(), self.data.as_mut()) {
            data.on_packet_end(now);
        }
        if !unrecognized.is_empty() {
            self.reply(Chunk::Error(unrecognized));
        }
        if carried_data && self.state == State::ShutdownSent {
            // RFC 9260 §9.2: each packet of DATA is answered with SHUTDOWN again.
            self.send_shutdown();
            self.start_shutdown_timer(now);
        }
        self.make_progress(now);
    }

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.make_progress(now);
        if let Some(tag) = self.control.front().map(|outgoing| outgoing.tag) {
            let mut builder = PacketBuilder::new(self.header(tag), self.config.mtu);
            while let Some(outgoing) = self.control.front() {
                let alone = goes_alone(&outgoing.chunk);
                if outgoing.tag != tag || (alone && !builder.is_empty()) || !builder.push(&outgoing.chunk) {
                    break;
                }
                if let Some(Outgoing { chunk: Chunk::Init(_), .. }) = self.control.pop_front() {
                    self.note_init_sent(now);
                }
                if alone {
                    return Some(self.finish(builder));
                }
            }
            if Some(tag) == self.peer_tag() {
                self.fill_with_data(now, &mut builder);
            }
            return Some(self.finish(builder));
        }
        let tag = self.peer_tag()?;
        let mut builder = PacketBuilder::new(self.header(tag), self.config.mtu);
        self.fill_with_data(now, &mut builder);
        (!builder.is_empty()).then(|| self.finish(builder))
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SctpEvent> {
        if !matches!(self.events.front(), None | Some(SctpEvent::Closed(_))) {
            return self.events.pop_front();
        }
        if let Some(event) = self.data.as_mut().and_then(DataPlane::poll_event) {
            return Some(event);
        }
        self.events.pop_front()
    }

    /// When `handle_timeout` should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Ended {
            return None;
        }
        [
            self.handshake_timer.deadline(),
            self.shutdown_timer.deadline(),
            self.reconfig_timer.deadline(),
            self.data.as_ref().and_then(DataPlane::deadline),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs the timers whose deadline has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Ended {
            return;
        }
        if self.handshake_timer.is_expired(now) {
            let expiries = self.handshake_timer.back_off(now, self.config.max_timer_backoff);
            if expiries > self.config.max_init_retransmits {
                self.end(SctpError::HandshakeTimeout);
                return;
            }
            self.stats.control_retransmissions += 1;
            match self.state {
                State::CookieWait => {
                    self.init_retransmitted = true;
                    self.queue_control(0, Chunk::Init(self.our_init(None, Vec::new())));
                }
                State::CookieEchoed => {
                    if let Some(cookie) = self.cookie_to_echo.clone() {
                        self.reply(Chunk::CookieEcho(cookie));
                    }
                }
                _ => self.handshake_timer.stop(),
            }
        }
        if self.shutdown_timer.is_expired(now) {
            self.shutdown_timer.back_off(now, self.config.rto_max);
            if !self.count_timeout() {
                return;
            }
            self.stats.control_retransmissions += 1;
            match self.state {
                State::ShutdownSent => self.send_shutdown(),
                State::ShutdownAckSent => self.reply(Chunk::ShutdownAck),
                _ => self.shutdown_timer.stop(),
            }
        }
        if self.reconfig_timer.is_expired(now) {
            self.reconfig_timer.back_off(now, self.config.rto_max);
            let answered = self.reset_in_flight.as_ref().is_some_and(|request| request.ask_again);
            if !answered && !self.count_timeout() {
                return;
            }
            match self.reset_in_flight.take() {
                Some(mut request) => {
                    if request.ask_again {
                        request.ask_again = false;
                        request.seq = self.next_request_seq;
                        self.next_request_seq = self.next_request_seq.wrapping_add(1);
                    } else {
                        self.stats.control_retransmissions += 1;
                    }
                    let chunk = self.reset_request_chunk(&request);
                    self.reply(chunk);
                    self.reset_in_flight = Some(request);
                }
                None => self.reconfig_timer.stop(),
            }
        }
        if let Some(data) = self.data.as_mut() {
            data.handle_timeout(now);
            if data.consecutive_timeouts() > self.config.max_retransmissions {
                self.fail(SctpError::TooManyRetransmissions, code::PROTOCOL_VIOLATION);
                return;
            }
        }
        self.make_progress(now);
    }

    /// Queues a message on `stream`. Refused unless the association is established.
    pub fn send(
        &mut self,
        now: Instant,
        stream: StreamId,
        ppid: u32,
        data: Bytes,
        options: SendOptions,
    ) -> Result<(), SctpError> {
        match (self.state, self.data.as_mut()) {
            (State::Established, Some(plane)) => plane.send(now, stream, ppid, data, options),
            _ => Err(SctpError::NotConnected),
        }
    }

    /// Resets these outgoing streams (RFC 6525): nothing new is sent on them, and once what was
    /// sent is acknowledged or abandoned, a RE-CONFIG request tells the peer, whose incoming
    /// streams then reset; their sequence numbers start again at 0. Ignored unless established.
    pub fn reset_streams(&mut self, now: Instant, streams: &[StreamId]) {
        let Some(data) = self.data.as_mut() else { return };
        if self.state != State::Established {
            return;
        }
        for &stream in streams {
            if !self.resets_pending.contains(&stream)
                && self.resets_pending.len() < usize::from(self.config.max_streams).max(1)
            {
                self.resets_pending.push(stream);
                data.pause_stream(stream);
            }
        }
        self.make_progress(now);
    }

    /// The bytes queued on `stream` and not yet sent (cut into chunks).
    pub fn buffered_amount(&self, stream: StreamId) -> usize {
        self.data.as_ref().map_or(0, |data| data.buffered_amount(stream))
    }

    /// Closes gracefully: what was queued is still delivered, then SHUTDOWN; `SctpEvent::Closed`
    /// with [`SctpError::ShutDown`] comes once the peer confirmed. Before the association is
    /// established, it simply ends.
    pub fn close(&mut self, now: Instant) {
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.make_progress(now);
            }
            State::Closed | State::CookieWait => self.end(SctpError::ShutDown),
            State::CookieEchoed => self.fail(SctpError::ShutDown, code::USER_INITIATED_ABORT),
            _ => {}
        }
    }

    /// Aborts at once: an ABORT goes to the peer (if it is known), and `SctpEvent::Closed` with
    /// [`SctpError::AbortedLocally`] comes out.
    pub fn abort(&mut self, _now: Instant) {
        if self.state != State::Ended {
            self.fail(SctpError::AbortedLocally, code::USER_INITIATED_ABORT);
        }
    }

    /// Bytes of DATA sent and not yet acknowledged (0 before the association is up): while
    /// some are, what we send awaits an answer.
    pub fn bytes_in_flight(&self) -> usize {
        self.data.as_ref().map_or(0, DataPlane::in_flight)
    }

    /// Our packets now take another path after the old one went silent (the connection's
    /// fall-back to a relay): the DATA in flight is sent again at once on it, without waiting for
    /// a retransmission timer the silence has backed off.
    pub fn path_changed(&mut self, now: Instant) {
        if let Some(data) = self.data.as_mut() {
            data.on_path_change(now);
        }
    }

    /// Sends packets of at most `mtu` bytes from now on (the connection's path changed: a relayed
    /// path fits each packet in one chunk of the relay's own association). New DATA chunks are
    /// cut for it; chunks already cut keep their size (a TSN's chunk is never cut again), so a
    /// retransmission of a larger one goes alone in a packet past `mtu`. Below
    /// [`MIN_MTU`] it is taken as [`MIN_MTU`].
    pub fn set_mtu(&mut self, mtu: usize) {
        let mtu = mtu.max(MIN_MTU);
        self.config.mtu = mtu;
        // A whole number of 4-byte words: the chunk's padding stays within the MTU too.
        let fits = (mtu - COMMON_HEADER_LEN - DATA_HEADER_LEN) & !3;
        self.config.max_data_payload = fits.min(self.configured_max_payload);
        if let Some(data) = self.data.as_mut() {
            data.set_mtu(mtu, self.config.max_data_payload);
        }
    }

    /// The largest packet sent now, in bytes (a lone DATA chunk cut for a larger one excepted).
    pub fn mtu(&self) -> usize {
        self.config.mtu
    }

    /// Queues a HEARTBEAT (RFC 9260 §8.3), which the peer answers with a HEARTBEAT ACK: sent on
    /// a relayed path that would otherwise be idle, to keep it heard (a relay has no ICE
    /// consent). Nothing before the association is up.
    pub fn send_heartbeat(&mut self) {
        if self.data.is_some() {
            // The Heartbeat Info parameter (type 1), empty: nothing to echo but the chunk.
            self.reply(Chunk::Heartbeat(Bytes::from_static(&[0, 1, 0, 4])));
        }
    }

    /// The association's counters and estimates.
    pub fn stats(&self) -> AssociationStats {
        let mut stats = self.stats.clone();
        if let Some(data) = &self.data {
            let send = data.send_stats();
            stats.data_retransmissions = send.retransmissions;
            stats.fast_retransmits = send.fast_retransmits;
            stats.t3_timeouts = send.timeouts;
            stats.window_reductions = send.window_reductions;
            stats.random_losses = send.random_losses;
            stats.tail_probes = send.tail_probes;
            stats.abandoned_messages = send.abandoned;
            stats.expired_messages = send.expired;
            stats.rto = data.rto();
            stats.srtt = data.smoothed_rtt();
            stats.cwnd = data.cwnd();
        }
        stats.mtu = self.config.mtu;
        stats
    }

    /// The verification tag checks of RFC 9260 §8.5 and §8.5.1 (and INIT alone in its packet).
    fn tag_accepted(&self, packet: &Packet) -> bool {
        let tag = packet.header.verification_tag;
        let has_init = packet.chunks.iter().any(|chunk| matches!(chunk, Chunk::Init(_)));
        match packet.chunks.first() {
            None => false,
            Some(Chunk::Init(_)) => tag == 0 && packet.chunks.len() == 1,
            Some(Chunk::Abort { tag_reflected: true, .. } | Chunk::ShutdownComplete { tag_reflected: true }) => {
                self.peer_tag() == Some(tag)
            }
            Some(_) => !has_init && tag == self.local_tag,
        }
    }

    fn on_init(&mut self, now: Instant, init: Init) {
        if init.initiate_tag == 0 || init.outbound_streams == 0 || init.inbound_streams == 0 {
            debug!("sctp: INIT with a zero tag or no streams dropped");
            return;
        }
        if !matches!(self.state, State::Closed | State::CookieWait | State::CookieEchoed) {
            // No restart (RFC 9260 §5.2.2) inside DTLS: a new peer comes with a new DTLS session.
            return;
        }
        let cookie = self.cookie_signer.seal(&CookieContents::of(self.local_tag, &init, self.millis_since_epoch(now)));
        let init_ack = Chunk::InitAck(self.our_init(Some(cookie), init.unrecognized));
        // One INIT-ACK per peer tag waits at a time: a flood of INITs replaces it.
        self.control
            .retain(|outgoing| !(outgoing.tag == init.initiate_tag && matches!(outgoing.chunk, Chunk::InitAck(_))));
        self.queue_control(init.initiate_tag, init_ack);
    }

    fn on_init_ack(&mut self, now: Instant, init: Init) {
        if self.state != State::CookieWait || init.initiate_tag == 0 {
            return;
        }
        // The COOKIE-ECHO must fit one packet (DTLS never splits a record), as every packet we send.
        let fits = |cookie: &Bytes| COMMON_HEADER_LEN + 4 + cookie.len() + 3 <= self.config.mtu;
        let Some(cookie) = init.cookie.clone().filter(fits) else {
            debug!("sctp: INIT-ACK without a usable cookie dropped");
            return;
        };
        if !init.reported_unrecognized.is_empty() {
            debug!("sctp: the peer did not recognise {} INIT parameters", init.reported_unrecognized.len());
        }
        self.peer = Some(CookieContents::of(self.local_tag, &init, self.millis_since_epoch(now)));
        if let (Some(sent), false) = (self.init_sent, self.init_retransmitted) {
            self.handshake_rtt = Some(now.saturating_duration_since(sent));
        }
        self.state = State::CookieEchoed;
        self.cookie_to_echo = Some(cookie.clone());
        self.control.retain(|outgoing| !matches!(outgoing.chunk, Chunk::Init(_)));
        self.reply(Chunk::CookieEcho(cookie));
        self.handshake_timer.start(now, self.config.t1_initial);
    }

    fn on_cookie_echo(&mut self, now: Instant, tag: u32, cookie: &[u8]) {
        let Some(contents) = self.cookie_signer.open(cookie) else {
            debug!("sctp: COOKIE-ECHO with a cookie we did not sign dropped");
            return;
        };
        let age = self.millis_since_epoch(now).checked_sub(contents.created_ms);
        let fresh = age.is_some_and(|age| u128::from(age) <= VALID_COOKIE_LIFE.as_millis());
        if contents.local_tag != self.local_tag || tag != self.local_tag || !fresh {
            debug!("sctp: stale or misaddressed cookie dropped");
            return;
        }
        match self.state {
            State::Closed | State::CookieWait | State::CookieEchoed => {
                // The cookie's age is our INIT-ACK's round trip, unless the peer's COOKIE-ECHO
                // was a retransmission (Karn's rule): that one comes at least the peer's T1 after
                // the INIT-ACK, so an age of our T1 or more measures nothing. (A peer with a
                // shorter T1 could still give an inflated sample, under our T1: its RTO is then
                // under three T1s, 750 ms by default, and the first SACKs correct it.)
                let rtt = age.map(Duration::from_millis).filter(|age| *age < self.config.t1_initial);
                if self.handshake_rtt.is_none() {
                    self.handshake_rtt = rtt;
                }
                self.establish(now, contents);
                self.reply(Chunk::CookieAck);
            }
            State::Ended => {}
            _ => {
                // Our COOKIE-ACK was lost (RFC 9260 §5.2.4 case D): acknowledge again.
                if self.peer_tag() == Some(contents.peer_tag) {
                    self.reply(Chunk::CookieAck);
                }
            }
        }
    }

    fn on_cookie_ack(&mut self, now: Instant) {
        if self.state == State::CookieEchoed {
            if let Some(peer) = self.peer {
                self.establish(now, peer);
            }
        }
    }

    fn establish(&mut self, now: Instant, peer: CookieContents) {
        debug!("sctp: established (peer tag {:#x}, handshake RTT {:?})", peer.peer_tag, self.handshake_rtt);
        let peer_side = (peer.peer_initial_tsn, peer.peer_a_rwnd);
        let first_rtt = self.handshake_rtt.or(self.path_rtt);
        self.data = Some(DataPlane::new(now, self.local_initial_tsn, peer_side, first_rtt, &self.config));
        self.peer_next_request_seq = peer.peer_initial_tsn;
        self.peer = Some(peer);
        self.state = State::Established;
        self.cookie_to_echo = None;
        self.handshake_timer.stop();
        self.control.retain(|outgoing| !matches!(outgoing.chunk, Chunk::Init(_) | Chunk::CookieEcho(_)));
        self.events.push_back(SctpEvent::Connected);
    }

    fn on_data(&mut self, now: Instant, chunk: DataChunk) {
        let (true, Some(data)) = (self.state.carries_data(), self.data.as_mut()) else { return };
        if let Err(error) = data.on_data(now, chunk) {
            warn!("sctp: received data refused: {error}");
            self.fail(error, code::PROTOCOL_VIOLATION);
            return;
        }
        if let Some(stream) = data.take_invalid_stream() {
            // RFC 9260 §6.5: the chunk is acknowledged and dropped, and the sender told.
            let info = [stream.to_be_bytes(), [0, 0]].concat();
            self.reply(Chunk::Error(vec![ErrorCause::new(code::INVALID_STREAM, info)]));
        }
    }

    fn on_forward_tsn(&mut self, now: Instant, forward: &ForwardTsn) {
        let (true, Some(data)) = (self.state.carries_data(), self.data.as_mut()) else { return };
        if let Err(error) = data.on_forward_tsn(now, forward) {
            warn!("sctp: FORWARD-TSN refused: {error}");
            self.fail(error, code::PROTOCOL_VIOLATION);
        }
    }

    fn on_sack(&mut self, now: Instant, sack: &Sack) {
        if let (true, Some(data)) =
            (self.state.carries_data() || self.state == State::ShutdownAckSent, self.data.as_mut())
        {
            data.on_sack(now, sack);
            self.error_count = 0;
        }
    }

    fn on_shutdown(&mut self, now: Instant, _cumulative_tsn: Tsn) {
        match self.state {
            State::Established | State::ShutdownPending => self.state = State::ShutdownReceived,
            State::ShutdownSent => {
                self.shutdown_timer.stop();
                self.reply(Chunk::ShutdownAck);
                self.state = State::ShutdownAckSent;
                self.start_shutdown_timer(now);
            }
            _ => {}
        }
    }

    fn on_shutdown_ack(&mut self) {
        if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
            self.reply(Chunk::ShutdownComplete { tag_reflected: false });
            self.end(SctpError::ShutDown);
        }
    }

    fn on_reconfig(&mut self, now: Instant, params: Vec<ReconfigParam>) {
        if !self.state.carries_data() {
            return;
        }
        let mut responses = Vec::new();
        for param in params {
            match param {
                ReconfigParam::OutgoingReset { request_seq, last_tsn, streams, .. } => {
                    let result =
                        self.answer_request(request_seq, |data| match data.reset_incoming(&streams, last_tsn) {
                            Ok(true) => ReconfigResult::SuccessPerformed,
                            Ok(false) | Err(_) => ReconfigResult::Denied,
                        });
                    responses.push(ReconfigParam::Response { response_seq: request_seq, result });
                }
                ReconfigParam::OtherRequest { request_seq, .. } => {
                    let result = self.answer_request(request_seq, |_| ReconfigResult::Denied);
                    responses.push(ReconfigParam::Response { response_seq: request_seq, result });
                }
                ReconfigParam::Response { response_seq, result } => {
                    self.on_reconfig_response(now, response_seq, result)
                }
            }
        }
        if !responses.is_empty() {
            self.reply(Chunk::ReConfig(responses));
        }
    }

    /// Applies the peer's request numbered `seq` once (RFC 6525 §5.2.1): the next expected number
    /// runs `apply`; the previous one (a retransmission) gets the same answer again.
    fn answer_request(&mut self, seq: u32, apply: impl FnOnce(&mut DataPlane) -> ReconfigResult) -> ReconfigResult {
        if seq == self.peer_next_request_seq {
            let Some(data) = self.data.as_mut() else { return ReconfigResult::Denied };
            let result = apply(data);
            self.peer_next_request_seq = seq.wrapping_add(1);
            self.last_response = Some(result);
            result
        } else if seq == self.peer_next_request_seq.wrapping_sub(1) {
            self.last_response.unwrap_or(ReconfigResult::BadSequenceNumber)
        } else {
            ReconfigResult::BadSequenceNumber
        }
    }

    fn on_reconfig_response(&mut self, now: Instant, seq: u32, result: ReconfigResult) {
        if self.reset_in_flight.as_ref().map(|request| request.seq) != Some(seq) {
            return;
        }
        match result {
            ReconfigResult::SuccessPerformed | ReconfigResult::SuccessNothingToDo => {
                self.reset_in_flight = None;
                self.reconfig_timer.stop();
            }
            ReconfigResult::InProgress => {
                if let Some(request) = self.reset_in_flight.as_mut() {
                    request.ask_again = true;
                }
                let rto = self.rto();
                self.reconfig_timer.start(now, rto);
            }
            other => {
                warn!("sctp: the peer refused our stream reset: {other:?}");
                self.reset_in_flight = None;
                self.reconfig_timer.stop();
            }
        }
        self.error_count = 0;
    }

    /// Moves what waits on a condition: SHUTDOWN or SHUTDOWN-ACK once all data is acknowledged,
    /// a stream reset request once its streams are drained.
    fn make_progress(&mut self, now: Instant) {
        let idle = self.data.as_ref().is_none_or(DataPlane::is_idle);
        match self.state {
            State::ShutdownPending if idle => {
                self.state = State::ShutdownSent;
                self.send_shutdown();
                self.start_shutdown_timer(now);
            }
            State::ShutdownReceived if idle => {
                self.state = State::ShutdownAckSent;
                self.reply(Chunk::ShutdownAck);
                self.start_shutdown_timer(now);
            }
            _ => {}
        }
        self.start_reset(now);
    }

    fn start_reset(&mut self, now: Instant) {
        if self.reset_in_flight.is_some() || self.resets_pending.is_empty() || self.state != State::Established {
            return;
        }
        let Some(data) = self.data.as_mut() else { return };
        if !self.resets_pending.iter().all(|&stream| data.is_stream_drained(stream)) {
            return;
        }
        // One request fits one packet: the streams past that wait for the next request.
        let most = self.config.mtu.saturating_sub(COMMON_HEADER_LEN + 4 + 16) / 2;
        let rest = self.resets_pending.split_off(self.resets_pending.len().min(most.max(1)));
        let streams = std::mem::replace(&mut self.resets_pending, rest);
        let last_tsn = data.reset_outgoing(&streams);
        if !self.peer.is_some_and(|peer| peer.peer_extensions.reconfig) {
            // A peer without RE-CONFIG would never answer, and its silence would end the
            // association: the streams start again on our side only.
            warn!("sctp: the peer does not support stream reset; streams {streams:?} reset on our side only");
            return;
        }
        let request = ResetRequest { seq: self.next_request_seq, streams, last_tsn, ask_again: false };
        self.next_request_seq = self.next_request_seq.wrapping_add(1);
        let chunk = self.reset_request_chunk(&request);
        self.reply(chunk);
        self.reset_in_flight = Some(request);
        let rto = self.rto();
        self.reconfig_timer.start(now, rto);
    }

    fn reset_request_chunk(&self, request: &ResetRequest) -> Chunk {
        Chunk::ReConfig(vec![ReconfigParam::OutgoingReset {
            request_seq: request.seq,
            response_seq: self.peer_next_request_seq.wrapping_sub(1),
            last_tsn: request.last_tsn,
            streams: request.streams.clone(),
        }])
    }

    fn send_shutdown(&mut self) {
        let cumulative_tsn = self.data.as_ref().map_or(0, DataPlane::cumulative_tsn);
        self.reply(Chunk::Shutdown { cumulative_tsn });
    }

    fn start_shutdown_timer(&mut self, now: Instant) {
        let rto = self.rto();
        self.shutdown_timer.start(now, rto);
    }

    /// Counts one retransmission timeout; past `max_retransmissions` in a row the association
    /// fails. Returns whether it still lives.
    fn count_timeout(&mut self) -> bool {
        self.error_count += 1;
        if self.error_count > self.config.max_retransmissions {
            self.fail(SctpError::TooManyRetransmissions, code::PROTOCOL_VIOLATION);
            return false;
        }
        true
    }

    /// Ends the association with an ABORT to the peer (when it is known).
    fn fail(&mut self, error: SctpError, cause: u16) {
        self.control.clear();
        if let Some(tag) = self.peer_tag() {
            let causes = vec![ErrorCause::new(cause, Bytes::new())];
            self.control.push_back(Outgoing { tag, chunk: Chunk::Abort { tag_reflected: false, causes } });
        }
        self.end(error);
    }

    /// Ends the association: timers stop, received messages still come out, then `Closed`.
    fn end(&mut self, error: SctpError) {
        if self.state == State::Ended {
            return;
        }
        debug!("sctp: association ended: {error}");
        self.state = State::Ended;
        // Only the last words go out: ABORT or SHUTDOWN-COMPLETE, not a stale INIT or request.
        self.control.retain(|outgoing| matches!(outgoing.chunk, Chunk::Abort { .. } | Chunk::ShutdownComplete { .. }));
        self.handshake_timer.stop();
        self.shutdown_timer.stop();
        self.reconfig_timer.stop();
        if let Some(mut data) = self.data.take() {
            while let Some(event) = data.poll_event() {
                self.events.push_back(event);
            }
        }
        self.events.push_back(SctpEvent::Closed(error));
    }

    /// Adds SACK, FORWARD-TSN and DATA chunks to `builder` while they fit.
    fn fill_with_data(&mut self, now: Instant, builder: &mut PacketBuilder) {
        if !self.state.carries_data() {
            return;
        }
        let Some(data) = self.data.as_mut() else { return };
        if let Some(sack) = self.pending_sack.take().or_else(|| data.poll_sack(now)) {
            let chunk = Chunk::Sack(sack);
            if !builder.push(&chunk) {
                if let Chunk::Sack(sack) = chunk {
                    self.pending_sack = Some(sack);
                }
                return;
            }
        }
        if let Some(forward) = self.pending_forward_tsn.take().or_else(|| data.poll_forward_tsn(now)) {
            let chunk = Chunk::ForwardTsn(forward);
            if !builder.push(&chunk) {
                if let Chunk::ForwardTsn(forward) = chunk {
                    self.pending_forward_tsn = Some(forward);
                }
                return;
            }
        }
        if !self.state.sends_data() {
            return;
        }
        loop {
            // An empty packet takes a DATA chunk of any size: one cut for a larger MTU before the
            // path changed goes alone (past the MTU) rather than never.
            let room = if builder.is_empty() { usize::MAX } else { builder.room() };
            let Some(chunk) = data.poll_data(now, room) else { break };
            if !builder.push(&Chunk::Data(chunk)) {
                warn!("sctp: the send side gave a DATA chunk larger than the room left; it goes again on T3-rtx");
                break;
            }
        }
    }

    /// An INIT left in a packet: the first one starts the handshake's RTT measurement.
    fn note_init_sent(&mut self, now: Instant) {
        if self.init_sent.is_none() {
            self.init_sent = Some(now);
        }
    }

    fn finish(&mut self, builder: PacketBuilder) -> Vec<u8> {
        let bytes = builder.finish();
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        bytes
    }

    fn header(&self, tag: u32) -> CommonHeader {
        CommonHeader {
            source_port: self.config.local_port,
            destination_port: self.config.remote_port,
            verification_tag: tag,
        }
    }

    /// Our INIT (no cookie) or INIT-ACK (with one).
    fn our_init(&self, cookie: Option<Bytes>, report: Vec<Bytes>) -> Init {
        Init {
            initiate_tag: self.local_tag,
            a_rwnd: u32::try_from(self.config.max_receive_buffer).unwrap_or(u32::MAX),
            outbound_streams: self.config.max_streams,
            inbound_streams: self.config.max_streams,
            initial_tsn: self.local_initial_tsn,
            forward_tsn_supported: true,
            extensions: vec![kind::FORWARD_TSN, kind::RE_CONFIG],
            cookie,
            unrecognized: Vec::new(),
            reported_unrecognized: report,
        }
    }

    /// Queues a control chunk for the peer (needs its tag; dropped before it is known).
    fn reply(&mut self, chunk: Chunk) {
        if let Some(tag) = self.peer_tag() {
            self.queue_control(tag, chunk);
        }
    }

    fn queue_control(&mut self, tag: u32, chunk: Chunk) {
        if self.control.len() >= MAX_CONTROL_QUEUE {
            debug!("sctp: control queue full, {:?} chunk dropped", chunk.kind());
            return;
        }
        self.control.push_back(Outgoing { tag, chunk });
    }

    fn peer_tag(&self) -> Option<u32> {
        self.peer.map(|peer| peer.peer_tag)
    }

    fn rto(&self) -> Duration {
        self.data.as_ref().map_or(self.config.rto_initial, DataPlane::rto)
    }

    fn millis_since_epoch(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }
}

/// Whether a chunk must be the only one in its packet (RFC 9260 §6.10).
fn goes_alone(chunk: &Chunk) -> bool {
    matches!(chunk, Chunk::Init(_) | Chunk::InitAck(_) | Chunk::ShutdownComplete { .. })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod attack_tests;

#[cfg(test)]
mod mtu_tests;
