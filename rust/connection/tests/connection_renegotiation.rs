//! Offers and answers after the first exchange: a new offer that changes nothing, and an ICE
//! restart (new credentials both ways) while the channels keep carrying messages.

mod connection_support;

use std::time::Duration;

use bytes::Bytes;
use connection::connection::{ConnectionError, ConnectionState, DescriptionKind, SignalingState};
use connection_support::{pair, reliable, run_until_open, Setup};
use netsim::LinkConfig;

fn ice_ufrag(description: &str) -> &str {
    description.lines().find_map(|line| line.strip_prefix("a=ice-ufrag:")).unwrap_or_default()
}

#[test]
fn a_new_offer_after_connecting_changes_nothing_and_an_ice_restart_keeps_the_channels() {
    let setup =
        Setup::new(11, LinkConfig::default().with_latency(Duration::from_millis(20))).with_channel(reliable("chat"));
    let (mut pair, channels) = pair(&setup);
    assert!(run_until_open(&mut pair, 1, Duration::from_secs(2)));
    let channel = channels[0];

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
    for round in 0..20_u32 {
        let now = pair.now;
        pair.a.conn.send(now, channel, Bytes::from(round.to_be_bytes().to_vec()), true).unwrap();
        pair.b.conn.send(now, channel, Bytes::from(round.to_be_bytes().to_vec()), true).unwrap();
        pair.run_for(Duration::from_millis(500));
    }
    assert_eq!((pair.a.arrivals.len(), pair.b.arrivals.len()), (20, 20));
    pair.run_for(Duration::from_secs(30));
    assert_eq!((pair.a.conn.state(), pair.b.conn.state()), (ConnectionState::Connected, ConnectionState::Connected));
    assert!(pair.a.failure().is_none() && pair.b.failure().is_none());
}
