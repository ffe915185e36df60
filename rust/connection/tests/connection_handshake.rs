//! Two connections on a clean simulated link: offer and answer, roles, channels both ways,
//! closing a channel and the connection.

mod connection_support;

use std::time::Duration;

use bytes::Bytes;
use connection::channels::{ChannelId, ChannelOptions, ChannelState};
use connection::connection::{ConnectionEvent, ConnectionState, SignalingState};
use connection::sctp::Reliability;
use connection_support::{deliver_answer, pair, reliable, run_until_open, unreliable, Setup};
use netsim::LinkConfig;

fn clean() -> LinkConfig {
    LinkConfig::default().with_latency(Duration::from_millis(20))
}

#[test]
fn a_clean_link_connects_and_carries_messages_both_ways() {
    let setup = Setup::new(1, clean()).with_channel(reliable("chat")).with_channel(unreliable("state"));
    let (mut pair, channels) = pair(&setup);
    // The offerer opened its channels before knowing its role; answerers answer `active`, so
    // it is the DTLS server and keeps the odd ids it was given.
    assert_eq!(channels, vec![ChannelId(1), ChannelId(3)]);
    assert_eq!(pair.a.conn.signaling_state(), SignalingState::Stable);
    assert_eq!(pair.b.conn.signaling_state(), SignalingState::Stable);
    assert!(run_until_open(&mut pair, 2, Duration::from_secs(2)), "a: {:?}\nb: {:?}", pair.a.events, pair.b.events);
    let (a_connected, b_connected) = (pair.a.connected_at().unwrap(), pair.b.connected_at().unwrap());
    let open = pair.a.channel_open_at().unwrap().max(pair.b.channel_open_at().unwrap());
    println!(
        "clean link, 20 ms each way: DTLS connected at {a_connected:?} / {b_connected:?}, channels open at {open:?}"
    );
    // ICE (a check round trip and the nomination) then DTLS (two round trips) then SCTP (two)
    // and DCEP (one): a handful of 40 ms round trips.
    assert!(open < Duration::from_millis(600), "{open:?}");
    assert_eq!(pair.a.conn.state(), ConnectionState::Connected);
    // Both sides announce 256 KiB, what the association takes.
    assert_eq!((pair.a.conn.max_message_size(), pair.b.conn.max_message_size()), (256 * 1024, 256 * 1024));

    // B sees what A asked for, reliability included.
    let options = pair.b.conn.channel_options(ChannelId(3)).cloned().unwrap();
    assert_eq!(
        (options.label.as_str(), options.ordered, options.reliability),
        ("state", false, Reliability::MaxRetransmits(0))
    );

    // B, the DTLS client, opens on even ids.
    let now = pair.now;
    let b_channel = pair.b.conn.open_channel(now, reliable("from b")).unwrap();
    assert_eq!(b_channel, ChannelId(0));
    assert!(pair.run_until(Duration::from_secs(1), |a, b| a.remote_channel().is_some()
        && b.events.iter().any(|(_, e)| *e == ConnectionEvent::ChannelOpened(ChannelId(0)))));

    let now = pair.now;
    pair.a.conn.send(now, ChannelId(1), Bytes::from_static(b"hello b"), false).unwrap();
    pair.b.conn.send(now, ChannelId(0), Bytes::from_static(b"hello a"), true).unwrap();
    pair.b.conn.send(now, ChannelId(1), Bytes::new(), true).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |a, b| a.arrivals.len() == 2 && b.arrivals.len() == 1));
    assert_eq!((pair.b.arrivals[0].channel, pair.b.arrivals[0].len), (ChannelId(1), 7));
    let mut at_a: Vec<(ChannelId, usize)> =
        pair.a.arrivals.iter().map(|arrival| (arrival.channel, arrival.len)).collect();
    at_a.sort();
    assert_eq!(at_a, vec![(ChannelId(0), 7), (ChannelId(1), 0)], "the empty message arrives empty");

    // A closes "chat": both sides see it closed.
    let now = pair.now;
    pair.a.conn.close_channel(now, ChannelId(1)).unwrap();
    let closed = |events: &[(Duration, ConnectionEvent)]| {
        events.iter().any(|(_, event)| *event == ConnectionEvent::ChannelClosed(ChannelId(1)))
    };
    assert!(pair.run_until(Duration::from_secs(2), |a, b| closed(&a.events) && closed(&b.events)));
    assert_eq!(pair.a.conn.channel_state(ChannelId(1)), None);
    assert_eq!(pair.a.conn.channel_state(ChannelId(3)), Some(ChannelState::Open));

    // A closes the connection: B sees it closed (SCTP ABORT, DTLS close_notify), with its channels.
    let now = pair.now;
    pair.a.conn.close(now);
    assert_eq!(pair.a.conn.state(), ConnectionState::Closed);
    assert_eq!(pair.a.conn.signaling_state(), SignalingState::Closed);
    assert!(pair.run_until(Duration::from_secs(2), |_, b| b.conn.state() == ConnectionState::Closed));
    assert!(pair.b.events.iter().any(|(_, event)| *event == ConnectionEvent::ChannelClosed(ChannelId(3))));
    assert!(pair.b.failure().is_none(), "{:?}", pair.b.failure());
    pair.run_for(Duration::from_secs(5));
    assert_eq!((pair.a.conn.poll_timeout(), pair.b.conn.poll_timeout()), (None, None), "nothing left to do");
    assert_eq!(pair.stuck_deadlines(), 0);
}

#[test]
fn negotiated_channels_open_on_both_sides_without_dcep() {
    let negotiated = ChannelOptions { negotiated_id: Some(7), ..unreliable("state") };
    let setup = Setup::new(2, clean()).with_channel(negotiated.clone());
    let (mut pair, channels) = pair(&setup);
    assert_eq!(channels, vec![ChannelId(7)]);
    let now = pair.now;
    assert_eq!(pair.b.conn.open_channel(now, negotiated).unwrap(), ChannelId(7));
    let opened = |events: &[(Duration, ConnectionEvent)]| {
        events.iter().any(|(_, event)| *event == ConnectionEvent::ChannelOpened(ChannelId(7)))
    };
    assert!(pair.run_until(Duration::from_secs(2), |a, b| opened(&a.events) && opened(&b.events)));
    let now = pair.now;
    pair.b.conn.send(now, ChannelId(7), Bytes::from_static(b"state"), true).unwrap();
    assert!(pair.run_until(Duration::from_secs(1), |a, _| a.arrivals.len() == 1));
    assert!(pair.a.remote_channel().is_none() && pair.b.remote_channel().is_none());
}

#[test]
fn a_channel_the_answerer_opened_before_the_offer_takes_an_even_id() {
    use connection::connection::{Connection, ConnectionConfig, DescriptionKind};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Instant;

    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    let mut a = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let mut b = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    // B opens a channel before it knows it will answer: it is given an odd id as if it offered.
    let early = b.open_channel(now, reliable("early")).unwrap();
    assert_eq!(early, ChannelId(1));
    let offer = a.create_offer().unwrap();
    assert!(offer.contains("a=setup:actpass"));
    b.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let answer = b.create_answer().unwrap();
    assert!(answer.contains("a=setup:active"));
    let events: Vec<ConnectionEvent> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(
        events.contains(&ConnectionEvent::ChannelRenumbered { from: ChannelId(1), to: ChannelId(0) }),
        "{events:?}"
    );
    assert_eq!(b.channel_state(ChannelId(0)), Some(ChannelState::Connecting));
    a.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();
    assert_eq!(a.state(), ConnectionState::Connecting);
}

#[test]
fn negotiated_channels_keep_their_ids_when_early_in_band_ones_are_renumbered() {
    use connection::connection::{Connection, ConnectionConfig, DescriptionKind};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Instant;

    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(4);
    let mut a = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let mut b = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    // Before the offer, B opens an in-band channel (odd, as if it were the server), one it closes
    // at once, and a negotiated one on stream 0, which the client's in-band channels would take.
    let in_band = b.open_channel(now, reliable("in band")).unwrap();
    let closed = b.open_channel(now, reliable("closed")).unwrap();
    b.close_channel(now, closed).unwrap();
    let negotiated = b.open_channel(now, ChannelOptions { negotiated_id: Some(0), ..reliable("negotiated") }).unwrap();
    assert_eq!((in_band, closed, negotiated), (ChannelId(1), ChannelId(3), ChannelId(0)));
    let offer = a.create_offer().unwrap();
    b.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let events: Vec<ConnectionEvent> = std::iter::from_fn(|| b.poll_event()).collect();
    assert!(events.contains(&ConnectionEvent::ChannelClosed(closed)));
    assert!(events.contains(&ConnectionEvent::ChannelRenumbered { from: in_band, to: ChannelId(2) }), "{events:?}");
    assert!(!events.iter().any(|event| matches!(event, ConnectionEvent::ChannelError { .. })), "{events:?}");
    assert_eq!(b.channel_options(ChannelId(0)).map(|options| options.label.as_str()), Some("negotiated"));
    assert_eq!(b.channel_options(ChannelId(2)).map(|options| options.label.as_str()), Some("in band"));
}

#[test]
fn checks_that_reach_the_offerer_before_the_answer_are_kept_and_answered() {
    let setup = Setup { hold_answer: true, ..Setup::new(5, clean()).with_channel(reliable("chat")) };
    let (mut pair, _) = pair(&setup);
    // B checks A's candidate at once; the answer takes 300 ms through signaling.
    pair.run_for(Duration::from_millis(300));
    assert!(pair.net.stats(netsim::Side::B).delivered.datagrams > 0, "B's checks reached A");
    assert_eq!(pair.a.conn.state(), ConnectionState::New);
    deliver_answer(&mut pair);
    let answered = pair.now;
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(2)));
    let open = pair.a.channel_open_at().unwrap().max(pair.b.channel_open_at().unwrap());
    println!("answer 300 ms late: channels open {:?} after it", (pair.a.start + open) - answered);
    assert!((pair.a.start + open) - answered < Duration::from_millis(400));
}

#[test]
fn a_description_without_max_message_size_means_64_kib() {
    use connection::connection::{Connection, ConnectionConfig, DescriptionKind};
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Instant;

    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(6);
    let mut a = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let mut b = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let offer = a.create_offer().unwrap();
    assert_eq!(a.local_candidate_section(), Some((Some("0"), 0)));
    assert_eq!(b.local_candidate_section(), None);
    let without: String =
        offer.split_inclusive("\r\n").filter(|line| !line.starts_with("a=max-message-size")).collect();
    assert_ne!(offer, without);
    b.set_remote_description(now, DescriptionKind::Offer, &without).unwrap();
    assert_eq!(b.max_message_size(), 64 * 1024);
    assert_eq!(b.local_candidate_section(), Some((Some("0"), 0)), "the offer's section");
}
