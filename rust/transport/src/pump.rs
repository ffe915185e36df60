//! The pump: moves a connection's core forward in one fixed order (receive everything, run due
//! timers, drain events, hand received messages to their channels, move queued packets into the
//! core, send everything). Runs on whichever thread holds the core's lock: the connection's task
//! on the runtime, or the caller's thread in `poll` and `send`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::data_channel::RTCDataChannelId;
use rtc::mdns::MDNS_PORT;
use rtc::peer_connection::event::{RTCDataChannelEvent, RTCPeerConnectionEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCIceConnectionState;
use rtc::peer_connection::transport::{RTCDtlsTransportState, RTCSctpTransportState};
use rtc::peer_connection::RTCPeerConnection;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use crate::channel::{message_cost, ChannelShared, Packet, HOLD_LIMIT};
use crate::core::{Core, Gathering, HeldMessage};
use crate::error::{excerpt, TransportError};
use crate::link::Link;
use crate::peer::PeerEvent;
use crate::states::{ChannelState, ConnectionState, GatheringState, SignalingState};
use crate::udp::UdpPort;

/// How often the pump tries again to hand a held message to its full channel when nothing else
/// runs it (the game reading the channel does not wake the connection's task; its `poll` does).
const HELD_RETRY: Duration = Duration::from_millis(10);
/// Socket reads per pump at most (each up to a batch of datagrams); the rest waits for the next.
const MAX_READS_PER_PUMP: usize = 32;
/// Bytes a channel may have unacknowledged in the core before further packets wait in its queue:
/// a few messages' worth, at least 32 KiB (small messages keep the core's queues short) and at
/// most 256 KiB (what a fast path needs in flight).
const MIN_SEND_WINDOW: usize = 32 * 1024;
const MAX_SEND_WINDOW: usize = 256 * 1024;

impl Core {
    /// One pass of the pump; returns when it next needs to run if nothing arrives.
    pub(crate) fn pump(&mut self, link: &Arc<Link>, via_runtime: bool, now: Instant) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let (received, more_to_read) = self.receive(link, via_runtime, now);
        // Nothing came in, nothing is due and nothing waits to be sent since the last pass: the
        // rest has nothing to do.
        if received == 0
            && self.due_at.is_some_and(|at| at > now)
            && self.held.is_none()
            && !self.channels.values().any(|channel| channel.has_queued())
        {
            return self.due_at;
        }
        self.replay_early_datagrams(now);
        self.run_timers(link, now);
        self.drain_events(link, now);
        self.drain_messages(link, now);
        self.fill_from_queues(now);
        self.flush(link, now);
        // Sends and acknowledgements of this pass changed what the channels have in flight.
        for channel in self.channels.values() {
            note_unacknowledged(&mut self.rtc, channel);
        }
        let next = if more_to_read { Some(now) } else { self.next_deadline(now) };
        self.due_at = next;
        // The task sleeps until its own deadline: wake it if this pass made an earlier one.
        if !via_runtime && next.is_some_and(|at| self.task_wakes_at.is_none_or(|wakes| at < wakes)) {
            link.wake.notify_one();
        }
        next
    }

    /// Reads every waiting datagram and hands it to the STUN/TURN clients or the core. Returns
    /// how many were read and whether more may be waiting.
    fn receive(&mut self, link: &Link, via_runtime: bool, now: Instant) -> (usize, bool) {
        let mut resends = Vec::new();
        let mut more_to_read = false;
        let mut received = 0;
        for reads in 1..=MAX_READS_PER_PUMP {
            let read = link.port.receive(via_runtime, |local, from, datagram| {
                if self.servers.handle_read(from, datagram, now) || !self.repairs.admits(from, datagram) {
                    return;
                }
                self.note_selection();
                resends.extend(self.repairs.on_received(local, from, datagram, now));
                self.feed(local, from, BytesMut::from(datagram), now);
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
        if let Some(Some(mdns)) = link.mdns.get() {
            let read = mdns.receive(via_runtime, |local, from, datagram| {
                if self.repairs.admits(from, datagram) {
                    self.feed(local, from, BytesMut::from(datagram), now);
                }
            });
            match read {
                Ok(count) => received += count,
                Err(error) => log::debug!("mDNS receive failed: {error}"),
            }
        }
        for (local, to, datagram) in resends {
            link.port.send(local, to, &datagram, None);
        }
        // Relayed datagrams the TURN clients unwrapped.
        while let Some((relayed, from, datagram)) = self.servers.poll_relayed() {
            received += 1;
            if !self.repairs.admits(from, &datagram) {
                continue;
            }
            self.repairs.on_received_relayed(from, &datagram, now);
            self.feed(relayed, from, datagram, now);
        }
        (received, more_to_read)
    }

    /// Hands the core one datagram received on `local` from `from`. Until the connection is up it
    /// also takes the core's events after every datagram: the core opens the pre-agreed channels'
    /// streams when it handles the event of the completed SCTP handshake, and the remote's first
    /// message may come in the same batch right after it.
    fn feed(&mut self, local: SocketAddr, from: SocketAddr, message: BytesMut, now: Instant) {
        let transport = TransportContext {
            local_addr: local,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        // mDNS answers come in here too (from port 5353); they are not the peer's.
        if from.port() != MDNS_PORT {
            self.handshake.on_received(&message, now);
        }
        if let Err(error) = self.rtc.handle_read(TaggedBytesMut { now, transport, message }) {
            log::debug!("datagram from {from}: {error}");
        }
        if self.state != ConnectionState::Connected {
            while let Some(event) = self.rtc.poll_event() {
                self.held_events.push(event);
            }
        }
    }

    fn replay_early_datagrams(&mut self, now: Instant) {
        self.note_selection();
        for (local, from, datagram) in self.repairs.due() {
            self.feed(local, from, BytesMut::from(&datagram[..]), now);
        }
    }

    /// Tells the repairs when ICE has selected a pair (the core takes DTLS from then on).
    fn note_selection(&mut self) {
        if self.repairs.waits_for_selection()
            && self
                .rtc
                .sctp()
                .is_some_and(|sctp| sctp.transport().ice_transport().get_selected_candidate_pair().is_some())
        {
            self.repairs.on_selected();
        }
    }

    fn run_timers(&mut self, link: &Link, now: Instant) {
        if self.rtc.poll_timeout().is_some_and(|at| at <= now) {
            match self.rtc.handle_timeout(now) {
                // rtc's DTLS handshake gave up; rtc itself keeps the connection `connecting`.
                Err(rtc::shared::error::Error::ErrInvalidFsmTransition) if self.state != ConnectionState::Connected => {
                    self.report_failure(link, TransportError::HandshakeFailed);
                }
                Err(error) => log::debug!("timer: {error}"),
                Ok(()) => {}
            }
        }
        self.servers.handle_timeout(now);
    }

    /// When the pump must run next: the core's, the clients' or the handshake watch's next
    /// deadline, now if early datagrams wait to be handed back, or soon if a received message
    /// waits for room in its channel.
    fn next_deadline(&mut self, now: Instant) -> Option<Instant> {
        let replays = self.repairs.has_due().then_some(now);
        let held = self.held.as_ref().map(|_| now + HELD_RETRY);
        [self.rtc.poll_timeout(), self.servers.poll_timeout(), replays, self.handshake.next_check(), held]
            .into_iter()
            .flatten()
            .min()
    }

    /// Turns what the core and the clients report into the handle's events.
    fn drain_events(&mut self, link: &Arc<Link>, now: Instant) {
        while let Some(candidate) = self.servers.poll_candidate() {
            self.add_local_candidate(candidate);
        }
        if self.gathering == Gathering::Running && self.servers.done() {
            self.gathering = Gathering::Done;
            self.add_local_candidate(Default::default());
        }
        for event in std::mem::take(&mut self.held_events) {
            self.on_rtc_event(link, event, now);
        }
        while let Some(event) = self.rtc.poll_event() {
            self.on_rtc_event(link, event, now);
        }
        self.look_for_remote_close(link, now);
        self.look_for_handshake_failure(link, now);
    }

    fn on_rtc_event(&mut self, link: &Arc<Link>, event: RTCPeerConnectionEvent, now: Instant) {
        {
            match event {
                RTCPeerConnectionEvent::OnIceCandidateEvent(event) => match event.candidate.to_json() {
                    Ok(init) => {
                        self.ice.local_candidate(&init.candidate);
                        link.push_event(PeerEvent::IceCandidateCreated {
                            mid: init.sdp_mid.filter(|mid| !mid.is_empty()).unwrap_or_else(|| "0".into()),
                            index: init.sdp_mline_index.unwrap_or(0),
                            candidate: init.candidate,
                        });
                    }
                    Err(error) => log::warn!("cannot describe a local ICE candidate: {error}"),
                },
                RTCPeerConnectionEvent::OnSignalingStateChangeEvent(state) => {
                    link.push_event(PeerEvent::SignalingStateChanged(SignalingState::from_rtc(state)))
                }
                RTCPeerConnectionEvent::OnIceGatheringStateChangeEvent(state) => {
                    link.push_event(PeerEvent::GatheringStateChanged(GatheringState::from_rtc(state)))
                }
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                    self.report_state(link, ConnectionState::from_rtc(state))
                }
                RTCPeerConnectionEvent::OnDataChannel(event) => self.on_channel_event(link, event),
                RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                    RTCIceConnectionState::Connected | RTCIceConnectionState::Completed,
                ) => self.handshake.on_ice_connected(now),
                _ => {}
            }
        }
    }

    fn report_state(&mut self, link: &Link, state: ConnectionState) {
        if state == ConnectionState::Failed {
            self.report_failure(link, self.ice.failure());
            return;
        }
        if state == self.state || self.state == ConnectionState::Closed {
            return;
        }
        if state == ConnectionState::Connected {
            self.handshake.on_connected();
            self.repairs.on_connected();
        }
        self.state = state;
        link.push_event(PeerEvent::ConnectionStateChanged(state));
    }

    /// Reports the connection `failed`, for `reason`, once.
    fn report_failure(&mut self, link: &Link, reason: TransportError) {
        if matches!(self.state, ConnectionState::Failed | ConnectionState::Closed) {
            return;
        }
        self.state = ConnectionState::Failed;
        link.push_event(PeerEvent::Error(reason));
        link.push_event(PeerEvent::ConnectionStateChanged(ConnectionState::Failed));
    }

    fn on_channel_event(&mut self, link: &Arc<Link>, event: RTCDataChannelEvent) {
        match event {
            RTCDataChannelEvent::OnOpen(id) => {
                if let Some(channel) = self.channels.get(&id) {
                    if let Some(stream_id) = self.rtc.data_channel(id).and_then(|channel| channel.stream_id()) {
                        channel.set_stream_id(stream_id);
                    }
                    channel.advance_state(ChannelState::Open);
                } else if let Some(channel) = self.adopt_remote_channel(&Arc::downgrade(link), id) {
                    channel.shared().advance_state(ChannelState::Open);
                    link.push_event(PeerEvent::DataChannelReceived(channel));
                }
            }
            RTCDataChannelEvent::OnClosing(id) => {
                if let Some(channel) = self.channels.get(&id) {
                    channel.advance_state(ChannelState::Closing);
                }
            }
            RTCDataChannelEvent::OnClose(id) => {
                if let Some(channel) = self.channels.remove(&id) {
                    channel.drop_queued();
                    channel.set_state(ChannelState::Closed);
                }
            }
            _ => {}
        }
    }

    /// Reports a close by the remote side, which the core does not report as a state: a DTLS
    /// close_notify closes the DTLS transport and the SCTP association, an SCTP ABORT or a
    /// completed SHUTDOWN closes the association, but the connection state stays `connected`
    /// (W3C counts a closed DTLS transport as connected) until ICE consent checks run out. Only
    /// an association whose handshake completed (it knows its stream counts) can have been
    /// closed: an SCTP server's association reads `closed` until the client's INIT arrives.
    fn look_for_remote_close(&mut self, link: &Link, _now: Instant) {
        if self.state != ConnectionState::Connected {
            return;
        }
        let Some(sctp) = self.rtc.sctp() else { return };
        if sctp.max_channels().is_none() {
            return;
        }
        let closed =
            sctp.state() == RTCSctpTransportState::Closed || sctp.transport().state() == RTCDtlsTransportState::Closed;
        if closed {
            self.report_state(link, ConnectionState::Closed);
            self.close(link);
        }
    }

    /// Reports a DTLS handshake that failed, which the core does not report (it logs the error
    /// and reads `connecting` for good): a fatal alert either way, or no DTLS from the remote side
    /// long after ICE connected ([`crate::handshake_watch`]).
    fn look_for_handshake_failure(&mut self, link: &Link, now: Instant) {
        if let Some(reason) = self.handshake.failure(now) {
            self.report_failure(link, reason);
        }
    }

    /// Hands every received message to its channel, while the channels take them. A message
    /// for a reliable channel that is full is held, and nothing more is read from the core until
    /// the game reads that channel (the core's SCTP window closes meanwhile, so the sender
    /// waits); a channel that stays full for [`HOLD_LIMIT`] is closed, with one error.
    fn drain_messages(&mut self, link: &Link, now: Instant) {
        if !self.deliver_held(link, now) {
            return;
        }
        let mut batch: Vec<Packet> = Vec::new();
        let mut batch_channel: Option<RTCDataChannelId> = None;
        let (mut room, mut empty) = (usize::MAX, true);
        while let Some(message) = self.rtc.poll_read() {
            let RTCMessage::DataChannelMessage(id, message) = message.message else { continue };
            let packet = Packet { data: message.data, is_string: message.is_string };
            if batch_channel != Some(id) {
                self.deliver(batch_channel, &mut batch);
                batch_channel = Some(id);
                (room, empty) = self.channels.get(&id).map_or((usize::MAX, true), |channel| channel.room());
            }
            let cost = message_cost(&packet);
            if cost > room && !(empty && batch.is_empty()) {
                self.held = Some(HeldMessage { channel: id, packet, since: now });
                break;
            }
            room = room.saturating_sub(cost);
            batch.push(packet);
        }
        self.deliver(batch_channel, &mut batch);
    }

    /// Hands the held message to its channel if it has room now; closes the channel, with one
    /// error, once it has been full for [`HOLD_LIMIT`]. Returns whether nothing is held any more.
    fn deliver_held(&mut self, link: &Link, now: Instant) -> bool {
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
        self.close_channel(&channel);
        channel.set_state(ChannelState::Closed);
        link.push_event(PeerEvent::Error(TransportError::ReceiveBufferOverflow {
            label: excerpt(channel.label()),
            id: channel.stream_id(),
            limit: channel.receive_limit(),
        }));
        true
    }

    /// Hands a batch to its channel (messages for no channel of ours are dropped).
    fn deliver(&self, channel: Option<RTCDataChannelId>, batch: &mut Vec<Packet>) {
        if batch.is_empty() {
            return;
        }
        match channel.and_then(|id| self.channels.get(&id)) {
            Some(channel) => channel.deliver(batch.drain(..)),
            None => batch.clear(),
        }
    }

    /// Moves queued packets into the core while their channels have room.
    fn fill_from_queues(&mut self, now: Instant) {
        let waiting: Vec<Arc<ChannelShared>> =
            self.channels.values().filter(|channel| channel.has_queued()).cloned().collect();
        for channel in waiting {
            while let Some(packet) = channel.next_queued() {
                if let Err(packet) = self.give_to_core(&channel, packet, now) {
                    channel.requeue(packet);
                    break;
                }
                // Counted as buffered again at once, so that buffered_amount stays within its
                // limit and one packet.
                note_unacknowledged(&mut self.rtc, &channel);
            }
        }
    }

    /// Sends a packet from the caller's thread: into the core and onto the wire at once. Gives the
    /// packet back if the channel has no room.
    pub(crate) fn send_now(
        &mut self,
        link: &Link,
        channel: &ChannelShared,
        packet: Packet,
        now: Instant,
    ) -> Result<(), Packet> {
        self.due_at = None;
        self.give_to_core(channel, packet, now)?;
        note_unacknowledged(&mut self.rtc, channel);
        self.flush(link, now);
        self.wake_task_if_due_sooner(link);
        Ok(())
    }

    /// Wakes the task if the core now needs to run before the task would wake (a retransmission
    /// timer a send started, say), so that the connection keeps going when the game stops polling.
    pub(crate) fn wake_task_if_due_sooner(&mut self, link: &Link) {
        if self.rtc.poll_timeout().is_some_and(|at| self.task_wakes_at.is_none_or(|wakes| at < wakes)) {
            link.wake.notify_one();
        }
    }

    fn give_to_core(&mut self, channel: &ChannelShared, packet: Packet, now: Instant) -> Result<(), Packet> {
        let Some(mut rtc_channel) = self.rtc.data_channel(channel.core_id) else {
            // The channel is gone from the core: the packet goes nowhere.
            return Ok(());
        };
        let window = (packet.data.len() * 4).clamp(MIN_SEND_WINDOW, MAX_SEND_WINDOW);
        if rtc_channel.outstanding_bytes() >= window {
            return Err(packet);
        }
        let sent = if packet.is_string {
            rtc_channel.send_text(now, String::from_utf8_lossy(&packet.data).into_owned())
        } else {
            rtc_channel.send(now, packet.data)
        };
        if let Err(error) = sent {
            log::debug!("data channel '{}': send failed: {error}", channel.label());
        }
        Ok(())
    }

    /// Sends everything the core and the clients have to send, at `now` (the connectivity
    /// checks' pacing counts from it).
    pub(crate) fn flush(&mut self, link: &Link, now: Instant) {
        let mut batch = Batch::default();
        while let Some(write) = self.rtc.poll_write() {
            let TaggedBytesMut { transport, message, now: made_at } = write;
            let (local, to) = (transport.local_addr, transport.peer_addr);
            self.handshake.on_sent(&message, made_at);
            for _ in 0..self.repairs.on_sending(local, to, &message, made_at) {
                self.send_datagram(link, &mut batch, (local, to), &message, made_at);
            }
        }
        for (local, to, check) in self.repairs.paced_checks(now) {
            self.send_datagram(link, &mut batch, (local, to), &check, now);
        }
        batch.send(&link.port);
        while let Some((to, datagram)) = self.servers.poll_write() {
            link.port.send(link.port.local_addr(), to, &datagram, None);
        }
    }
}

impl Core {
    /// Sends one datagram of the core's from `local` to `to`: to the mDNS socket, through a TURN
    /// relay, or into `batch`.
    fn send_datagram(
        &mut self,
        link: &Link,
        batch: &mut Batch,
        (local, to): (SocketAddr, SocketAddr),
        datagram: &[u8],
        now: Instant,
    ) {
        if to.port() == MDNS_PORT {
            if let Some(mdns) = mdns_port(link) {
                mdns.send(mdns.local_addr(), to, datagram, None);
            }
        } else if self.servers.is_relayed(local) {
            self.servers.send_relayed(local, to, datagram, now);
        } else {
            batch.push(&link.port, local, to, datagram, link.port.max_segments());
        }
    }
}

/// Copies what `rtc` holds unacknowledged for `channel` to the channel's handle.
fn note_unacknowledged(rtc: &mut RTCPeerConnection, channel: &ChannelShared) {
    let bytes = rtc.data_channel(channel.core_id).map_or(0, |rtc_channel| rtc_channel.outstanding_bytes());
    channel.set_unacknowledged(bytes);
}

/// The mDNS socket, made on first use (`None` where the system refuses one).
fn mdns_port(link: &Link) -> Option<&UdpPort> {
    let made = link.mdns.get_or_init(|| {
        // The socket registers with the shared runtime, whichever thread makes it.
        let runtime = crate::runtime::handle().ok()?;
        let _context = runtime.enter();
        let port = rtc::mdns::MulticastSocket::new().into_std().and_then(UdpPort::wrap);
        if port.is_ok() {
            // The task waits on it from its next pass on.
            link.wake.notify_one();
        }
        port.map_err(|error| log::info!("no mDNS socket, so .local candidates stay unresolved: {error}")).ok()
    });
    made.as_ref()
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
