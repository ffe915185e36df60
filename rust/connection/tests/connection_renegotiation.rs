//! Offers and answers after the first exchange: a new offer that changes nothing, and an ICE
//! restart (new credentials both ways) while the channels keep carrying messages.

mod connection_support;

use std::time::Duration;

use bytes::Bytes;
use connection::channels::ChannelId;
use connection::connection::{ConnectionError, ConnectionState, DescriptionKind, SignalingState};
use connection::DtlsRole;
use connection_support::{pair, reliable, run_until_open, Peer, Setup};
use netsim::{LinkConfig, Pair};

fn ice_ufrag(description: &str) -> &str {
    description.lines().find_map(|line| line.strip_prefix("a=ice-ufrag:")).unwrap_or_default()
}

/// Two connections with one reliable channel open over a 20 ms path: a offered, so a is the
/// DTLS server and b the client.
fn connected(seed: u64) -> (Pair<Peer, Peer>, ChannelId) {
    let setup =
        Setup::new(seed, LinkConfig::default().with_latency(Duration::from_millis(20))).with_channel(reliable("chat"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(2)));
    (pair, channels[0])
}

/// Sends `rounds` messages each way on `channel`, one each 500 ms: all arrive.
fn exchange_messages(pair: &mut Pair<Peer, Peer>, channel: ChannelId, rounds: u32) {
    for round in 0..rounds {
        let now = pair.now;
        pair.a.conn.send(now, channel, Bytes::from(round.to_be_bytes().to_vec()), true).unwrap();
        pair.b.conn.send(now, channel, Bytes::from(round.to_be_bytes().to_vec()), true).unwrap();
        pair.run_for(Duration::from_millis(500));
    }
    let rounds = usize::try_from(rounds).unwrap();
    assert_eq!((pair.a.arrivals.len(), pair.b.arrivals.len()), (rounds, rounds));
}

#[test]
fn a_new_offer_after_connecting_changes_nothing_and_an_ice_restart_keeps_the_channels() {
    let (mut pair, channel) = connected(11);

    // The offerer offers again with the same credentials: answered, nothing restarts.
    let now = pair.now;
    let offer = pair.a.conn.create_offer().unwrap();
    pair.b.conn.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let answer = pair.b.conn.create_answer().unwrap();
    pair.a.conn.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();
    assert_eq!(
        (pair.a.conn.signaling_state(), pair.b.conn.signaling_state()),
        (SignalingState::Stable, SignalingState::Stable)
    );

    // An ICE restart: new credentials in the offer and in the answer, candidates carried along.
    let before = ice_ufrag(&offer).to_owned();
    assert_eq!(pair.a.conn.restart_ice(now), Ok(()));
    let offer = pair.a.conn.create_offer().unwrap();
    assert_ne!(ice_ufrag(&offer), before, "the restart's offer has new credentials");
    assert!(offer.contains("a=candidate:"));
    assert_eq!(
        pair.a.conn.restart_ice(now),
        Err(ConnectionError::WrongSignalingState { call: "restart_ice", state: SignalingState::HaveLocalOffer })
    );
    pair.b.conn.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let restarted = pair.b.conn.create_answer().unwrap();
    assert_ne!(ice_ufrag(&restarted), ice_ufrag(&answer), "the answer to a restart has new credentials");
    pair.a.conn.set_remote_description(now, DescriptionKind::Answer, &restarted).unwrap();

    // Messages still flow both ways, and ICE checks the new credentials (consent goes on).
    exchange_messages(&mut pair, channel, 20);
    pair.run_for(Duration::from_secs(30));
    assert_eq!((pair.a.conn.state(), pair.b.conn.state()), (ConnectionState::Connected, ConnectionState::Connected));
    assert!(pair.a.failure().is_none() && pair.b.failure().is_none());
}

fn setup_line(description: &str) -> &str {
    description.lines().find_map(|line| line.strip_prefix("a=setup:")).unwrap_or_default()
}

#[test]
fn a_later_offer_from_the_answerer_keeps_the_dtls_roles_ice_restart_or_not() {
    let (mut pair, channel) = connected(12);
    // a offered first and b answered `active`: a is the DTLS server, b the client.

    // b (the DTLS client) offers `actpass`: a answers `passive`, keeping its role.
    let now = pair.now;
    let offer = pair.b.conn.create_offer().unwrap();
    assert_eq!(setup_line(&offer), "actpass");
    pair.a.conn.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let answer = pair.a.conn.create_answer().unwrap();
    assert_eq!(setup_line(&answer), "passive", "the DTLS server stays the server");
    pair.b.conn.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();

    // The same with an ICE restart from b.
    assert_eq!(pair.b.conn.restart_ice(now), Ok(()));
    let offer = pair.b.conn.create_offer().unwrap();
    pair.a.conn.set_remote_description(now, DescriptionKind::Offer, &offer).unwrap();
    let answer = pair.a.conn.create_answer().unwrap();
    assert_eq!(setup_line(&answer), "passive");
    pair.b.conn.set_remote_description(now, DescriptionKind::Answer, &answer).unwrap();

    exchange_messages(&mut pair, channel, 10);
    pair.run_for(Duration::from_secs(10));
    assert_eq!((pair.a.conn.state(), pair.b.conn.state()), (ConnectionState::Connected, ConnectionState::Connected));
    assert!(pair.a.failure().is_none() && pair.b.failure().is_none());
}

#[test]
fn an_offer_that_would_flip_the_dtls_roles_is_refused_ice_restart_or_not() {
    for restart in [false, true] {
        let (mut pair, _) = connected(13);
        let now = pair.now;
        if restart {
            assert_eq!(pair.b.conn.restart_ice(now), Ok(()));
        }
        // b, the DTLS client, offers to be the server: a would become a second client.
        let offer = pair.b.conn.create_offer().unwrap().replace("a=setup:actpass", "a=setup:passive");
        assert_eq!(
            pair.a.conn.set_remote_description(now, DescriptionKind::Offer, &offer),
            Err(ConnectionError::DtlsRoleFlip { ours: DtlsRole::Server }),
            "restart {restart}"
        );
        assert_eq!(pair.a.conn.signaling_state(), SignalingState::Stable, "the refused offer left no trace");
        pair.run_for(Duration::from_secs(1));
        assert_eq!(pair.a.conn.state(), ConnectionState::Connected);
    }
}
