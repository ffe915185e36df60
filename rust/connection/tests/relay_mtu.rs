//! The relayed path's smaller packets (issue 21): while records go by the relay, the association
//! cuts packets of at most `RELAYED_SCTP_MTU` bytes, so that each relayed DTLS datagram, in its
//! envelope, fits one DATA chunk of the relay channel (1200 - 12 - 16 = 1172 bytes) and is never
//! split in two. On virtual time: relayed from the start; a fall-back in the middle of a transfer
//! (only chunks cut for the direct path before it may still go larger, as retransmissions) and
//! the upgrade back (direct packets grow again). Messages arrive once each, in order.

mod relay_support;

use std::time::Duration;

use connection::connection::{ConnectionEvent, PathKind};
use connection::ice_dtls::{DTLS_RECORD_OVERHEAD, RELAYED_SCTP_MTU, RELAY_CHANNEL_MTU, RELAY_ENVELOPE_ALLOWANCE};
use netsim::LinkConfig;
use relay_support::{check_in_order, Options, Relayed, Workload};

/// The largest relayed datagram once the association follows the relay.
const BOUND: usize = RELAYED_SCTP_MTU + DTLS_RECORD_OVERHEAD;

fn switched_at(end: &relay_support::End, kind: PathKind) -> Option<Duration> {
    end.first(|event| *event == ConnectionEvent::PathChanged(kind))
}

#[test]
fn the_relayed_mtu_fits_one_relay_channel_chunk() {
    assert_eq!(RELAYED_SCTP_MTU, 1129);
    // Envelope and record around the largest relayed packet fill one DATA chunk of the relay
    // channel's association at most.
    const { assert!(BOUND + RELAY_ENVELOPE_ALLOWANCE <= RELAY_CHANNEL_MTU - 12 - 16) };
}

#[test]
fn a_pair_relayed_from_the_start_never_sends_a_datagram_past_the_bound() {
    for seed in 1..=3 {
        let mut pair = Relayed::new(Options::new(seed));
        pair.set_direct(LinkConfig::outage());
        pair.set_relay(true);
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()), "seed {seed}");
        // 3000-byte messages: each is cut in several chunks, the packets full.
        pair.start_workload(Workload::Bulk { total: 400, size: 3000 });
        assert!(pair.run_until(Duration::from_secs(60), |pair| pair.c.arrivals.len() == 400), "seed {seed}");
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count, 400);
        let relayed: Vec<usize> = pair.sizes.iter().filter(|(_, relayed, _)| *relayed).map(|s| s.2).collect();
        let largest = relayed.iter().copied().max().unwrap_or(0);
        assert!(largest <= BOUND, "seed {seed}: a relayed datagram of {largest} bytes (bound {BOUND})");
        // The packets are full ones, not small ones that would fit anyway.
        assert!(largest + 16 >= BOUND, "seed {seed}: largest {largest}");
        let sctp = pair.a.conn.stats().sctp.expect("an association");
        assert_eq!(sctp.mtu, RELAYED_SCTP_MTU);
        println!(
            "FIGURE relayed MTU, relayed from the start, seed {seed}: {} relayed records, largest {largest} B \
             (bound {BOUND} B; with the envelope {} B, one relay-channel chunk holds 1172 B); 400 x 3000 B in order",
            relayed.len(),
            largest + RELAY_ENVELOPE_ALLOWANCE
        );
    }
}

#[test]
fn a_fall_back_mid_transfer_shrinks_new_packets_and_the_upgrade_grows_them_again() {
    for seed in 1..=3 {
        let mut pair = Relayed::new(Options::new(seed));
        assert!(pair.run_until(Duration::from_secs(5), |pair| pair.a.is_open() && pair.c.is_open()));
        pair.set_relay(true);
        // 3000 bytes every 10 ms (300 kB/s): full packets in flight when the direct path is cut.
        pair.start_workload(Workload::Paced {
            interval: Duration::from_millis(10),
            size: 3000,
            until: Duration::from_secs(30),
        });
        pair.run_for(Duration::from_secs(3));
        let direct_largest = pair.sizes.iter().filter(|s| !s.1).map(|s| s.2).max().unwrap_or(0);
        assert!(direct_largest > BOUND, "seed {seed}: direct packets are full-size ({direct_largest})");
        pair.set_direct(LinkConfig::outage());
        assert!(pair.run_until(Duration::from_secs(4), |pair| pair.a.conn.stats().path == Some(PathKind::Relayed)
            && pair.c.conn.stats().path == Some(PathKind::Relayed)));
        let switched = switched_at(&pair.a, PathKind::Relayed).max(switched_at(&pair.c, PathKind::Relayed)).unwrap();
        assert_eq!(pair.a.conn.stats().sctp.map(|s| s.mtu), Some(RELAYED_SCTP_MTU));
        pair.run_for(Duration::from_secs(10));
        let relayed_after: Vec<(Duration, usize)> =
            pair.sizes.iter().filter(|s| s.1 && s.0 >= switched).map(|s| (s.0, s.2)).collect();
        let oversize: Vec<&(Duration, usize)> = relayed_after.iter().filter(|(_, size)| *size > BOUND).collect();
        // Past the fall-back's retransmissions (chunks cut for the direct path, acknowledged
        // within a few round trips), nothing relayed exceeds the bound.
        let settled = switched + Duration::from_secs(2);
        assert!(
            oversize.iter().all(|(at, _)| *at < settled),
            "seed {seed}: oversize relayed after {settled:?}: {:?}",
            oversize.iter().filter(|(at, _)| *at >= settled).take(5).collect::<Vec<_>>()
        );
        let relayed_largest = relayed_after.iter().filter(|(at, _)| *at >= settled).map(|s| s.1).max().unwrap_or(0);
        assert!(relayed_largest <= BOUND && relayed_largest + 16 >= BOUND, "seed {seed}: {relayed_largest}");
        // Direct again: packets grow back to the configured MTU.
        pair.set_direct(Options::new(seed).direct);
        assert!(pair.run_until(Duration::from_secs(15), |pair| pair.a.conn.stats().path == Some(PathKind::Direct)
            && pair.c.conn.stats().path == Some(PathKind::Direct)));
        let upgraded = pair.elapsed();
        pair.run_for(Duration::from_secs(32).saturating_sub(pair.elapsed()));
        let direct_after = pair.sizes.iter().filter(|s| !s.1 && s.0 >= upgraded).map(|s| s.2).max().unwrap_or(0);
        assert!(direct_after > BOUND, "seed {seed}: direct packets after the upgrade {direct_after}");
        assert_eq!(pair.a.conn.stats().sctp.map(|s| s.mtu), Some(1200));
        let (count, _) = check_in_order(&pair.c.arrivals, (Duration::ZERO, Duration::ZERO));
        assert_eq!(count as u32, pair.a.sent, "seed {seed}: every message once, in order");
        assert_eq!((pair.a.failure(), pair.c.failure()), (None, None));
        println!(
            "FIGURE relayed MTU at a fall-back, seed {seed}: direct records up to {direct_largest} B; after the switch \
             {} relayed records, {} past {BOUND} B (retransmissions of chunks cut for direct, all within {:?} of \
             the switch), then at most {relayed_largest} B; after the upgrade direct up to {direct_after} B; {count} \
             messages in order",
            relayed_after.len(),
            oversize.len(),
            oversize.iter().map(|(at, _)| *at - switched).max().unwrap_or_default(),
        );
    }
}
