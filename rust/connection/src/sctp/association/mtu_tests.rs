//! [`Association::set_mtu`]: packets follow a smaller MTU from then on; chunks cut before keep
//! their size and a retransmission of one goes alone rather than never.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::tests::connected;
use super::*;

fn reliable() -> SendOptions {
    SendOptions { ordered: true, reliability: crate::sctp::Reliability::Reliable }
}

/// Every packet `from` has to send now, delivered to `to` unless `deliver` is false; their sizes.
fn flush(from: &mut Association, to: &mut Association, now: Instant, deliver: bool) -> Vec<usize> {
    let mut sizes = Vec::new();
    while let Some(packet) = from.poll_transmit(now) {
        sizes.push(packet.len());
        if deliver {
            to.handle_packet(now, &packet);
        }
    }
    sizes
}

#[test]
fn a_smaller_mtu_cuts_new_packets_to_it_with_whole_words_of_padding() {
    let (mut a, mut b, now) = connected(1);
    a.set_mtu(1129);
    assert_eq!((a.mtu(), a.stats().mtu, a.config.max_data_payload), (1129, 1129, 1100));
    a.send(now, 1, 53, Bytes::from(vec![7; 20_000]), reliable()).unwrap();
    let sizes = flush(&mut a, &mut b, now, true);
    assert!(sizes.iter().all(|size| *size <= 1128), "{sizes:?}");
    assert_eq!(sizes.iter().max(), Some(&1128));
    // Back to the configured MTU, never past the configured payload.
    a.set_mtu(1200);
    assert_eq!(a.config.max_data_payload, 1172);
    a.set_mtu(10);
    assert_eq!(a.mtu(), MIN_MTU);
}

#[test]
fn a_chunk_cut_for_a_larger_mtu_is_retransmitted_alone_past_the_new_one() {
    let (mut a, mut b, now) = connected(2);
    a.send(now, 1, 53, Bytes::from(vec![7; 3000]), reliable()).unwrap();
    // Sent at 1200 and lost.
    let lost = flush(&mut a, &mut b, now, false);
    assert!(lost.contains(&1200), "{lost:?}");
    a.set_mtu(1129);
    a.path_changed(now);
    let mut later = now;
    let mut sizes = Vec::new();
    for _ in 0..20 {
        sizes.extend(flush(&mut a, &mut b, later, true));
        flush(&mut b, &mut a, later, true);
        if let Some(SctpEvent::Message(message)) = b.poll_event() {
            assert_eq!(message.data.len(), 3000);
            // The chunks cut at 1200 went again at their size: one per packet.
            assert!(sizes.iter().filter(|size| **size > 1129).all(|size| *size == 1200), "{sizes:?}");
            assert!(sizes.contains(&1200), "{sizes:?}");
            return;
        }
        later += Duration::from_millis(200);
        a.handle_timeout(later);
        b.handle_timeout(later);
    }
    panic!("the message never arrived: {sizes:?}");
}
