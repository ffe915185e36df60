//! The relayed path beside ICE's direct one (issue 21), on virtual time: a pair whose direct
//! path is blocked connects through the relay; the direct path, once open, takes over without
//! losing, repeating or reordering a message; a cut direct path moves traffic to the relay within
//! 2 s and the pair never fails; with neither path alive the pair fails after the consent timeout
//! and not before; a peer that did not announce relay is never relayed to; a hostile relay
//! (garbage, STUN, replayed and forged records) changes nothing. Figures are printed.

mod relay_support;

use std::time::Duration;

use connection::connection::{ConnectionEvent, ConnectionFailure, ConnectionState, PathKind};
use connection::ice_dtls::{FailureReason, Timeouts, RELAY_KEEPALIVE};
use netsim::{LinkConfig, Side};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use relay_support::{check_in_order, Options, Relayed, Workload};

/// Paced messages: 64 bytes every 10 ms (a game's state at 100 Hz), reliable and ordered.
const PACE: Duration = Duration::from_millis(10);

fn blocked_direct(seed: u64) -> Relayed {
    let mut pair = Relayed::new(Options::new(seed));
    pair.set_direct(LinkConfig::outage());
    pair.set_relay(true);
    pair
}

fn path_changes(end: &relay_support::End) -> Vec<(Duration, PathKind)> {
    end.events
        .iter()
        .filter_map(|(at, event)| match event {
            ConnectionEvent::PathChanged(kind) => Some((*at, *kind)),
            _ => None,
        })
        .collect()
}

fn never_disconnected(end: &relay_support::End) -> bool {
    end.first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Disconnected)).is_none()
}

#[test]
fn a_blocked_direct_path_connects_through_the_relay_and_carries_1000_ordered_messages() {
    let mut times = Vec::new();
    for seed in 1..=5 {
        let mut pair = blocked_direct(seed);
        assert!(pair.a.conn.remote_relay() && pair.c.conn.remote_relay());
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()), "seed {seed}");
        let connected = pair.a.connected_at().max(pair.c.connected_at()).expect("connected");
        let open = pair.elapsed();
        times.push((connected, open));
        assert_eq!(path_changes(&pair.a), vec![(path_changes(&pair.a)[0].0, PathKind::Relayed)]);
        assert_eq!(pair.a.conn.stats().path, Some(PathKind::Relayed));
        pair.start_workload(Workload::Bulk { total: 1000, size: 200 });
        assert!(pair.run_until(Duration::from_secs(30), |pair| pair.c.arrivals.len() == 1000), "seed {seed}");
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count, 1000);
        // ICE fails on the blocked direct path (15 s); the relay keeps the pair alive.
        pair.run_for(Duration::from_secs(30));
        assert_eq!(pair.a.failure(), None, "seed {seed}");
        assert_eq!(pair.c.failure(), None, "seed {seed}");
        assert_eq!(pair.a.conn.state(), ConnectionState::Connected);
        assert!(pair
            .a
            .first(|event| *event == ConnectionEvent::IceStateChanged(connection::ice_dtls::IceState::Failed))
            .is_some());
        let stats = pair.a.conn.stats();
        assert!(stats.relayed_datagrams_sent > 0 && stats.relayed_datagrams_received > 0);
        assert_eq!(pair.direct.stats(Side::A).delivered.datagrams, 0);
    }
    for (seed, (connected, open)) in times.iter().enumerate() {
        println!(
            "FIGURE relay, direct blocked, seed {}: connected via relay at {connected:?}, channel open at {open:?}",
            seed + 1
        );
    }
}

#[test]
fn the_direct_path_takes_over_without_losing_repeating_or_reordering_a_message() {
    for seed in 1..=5 {
        let mut pair = blocked_direct(seed);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(20) });
        pair.run_for(Duration::from_secs(3));
        let unblocked = pair.elapsed();
        pair.set_direct(Options::new(seed).direct);
        assert!(
            pair.run_until(Duration::from_secs(12), |pair| pair.a.conn.stats().path == Some(PathKind::Direct)
                && pair.c.conn.stats().path == Some(PathKind::Direct)),
            "seed {seed}: {:?} / {:?}",
            path_changes(&pair.a),
            path_changes(&pair.c)
        );
        let upgraded = pair.elapsed();
        pair.run_for(Duration::from_secs(20).saturating_sub(pair.elapsed()) + Duration::from_secs(2));
        let (count, gap) =
            check_in_order(&pair.c.arrivals, (upgraded - Duration::from_secs(2), upgraded + Duration::from_secs(1)));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}: every message arrived once");
        assert_eq!(pair.a.failure(), None);
        let relayed_after = pair.relay.stats(Side::A).delivered.datagrams;
        pair.run_for(Duration::from_secs(2));
        assert!(pair.relay.stats(Side::A).delivered.datagrams - relayed_after <= 2, "records stay on the direct path");
        println!(
            "FIGURE relay upgrade, seed {seed}: direct unblocked at {unblocked:?}, both on it at {upgraded:?}; {count} messages in order, \
             longest gap at the upgrade {gap:?}; path changes A {:?} C {:?}",
            path_changes(&pair.a),
            path_changes(&pair.c)
        );
        assert!(gap < Duration::from_millis(200), "seed {seed}: gap {gap:?}");
    }
}

#[test]
fn a_cut_direct_path_moves_traffic_to_the_relay_within_2_s_and_back_without_a_failure() {
    for seed in 1..=5 {
        let mut pair = Relayed::new(Options::new(seed));
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.set_relay(true);
        assert_eq!(pair.a.conn.stats().path, Some(PathKind::Direct));
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(30) });
        pair.run_for(Duration::from_secs(3));
        let cut = pair.elapsed();
        pair.set_direct(LinkConfig::outage());
        assert!(
            pair.run_until(Duration::from_secs(4), |pair| pair.a.conn.stats().path == Some(PathKind::Relayed)
                && pair.c.conn.stats().path == Some(PathKind::Relayed)),
            "seed {seed}: {:?}\n{:?}",
            pair.a.events,
            pair.c.events
        );
        let moved = pair.elapsed() - cut;
        pair.run_until(Duration::from_secs(10) - moved, |_| false);
        pair.set_direct(Options::new(seed).direct);
        let restored = pair.elapsed();
        assert!(pair.run_until(Duration::from_secs(15), |pair| pair.a.conn.stats().path == Some(PathKind::Direct)
            && pair.c.conn.stats().path == Some(PathKind::Direct)));
        let back = pair.elapsed() - restored;
        pair.run_for(Duration::from_secs(32).saturating_sub(pair.elapsed()));
        let (count, gap) = check_in_order(&pair.c.arrivals, (cut, cut + moved + Duration::from_secs(1)));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}: every message arrived once");
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None));
        assert!(never_disconnected(&pair.a) && never_disconnected(&pair.c), "seed {seed}");
        println!(
            "FIGURE relay fall-back, seed {seed}: direct cut at {cut:?}, both on the relay {moved:?} later (longest gap at the fall-back {gap:?}); \
             restored at {restored:?}, back on direct {back:?} later; {count} messages in order; switches A {} C {}",
            pair.a.conn.stats().path_switches,
            pair.c.conn.stats().path_switches
        );
        assert!(moved <= Duration::from_secs(2), "seed {seed}: {moved:?}");
    }
}

#[test]
fn with_neither_path_alive_the_pair_fails_after_the_consent_timeout_and_not_before() {
    let failed = Timeouts::default().failed;
    for (seed, withdraw) in [(1, false), (2, true), (3, false)] {
        let mut pair = blocked_direct(seed);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        // Past ICE's own failure on the blocked direct path: only the relay lives.
        pair.run_for(Duration::from_secs(20));
        assert_eq!(pair.a.failure(), None);
        let cut = pair.elapsed();
        pair.set_relay_link(LinkConfig::outage());
        if withdraw {
            pair.set_relay(false);
        }
        pair.run_for(failed + Duration::from_secs(5));
        for end in [&pair.a, &pair.c] {
            let disconnected = end
                .first(|event| *event == ConnectionEvent::StateChanged(ConnectionState::Disconnected))
                .expect("disconnected first");
            let (at, event) = end.failure().expect("failed");
            // Disconnected 5 s after the last record heard, failed 10 s later.
            let timeouts = Timeouts::default();
            assert_eq!(at - disconnected, timeouts.failed - timeouts.disconnected);
            assert_eq!(event, ConnectionEvent::Failed(ConnectionFailure::Path(FailureReason::ConsentExpired)));
            let after = at - cut;
            println!("FIGURE relay gone, seed {seed} (relay withdrawn: {withdraw}): failed {after:?} after the relay went silent");
            // Failed counts from the last record heard: the peer's last keepalive before the cut.
            assert!(after >= failed - RELAY_KEEPALIVE && after <= failed + Duration::from_secs(1), "{after:?}");
        }
    }
}

#[test]
fn a_peer_that_did_not_announce_relay_is_never_relayed_to() {
    let mut pair = Relayed::new(Options { c_relay: false, ..Options::new(7) });
    pair.set_direct(LinkConfig::outage());
    assert!(!pair.a.conn.remote_relay() && pair.c.conn.remote_relay());
    pair.set_relay(true);
    // C's description has no relay attribute; A's does (C ignores it: relay is off there).
    pair.run_for(Duration::from_secs(20));
    assert_eq!(pair.relay.stats(Side::A).sent.datagrams + pair.relay.stats(Side::B).sent.datagrams, 0);
    let (_, event) = pair.a.failure().expect("ICE fails as without a relay");
    assert_eq!(event, ConnectionEvent::Failed(ConnectionFailure::Path(FailureReason::IceFailed)));
    assert!(pair.a.first(|event| matches!(event, ConnectionEvent::PathChanged(_))).is_none());
    // Relayed datagrams are not taken either.
    let mut lone = Relayed::new(Options { c_relay: false, ..Options::new(8) });
    lone.set_direct(LinkConfig::outage());
    lone.set_relay(true);
    lone.inject_relayed(Side::A, vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    lone.run_for(Duration::from_secs(1));
    assert_eq!(lone.c.conn.stats().relayed_datagrams_received, 1);
    assert_eq!(lone.c.conn.stats().path, None);
}

/// A forged datagram of a kind a lying relay would send.
fn forged(rng: &mut StdRng, tapped: &[(Side, Vec<u8>)]) -> Vec<u8> {
    let mut body = vec![0; rng.random_range(1..300)];
    rng.fill_bytes(&mut body);
    match rng.random_range(0..5) {
        // Not DTLS at all, and STUN (a Binding request's header).
        0 => body,
        1 => [&[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42][..], &body].concat(),
        // DTLS application data in epoch 1: garbage ciphertext.
        2 => [&[23, 0xfe, 0xfd, 0, 1][..], &body].concat(),
        // A record the relay carried, replayed as is or with a bit flipped.
        3 | 4 if !tapped.is_empty() => {
            let mut record = tapped[rng.random_range(0..tapped.len())].1.clone();
            if rng.random_range(0..2) == 0 {
                let at = rng.random_range(13..record.len().max(14)).min(record.len() - 1);
                record[at] ^= 0x10;
            }
            record
        }
        _ => [&[22, 0xfe, 0xfd, 0, 0][..], &body].concat(),
    }
}

#[test]
fn a_hostile_relay_changes_nothing() {
    for seed in 1..=3 {
        let mut pair = blocked_direct(seed);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(8) });
        let mut rng = StdRng::seed_from_u64(seed);
        let mut injected = 0;
        for _ in 0..80 {
            pair.run_for(Duration::from_millis(50));
            for side in [Side::A, Side::B] {
                let tapped: Vec<(Side, Vec<u8>)> =
                    pair.tapped.iter().filter(|(from, _)| *from == side).cloned().collect();
                for _ in 0..5 {
                    let datagram = forged(&mut rng, &tapped);
                    pair.inject_relayed(side, datagram);
                    injected += 1;
                }
            }
        }
        pair.run_for(Duration::from_secs(10).saturating_sub(pair.elapsed()));
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None), "seed {seed}");
        assert_eq!(count as u32, pair.a.sent, "seed {seed}");
        assert_eq!(pair.a.conn.state(), ConnectionState::Connected);
        println!(
            "FIGURE hostile relay, seed {seed}: {injected} forged, replayed or foreign datagrams via the relay; {count} messages in order"
        );
    }
}

#[test]
fn the_relay_attribute_is_written_at_the_session_level_only_when_relay_is_on() {
    use connection::connection::{Connection, ConnectionConfig, DescriptionKind};
    use connection::sdp::RELAY_ATTRIBUTE;
    let now = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    let mut on =
        Connection::new(ConnectionConfig { relay: true, ..ConnectionConfig::default() }, &mut rng, now).unwrap();
    let mut off = Connection::new(ConnectionConfig::default(), &mut rng, now).unwrap();
    let offer = on.create_offer().unwrap();
    let session = &offer[..offer.find("m=").unwrap()];
    assert!(session.contains(&format!("a={RELAY_ATTRIBUTE}\r\n")), "{offer}");
    assert_eq!(offer.matches(RELAY_ATTRIBUTE).count(), 1);
    off.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    assert!(off.remote_relay());
    let answer = off.create_answer().unwrap();
    assert!(!answer.contains(RELAY_ATTRIBUTE), "{answer}");
    on.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();
    assert!(!on.remote_relay());
    // Said before it is allowed, or on a connection that never announced: nothing happens.
    on.set_relay_path(now, true);
    off.set_relay_path(now, true);
    assert_eq!((on.stats().path, off.stats().path), (None, None));
}

#[test]
fn an_ice_restart_while_relayed_finds_the_direct_path_again() {
    use connection::connection::DescriptionKind;
    for seed in 1..=3 {
        let mut pair = blocked_direct(seed);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(28) });
        // ICE gives up on the blocked direct path at 15 s; the relay carries on.
        pair.run_for(Duration::from_secs(20));
        assert_eq!(pair.a.conn.stats().path, Some(PathKind::Relayed));
        pair.set_direct(Options::new(seed).direct);
        let now = pair.now;
        // Offer and answer as the relay would carry them (here: at once).
        pair.a.conn.restart_ice(now).unwrap();
        let offer = pair.a.conn.create_offer().unwrap();
        pair.c.conn.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
        let answer = pair.c.conn.create_answer().unwrap();
        pair.a.conn.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();
        let restarted = pair.elapsed();
        assert!(
            pair.run_until(Duration::from_secs(10), |pair| pair.a.conn.stats().path == Some(PathKind::Direct)
                && pair.c.conn.stats().path == Some(PathKind::Direct)),
            "seed {seed}: {:?}\n{:?}\n{:?} {:?}",
            pair.a.events,
            pair.c.events,
            pair.direct.stats(Side::A),
            pair.direct.stats(Side::B)
        );
        let upgraded = pair.elapsed() - restarted;
        pair.run_for(Duration::from_secs(30).saturating_sub(pair.elapsed()));
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}");
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None));
        println!("FIGURE relay ICE restart, seed {seed}: both on direct {upgraded:?} after the restart; {count} messages in order");
    }
}

#[test]
fn an_ice_restart_signaled_in_band_finds_the_direct_path_again_without_descriptions() {
    use connection::connection::SignalingState;
    for seed in 1..=3 {
        let mut pair = blocked_direct(seed);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(28) });
        pair.run_for(Duration::from_secs(20));
        assert_eq!(pair.a.conn.stats().path, Some(PathKind::Relayed));
        pair.set_direct(Options::new(seed).direct);
        let now = pair.now;
        assert!(pair.a.conn.offered_first() && !pair.c.conn.offered_first());
        // What the transport's RESTART envelopes carry: credentials and candidate lines.
        pair.a.conn.restart_ice(now).unwrap();
        let (ufrag, pwd, candidates) = pair.a.conn.local_ice();
        pair.c.conn.restart_ice(now).unwrap();
        // Hostile input first: refused credentials change nothing, bad lines are skipped.
        assert!(pair.c.conn.set_remote_ice(now, "a:b", &pwd, &candidates).is_err());
        assert!(pair.c.conn.set_remote_ice(now, &ufrag, "short", &candidates).is_err());
        let mut lines = vec!["garbage".to_owned(), "candidate:1 2 udp 1 10.0.0.1 9 typ host".to_owned()];
        lines.extend(candidates);
        pair.c.conn.set_remote_ice(now, &ufrag, &pwd, &lines).unwrap();
        let (ufrag, pwd, candidates) = pair.c.conn.local_ice();
        pair.a.conn.set_remote_ice(now, &ufrag, &pwd, &candidates).unwrap();
        let restarted = pair.elapsed();
        assert!(
            pair.run_until(Duration::from_secs(10), |pair| pair.a.conn.stats().path == Some(PathKind::Direct)
                && pair.c.conn.stats().path == Some(PathKind::Direct)),
            "seed {seed}: {:?}\n{:?}",
            pair.a.events,
            pair.c.events
        );
        let upgraded = pair.elapsed() - restarted;
        pair.run_for(Duration::from_secs(30).saturating_sub(pair.elapsed()));
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}");
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None));
        let signaling = (pair.a.conn.signaling_state(), pair.c.conn.signaling_state());
        assert_eq!(signaling, (SignalingState::Stable, SignalingState::Stable), "no description involved");
        println!(
            "FIGURE relay in-band ICE restart, seed {seed}: both on direct {upgraded:?} after the exchange; {count} messages in order"
        );
    }
}

#[test]
fn a_flapping_direct_path_switches_at_most_once_per_hold_and_loses_nothing() {
    for seed in 1..=3 {
        let mut pair = Relayed::new(Options::new(seed));
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.set_relay(true);
        pair.start_workload(Workload::Paced { interval: PACE, size: 64, until: Duration::from_secs(40) });
        let flapping = pair.elapsed();
        // Direct up 1.2 s, down 1.8 s, for 30 s.
        for _ in 0..10 {
            pair.set_direct(LinkConfig::outage());
            pair.run_for(Duration::from_millis(1800));
            pair.set_direct(Options::new(seed).direct);
            pair.run_for(Duration::from_millis(1200));
        }
        pair.run_for(Duration::from_secs(43).saturating_sub(pair.elapsed()));
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}");
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None));
        let switches =
            |end: &relay_support::End| path_changes(end).iter().filter(|(at, _)| *at >= flapping).count() as u32;
        let (a, c) = (switches(&pair.a), switches(&pair.c));
        println!(
            "FIGURE relay flapping direct path (1.2 s up, 1.8 s down, 30 s), seed {seed}: switches A {a} C {c}; \
             {count} messages in order"
        );
        // Fall-backs go at once, upgrades at most once per SWITCH_HOLD: about two switches per
        // hold at worst, against 20 changes of the link.
        let bound = 2 * (30 / connection::ice_dtls::SWITCH_HOLD.as_secs() as u32 + 1);
        assert!(a <= bound && c <= bound, "seed {seed}: {a} / {c} switches");
    }
}

#[test]
fn a_lossy_relay_still_connects_and_delivers_in_order() {
    for seed in 1..=3 {
        let mut options = Options::new(seed);
        options.relay = options.relay.with_loss(0.05);
        let mut pair = Relayed::new(options);
        pair.set_direct(LinkConfig::outage());
        pair.set_relay(true);
        assert!(pair.run_until(Duration::from_secs(10), |pair| pair.a.is_open() && pair.c.is_open()), "seed {seed}");
        let open = pair.elapsed();
        pair.start_workload(Workload::Bulk { total: 1000, size: 200 });
        assert!(pair.run_until(Duration::from_secs(30), |pair| pair.c.arrivals.len() == 1000), "seed {seed}");
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        println!(
            "FIGURE relay at 5% loss, direct blocked, seed {seed}: channel open at {open:?}, 1000 x 200 B in order by {:?}",
            pair.elapsed()
        );
        assert_eq!(count, 1000);
    }
}
