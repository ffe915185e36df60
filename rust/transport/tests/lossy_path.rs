//! A path that loses datagrams: two connections talk through a UDP relay on 127.0.0.1 that drops
//! a seeded share of them. Data goes twice while the path loses, and only then.

mod common;

use common::relay::{RelayedPair, Seen};

use transport::{ConnectionState, TransportError};

/// Sends `count` reliable 1 KiB messages numbered from `first` from side 0, two per pump, and
/// waits until side 1 has them all, in order.
fn stream(pair: &mut RelayedPair, first: u32, count: u32) {
    let (mut sent, mut received) = (first, first);
    let end = first + count;
    pair.pump_until("every message", |pair| {
        for _ in 0..2 {
            if sent < end {
                let mut message = vec![0u8; 1024];
                message[..4].copy_from_slice(&sent.to_le_bytes());
                pair.channels[0].send(&message, false).unwrap();
                sent += 1;
            }
        }
        while let Some(packet) = pair.channels[1].recv() {
            let number = u32::from_le_bytes(packet.data[..4].try_into().unwrap());
            assert_eq!(number, received, "messages arrive once each, in order");
            received += 1;
        }
        received == end
    });
    assert_eq!(pair.errors, [vec![], vec![]]);
}

/// What side 0 sent between two readings.
fn sent_between(before: Seen, after: Seen) -> (usize, usize) {
    (after.data_datagrams - before.data_datagrams, after.repeated_data_datagrams - before.repeated_data_datagrams)
}

#[test]
fn a_path_that_loses_nothing_carries_no_copies() {
    let mut pair = RelayedPair::connected(11);
    stream(&mut pair, 0, 2000);
    for side in 0..2 {
        let seen = pair.relay.seen(side);
        assert!(seen.data_datagrams > 0);
        assert_eq!(seen.repeated_data_datagrams, 0, "side {side}: {seen:?}");
    }
}

#[test]
fn data_goes_twice_while_the_path_loses_and_once_again_after() {
    let mut pair = RelayedPair::connected(12);
    pair.relay.set_loss(10);
    let started = std::time::Instant::now();
    // The first losses are judged once 128 more records came: copies start within a few hundred.
    stream(&mut pair, 0, 500);
    eprintln!("first 500 in {:?}", started.elapsed());
    let before = pair.relay.seen(0);
    stream(&mut pair, 500, 1000);
    let (data, repeated) = sent_between(before, pair.relay.seen(0));
    assert!(repeated * 10 >= data * 4, "at 10 % loss, {repeated} of {data} data datagrams were copies");
    eprintln!("10 % loss: 1500 messages in {:?}, then {repeated} of {data} data datagrams copies", started.elapsed());

    // Once 1024 records in a row came whole from the other side (its acknowledgements), no more.
    pair.relay.set_loss(0);
    let mut rounds = 0;
    loop {
        let before = pair.relay.seen(0);
        stream(&mut pair, 1500 + rounds * 500, 500);
        let (data, repeated) = sent_between(before, pair.relay.seen(0));
        if repeated == 0 {
            eprintln!("no loss: copies stopped after {rounds} rounds of 500 messages");
            break;
        }
        rounds += 1;
        assert!(rounds < 30, "still copying after {rounds} rounds without loss ({repeated} of {data})");
    }
}

#[test]
fn a_handshake_that_never_gets_through_fails_the_connection() {
    // ICE checks pass, the DTLS handshake never does: rtc gives up after its retransmissions
    // (about 8 s here) and would leave the connection `connecting` for good.
    let mut pair = RelayedPair::connecting(13);
    pair.relay.set_drop_dtls(true);
    let started = std::time::Instant::now();
    pair.pump_until("a side to fail", |pair| pair.states().contains(&ConnectionState::Failed));
    eprintln!("failed after {:?}: {:?}", started.elapsed(), pair.states());
    let side = pair.states().iter().position(|state| *state == ConnectionState::Failed).unwrap();
    assert_eq!(pair.errors[side], vec![TransportError::HandshakeFailed]);
}
