//! A path that loses datagrams: two connections talk through a UDP relay on 127.0.0.1 that drops
//! a seeded share of them. SCTP recovers what is lost, and sends no more than the loss costs:
//! there is no "loss cover" sending data twice any more (rtc-sctp recovered a loss only after a
//! fixed 1 s timeout; ours retransmits fast, issue 20).

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
fn at_ten_percent_loss_every_message_arrives_in_order_for_little_more_than_the_loss() {
    let mut pair = RelayedPair::connected(12);
    pair.relay.set_loss(10);
    let started = std::time::Instant::now();
    let before = pair.relay.seen(0);
    stream(&mut pair, 0, 1500);
    let took = started.elapsed();
    let (data, repeated) = sent_between(before, pair.relay.seen(0));
    // 1500 messages of 1 KiB take 1500 datagrams without loss; at 10 % loss about 10 % more are
    // retransmissions (and a retransmission may be lost again). Every datagram twice would be 3000.
    eprintln!("10 % loss: 1500 messages in {took:?}, {data} data datagrams ({repeated} identical to the one before)");
    assert!(data * 100 <= 1500 * 135, "{data} data datagrams for 1500 messages at 10 % loss");
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_handshake_that_never_gets_through_fails_the_connection() {
    // ICE checks pass, the DTLS handshake never does: the handshake gives up at its deadline
    // (rtc would have left the connection `connecting` for good).
    let mut pair = RelayedPair::connecting(13);
    pair.relay.set_drop_dtls(true);
    let started = std::time::Instant::now();
    pair.pump_until("both sides to fail", |pair| pair.states() == [ConnectionState::Failed; 2]);
    eprintln!("failed after {:?}: {:?}", started.elapsed(), pair.states());
    // The DTLS client sent its ClientHello in vain; the server heard no DTLS and sent none. Which
    // side fails first depends on when each one's handshake deadline started.
    let client = vec![TransportError::HandshakeFailed];
    let server = vec![TransportError::HandshakeNeverStarted { waited_secs: 10 }];
    assert!(pair.errors == [client.clone(), server.clone()] || pair.errors == [server, client], "{:?}", pair.errors);
}
