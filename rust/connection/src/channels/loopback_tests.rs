//! Two data-channel layers wired through a tiny in-test loopback: each `Send` command of one
//! side arrives at the other as `SctpEvent::Message`, each `ResetStreams` as
//! `SctpEvent::StreamsReset`, in order and without loss (what the association guarantees for
//! reliable ordered messages). Whole channel lives: open, messages, close.

use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::sctp::{ppid, Message, Reliability, SctpEvent, SendOptions, StreamId};

/// One side of the loopback, with what it was told and what it sent.
struct Side {
    channels: DataChannels,
    events: Vec<ChannelEvent>,
    /// Every `Send` it asked for: stream, ppid, options.
    sent: Vec<(StreamId, u32, SendOptions)>,
}

/// The client (even stream ids) and the server (odd ones), and the association between them.
struct Loopback {
    client: Side,
    server: Side,
}

impl Loopback {
    fn new() -> Self {
        Self::with_server_limits(ChannelLimits::default())
    }

    fn with_server_limits(limits: ChannelLimits) -> Self {
        let side = |role, limits| Side { channels: DataChannels::new(role, limits), events: vec![], sent: vec![] };
        Self { client: side(DtlsRole::Client, ChannelLimits::default()), server: side(DtlsRole::Server, limits) }
    }

    /// The association comes up on both sides.
    fn connect(&mut self) {
        self.client.channels.handle_sctp_event(SctpEvent::Connected);
        self.server.channels.handle_sctp_event(SctpEvent::Connected);
        self.run();
    }

    /// Carries commands across and gathers events until neither side has anything to say.
    fn run(&mut self) {
        for _ in 0..1000 {
            let moved = carry(&mut self.client, &mut self.server) | carry(&mut self.server, &mut self.client);
            if !moved {
                return;
            }
        }
        panic!("the two sides never went quiet");
    }
}

/// Carries `from`'s commands to `to`; true if there were any. Gathers both sides' events.
fn carry(from: &mut Side, to: &mut Side) -> bool {
    let mut moved = false;
    while let Some(command) = from.channels.poll_command() {
        moved = true;
        let event = match command {
            SctpCommand::Send { stream, ppid, data, options } => {
                from.sent.push((stream, ppid, options));
                SctpEvent::Message(Message { stream, ppid, data })
            }
            SctpCommand::ResetStreams(streams) => SctpEvent::StreamsReset(streams),
        };
        to.channels.handle_sctp_event(event);
    }
    for side in [from, to] {
        side.events.extend(std::iter::from_fn(|| side.channels.poll_event()));
    }
    moved
}

fn game_state() -> ChannelOptions {
    ChannelOptions {
        label: "state".into(),
        protocol: "game/1".into(),
        ordered: false,
        reliability: Reliability::MaxRetransmits(0),
        ..Default::default()
    }
}

const DCEP: SendOptions = SendOptions { ordered: true, reliability: Reliability::Reliable };

#[test]
fn a_whole_life_open_messages_close() {
    let mut net = Loopback::new();
    let id = net.client.channels.open(game_state()).unwrap();
    net.run();
    assert!(net.server.events.is_empty(), "nothing goes before the association");
    net.connect();
    assert_eq!(net.client.events, vec![ChannelEvent::Opened(id)]);
    assert_eq!(net.server.events, vec![ChannelEvent::RemoteOpened { id, options: game_state() }]);
    assert_eq!(net.client.sent, vec![(0, ppid::DCEP, DCEP)], "the OPEN goes ordered and reliable");
    assert_eq!(net.server.sent, vec![(0, ppid::DCEP, DCEP)], "so does the ACK");
    net.client.events.clear();
    net.server.events.clear();

    net.client.channels.send(id, Bytes::from_static(b"hello"), false).unwrap();
    net.client.channels.send(id, Bytes::new(), true).unwrap();
    net.server.channels.send(id, Bytes::from_static(&[1, 2, 3]), true).unwrap();
    net.server.channels.send(id, Bytes::new(), false).unwrap();
    net.run();
    let message = |data: &'static [u8], binary| ChannelEvent::Message { id, data: Bytes::from_static(data), binary };
    assert_eq!(net.server.events, vec![message(b"hello", false), message(b"", true)]);
    assert_eq!(net.client.events, vec![message(&[1, 2, 3], true), message(b"", false)]);
    let game = SendOptions { ordered: false, reliability: Reliability::MaxRetransmits(0) };
    assert_eq!(net.client.sent[1..], [(0, ppid::STRING, game), (0, ppid::BINARY_EMPTY, game)]);
    assert_eq!(
        net.server.sent[1..],
        [(0, ppid::BINARY, game), (0, ppid::STRING_EMPTY, game)],
        "the side that did not open keeps the opener's reliability too"
    );
    net.client.events.clear();
    net.server.events.clear();

    net.client.channels.close(id).unwrap();
    net.run();
    assert_eq!(net.client.events, vec![ChannelEvent::Closed(id)]);
    assert_eq!(net.server.events, vec![ChannelEvent::Closed(id)]);
    assert_eq!((net.client.channels.state(id), net.server.channels.state(id)), (None, None));
}

#[test]
fn messages_sent_before_the_ack_arrive_after_the_opening_and_ordered() {
    let mut net = Loopback::new();
    net.connect();
    let id = net.client.channels.open(game_state()).unwrap();
    net.client.channels.send(id, Bytes::from_static(b"first"), true).unwrap();
    net.run();
    assert_eq!(
        net.server.events,
        vec![
            ChannelEvent::RemoteOpened { id, options: game_state() },
            ChannelEvent::Message { id, data: Bytes::from_static(b"first"), binary: true }
        ]
    );
    let ordered = SendOptions { ordered: true, reliability: Reliability::MaxRetransmits(0) };
    assert_eq!(net.client.sent, vec![(0, ppid::DCEP, DCEP), (0, ppid::BINARY, ordered)]);
}

#[test]
fn both_sides_open_at_once_without_colliding() {
    let mut net = Loopback::new();
    let timed = ChannelOptions {
        label: "chat".into(),
        reliability: Reliability::MaxLifetime(Duration::from_millis(250)),
        ..Default::default()
    };
    let from_client = net.client.channels.open(game_state()).unwrap();
    let from_server = net.server.channels.open(timed.clone()).unwrap();
    assert_ne!(from_client, from_server);
    net.connect();
    assert!(net.client.events.contains(&ChannelEvent::Opened(from_client)));
    assert!(net.client.events.contains(&ChannelEvent::RemoteOpened { id: from_server, options: timed.clone() }));
    assert!(net.server.events.contains(&ChannelEvent::Opened(from_server)));
    assert!(net.server.events.contains(&ChannelEvent::RemoteOpened { id: from_client, options: game_state() }));
    assert_eq!(net.client.channels.options(from_server), Some(&timed));
}

#[test]
fn the_side_that_did_not_open_may_close() {
    let mut net = Loopback::new();
    net.connect();
    let id = net.client.channels.open(game_state()).unwrap();
    net.run();
    net.server.channels.close(id).unwrap();
    net.run();
    assert_eq!(net.client.events.last(), Some(&ChannelEvent::Closed(id)));
    assert_eq!(net.server.events.last(), Some(&ChannelEvent::Closed(id)));
    assert_eq!((net.client.channels.state(id), net.server.channels.state(id)), (None, None));
    // Both sides are ready for more: a new channel (on our next id) opens and carries messages.
    let again = net.client.channels.open(ChannelOptions { label: "again".into(), ..Default::default() }).unwrap();
    net.run();
    assert!(net.client.events.contains(&ChannelEvent::Opened(again)));
    net.server.channels.send(again, Bytes::from_static(b"ok"), false).unwrap();
    net.run();
    assert_eq!(
        net.client.events.last(),
        Some(&ChannelEvent::Message { id: again, data: Bytes::from_static(b"ok"), binary: false })
    );
}

#[test]
fn negotiated_channels_carry_messages_without_dcep() {
    let mut net = Loopback::new();
    let options = ChannelOptions { negotiated_id: Some(3), ..game_state() };
    let on_client = net.client.channels.open(options.clone()).unwrap();
    let on_server = net.server.channels.open(options).unwrap();
    assert_eq!(on_client, on_server);
    net.connect();
    assert_eq!(net.client.events, vec![ChannelEvent::Opened(on_client)]);
    assert_eq!(net.server.events, vec![ChannelEvent::Opened(on_server)]);
    net.client.channels.send(on_client, Bytes::from_static(b"sync"), true).unwrap();
    net.run();
    assert_eq!(
        net.server.events.last(),
        Some(&ChannelEvent::Message { id: on_server, data: Bytes::from_static(b"sync"), binary: true })
    );
    assert!(net.client.sent.iter().all(|(_, ppid, _)| *ppid != ppid::DCEP));
    net.client.channels.close(on_client).unwrap();
    net.run();
    assert_eq!(net.server.events.last(), Some(&ChannelEvent::Closed(on_server)));
    assert_eq!(net.client.events.last(), Some(&ChannelEvent::Closed(on_client)));
}

#[test]
fn an_opening_the_other_side_refuses_ends_closed_on_both_sides() {
    let mut net = Loopback::with_server_limits(ChannelLimits { refuse_remote_opens: true, ..Default::default() });
    net.connect();
    let id = net.client.channels.open(game_state()).unwrap();
    net.client.channels.send(id, Bytes::from_static(b"lost"), true).unwrap();
    net.run();
    assert_eq!(net.client.events, vec![ChannelEvent::Closed(id)], "closed, never opened");
    assert_eq!(net.server.events, vec![ChannelEvent::Error { id, reason: ChannelError::RemoteOpensRefused }]);
    assert_eq!((net.client.channels.state(id), net.server.channels.state(id)), (None, None));
    // Both resets crossed, nothing is left over: a later opening is refused the same way.
    assert!(net.client.channels.open(game_state()).is_ok());
    net.run();
    assert_eq!(net.server.events.len(), 2, "refused again, reported again");
    assert_eq!((net.client.channels.state(ChannelId(2)), net.server.channels.state(ChannelId(2))), (None, None));
}

#[test]
fn random_lives_on_both_sides_always_agree() {
    let mut state = 0x0123_4567_89ab_cdef_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut net = Loopback::new();
    net.connect();
    let mut ids: Vec<ChannelId> = Vec::new();
    let mut delivered = 0;
    let mut most_live = 0;
    for _ in 0..3000 {
        let word = next();
        let client_acts = word & 1 == 0;
        let live: Vec<ChannelId> = {
            let side = if client_acts { &net.client } else { &net.server };
            ids.iter().copied().filter(|id| side.channels.state(*id).is_some()).collect()
        };
        most_live = most_live.max(live.len());
        let pick = live.get((word >> 8) as usize % live.len().max(1)).copied();
        match (word >> 1) % 8 {
            0 => {
                let reliability = match (word >> 8) % 3 {
                    0 => Reliability::Reliable,
                    1 => Reliability::MaxRetransmits((word >> 16) as u16 % 4),
                    _ => Reliability::MaxLifetime(Duration::from_millis((word >> 16) % 500)),
                };
                let options = ChannelOptions {
                    label: format!("c{}", word % 1000),
                    ordered: word & 0x100 == 0,
                    reliability,
                    ..Default::default()
                };
                let side = if client_acts { &mut net.client } else { &mut net.server };
                ids.push(side.channels.open(options).unwrap());
            }
            1 | 2 => {
                // A close runs alone: what is in flight arrives first, and nothing is sent while
                // the resets cross (a closing side reads nothing more, by design).
                net.run();
                let side = if client_acts { &mut net.client } else { &mut net.server };
                if let Some(id) = pick {
                    // A channel closed from the other side meanwhile is refused.
                    let _ = side.channels.close(id);
                }
                net.run();
            }
            _ => {
                let side = if client_acts { &mut net.client } else { &mut net.server };
                if let Some(id) = pick {
                    let data = Bytes::from(vec![0; (word >> 20) as usize % 64]);
                    if side.channels.send(id, data, word & 0x200 == 0).is_ok() {
                        delivered += 1;
                    }
                }
            }
        }
        if word % 5 == 0 {
            net.run();
            for id in &ids {
                let (client, server) = (net.client.channels.state(*id), net.server.channels.state(*id));
                assert_eq!(client, server, "channel {id:?} after a quiet loopback");
                assert!(client.is_none() || client == Some(ChannelState::Open));
                assert_eq!(net.client.channels.options(*id), net.server.channels.options(*id));
            }
        }
    }
    net.run();
    let messages = |side: &Side| side.events.iter().filter(|e| matches!(e, ChannelEvent::Message { .. })).count();
    let received = messages(&net.client) + messages(&net.server);
    println!(
        "random lives: {} channels opened (at most {most_live} at once), {delivered} messages sent, {received} received",
        ids.len()
    );
    assert_eq!(received, delivered, "a lossless loopback loses nothing on open channels");
    for id in &ids {
        let _ = net.client.channels.close(*id);
    }
    net.run();
    for id in &ids {
        assert_eq!((net.client.channels.state(*id), net.server.channels.state(*id)), (None, None));
    }
    let errors = net.client.events.iter().chain(&net.server.events).any(|e| matches!(e, ChannelEvent::Error { .. }));
    assert!(!errors, "two honest sides report no error");
}
