//! The send side as the association drives it: SACKs in, chunks out, timers.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::super::chunks::{DataChunk, GapBlock, Sack};
use super::super::SctpConfig;
use super::super::{Reliability, SctpError, SendOptions};
use super::SendSide;

const INITIAL_TSN: u32 = 1000;
/// Room for DATA in a 1200-byte packet after the common header.
const ROOM: usize = 1188;

const RELIABLE: SendOptions = SendOptions { ordered: true, reliability: Reliability::Reliable };
const UNRELIABLE: SendOptions = SendOptions { ordered: true, reliability: Reliability::MaxRetransmits(0) };

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn side() -> SendSide {
    SendSide::new(INITIAL_TSN, 1 << 20, &SctpConfig::default())
}

fn sack(cumulative_tsn: u32, gaps: &[(u16, u16)]) -> Sack {
    Sack {
        cumulative_tsn,
        a_rwnd: 1 << 20,
        gaps: gaps.iter().map(|&(start, end)| GapBlock { start, end }).collect(),
        duplicates: Vec::new(),
    }
}

/// Every chunk that may go now, one packet's room each.
fn drain(side: &mut SendSide, now: Instant) -> Vec<DataChunk> {
    std::iter::from_fn(|| side.poll_data(now, ROOM)).collect()
}

fn send_messages(side: &mut SendSide, now: Instant, count: usize, len: usize, options: SendOptions) {
    for _ in 0..count {
        side.send(now, 1, 53, Bytes::from(vec![7; len]), options).unwrap();
    }
}

/// Sends 10 one-chunk messages (one packet each) at `now` and has the SACK of the first come
/// back after `rtt`, so the RTT is known; returns the chunks sent.
fn with_rtt(side: &mut SendSide, now: Instant, rtt: Duration) -> Vec<DataChunk> {
    send_messages(side, now, 10, 1000, RELIABLE);
    let chunks = drain(side, now);
    side.on_sack(now + rtt, &sack(INITIAL_TSN, &[]));
    chunks
}

/// Feeds RTT samples that show a standing queue from `now` on (a 10 ms path, 50 ms round trips
/// since), so that the next loss counts as congestion and halves the window.
fn show_standing_queue(side: &mut SendSide, now: Instant) {
    side.congestion.on_rtt(now, ms(10));
    side.congestion.on_rtt(now + ms(20), ms(50));
    side.congestion.on_rtt(now + ms(40), ms(50));
}

#[test]
fn new_data_goes_in_tsn_order_and_a_sack_frees_it() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 3, 100, RELIABLE);
    assert_eq!(side.buffered_amount(1), 300);
    let chunks = drain(&mut side, now);
    assert_eq!(chunks.iter().map(|c| c.tsn).collect::<Vec<_>>(), [1000, 1001, 1002]);
    assert_eq!(chunks.iter().map(|c| c.ssn).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(chunks.iter().all(|c| c.beginning && c.ending && !c.unordered));
    let asks_sack: Vec<_> = chunks.iter().map(|c| c.immediate_sack).collect();
    assert_eq!(asks_sack, [false, false, true], "the last chunk before the queue runs dry asks for a SACK");
    assert_eq!(side.buffered_amount(1), 0);
    assert_eq!(side.in_flight(), 3 * 116);
    assert_eq!(side.deadline(), Some(now + ms(500)), "T3-rtx at the initial RTO");
    side.on_sack(now + ms(40), &sack(1002, &[]));
    assert_eq!(side.in_flight(), 0);
    assert_eq!(side.smoothed_rtt(), Some(ms(40)));
    assert_eq!(side.rto(), ms(400), "the floor");
    assert_eq!(side.deadline(), None, "nothing outstanding: no timer");
}

#[test]
fn a_large_message_is_cut_into_chunks_that_fit_the_room() {
    let now = Instant::now();
    let mut side = side();
    side.send(now, 2, 51, Bytes::from(vec![1; 3000]), RELIABLE).unwrap();
    let first = side.poll_data(now, 600).unwrap();
    assert_eq!(first.payload.len(), 584);
    assert!(first.beginning && !first.ending);
    let rest = drain(&mut side, now);
    assert_eq!(rest.iter().map(|c| c.payload.len()).collect::<Vec<_>>(), [1172, 1172, 72]);
    assert!(rest.last().unwrap().ending && !rest[0].beginning);
    assert!(rest.iter().all(|c| c.ssn == first.ssn && c.ppid == 51 && c.stream == 2));
    assert_eq!(side.poll_data(now, 10), None, "no room for a chunk");
}

#[test]
fn hostile_or_stale_sacks_are_ignored_without_panic() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 4, 100, RELIABLE);
    drain(&mut side, now);
    let in_flight = side.in_flight();
    // Acknowledges TSNs never sent.
    side.on_sack(now, &sack(5000, &[]));
    side.on_sack(now, &sack(999, &[(1, 100)]));
    // Gap blocks out of order, overlapping, inverted, or from offset 0.
    side.on_sack(now, &sack(999, &[(3, 3), (2, 2)]));
    side.on_sack(now, &sack(999, &[(2, 3), (3, 4)]));
    side.on_sack(now, &sack(999, &[(3, 2)]));
    side.on_sack(now, &sack(999, &[(0, 2)]));
    assert_eq!(side.in_flight(), in_flight);
    // A huge gap list, and one with u16::MAX offsets.
    let many: Vec<(u16, u16)> = (0..60_000u16).map(|i| (i + 1, i + 1)).collect();
    side.on_sack(now, &sack(999, &many));
    side.on_sack(now, &sack(999, &[(u16::MAX, u16::MAX)]));
    assert_eq!(side.in_flight(), in_flight);
    // A SACK far behind (a wrapped cumulative TSN) and one with duplicates.
    side.on_sack(now, &sack(999u32.wrapping_add(1 << 31), &[]));
    let mut duplicates = sack(1000, &[]);
    duplicates.duplicates = vec![1000; 10_000];
    side.on_sack(now, &duplicates);
    assert_eq!(side.in_flight(), in_flight - 116);
    // Older than the last one: ignored.
    side.on_sack(now, &sack(999, &[(2, 3)]));
    assert_eq!(side.in_flight(), in_flight - 116);
}

#[test]
fn three_misses_fast_retransmit_past_a_full_window_and_halve_it_once() {
    let now = Instant::now();
    let mut side = side();
    show_standing_queue(&mut side, now);
    let cwnd = side.cwnd();
    send_messages(&mut side, now, 200, 1000, RELIABLE);
    let chunks = drain(&mut side, now);
    assert_eq!(chunks.len(), cwnd.div_ceil(1016), "the window limits new data");
    let t = now + ms(50);
    // The first two SACKs gap-acknowledge chunks (the window grows), the third finds 1000 lost.
    for end in 1..=2 {
        side.on_sack(t, &sack(999, &[(2, 1 + end)]));
    }
    let before = side.cwnd();
    side.on_sack(t, &sack(999, &[(2, 4)]));
    assert_eq!(side.cwnd(), before / 2);
    // The window is full (in flight above it), yet the retransmission goes, and only it.
    let out = drain(&mut side, t);
    assert_eq!(out.iter().map(|c| c.tsn).collect::<Vec<_>>(), [1000]);
    // Another loss (1004) in the same recovery is retransmitted without reducing again.
    for k in 0..3 {
        side.on_sack(t, &sack(999, &[(2, 4), (6, 6 + k)]));
    }
    assert_eq!(side.cwnd(), before / 2);
    assert_eq!(drain(&mut side, t).first().map(|c| c.tsn), Some(1004));
}

#[test]
fn a_fast_retransmission_of_a_chunk_only_reordered_gives_the_window_back() {
    let now = Instant::now();
    let mut side = side();
    show_standing_queue(&mut side, now);
    let cwnd = side.cwnd();
    send_messages(&mut side, now, 20, 1000, RELIABLE);
    drain(&mut side, now);
    for end in 1..=2 {
        side.on_sack(now + ms(50), &sack(999, &[(2, 1 + end)]));
    }
    let before = side.cwnd();
    side.on_sack(now + ms(50), &sack(999, &[(2, 4)]));
    assert_eq!(side.cwnd(), before / 2);
    assert_eq!(drain(&mut side, now + ms(50))[0].tsn, 1000);
    // The original arrives late, then the retransmission: the peer reports TSN 1000 twice.
    side.on_sack(now + ms(60), &sack(1004, &[]));
    let mut duplicate = sack(1004, &[]);
    duplicate.duplicates = vec![1000];
    side.on_sack(now + ms(100), &duplicate);
    assert!(side.cwnd() >= cwnd, "the reduction is undone");
    assert_eq!(side.stats().spurious_retransmits, 1);
}

#[test]
fn fast_retransmit_keeps_working_during_recovery_for_a_chunk_lost_twice() {
    let now = Instant::now();
    let mut side = side();
    show_standing_queue(&mut side, now);
    with_rtt(&mut side, now, ms(50));
    side.on_sack(now + ms(50), &sack(1009, &[]));
    let t = now + ms(60);
    send_messages(&mut side, t, 100, 1000, RELIABLE);
    let first = drain(&mut side, t);
    let lost = first[0].tsn;
    // Chunks after `lost` arrive: three SACKs, a fast retransmit.
    let mut clock = t + ms(50);
    for i in 1..=3u16 {
        side.on_sack(clock, &sack(lost - 1, &[(2, 1 + i)]));
    }
    let retransmitted = drain(&mut side, clock);
    assert_eq!(retransmitted[0].tsn, lost);
    // The retransmission is lost too; SACKs of chunks sent before it count nothing, SACKs of
    // newer chunks (sent as the window opens) do.
    let sent_after: Vec<_> = retransmitted.iter().skip(1).map(|c| c.tsn).collect();
    assert!(sent_after.is_empty(), "no window left in this step");
    let mut highest = 4u16;
    let mut again = None;
    for _ in 0..20 {
        clock += ms(10);
        highest += 1;
        side.on_sack(clock, &sack(lost - 1, &[(2, highest)]));
        for chunk in drain(&mut side, clock) {
            if chunk.tsn == lost {
                again = Some(clock);
            }
        }
        if again.is_some() {
            break;
        }
    }
    let again = again.expect("the chunk lost twice was retransmitted again");
    println!("chunk lost twice: second retransmission {:?} after the first", again - (t + ms(50)));
    assert!(again - (t + ms(50)) < side.rto(), "before any T3-rtx timeout");
}

#[test]
fn a_loss_without_a_standing_queue_keeps_the_window_and_new_data_goes_beside_its_retransmission() {
    let now = Instant::now();
    let mut side = side();
    let cwnd = side.cwnd();
    send_messages(&mut side, now, 200, 1000, RELIABLE);
    drain(&mut side, now);
    // Every round trip 50 ms: no queue, the loss of TSN 1000 is taken as random.
    for end in 1..=3 {
        side.on_sack(now + ms(50), &sack(999, &[(2, 1 + end)]));
    }
    assert!(side.cwnd() >= cwnd, "not cut (and grown by the gap-acknowledged chunks)");
    let out = drain(&mut side, now + ms(50));
    assert_eq!(out[0].tsn, 1000);
    assert!(out.len() > 1, "the window opened by the acknowledged chunks takes new data");
    assert_eq!((side.stats().random_losses, side.stats().window_reductions), (1, 0));
}

#[test]
fn the_rto_follows_the_measured_rtt() {
    let now = Instant::now();
    let mut side = side();
    assert_eq!(side.rto(), ms(500));
    with_rtt(&mut side, now, ms(300));
    assert_eq!(side.smoothed_rtt(), Some(ms(300)));
    assert_eq!(side.rto(), ms(300 + 4 * 150));
    side.on_sack(now + ms(600), &sack(1009, &[]));
    assert_eq!(side.smoothed_rtt(), Some(ms(300) * 7 / 8 + ms(600) / 8));
}

#[test]
fn karn_no_rtt_from_a_retransmitted_chunk() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 1, 100, RELIABLE);
    drain(&mut side, now);
    side.handle_timeout(now + ms(500));
    assert_eq!(drain(&mut side, now + ms(500)).len(), 1);
    side.on_sack(now + ms(520), &sack(1000, &[]));
    assert_eq!(side.smoothed_rtt(), None, "the SACK may answer either transmission");
    assert_eq!(side.rto(), ms(500));
}

#[test]
fn t3_rtx_retransmits_with_one_mtu_of_window_and_backs_off_to_three_seconds() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 5, 1000, RELIABLE);
    drain(&mut side, now);
    let mut at = now;
    let mut waits = Vec::new();
    for _ in 0..5 {
        let deadline = side.deadline().unwrap();
        waits.push(deadline - at);
        at = deadline;
        side.handle_timeout(at);
        assert_eq!(side.cwnd(), 1200);
        let out = drain(&mut side, at);
        assert_eq!(out.iter().map(|c| c.tsn).collect::<Vec<_>>(), [1000], "one MTU: one chunk");
    }
    assert_eq!(waits, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
    assert_eq!(side.consecutive_timeouts(), 5);
    side.on_sack(at + ms(10), &sack(1000, &[]));
    assert_eq!(side.consecutive_timeouts(), 0);
    assert_eq!(side.deadline(), Some(at + ms(10) + ms(500)), "the backoff is over");
}

#[test]
fn a_lost_tail_is_probed_after_two_rtts_with_the_i_bit_and_again_with_backoff_until_t3() {
    let now = Instant::now();
    let mut side = side();
    with_rtt(&mut side, now, ms(20));
    // Everything after the first chunk (nine packets' worth) is lost; no SACK comes, nor to
    // the probes.
    let t = now + ms(20);
    let mut probes = Vec::new();
    let mut wait = ms(40);
    let mut at = t;
    while side.deadline() == Some(at + wait) {
        at += wait;
        side.handle_timeout(at);
        let probe = drain(&mut side, at);
        assert_eq!(probe.len(), 1);
        assert_eq!(probe[0].tsn, 1009, "the highest outstanding chunk");
        assert!(probe[0].immediate_sack);
        probes.push(at - t);
        wait *= 2;
    }
    assert_eq!(probes, [ms(40), ms(120), ms(280)], "2 SRTT, then twice the last wait each time");
    assert_eq!(side.deadline(), Some(t + ms(400)), "the next probe would come after the T3-rtx timer");
    assert_eq!(side.stats().tail_probes, 3);
    // The probe's SACK shows the chunks sent long before it lost: they go again, and the next
    // probe waits two RTTs again.
    side.on_sack(at + ms(20), &sack(1000, &[(9, 9)]));
    assert_eq!(drain(&mut side, at + ms(20)).len(), 8);
    assert_eq!(side.deadline(), Some(at + ms(20) + ms(40)));
}

#[test]
fn a_lost_probe_is_followed_by_at_most_five_probes_in_a_row() {
    let now = Instant::now();
    let mut side = side();
    // A 1 ms round trip: the probes start at 10 ms and double, within the 400 ms floor.
    with_rtt(&mut side, now, ms(1));
    let t = now + ms(1);
    let mut at = t;
    while let Some(deadline) = side.deadline().filter(|_| side.stats().timeouts == 0) {
        at = deadline;
        side.handle_timeout(at);
        drain(&mut side, at);
    }
    assert_eq!(side.stats().tail_probes, 5, "10 + 20 + 40 + 80 + 160 ms");
    assert_eq!(at - t, ms(400), "then the T3-rtx timer");
}

#[test]
fn the_last_retransmission_asks_for_an_immediate_sack() {
    let now = Instant::now();
    let mut side = side();
    with_rtt(&mut side, now, ms(20));
    // 1001 and 1003 are lost: three SACKs mark them, and they go again, the last with the I bit.
    let t = now + ms(20);
    side.on_sack(t, &sack(1000, &[(2, 2), (4, 4)]));
    side.on_sack(t, &sack(1000, &[(2, 2), (4, 5)]));
    side.on_sack(t, &sack(1000, &[(2, 2), (4, 6)]));
    let again = drain(&mut side, t);
    let sent: Vec<_> = again.iter().map(|c| (c.tsn, c.immediate_sack)).collect();
    assert_eq!(sent, [(1001, false), (1003, true)]);
}

#[test]
fn a_lone_packet_asks_for_an_immediate_sack_and_is_probed_after_two_rtts() {
    let now = Instant::now();
    let mut side = side();
    with_rtt(&mut side, now, ms(20));
    side.on_sack(now + ms(20), &sack(1009, &[]));
    let t = now + ms(30);
    send_messages(&mut side, t, 1, 100, RELIABLE);
    let chunk = drain(&mut side, t);
    assert!(chunk[0].immediate_sack);
    assert_eq!(side.deadline(), Some(t + ms(40)));
}

#[test]
fn a_lone_packet_without_the_i_bit_is_probed_after_the_peer_delayed_sack_too() {
    let now = Instant::now();
    let mut side = side();
    with_rtt(&mut side, now, ms(20));
    let mut closed = sack(1009, &[]);
    closed.a_rwnd = 0;
    side.on_sack(now + ms(20), &closed);
    let t = now + ms(30);
    send_messages(&mut side, t, 2, 100, RELIABLE);
    let probe = drain(&mut side, t);
    assert_eq!(probe.len(), 1, "a zero window: one chunk");
    assert!(!probe[0].immediate_sack, "more waits behind it");
    assert_eq!(side.deadline(), Some(t + ms(40) + ms(200)));
}

#[test]
fn an_unreliable_message_lost_is_abandoned_and_skipped_by_forward_tsn_without_stalling() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 5, 100, UNRELIABLE);
    let chunks = drain(&mut side, now);
    assert_eq!(chunks[1].ssn, 1);
    // TSN 1001 is lost; three SACKs report it missing.
    for end in 2..=4 {
        side.on_sack(now + ms(30), &sack(1000, &[(2, end)]));
    }
    assert!(drain(&mut side, now + ms(30)).is_empty(), "never retransmitted");
    let forward = side.poll_forward_tsn(now + ms(30)).unwrap();
    assert_eq!(forward.new_cumulative_tsn, 1001, "only abandoned chunks are skipped");
    assert_eq!(forward.skipped, [(1, 1)]);
    assert_eq!(side.poll_forward_tsn(now + ms(30)), None, "once per SACK");
    // A SACK sent before the FORWARD-TSN could arrive says nothing of it: no repeat.
    side.on_sack(now + ms(50), &sack(1000, &[(2, 4)]));
    assert_eq!(side.poll_forward_tsn(now + ms(50)), None);
    // But with DATA going out anyway, it rides along, once per instant.
    send_messages(&mut side, now + ms(55), 1, 100, UNRELIABLE);
    assert!(side.poll_forward_tsn(now + ms(55)).is_some());
    assert_eq!(side.poll_forward_tsn(now + ms(55)), None);
    assert_eq!(drain(&mut side, now + ms(55)).len(), 1);
    // One a round trip later still does not reach the new cumulative TSN (FORWARD-TSN lost):
    // again.
    side.on_sack(now + ms(95), &sack(1000, &[(2, 5)]));
    assert!(side.poll_forward_tsn(now + ms(95)).is_some());
    // No SACK at all: the T3-rtx timer sends it again, without touching the window.
    let cwnd = side.cwnd();
    let t3 = side.deadline().unwrap();
    side.handle_timeout(t3);
    assert_eq!(side.poll_forward_tsn(t3).map(|f| f.new_cumulative_tsn), Some(1001));
    assert_eq!(side.cwnd(), cwnd, "nothing was in flight: no congestion");
    side.on_sack(t3 + ms(30), &sack(1005, &[]));
    assert_eq!(side.poll_forward_tsn(t3 + ms(30)), None);
    assert_eq!(side.deadline(), None);
}

#[test]
fn an_abandoned_message_goes_whole_even_its_unsent_fragments() {
    let now = Instant::now();
    let mut side = side();
    side.send(now, 4, 53, Bytes::from(vec![0; 30_000]), UNRELIABLE).unwrap();
    let first = drain(&mut side, now);
    assert_eq!(first.len(), 11, "ten MTUs of window: eleven chunks of 26 (the last passes it by less than one MTU)");
    assert!(first.iter().all(|c| c.payload.len() == 1172));
    assert!(side.buffered_amount(4) > 0);
    let t3 = side.deadline().unwrap();
    side.handle_timeout(t3);
    assert_eq!(side.buffered_amount(4), 0, "the rest of the message left the queue");
    assert!(drain(&mut side, t3).is_empty());
    let forward = side.poll_forward_tsn(t3).unwrap();
    // TSN 1011 is the placeholder of the message's unsent end: the FORWARD-TSN reaches past it.
    assert_eq!((forward.new_cumulative_tsn, forward.skipped), (1011, vec![(4, 0)]));
    // The stream goes on with its next message and SSN.
    side.send(t3, 4, 53, Bytes::from(vec![0; 10]), UNRELIABLE).unwrap();
    let next = drain(&mut side, t3);
    assert_eq!((next[0].tsn, next[0].ssn, next[0].beginning), (1012, 1, true));
}

#[test]
fn stale_messages_expire_in_the_queue_but_a_started_one_finishes() {
    let now = Instant::now();
    let mut side = side();
    let lifetime = SendOptions { ordered: false, reliability: Reliability::MaxLifetime(ms(100)) };
    side.send(now, 1, 53, Bytes::from(vec![0; 30_000]), lifetime).unwrap();
    assert_eq!(drain(&mut side, now).len(), 11, "eleven chunks fill the window");
    // Behind the started message (a small stream's would go first otherwise).
    side.send(now, 2, 53, Bytes::from(vec![0; 100]), lifetime).unwrap();
    assert_eq!(side.deadline(), Some(now + ms(100)), "the expiry comes before T3-rtx");
    side.handle_timeout(now + ms(100));
    assert_eq!((side.buffered_amount(1), side.buffered_amount(2)), (30_000 - 11 * 1172, 0));
    assert_eq!(side.poll_forward_tsn(now + ms(100)), None);
    side.on_sack(now + ms(110), &sack(1010, &[]));
    let rest = drain(&mut side, now + ms(110));
    assert_eq!(rest.len(), 12, "as the window allows");
    assert!(rest.iter().all(|c| c.stream == 1 && !c.beginning));
}

#[test]
fn a_message_lost_past_its_lifetime_is_abandoned_and_skipped_even_after_a_part_was_acknowledged() {
    let now = Instant::now();
    let mut side = side();
    let lifetime = SendOptions { ordered: true, reliability: Reliability::MaxLifetime(ms(100)) };
    side.send(now, 6, 53, Bytes::from(vec![0; 100_000]), lifetime).unwrap();
    assert_eq!(drain(&mut side, now).len(), 11);
    side.on_sack(now + ms(50), &sack(1010, &[]));
    let mut last_sent = drain(&mut side, now + ms(50)).last().unwrap().tsn;
    // Everything sent from now on is lost: the tail probe (new data) and the T3-rtx timer find
    // the lifetime over.
    while side.stats().timeouts == 0 {
        let at = side.deadline().unwrap();
        side.handle_timeout(at);
        if let Some(chunk) = drain(&mut side, at).last() {
            last_sent = last_sent.max(chunk.tsn);
        }
    }
    let t3 = side.deadline().unwrap();
    assert!(drain(&mut side, t3).is_empty(), "nothing is retransmitted past the lifetime");
    assert_eq!(side.buffered_amount(6), 0, "the unsent rest is dropped");
    let forward = side.poll_forward_tsn(t3).unwrap();
    assert_eq!(
        (forward.new_cumulative_tsn, forward.skipped),
        (last_sent + 1, vec![(6, 0)]),
        "past the placeholder of the message's end: the peer drops the part it has"
    );
}

#[test]
fn a_zero_window_lets_one_probe_chunk_through() {
    let now = Instant::now();
    let mut side = SendSide::new(INITIAL_TSN, 0, &SctpConfig::default());
    send_messages(&mut side, now, 3, 100, RELIABLE);
    assert_eq!(drain(&mut side, now).len(), 1);
    let mut closed = sack(1000, &[]);
    closed.a_rwnd = 0;
    side.on_sack(now + ms(10), &closed);
    assert_eq!(drain(&mut side, now + ms(10)).len(), 1, "nothing in flight: one probe");
    let mut open = sack(1001, &[]);
    open.a_rwnd = 100_000;
    side.on_sack(now + ms(20), &open);
    assert_eq!(drain(&mut side, now + ms(20)).len(), 1);
    assert_eq!(side.total_buffered(), 0);
}

#[test]
fn a_small_unreliable_message_waits_for_at_most_one_bulk_message() {
    let now = Instant::now();
    let mut side = side();
    for _ in 0..50 {
        side.send(now, 0, 53, Bytes::from(vec![0; 4000]), RELIABLE).unwrap();
    }
    side.send(now, 1, 53, Bytes::from(vec![0; 50]), UNRELIABLE).unwrap();
    assert_eq!((side.buffered_amount(0), side.buffered_amount(1)), (200_000, 50));
    let chunks = drain(&mut side, now);
    let position = chunks.iter().position(|c| c.stream == 1).unwrap();
    assert!(position <= 4, "behind one 4000-byte message at most, was at {position}");
}

#[test]
fn the_send_buffer_limit_is_per_association() {
    let now = Instant::now();
    let config = SctpConfig { max_send_buffer: 10_000, ..SctpConfig::default() };
    let mut side = SendSide::new(INITIAL_TSN, 1 << 20, &config);
    side.send(now, 0, 53, Bytes::from(vec![0; 6000]), RELIABLE).unwrap();
    assert_eq!(side.send(now, 1, 53, Bytes::from(vec![0; 6000]), RELIABLE), Err(SctpError::SendBufferFull));
    drain(&mut side, now);
    assert_eq!(side.buffered_amount(0), 0);
    assert_eq!(
        side.send(now, 1, 53, Bytes::from(vec![0; 6000]), RELIABLE),
        Err(SctpError::SendBufferFull),
        "sent but not acknowledged still counts"
    );
    side.on_sack(now + ms(10), &sack(1005, &[]));
    side.send(now, 1, 53, Bytes::from(vec![0; 6000]), RELIABLE).unwrap();
}

#[test]
fn an_outgoing_reset_drains_then_restarts_ssns_and_names_the_last_tsn() {
    let now = Instant::now();
    let mut side = side();
    send_messages(&mut side, now, 2, 100, RELIABLE);
    side.pause_stream(1);
    assert_eq!(side.send(now, 1, 53, Bytes::from_static(b"x"), RELIABLE), Err(SctpError::StreamResetting));
    assert!(!side.is_stream_drained(1));
    drain(&mut side, now);
    assert!(side.is_stream_drained(1));
    assert_eq!(side.reset_outgoing(&[1]), 1001);
    send_messages(&mut side, now, 1, 100, RELIABLE);
    assert_eq!(drain(&mut side, now)[0].ssn, 0);
}

#[test]
fn a_peer_that_never_moves_its_cumulative_tsn_cannot_grow_the_outstanding_data_without_bound() {
    let now = Instant::now();
    let mut side = side();
    let mut at = now;
    let mut highest = INITIAL_TSN - 1;
    for _ in 0..2000 {
        while side.total_buffered() < 100_000 {
            if side.send(at, 1, 53, Bytes::from_static(b"tiny"), UNRELIABLE).is_err() {
                break;
            }
        }
        for chunk in drain(&mut side, at) {
            highest = highest.max(chunk.tsn);
        }
        at += ms(10);
        // Everything but the first TSN, always.
        let span = (highest - INITIAL_TSN).min(u32::from(u16::MAX)) as u16;
        if span > 0 {
            side.on_sack(at, &sack(INITIAL_TSN - 1, &[(2, span + 1)]));
        }
    }
    assert!(highest - INITIAL_TSN > 16_000, "the window was not what held it back");
    assert!(highest - INITIAL_TSN < 16_384 + 2, "sent up to TSN {highest}");
}

/// A small deterministic generator for the randomized test (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_sends_sacks_and_timeouts_keep_the_bookkeeping_consistent() {
    let options = [
        RELIABLE,
        UNRELIABLE,
        SendOptions { ordered: false, reliability: Reliability::MaxRetransmits(2) },
        SendOptions { ordered: true, reliability: Reliability::MaxLifetime(ms(150)) },
    ];
    for seed in 1..=20u64 {
        let mut random = Random(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let now = Instant::now();
        let mut at = now;
        let mut side = side();
        let mut highest_sent: Option<u32> = None;
        let mut last_cumulative = INITIAL_TSN - 1;
        for _ in 0..3000 {
            match random.below(10) {
                0..=2 => {
                    let len = 1 + random.below(4000) as usize;
                    let stream = random.below(4) as u16;
                    let _ = side.send(at, stream, 53, Bytes::from(vec![0; len]), options[random.below(4) as usize]);
                }
                3..=4 => {
                    let room = random.below(1300) as usize;
                    while let Some(chunk) = side.poll_data(at, room) {
                        highest_sent = Some(highest_sent.map_or(chunk.tsn, |h| h.max(chunk.tsn)));
                    }
                    let _ = side.poll_forward_tsn(at);
                }
                5..=7 => {
                    // A SACK: mostly plausible, sometimes hostile.
                    let span = highest_sent.map_or(0, |h| h.wrapping_sub(last_cumulative)) as u64;
                    let cumulative = if random.below(8) == 0 {
                        random.next() as u32
                    } else {
                        last_cumulative.wrapping_add(random.below(span + 1) as u32)
                    };
                    let mut gaps = Vec::new();
                    let mut offset = 1u64;
                    for _ in 0..random.below(6) {
                        let start = offset + random.below(4);
                        let end = start + random.below(4);
                        if end > u64::from(u16::MAX) {
                            break;
                        }
                        gaps.push((start as u16, end as u16));
                        offset = end + 2;
                    }
                    if random.below(10) == 0 {
                        gaps.reverse();
                    }
                    let mut sack = sack(cumulative, &gaps);
                    sack.a_rwnd = if random.below(10) == 0 { 0 } else { random.next() as u32 };
                    side.on_sack(at, &sack);
                    let widened = cumulative.wrapping_sub(last_cumulative);
                    if widened < (1 << 31) && highest_sent.is_some_and(|h| h.wrapping_sub(cumulative) < (1 << 31)) {
                        last_cumulative = cumulative;
                    }
                }
                _ => {
                    at += ms(random.below(300));
                    if side.deadline().is_some_and(|deadline| deadline <= at) {
                        side.handle_timeout(at);
                    }
                }
            }
            side.outstanding.assert_consistent();
            assert!(side.in_flight() <= super::congestion::MAX_CWND + 2 * 1200);
        }
        let stats = side.stats();
        assert!(stats.chunks_sent > 100 && stats.retransmissions > 0, "seed {seed}: {stats:?}");
        assert!(
            side.outstanding.cumulative_tsn() > crate::sctp::serial::widen_initial(INITIAL_TSN),
            "SACKs were taken"
        );
    }
}
