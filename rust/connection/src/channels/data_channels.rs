//! The channel table of one connection, above its SCTP association: DCEP (RFC 8832) opening
//! and acknowledgement, messages with their payload protocol ids (RFC 8831 §6.6), closing by
//! stream reset in both directions (RFC 8831 §6.7). Sans-IO: the connection hands it the
//! association's events and carries its commands to the association.
//!
//! Decisions where the RFCs leave a choice (the other side is hostile until proved otherwise):
//! - A DATA_CHANNEL_OPEN that RFC 8832 §6 does not allow is answered as it says, with no ACK
//!   and "the corresponding data channel" closed, and reported:
//!   - on a stream that already carries a channel (ours, negotiated or theirs): that channel is
//!     closed (as libdatachannel does). The other side could close it by a reset anyway, so this
//!     gives it no new power;
//!   - on a free stream of our parity, past [`ChannelLimits`] (64 live, 1024 over the
//!     connection's life, or none on a mesh's connection), or unreadable (truncated, unknown
//!     channel type, label or protocol longer than [`ChannelLimits::max_label_bytes`], not
//!     UTF-8): refused, our outgoing stream reset so the other side sees its channel close. At
//!     most [`MAX_REFUSED_OPENINGS`] refusals wait for the other side's reset (no channel of
//!     ours takes their streams meanwhile); past that a refusal sends no reset;
//!   - on the reserved stream 65535: dropped, nothing reset.
//! - A DCEP message of unknown type, an ACK nobody waits for, a message with a payload protocol
//!   id that is not 50, 51, 53, 56 or 57, and a message on a stream no open channel uses (or
//!   on one we are closing) are dropped without a word.
//! - A user message on a channel of ours waiting for its ACK counts as the ACK: the other side
//!   must have read our OPEN (as Chromium does; some peers send no ACK).
//! - When the other side resets its stream, we reset ours and report the channel closed at
//!   once: the association reports no end to our own reset.
//!
//! Memory: the table holds our channels (the application's to bound), at most
//! [`MAX_REMOTE_CHANNELS`](super::MAX_REMOTE_CHANNELS) of theirs and [`MAX_REFUSED_OPENINGS`]
//! refused streams. The command and event queues grow only by what one call brings (at most
//! a few entries, or one per channel when many close at once) and the connection drains them
//! after each call.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use bytes::Bytes;

use super::channel::{Channel, ChannelState, Origin, Phase};
use super::dcep::{DcepMessage, MAX_WIRE_LABEL_BYTES};
use super::limits::{MAX_REFUSED_OPENINGS, MAX_REPORTED_ERRORS};
use super::remote_opens::RemoteOpens;
use super::stream_ids::{opened_by, StreamIds, RESERVED_STREAM};
use super::{ChannelError, ChannelEvent, ChannelId, ChannelLimits, ChannelOptions, DtlsRole, SctpCommand};
use crate::sctp::{ppid, Message, Reliability, SctpEvent, SendOptions, StreamId};

/// How DCEP messages travel, whatever the channel's options: ordered and reliable (RFC 8832 §6).
const DCEP_SEND_OPTIONS: SendOptions = SendOptions { ordered: true, reliability: Reliability::Reliable };

/// The one byte an empty message is sent as (RFC 8831 §6.6: PPID 56 or 57, which the receiver
/// drops).
const EMPTY_MESSAGE_BYTE: &[u8] = &[0];

/// Where the association below is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AssociationState {
    /// Not established yet: openings wait.
    Connecting,
    /// Established.
    Connected,
    /// Ended: every channel is closed and none opens.
    Closed,
}

/// The data channels of one connection (see the module's documentation).
#[derive(Debug)]
pub struct DataChannels {
    role: DtlsRole,
    limits: ChannelLimits,
    association: AssociationState,
    channels: BTreeMap<StreamId, Channel>,
    stream_ids: StreamIds,
    remote_opens: RemoteOpens,
    /// Streams whose opening we refused and reset, until the other side resets them too.
    refused: BTreeSet<StreamId>,
    commands: VecDeque<SctpCommand>,
    events: VecDeque<ChannelEvent>,
    /// Errors reported so far (at most [`MAX_REPORTED_ERRORS`]).
    errors_reported: usize,
}

impl DataChannels {
    /// A layer with no channel, over an association not established yet. `role` is our side's
    /// DTLS role: the client opens channels on even stream ids, the server on odd ones.
    pub fn new(role: DtlsRole, limits: ChannelLimits) -> Self {
        Self {
            role,
            limits,
            association: AssociationState::Connecting,
            channels: BTreeMap::new(),
            stream_ids: StreamIds::new(role),
            remote_opens: RemoteOpens::default(),
            refused: BTreeSet::new(),
            commands: VecDeque::new(),
            events: VecDeque::new(),
            errors_reported: 0,
        }
    }

    /// Opens a channel. In-band (no `negotiated_id`): on the next free stream id of our parity,
    /// with a DATA_CHANNEL_OPEN sent at once, or once the association is up; it is open when
    /// [`ChannelEvent::Opened`] comes, and may carry messages as soon as its OPEN is sent.
    /// Negotiated: on that stream id, open (with its `Opened` event) once the association is up.
    pub fn open(&mut self, options: ChannelOptions) -> Result<ChannelId, ChannelError> {
        options.validate(&self.limits)?;
        if self.association == AssociationState::Closed {
            return Err(ChannelError::AssociationClosed);
        }
        let (stream, origin) = match options.negotiated_id {
            Some(stream) if self.is_taken(stream) => return Err(ChannelError::StreamInUse(stream)),
            Some(stream) => (stream, Origin::Negotiated),
            None => {
                let (channels, refused) = (&self.channels, &self.refused);
                let taken = |stream| channels.contains_key(&stream) || refused.contains(&stream);
                (self.stream_ids.allocate(taken).ok_or(ChannelError::NoFreeStream)?, Origin::Local)
            }
        };
        self.channels.insert(stream, Channel { options, origin, phase: Phase::AwaitingAssociation });
        if self.association == AssociationState::Connected {
            self.start(stream);
        }
        Ok(ChannelId(stream))
    }

    /// Sends one message, as text or binary (PPID 51 / 53; an empty one as 56 / 57 with one
    /// byte), with the channel's options (ordered until the ACK of our OPEN arrives).
    pub fn send(&mut self, id: ChannelId, data: Bytes, binary: bool) -> Result<(), ChannelError> {
        let channel = self.channels.get(&id.0).ok_or(ChannelError::UnknownChannel(id))?;
        if !channel.can_send() {
            return Err(ChannelError::NotOpen(id));
        }
        if data.len() > self.limits.max_message_size {
            return Err(ChannelError::MessageTooLarge { len: data.len(), max: self.limits.max_message_size });
        }
        let (ppid, data) = match (data.is_empty(), binary) {
            (false, false) => (ppid::STRING, data),
            (false, true) => (ppid::BINARY, data),
            (true, false) => (ppid::STRING_EMPTY, Bytes::from_static(EMPTY_MESSAGE_BYTE)),
            (true, true) => (ppid::BINARY_EMPTY, Bytes::from_static(EMPTY_MESSAGE_BYTE)),
        };
        self.commands.push_back(SctpCommand::Send { stream: id.0, ppid, data, options: channel.send_options() });
        Ok(())
    }

    /// Closes a channel: resets our outgoing stream; [`ChannelEvent::Closed`] comes once the
    /// other side reset its own. A channel that sent nothing yet closes at once. Closing a
    /// closing channel does nothing.
    pub fn close(&mut self, id: ChannelId) -> Result<(), ChannelError> {
        let channel = self.channels.get_mut(&id.0).ok_or(ChannelError::UnknownChannel(id))?;
        match channel.phase {
            Phase::Closing => {}
            Phase::AwaitingAssociation => {
                self.channels.remove(&id.0);
                self.events.push_back(ChannelEvent::Closed(id));
            }
            Phase::AwaitingAck | Phase::Open => {
                channel.phase = Phase::Closing;
                self.queue_reset(id.0);
            }
        }
        Ok(())
    }

    /// Takes one event of the association.
    pub fn handle_sctp_event(&mut self, event: SctpEvent) {
        match event {
            SctpEvent::Connected => self.on_connected(),
            SctpEvent::Message(message) => self.on_message(message),
            SctpEvent::StreamsReset(streams) => self.on_streams_reset(&streams),
            SctpEvent::Closed(_) => self.on_association_closed(),
        }
    }

    /// The next command for the association, in order.
    pub fn poll_command(&mut self) -> Option<SctpCommand> {
        self.commands.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ChannelEvent> {
        self.events.pop_front()
    }

    /// A channel's state, or None for a channel that is closed or never was.
    pub fn state(&self, id: ChannelId) -> Option<ChannelState> {
        self.channels.get(&id.0).map(Channel::state)
    }

    /// A channel's options (for a channel the other side opened, what it asked for), or None for
    /// a channel that is closed or never was.
    pub fn options(&self, id: ChannelId) -> Option<&ChannelOptions> {
        self.channels.get(&id.0).map(|channel| &channel.options)
    }

    /// Whether a new channel may not take this stream.
    fn is_taken(&self, stream: StreamId) -> bool {
        self.channels.contains_key(&stream) || self.refused.contains(&stream)
    }

    /// The association is up: sends the OPEN of a channel of ours, or opens a negotiated one.
    fn start(&mut self, stream: StreamId) {
        let Some(channel) = self.channels.get_mut(&stream) else { return };
        if channel.phase != Phase::AwaitingAssociation {
            return;
        }
        if channel.origin == Origin::Negotiated {
            channel.phase = Phase::Open;
            self.events.push_back(ChannelEvent::Opened(ChannelId(stream)));
        } else {
            channel.phase = Phase::AwaitingAck;
            let data = DcepMessage::Open(channel.options.to_open()).encode();
            self.commands.push_back(SctpCommand::Send { stream, ppid: ppid::DCEP, data, options: DCEP_SEND_OPTIONS });
        }
    }

    fn on_connected(&mut self) {
        if self.association != AssociationState::Connecting {
            return;
        }
        self.association = AssociationState::Connected;
        let waiting: Vec<StreamId> = self
            .channels
            .iter()
            .filter(|(_, channel)| channel.phase == Phase::AwaitingAssociation)
            .map(|(stream, _)| *stream)
            .collect();
        for stream in waiting {
            self.start(stream);
        }
    }

    fn on_message(&mut self, Message { stream, ppid, data }: Message) {
        match ppid {
            ppid::DCEP => self.on_dcep(stream, &data),
            ppid::STRING => self.deliver(stream, data, false),
            ppid::BINARY => self.deliver(stream, data, true),
            ppid::STRING_EMPTY => self.deliver(stream, Bytes::new(), false),
            ppid::BINARY_EMPTY => self.deliver(stream, Bytes::new(), true),
            _ => {}
        }
    }

    /// A user message: for the application if its channel is open (or waits for the ACK, which
    /// the message implies).
    fn deliver(&mut self, stream: StreamId, data: Bytes, binary: bool) {
        let Some(channel) = self.channels.get_mut(&stream) else { return };
        match channel.phase {
            Phase::AwaitingAssociation | Phase::Closing => return,
            Phase::AwaitingAck => {
                channel.phase = Phase::Open;
                self.events.push_back(ChannelEvent::Opened(ChannelId(stream)));
            }
            Phase::Open => {}
        }
        self.events.push_back(ChannelEvent::Message { id: ChannelId(stream), data, binary });
    }

    fn on_dcep(&mut self, stream: StreamId, bytes: &[u8]) {
        let max_label_bytes = self.limits.max_label_bytes.min(MAX_WIRE_LABEL_BYTES);
        match DcepMessage::parse(bytes, max_label_bytes) {
            Ok(DcepMessage::Ack) => {
                if let Some(channel) = self.channels.get_mut(&stream).filter(|c| c.phase == Phase::AwaitingAck) {
                    channel.phase = Phase::Open;
                    self.events.push_back(ChannelEvent::Opened(ChannelId(stream)));
                }
            }
            Ok(DcepMessage::Open(open)) => self.on_open(stream, Ok(ChannelOptions::from_open(open))),
            Err(ChannelError::UnknownDcepType(_)) => {}
            Err(_) if bytes.is_empty() => {}
            // Past those two, only a DATA_CHANNEL_OPEN (by its first byte) can be unreadable.
            Err(error) => self.on_open(stream, Err(error)),
        }
    }

    /// A DATA_CHANNEL_OPEN from the other side, read or not.
    fn on_open(&mut self, stream: StreamId, options: Result<ChannelOptions, ChannelError>) {
        if self.association == AssociationState::Closed || self.refused.contains(&stream) {
            return;
        }
        if self.channels.contains_key(&stream) {
            self.report(stream, ChannelError::DuplicateOpen(stream));
            // Cannot fail: the channel is there.
            let _ = self.close(ChannelId(stream));
            return;
        }
        if stream == RESERVED_STREAM {
            return self.report(stream, ChannelError::ReservedStream);
        }
        let admitted = if opened_by(self.role, stream) {
            Err(ChannelError::WrongParity(stream))
        } else {
            let live = self.channels.values().filter(|channel| channel.origin == Origin::Remote).count();
            self.remote_opens.admit(live, &self.limits).and(options)
        };
        match admitted {
            Ok(options) => {
                self.channels
                    .insert(stream, Channel { options: options.clone(), origin: Origin::Remote, phase: Phase::Open });
                let data = DcepMessage::Ack.encode();
                self.commands.push_back(SctpCommand::Send {
                    stream,
                    ppid: ppid::DCEP,
                    data,
                    options: DCEP_SEND_OPTIONS,
                });
                self.events.push_back(ChannelEvent::RemoteOpened { id: ChannelId(stream), options });
            }
            Err(reason) => {
                if self.refused.len() < MAX_REFUSED_OPENINGS {
                    self.refused.insert(stream);
                    self.queue_reset(stream);
                }
                self.report(stream, reason);
            }
        }
    }

    fn on_streams_reset(&mut self, streams: &[StreamId]) {
        for &stream in streams {
            if self.refused.remove(&stream) {
                continue;
            }
            let Some(channel) = self.channels.remove(&stream) else { continue };
            if channel.phase != Phase::Closing {
                // The other side closes: we reset ours too (RFC 8831 §6.7).
                self.queue_reset(stream);
            }
            self.events.push_back(ChannelEvent::Closed(ChannelId(stream)));
        }
    }

    fn on_association_closed(&mut self) {
        self.association = AssociationState::Closed;
        self.commands.clear();
        self.refused.clear();
        for stream in std::mem::take(&mut self.channels).into_keys() {
            self.events.push_back(ChannelEvent::Closed(ChannelId(stream)));
        }
    }

    /// Asks for our outgoing side of `stream` to be reset, in the last command if that is a reset
    /// too.
    fn queue_reset(&mut self, stream: StreamId) {
        match self.commands.back_mut() {
            Some(SctpCommand::ResetStreams(streams)) => {
                if !streams.contains(&stream) {
                    streams.push(stream);
                }
            }
            _ => self.commands.push_back(SctpCommand::ResetStreams(vec![stream])),
        }
    }

    /// Reports what the other side did wrong, while fewer than [`MAX_REPORTED_ERRORS`] were.
    fn report(&mut self, stream: StreamId, reason: ChannelError) {
        if self.errors_reported < MAX_REPORTED_ERRORS {
            self.errors_reported += 1;
            self.events.push_back(ChannelEvent::Error { id: ChannelId(stream), reason });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sctp::SctpError;

    fn connected(role: DtlsRole, limits: ChannelLimits) -> DataChannels {
        let mut channels = DataChannels::new(role, limits);
        channels.handle_sctp_event(SctpEvent::Connected);
        channels
    }

    fn commands(channels: &mut DataChannels) -> Vec<SctpCommand> {
        std::iter::from_fn(|| channels.poll_command()).collect()
    }

    fn events(channels: &mut DataChannels) -> Vec<ChannelEvent> {
        std::iter::from_fn(|| channels.poll_event()).collect()
    }

    fn message(stream: StreamId, ppid: u32, data: &[u8]) -> SctpEvent {
        SctpEvent::Message(Message { stream, ppid, data: Bytes::copy_from_slice(data) })
    }

    fn open_bytes(options: &ChannelOptions) -> Bytes {
        DcepMessage::Open(options.to_open()).encode()
    }

    fn dcep(stream: StreamId, data: Bytes) -> SctpCommand {
        SctpCommand::Send { stream, ppid: ppid::DCEP, data, options: DCEP_SEND_OPTIONS }
    }

    fn unreliable() -> ChannelOptions {
        ChannelOptions {
            label: "state".into(),
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            ..Default::default()
        }
    }

    /// A server layer that accepted the client's opening of `options` on stream 0.
    fn server_with_remote(options: &ChannelOptions) -> DataChannels {
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        server.handle_sctp_event(message(0, ppid::DCEP, &open_bytes(options)));
        commands(&mut server);
        events(&mut server);
        server
    }

    #[test]
    fn an_opening_before_the_association_waits_then_goes_ordered_and_reliable() {
        let mut client = DataChannels::new(DtlsRole::Client, ChannelLimits::default());
        let id = client.open(unreliable()).unwrap();
        assert_eq!(id, ChannelId(0));
        assert_eq!(client.state(id), Some(ChannelState::Connecting));
        assert_eq!(client.send(id, Bytes::from_static(b"early"), true), Err(ChannelError::NotOpen(id)));
        assert_eq!(commands(&mut client), vec![]);
        client.handle_sctp_event(SctpEvent::Connected);
        assert_eq!(commands(&mut client), vec![dcep(0, open_bytes(&unreliable()))]);
        assert_eq!(events(&mut client), vec![], "not open before the ACK");
    }

    #[test]
    fn messages_go_ordered_until_the_ack_then_as_the_channel_says() {
        let mut client = connected(DtlsRole::Client, ChannelLimits::default());
        let id = client.open(unreliable()).unwrap();
        commands(&mut client);
        client.send(id, Bytes::from_static(b"a"), true).unwrap();
        let before = SendOptions { ordered: true, reliability: Reliability::MaxRetransmits(0) };
        assert_eq!(
            commands(&mut client),
            vec![SctpCommand::Send { stream: 0, ppid: ppid::BINARY, data: Bytes::from_static(b"a"), options: before }]
        );
        client.handle_sctp_event(message(0, ppid::DCEP, &DcepMessage::Ack.encode()));
        assert_eq!(events(&mut client), vec![ChannelEvent::Opened(id)]);
        assert_eq!(client.state(id), Some(ChannelState::Open));
        client.send(id, Bytes::from_static(b"b"), false).unwrap();
        let after = SendOptions { ordered: false, reliability: Reliability::MaxRetransmits(0) };
        assert_eq!(
            commands(&mut client),
            vec![SctpCommand::Send { stream: 0, ppid: ppid::STRING, data: Bytes::from_static(b"b"), options: after }]
        );
        client.handle_sctp_event(message(0, ppid::DCEP, &DcepMessage::Ack.encode()));
        assert_eq!(events(&mut client), vec![], "a second ACK is dropped");
    }

    #[test]
    fn a_message_before_the_ack_stands_for_it() {
        let mut client = connected(DtlsRole::Client, ChannelLimits::default());
        let id = client.open(unreliable()).unwrap();
        client.handle_sctp_event(message(0, ppid::BINARY, b"hi"));
        assert_eq!(
            events(&mut client),
            vec![ChannelEvent::Opened(id), ChannelEvent::Message { id, data: Bytes::from_static(b"hi"), binary: true }]
        );
    }

    #[test]
    fn stream_ids_follow_the_dtls_role() {
        let mut client = connected(DtlsRole::Client, ChannelLimits::default());
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        let ids = |side: &mut DataChannels| (0..3).map(|_| side.open(unreliable()).unwrap().0).collect::<Vec<_>>();
        assert_eq!(ids(&mut client), vec![0, 2, 4]);
        assert_eq!(ids(&mut server), vec![1, 3, 5]);
    }

    #[test]
    fn a_remotely_opened_channel_keeps_the_reliability_its_opener_asked_for() {
        for ordered in [true, false] {
            for reliability in [
                Reliability::Reliable,
                Reliability::MaxRetransmits(0),
                Reliability::MaxRetransmits(5),
                Reliability::MaxLifetime(Duration::from_millis(120)),
            ] {
                let asked = ChannelOptions { ordered, reliability, priority: 512, ..unreliable() };
                let mut server = connected(DtlsRole::Server, ChannelLimits::default());
                server.handle_sctp_event(message(4, ppid::DCEP, &open_bytes(&asked)));
                let id = ChannelId(4);
                assert_eq!(events(&mut server), vec![ChannelEvent::RemoteOpened { id, options: asked.clone() }]);
                assert_eq!(commands(&mut server), vec![dcep(4, DcepMessage::Ack.encode())], "the ACK is reliable");
                assert_eq!((server.state(id), server.options(id)), (Some(ChannelState::Open), Some(&asked)));
                server.send(id, Bytes::from_static(b"x"), true).unwrap();
                let Some(SctpCommand::Send { options, .. }) = server.poll_command() else { panic!("not sent") };
                assert_eq!(options, SendOptions { ordered, reliability }, "no retransmission it did not ask for");
            }
        }
    }

    #[test]
    fn an_opening_on_our_parity_is_refused_and_on_the_reserved_stream_dropped() {
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        server.handle_sctp_event(message(1, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!(
            events(&mut server),
            vec![ChannelEvent::Error { id: ChannelId(1), reason: ChannelError::WrongParity(1) }]
        );
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![1])], "no ACK, a reset");
        assert_eq!(server.state(ChannelId(1)), None);
        // Until the other side answers the reset, our next channel does not take that stream.
        assert_eq!(server.open(unreliable()), Ok(ChannelId(3)));
        server.handle_sctp_event(message(65535, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!(
            events(&mut server),
            vec![ChannelEvent::Error { id: ChannelId(65535), reason: ChannelError::ReservedStream }]
        );
        assert_eq!(commands(&mut server), vec![dcep(3, open_bytes(&unreliable()))], "nothing for stream 65535");
    }

    #[test]
    fn a_second_opening_on_a_used_stream_closes_its_channel_as_rfc_8832_asks() {
        let mut server = server_with_remote(&unreliable());
        let other = ChannelOptions { label: "other".into(), ..Default::default() };
        server.handle_sctp_event(message(0, ppid::DCEP, &open_bytes(&other)));
        assert_eq!(
            events(&mut server),
            vec![ChannelEvent::Error { id: ChannelId(0), reason: ChannelError::DuplicateOpen(0) }]
        );
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![0])], "no second ACK");
        assert_eq!(server.state(ChannelId(0)), Some(ChannelState::Closing));
        assert_eq!(server.options(ChannelId(0)), Some(&unreliable()), "the options are the first opening's");
        server.handle_sctp_event(message(0, ppid::DCEP, &open_bytes(&other)));
        assert_eq!(commands(&mut server), vec![], "a closing channel is reset once");
        // So does an opening on a stream of ours that carries our channel.
        let mut client = connected(DtlsRole::Client, ChannelLimits::default());
        let id = client.open(unreliable()).unwrap();
        commands(&mut client);
        client.handle_sctp_event(message(id.0, ppid::DCEP, &open_bytes(&other)));
        assert_eq!(client.state(id), Some(ChannelState::Closing));
        assert_eq!(commands(&mut client), vec![SctpCommand::ResetStreams(vec![id.0])]);
    }

    #[test]
    fn empty_messages_travel_as_one_byte_with_ppid_56_and_57() {
        let mut server = server_with_remote(&ChannelOptions::default());
        let id = ChannelId(0);
        server.send(id, Bytes::new(), false).unwrap();
        server.send(id, Bytes::new(), true).unwrap();
        let sent: Vec<(u32, Bytes)> = commands(&mut server)
            .into_iter()
            .filter_map(|command| match command {
                SctpCommand::Send { ppid, data, .. } => Some((ppid, data)),
                SctpCommand::ResetStreams(_) => None,
            })
            .collect();
        assert_eq!(sent, vec![(56, Bytes::from_static(&[0])), (57, Bytes::from_static(&[0]))]);
        server.handle_sctp_event(message(0, ppid::STRING_EMPTY, &[0]));
        server.handle_sctp_event(message(0, ppid::BINARY_EMPTY, &[0]));
        assert_eq!(
            events(&mut server),
            vec![
                ChannelEvent::Message { id, data: Bytes::new(), binary: false },
                ChannelEvent::Message { id, data: Bytes::new(), binary: true }
            ]
        );
    }

    #[test]
    fn what_nobody_asked_for_is_dropped_safely() {
        let mut server = server_with_remote(&ChannelOptions::default());
        for event in [
            message(0, 52, b"deprecated partial string"),
            message(0, 0, b"no ppid"),
            message(0, ppid::DCEP, &[0x04, 1, 2]),
            message(0, ppid::DCEP, &[]),
            message(2, ppid::BINARY, b"no channel here"),
            message(2, ppid::DCEP, &DcepMessage::Ack.encode()),
            message(3, ppid::STRING, b"nor here"),
            SctpEvent::StreamsReset(vec![8, 9]),
        ] {
            server.handle_sctp_event(event);
        }
        assert_eq!(events(&mut server), vec![]);
        assert_eq!(commands(&mut server), vec![]);
        assert_eq!(server.state(ChannelId(0)), Some(ChannelState::Open));
    }

    #[test]
    fn our_close_resets_our_stream_and_ends_when_the_other_side_resets_its_own() {
        let mut server = server_with_remote(&ChannelOptions::default());
        let id = ChannelId(0);
        server.close(id).unwrap();
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![0])]);
        assert_eq!(server.state(id), Some(ChannelState::Closing));
        assert_eq!(server.send(id, Bytes::from_static(b"late"), true), Err(ChannelError::NotOpen(id)));
        server.close(id).unwrap();
        server.handle_sctp_event(message(0, ppid::BINARY, b"in flight"));
        assert_eq!((commands(&mut server), events(&mut server)), (vec![], vec![]), "closing reads nothing");
        server.handle_sctp_event(SctpEvent::StreamsReset(vec![0]));
        assert_eq!(events(&mut server), vec![ChannelEvent::Closed(id)]);
        assert_eq!(commands(&mut server), vec![], "our stream is reset already");
        assert_eq!(server.state(id), None);
        assert_eq!(server.close(id), Err(ChannelError::UnknownChannel(id)));
    }

    #[test]
    fn the_other_sides_close_resets_ours_too() {
        let mut server = server_with_remote(&ChannelOptions::default());
        server.handle_sctp_event(SctpEvent::StreamsReset(vec![0]));
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![0])]);
        assert_eq!(events(&mut server), vec![ChannelEvent::Closed(ChannelId(0))]);
    }

    #[test]
    fn a_channel_that_sent_nothing_closes_at_once() {
        let mut client = DataChannels::new(DtlsRole::Client, ChannelLimits::default());
        let id = client.open(unreliable()).unwrap();
        client.close(id).unwrap();
        assert_eq!(events(&mut client), vec![ChannelEvent::Closed(id)]);
        client.handle_sctp_event(SctpEvent::Connected);
        assert_eq!(commands(&mut client), vec![]);
    }

    #[test]
    fn a_negotiated_channel_opens_with_the_association_and_sends_no_dcep() {
        let mut client = DataChannels::new(DtlsRole::Client, ChannelLimits::default());
        let options = ChannelOptions { negotiated_id: Some(7), ..unreliable() };
        let id = client.open(options.clone()).unwrap();
        assert_eq!(id, ChannelId(7));
        assert_eq!(client.open(options.clone()), Err(ChannelError::StreamInUse(7)));
        assert_eq!(events(&mut client), vec![]);
        client.handle_sctp_event(SctpEvent::Connected);
        assert_eq!(events(&mut client), vec![ChannelEvent::Opened(id)]);
        assert_eq!(commands(&mut client), vec![]);
        client.send(id, Bytes::from_static(b"x"), true).unwrap();
        let Some(SctpCommand::Send { options: sent, .. }) = client.poll_command() else { panic!("not sent") };
        assert!(!sent.ordered, "no ACK to wait for");
        let later = client.open(ChannelOptions { negotiated_id: Some(9), ..unreliable() }).unwrap();
        assert_eq!(events(&mut client), vec![ChannelEvent::Opened(later)]);
    }

    #[test]
    fn oversized_messages_and_labels_are_refused() {
        let limits = ChannelLimits { max_message_size: 10, ..Default::default() };
        let mut server = connected(DtlsRole::Server, limits);
        let id = server.open(unreliable()).unwrap();
        assert_eq!(
            server.send(id, Bytes::from(vec![0; 11]), true),
            Err(ChannelError::MessageTooLarge { len: 11, max: 10 })
        );
        assert!(server.send(id, Bytes::from(vec![0; 10]), true).is_ok());
        let long = ChannelOptions { label: "x".repeat(MAX_LABEL_BYTES_FOR_TEST + 1), ..Default::default() };
        assert!(matches!(server.open(long.clone()), Err(ChannelError::LabelTooLong { .. })));
        // The other side's too long label: refused, its stream reset.
        server.handle_sctp_event(message(2, ppid::DCEP, &open_bytes(&long)));
        assert_eq!(commands(&mut server).last(), Some(&SctpCommand::ResetStreams(vec![2])));
        assert!(matches!(
            events(&mut server).as_slice(),
            [ChannelEvent::Error { reason: ChannelError::LabelTooLong { .. }, .. }]
        ));
    }

    const MAX_LABEL_BYTES_FOR_TEST: usize = super::super::MAX_LABEL_BYTES;

    #[test]
    fn remote_openings_are_bounded_like_the_transports() {
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        let mut opened = 0;
        let mut resets = BTreeSet::new();
        let mut errors = 0;
        // Two thousand openings, each closed by the other side once 64 are live.
        for round in 0..2000_u16 {
            let stream = round * 2;
            server.handle_sctp_event(message(stream, ppid::DCEP, &open_bytes(&unreliable())));
            for event in events(&mut server) {
                match event {
                    ChannelEvent::RemoteOpened { .. } => opened += 1,
                    ChannelEvent::Error { .. } => errors += 1,
                    ChannelEvent::Closed(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            for command in commands(&mut server) {
                if let SctpCommand::ResetStreams(streams) = command {
                    resets.extend(streams);
                }
            }
            if round % 100 == 99 {
                // The other side closes its oldest live channels, and answers our resets.
                let live: Vec<StreamId> = server.channels.keys().copied().take(40).collect();
                server.handle_sctp_event(SctpEvent::StreamsReset(live));
                let answered: Vec<StreamId> = server.refused.iter().copied().collect();
                server.handle_sctp_event(SctpEvent::StreamsReset(answered));
            }
            assert!(server.channels.len() <= MAX_REMOTE_CHANNELS_FOR_TEST);
            assert!(server.refused.len() <= MAX_REFUSED_OPENINGS);
        }
        // 64 at first; 40 after each of the closes at rounds 99..=899; 24 after the one at 999,
        // as the 1024th opening (round 1023) is the last admitted.
        assert_eq!(opened, 64 + 9 * 40 + 24, "64 live, more as some close, none past the 1024th");
        assert_eq!(errors, MAX_REPORTED_ERRORS);
        assert!(!resets.is_empty());
        // Past the 1024th opening on this connection, none is admitted, though few are live.
        server.handle_sctp_event(SctpEvent::StreamsReset(server.channels.keys().copied().collect()));
        events(&mut server);
        server.handle_sctp_event(message(60_000, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!(events(&mut server), vec![]);
        assert_eq!(server.state(ChannelId(60_000)), None);
    }

    const MAX_REMOTE_CHANNELS_FOR_TEST: usize = super::super::MAX_REMOTE_CHANNELS;

    #[test]
    fn a_mesh_connection_refuses_every_remote_opening() {
        let limits = ChannelLimits { refuse_remote_opens: true, ..Default::default() };
        let mut server = connected(DtlsRole::Server, limits);
        server.handle_sctp_event(message(0, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![0])]);
        assert_eq!(
            events(&mut server),
            vec![ChannelEvent::Error { id: ChannelId(0), reason: ChannelError::RemoteOpensRefused }]
        );
        // The same opening again before the other side answered our reset: nothing more.
        server.handle_sctp_event(message(0, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!((commands(&mut server), events(&mut server)), (vec![], vec![]));
        server.handle_sctp_event(SctpEvent::StreamsReset(vec![0]));
        assert_eq!((commands(&mut server), events(&mut server)), (vec![], vec![]));
    }

    #[test]
    fn a_flood_of_refused_openings_queues_one_reset_command() {
        let limits = ChannelLimits { refuse_remote_opens: true, ..Default::default() };
        let mut server = connected(DtlsRole::Server, limits);
        for stream in (0..20_000_u16).step_by(2) {
            server.handle_sctp_event(message(stream, ppid::DCEP, &open_bytes(&unreliable())));
        }
        let commands = commands(&mut server);
        assert_eq!(commands.len(), 1);
        assert!(matches!(&commands[0], SctpCommand::ResetStreams(streams) if streams.len() == MAX_REFUSED_OPENINGS));
        assert_eq!(events(&mut server).len(), MAX_REPORTED_ERRORS);
    }

    #[test]
    fn an_unreadable_opening_on_a_free_stream_is_refused() {
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        server.handle_sctp_event(message(0, ppid::DCEP, &[0x03, 0x00, 0, 0]));
        assert_eq!(commands(&mut server), vec![SctpCommand::ResetStreams(vec![0])]);
        assert!(matches!(
            events(&mut server).as_slice(),
            [ChannelEvent::Error { reason: ChannelError::MalformedDcep(_), .. }]
        ));
    }

    #[test]
    fn garbage_never_panics_and_memory_stays_bounded() {
        let mut server = connected(DtlsRole::Server, ChannelLimits::default());
        let id = server.open(unreliable()).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..50_000 {
            let word = next();
            let [a, b, c, d, e, f, g, h] = word.to_le_bytes();
            let stream = u16::from_le_bytes([a, b & 0x01]);
            let ppid = [0, 50, 50, 50, 51, 52, 53, 54, 56, 57][usize::from(c % 10)];
            let mut data = vec![d, e, f, g, h, a, b, c, d, e, f, g];
            data.truncate(usize::from(h % 16));
            if c % 3 == 0 {
                if let Some(first) = data.first_mut() {
                    *first = 0x03;
                }
            }
            let event = match word % 23 {
                0 => SctpEvent::StreamsReset(vec![stream, stream ^ 1]),
                _ => message(stream, ppid, &data),
            };
            server.handle_sctp_event(event);
            while server.poll_event().is_some() {}
            while server.poll_command().is_some() {}
            assert!(server.channels.len() <= MAX_REMOTE_CHANNELS_FOR_TEST + 1);
            assert!(server.refused.len() <= MAX_REFUSED_OPENINGS);
        }
        // Our own channel may have been closed by a forged reset; if not, it still works.
        if server.state(id).is_some() {
            assert!(server.close(id).is_ok());
        }
    }

    #[test]
    fn the_end_of_the_association_closes_every_channel() {
        let mut server = server_with_remote(&ChannelOptions::default());
        let ours = server.open(unreliable()).unwrap();
        server.handle_sctp_event(SctpEvent::Closed(SctpError::Aborted));
        assert_eq!(events(&mut server), vec![ChannelEvent::Closed(ChannelId(0)), ChannelEvent::Closed(ours)]);
        assert_eq!(commands(&mut server), vec![], "nothing left to send");
        assert_eq!(server.open(unreliable()), Err(ChannelError::AssociationClosed));
        server.handle_sctp_event(message(2, ppid::DCEP, &open_bytes(&unreliable())));
        assert_eq!(events(&mut server), vec![]);
    }
}

#[cfg(test)]
mod attack_tests;
