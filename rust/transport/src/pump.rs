//! The pump: drives a connection's sans-IO core in one fixed order (receive everything, run due
//! timers, turn the core's events into the handle's, hand received messages to their channels,
//! move queued packets into the core, send everything), at the time it reads once per pass. Runs
//! on whichever thread holds the core's lock: the connection's task on the runtime, or the
//! caller's thread in `poll` and `send`.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use connection::channels::ChannelId;
use connection::connection::ConnectionEvent;

use crate::channel::{message_cost, ChannelShared, ChannelSink, Packet, HOLD_LIMIT};
use crate::core::{Core, Gathering, HeldMessage, FAILED_TIMEOUT};
use crate::error::{excerpt, TransportError};
use crate::events::PeerEvent;
use crate::failure::{transport_error, Seen};
use crate::io::Io;
use crate::states::{ChannelState, ConnectionState, GatheringState, SignalingState};
use crate::udp::UdpPort;

/// How often the pump tries again to hand a held message to its full channel when nothing else
/// runs it (the game reading the channel does not wake the connection's task; its `poll` does).
const HELD_RETRY: Duration = Duration::from_millis(10);
/// Most messages a caller's pass may hand over and still leave their acknowledgement for the
/// caller's next call (an answer to them carries it); past it the traffic is bulk, and its sender
/// waits for the acknowledgements.
const MAX_ANSWERABLE: usize = 4;
/// Most datagrams such a pass may have read (for the same reason).
const MAX_ANSWERABLE_DATAGRAMS: usize = 2;
/// Socket reads per pump at most (each up to a batch of datagrams); the rest waits for the next.
const MAX_READS_PER_PUMP: usize = 32;
/// Events taken from the core per pump at most; the rest wait for the next pass (at once).
const MAX_EVENTS_PER_PUMP: usize = 4096;
/// Bytes a channel may have unsent in the core before further packets wait in its queue:
/// a few messages' worth, at least 32 KiB (small messages keep the core's queues short) and at
/// most 256 KiB (what a fast path sends from between two passes).
const MIN_SEND_WINDOW: usize = 32 * 1024;
const MAX_SEND_WINDOW: usize = 256 * 1024;

/// Who runs a pass of the pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// The connection's task on the runtime.
    Task,
    /// The caller's `poll`.
    Poll,
    /// Another call of the caller's (signaling, a new channel).
    Call,
}

impl Core {
    /// One pass of the pump at `now`, run by `driver`; returns when it next needs to run if
    /// nothing arrives. Channels the remote side opens hand their packets to `sink` (the
    /// connection's link).
    pub(crate) fn pump(
        &mut self,
        io: &Io,
        sink: &Weak<dyn ChannelSink>,
        driver: Driver,
        now: Instant,
    ) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let (received, more_to_read) = self.receive(io, now);
        let caller_keeps_up = driver == Driver::Poll && {
            if io.pace.caller_polled(now, received) {
                // A burst: the task reads along from now on, on its own thread.
                io.wake.notify_one();
            }
            io.pace.caller_keeps_up(now).is_some()
        };
        // Nothing came in, nothing is due and nothing waits to be sent since the last pass: the
        // rest has nothing to do.
        if received == 0
            && !self.unflushed
            && self.due_at.is_some_and(|at| at > now)
            && self.held.is_none()
            && !self.relay.has_waiting()
            && !self.channels.values().any(|channel| channel.has_queued())
        {
            return self.due_at;
        }
        self.run_timers(now);
        self.delivered = 0;
        let more_events = self.drain_events(io, sink, now);
        if self.closed {
            return None;
        }
        let queued = self.fill_from_queues(now);
        let relay_due = self.relay.step(&mut self.conn, now);
        // A caller that polls fast and keeps up (see `crate::pace`) sends what a pass that handed
        // it a message or a few makes with its next call, microseconds later: an answer it sends
        // to them meanwhile carries their acknowledgement (one datagram each way for a message
        // and its answer, not two). Bulk traffic is acknowledged at once: its sender waits for it.
        let answerable = (1..=MAX_ANSWERABLE).contains(&self.delivered) && received <= MAX_ANSWERABLE_DATAGRAMS;
        if caller_keeps_up && answerable && !queued {
            self.unflushed = true;
        } else {
            self.flush(io, now);
        }
        // Sends of this pass changed what the core holds unsent for each channel.
        for channel in self.channels.values() {
            channel.set_unsent_in_core(self.conn.buffered_amount(channel.core_id()));
        }
        let next = if more_to_read || more_events {
            Some(now)
        } else {
            [self.next_deadline(now), relay_due].into_iter().flatten().min()
        };
        self.due_at = next;
        // The task sleeps until its own deadline: wake it if this pass made an earlier one.
        if driver != Driver::Task && next.is_some_and(|at| io.pace.task_sleeps_past(at)) {
            io.wake.notify_one();
        }
        next
    }

    /// Reads every waiting datagram and hands it to the STUN/TURN clients, the mDNS client or
    /// the core. Returns how many were read and whether more may be waiting.
    fn receive(&mut self, io: &Io, now: Instant) -> (usize, bool) {
        let mut more_to_read = false;
        let mut received = 0;
        for reads in 1..=MAX_READS_PER_PUMP {
            let read = io.port.receive(|local, from, datagram| {
                if self.servers.handle_read(from, datagram, now) {
                    return;
                }
                self.dtls_heard |= is_dtls(datagram);
                self.conn.handle_datagram(now, local, from, datagram);
            });
            match read {
                Ok(0) => break,
                Ok(count) => {
                    received += count;
                    more_to_read = reads == MAX_READS_PER_PUMP;
                }
                Err(error) => {
                    log::debug!("receive failed: {error}");
                    break;
                }
            }
        }
        if let Some(Some(mdns)) = io.mdns.get() {
            let read = mdns.receive(|local, from, datagram| {
                self.mdns.handle_datagram(now, local, from, datagram);
            });
            match read {
                Ok(count) => received += count,
                Err(error) => log::debug!("mDNS receive failed: {error}"),
            }
        }
        // Datagrams of our peer that a mesh member relayed.
        received += self.relay.receive(&mut self.conn, now);
        // Relayed datagrams the TURN clients unwrapped: they came to the relayed address.
        while let Some((relayed, from, datagram)) = self.servers.poll_relayed() {
            received += 1;
            self.dtls_heard |= is_dtls(&datagram);
            self.conn.handle_datagram(now, relayed, from, &datagram);
        }
        (received, more_to_read)
    }

    fn run_timers(&mut self, now: Instant) {
        if self.conn.poll_timeout().is_some_and(|at| at <= now) {
            self.conn.handle_timeout(now);
        }
        self.servers.handle_timeout(now);
        self.mdns.handle_timeout(now);
    }

    /// When the pump must run next: the core's, the clients' or the mDNS queries' next deadline,
    /// or soon if a received message waits for room in its channel.
    fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        let held = self.held.as_ref().map(|_| now + HELD_RETRY);
        [self.conn.poll_timeout(), self.servers.poll_timeout(now), self.mdns.poll_timeout(), held]
            .into_iter()
            .flatten()
            .min()
    }

    /// Hands the core the candidates the clients gathered and the names mDNS resolved, then
    /// turns what the core reports into the handle's events and received messages into the
    /// channels' queues. A message for a reliable channel that is full is held, and nothing more
    /// is taken from the core until the game reads that channel (the core's SCTP window closes
    /// meanwhile, so the sender waits); a channel that stays full for [`HOLD_LIMIT`] is closed,
    /// with one error. Returns whether events were left for the next pass.
    fn drain_events(&mut self, io: &Io, sink: &Weak<dyn ChannelSink>, now: Instant) -> bool {
        while let Some(candidate) = self.servers.poll_candidate() {
            self.add_local_candidate(io, candidate, now);
        }
        if self.gathering == Gathering::Running && self.servers.done() {
            self.gathering = Gathering::Done;
            self.conn.end_of_local_candidates();
            io.push_event(PeerEvent::GatheringStateChanged(GatheringState::Complete));
        }
        while let Some(line) = self.mdns.poll_resolved() {
            self.add_resolved_candidate(&line, now);
        }
        if !self.deliver_held(io, now) {
            return false;
        }
        let mut batch: Vec<Packet> = Vec::new();
        let mut batch_channel: Option<ChannelId> = None;
        let (mut room, mut empty) = (usize::MAX, true);
        for _ in 0..MAX_EVENTS_PER_PUMP {
            let Some(event) = self.conn.poll_event() else {
                self.deliver(batch_channel, &mut batch);
                return false;
            };
            let event = match event {
                ConnectionEvent::Message { id, data, .. } if self.relay.is_relay_channel(id) => {
                    self.relay.on_message(&mut self.conn, &data, now);
                    continue;
                }
                event => event,
            };
            let ConnectionEvent::Message { id, data, binary } = event else {
                self.deliver(batch_channel.take(), &mut batch);
                self.on_event(io, sink, event, now);
                if self.closed {
                    return false;
                }
                continue;
            };
            let packet = Packet { data: BytesMut::from(data), is_string: !binary };
            if batch_channel != Some(id) {
                self.deliver(batch_channel, &mut batch);
                batch_channel = Some(id);
                (room, empty) = self.channels.get(&id).map_or((usize::MAX, true), |channel| channel.room());
            }
            let cost = message_cost(&packet);
            if cost > room && !(empty && batch.is_empty()) {
                self.deliver(batch_channel, &mut batch);
                self.held = Some(HeldMessage { channel: id, packet, since: now });
                return false;
            }
            room = room.saturating_sub(cost);
            batch.push(packet);
            self.delivered += 1;
        }
        self.deliver(batch_channel, &mut batch);
        true
    }

    /// One event of the core, other than a message.
    fn on_event(&mut self, io: &Io, sink: &Weak<dyn ChannelSink>, event: ConnectionEvent, now: Instant) {
        match event {
            ConnectionEvent::StateChanged(state) => self.report_state(io, ConnectionState::from_core(state), now),
            ConnectionEvent::SignalingStateChanged(state) => {
                io.push_event(PeerEvent::SignalingStateChanged(SignalingState::from_core(state)))
            }
            ConnectionEvent::Failed(failure) => {
                let seen = Seen {
                    ice: &self.ice,
                    dtls_heard: self.dtls_heard,
                    dtls_sent: self.dtls_sent,
                    handshake_budget: FAILED_TIMEOUT,
                };
                let error = transport_error(&failure, &seen);
                self.report_failure(io, error);
            }
            ConnectionEvent::ChannelOpened(id) if self.relay.on_channel_opened(id) => {}
            ConnectionEvent::ChannelClosed(id) if self.relay.on_channel_closed(id) => {}
            ConnectionEvent::ChannelRenumbered { from, to } if self.relay.on_channel_renumbered(from, to) => {}
            ConnectionEvent::ChannelOpened(id) => {
                if let Some(channel) = self.channels.get(&id) {
                    channel.set_stream_id(id.0);
                    channel.advance_state(ChannelState::Open);
                }
            }
            ConnectionEvent::RemoteChannel { id, options } => {
                if let Some(channel) = self.adopt_remote_channel(sink, id, options, now) {
                    channel.shared().advance_state(ChannelState::Open);
                    io.push_event(PeerEvent::DataChannelReceived(channel));
                }
            }
            ConnectionEvent::ChannelClosed(id) => {
                if let Some(channel) = self.channels.remove(&id) {
                    channel.drop_queued();
                    channel.set_state(ChannelState::Closed);
                }
            }
            ConnectionEvent::ChannelRenumbered { from, to } => {
                if let Some(channel) = self.channels.remove(&from) {
                    channel.set_core_id(to);
                    self.channels.insert(to, channel);
                }
            }
            ConnectionEvent::ChannelError { id, reason } => log::debug!("data channel {}: {reason}", id.0),
            ConnectionEvent::IceStateChanged(state) => log::debug!("ICE {state:?}"),
            ConnectionEvent::SelectedPair { local, remote } => log::debug!("selected pair {local} -> {remote}"),
            ConnectionEvent::PathChanged(kind) => {
                log::debug!("records now go {kind:?}");
                self.relay.on_path_changed(kind, now);
            }
            ConnectionEvent::Message { .. } => {}
        }
    }

    /// Reports a state of the core's to the handle; `Failed` comes with its error through
    /// [`Core::report_failure`], and nothing follows `Failed` or `Closed`.
    fn report_state(&mut self, io: &Io, state: ConnectionState, now: Instant) {
        let over = matches!(self.state, ConnectionState::Failed | ConnectionState::Closed);
        if over || state == ConnectionState::Failed || state == self.state {
            return;
        }
        self.state = state;
        io.push_event(PeerEvent::ConnectionStateChanged(state));
        if state == ConnectionState::Closed {
            // Closed by the remote side (DTLS close_notify, SCTP ABORT or SHUTDOWN).
            self.close(io, now);
        }
    }

    /// Reports the connection `failed`, for `reason`, once.
    fn report_failure(&mut self, io: &Io, reason: TransportError) {
        if matches!(self.state, ConnectionState::Failed | ConnectionState::Closed) {
            return;
        }
        self.state = ConnectionState::Failed;
        io.push_event(PeerEvent::Error(reason));
        io.push_event(PeerEvent::ConnectionStateChanged(ConnectionState::Failed));
    }

    /// Hands the held message to its channel if it has room now; closes the channel, with one
    /// error, once it has been full for [`HOLD_LIMIT`]. Returns whether nothing is held any more.
    fn deliver_held(&mut self, io: &Io, now: Instant) -> bool {
        let Some(held) = self.held.take() else { return true };
        let Some(channel) = self.channels.get(&held.channel).cloned() else { return true };
        let (room, empty) = channel.room();
        if empty || message_cost(&held.packet) <= room {
            channel.deliver([held.packet]);
            return true;
        }
        if now.saturating_duration_since(held.since) < HOLD_LIMIT {
            self.held = Some(held);
            return false;
        }
        self.close_channel(&channel, now);
        channel.set_state(ChannelState::Closed);
        io.push_event(PeerEvent::Error(TransportError::ReceiveBufferOverflow {
            label: excerpt(channel.label()),
            id: channel.stream_id(),
            limit: channel.receive_limit(),
        }));
        true
    }

    /// Hands a batch to its channel (messages for no channel of ours are dropped).
    fn deliver(&self, channel: Option<ChannelId>, batch: &mut Vec<Packet>) {
        if batch.is_empty() {
            return;
        }
        match channel.and_then(|id| self.channels.get(&id)) {
            Some(channel) => channel.deliver(batch.drain(..)),
            None => batch.clear(),
        }
    }

    /// Moves queued packets into the core while their channels have room; returns whether any
    /// packets were waiting.
    fn fill_from_queues(&mut self, now: Instant) -> bool {
        let waiting: Vec<Arc<ChannelShared>> =
            self.channels.values().filter(|channel| channel.has_queued()).cloned().collect();
        let any = !waiting.is_empty();
        for channel in waiting {
            while let Some(packet) = channel.next_queued() {
                if let Err(packet) = self.give_to_core(&channel, packet, now) {
                    channel.requeue(packet);
                    break;
                }
                // Counted as buffered again at once, so that buffered_amount stays within its
                // limit and one packet.
                channel.set_unsent_in_core(self.conn.buffered_amount(channel.core_id()));
            }
        }
        any
    }

    /// Sends a packet from the caller's thread: into the core and onto the wire at once. Gives the
    /// packet back if the channel has no room.
    pub(crate) fn send_now(
        &mut self,
        io: &Io,
        channel: &ChannelShared,
        packet: Packet,
        now: Instant,
    ) -> Result<(), Packet> {
        self.due_at = None;
        self.give_to_core(channel, packet, now)?;
        channel.set_unsent_in_core(self.conn.buffered_amount(channel.core_id()));
        self.flush(io, now);
        self.wake_task_if_due_sooner(io);
        Ok(())
    }

    /// Wakes the task if the core now needs to run before the task would wake (a retransmission
    /// timer a send started, say), so that the connection keeps going when the game stops polling.
    pub(crate) fn wake_task_if_due_sooner(&mut self, io: &Io) {
        if self.conn.poll_timeout().is_some_and(|at| io.pace.task_sleeps_past(at)) {
            io.wake.notify_one();
        }
    }

    fn give_to_core(&mut self, channel: &ChannelShared, packet: Packet, now: Instant) -> Result<(), Packet> {
        let window = (packet.data.len() * 4).clamp(MIN_SEND_WINDOW, MAX_SEND_WINDOW);
        if self.conn.buffered_amount(channel.core_id()) >= window {
            return Err(packet);
        }
        self.send_to_core(channel, packet, now)
    }

    /// Sends everything the core and the clients have to send.
    pub(crate) fn flush(&mut self, io: &Io, now: Instant) {
        self.unflushed = false;
        let mut batch = Batch::default();
        while let Some(transmit) = self.conn.poll_transmit(now) {
            self.dtls_sent |= is_dtls(&transmit.data);
            if self.servers.is_relayed(transmit.local) {
                self.servers.send_relayed(transmit.local, transmit.to, &transmit.data, now);
            } else {
                batch.push(&io.port, transmit.local, transmit.to, &transmit.data, io.port.max_segments());
            }
        }
        batch.send(&io.port);
        self.relay.flush(&mut self.conn, now);
        while let Some((to, datagram)) = self.servers.poll_write() {
            io.port.send(io.port.local_addr(), to, &datagram, None);
        }
        if self.mdns.is_resolving() {
            while let Some((to, query)) = self.mdns.poll_transmit() {
                if let Some(mdns) = io.mdns_port() {
                    mdns.send(mdns.local_addr(), to, &query, None);
                }
            }
        }
    }
}

/// Whether a datagram is DTLS (RFC 7983: first byte 20 to 63).
fn is_dtls(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20..=63))
}

/// Most bytes one segmented send may carry: the system refuses a send over one UDP datagram's
/// 64 KiB (and the whole batch would be lost).
const MAX_BATCH_BYTES: usize = 65_000;

/// Datagrams for one destination, sent together as one segmented send (GSO) where the system
/// has it: all of one size, the last possibly shorter.
#[derive(Default)]
struct Batch {
    path: Option<(SocketAddr, SocketAddr)>,
    bytes: Vec<u8>,
    segment: usize,
    count: usize,
}

impl Batch {
    fn push(&mut self, port: &UdpPort, local: SocketAddr, to: SocketAddr, datagram: &[u8], max_segments: usize) {
        let fits = self.path == Some((local, to))
            && datagram.len() <= self.segment
            && self.count < max_segments
            && self.bytes.len() + datagram.len() <= MAX_BATCH_BYTES;
        if !fits {
            self.send(port);
            self.path = Some((local, to));
            self.segment = datagram.len();
        }
        self.bytes.extend_from_slice(datagram);
        self.count += 1;
        if datagram.len() < self.segment {
            // A shorter datagram ends a segmented send.
            self.send(port);
        }
    }

    fn send(&mut self, port: &UdpPort) {
        if let Some((local, to)) = self.path.take() {
            let segment_size = (self.count > 1).then_some(self.segment);
            port.send(local, to, &self.bytes, segment_size);
        }
        self.bytes.clear();
        self.count = 0;
    }
}
