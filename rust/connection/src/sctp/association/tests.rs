//! The handshake, verification tags, cookies, shutdown, abort and RE-CONFIG, between two
//! associations wired directly on a virtual clock.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use super::*;
use crate::sctp::wire::{CommonHeader, PacketBuilder};

fn pair(seed: u64, a_role: DtlsRole, b_role: DtlsRole) -> (Association, Association, Instant) {
    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Association::new(SctpConfig::default(), a_role, &mut rng, now);
    let b = Association::new(SctpConfig::default(), b_role, &mut rng, now);
    (a, b, now)
}

/// Moves packets both ways until neither side has anything to send; `lose` decides per packet.
fn exchange(a: &mut Association, b: &mut Association, now: Instant, lose: &mut impl FnMut() -> bool) {
    for _ in 0..1000 {
        let mut moved = false;
        while let Some(packet) = a.poll_transmit(now) {
            moved = true;
            if !lose() {
                b.handle_packet(now, &packet);
            }
        }
        while let Some(packet) = b.poll_transmit(now) {
            moved = true;
            if !lose() {
                a.handle_packet(now, &packet);
            }
        }
        if !moved {
            return;
        }
    }
    panic!("the exchange does not settle");
}

/// Runs both sides (exchanges and timers) until `done` or `limit` of virtual time.
fn run(
    a: &mut Association,
    b: &mut Association,
    start: Instant,
    limit: Duration,
    lose: &mut impl FnMut() -> bool,
    mut done: impl FnMut(&mut Association, &mut Association) -> bool,
) -> Instant {
    let mut now = start;
    loop {
        exchange(a, b, now, lose);
        if done(a, b) {
            return now;
        }
        let Some(next) = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min() else {
            return now;
        };
        if next > start + limit {
            return now;
        }
        now = now.max(next);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
}

fn events(association: &mut Association) -> Vec<SctpEvent> {
    std::iter::from_fn(|| association.poll_event()).collect()
}

fn never() -> impl FnMut() -> bool {
    || false
}

#[test]
fn client_and_server_connect() {
    let (mut a, mut b, now) = pair(1, DtlsRole::Client, DtlsRole::Server);
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut a), vec![SctpEvent::Connected]);
    assert_eq!(events(&mut b), vec![SctpEvent::Connected]);
    assert_eq!(a.state, State::Established);
    assert_eq!(b.state, State::Established);
    assert_eq!(a.peer_tag(), Some(b.local_tag));
    assert_eq!(b.peer_tag(), Some(a.local_tag));
    assert_eq!(a.poll_timeout(), None, "no timer runs on an idle association");
    assert_eq!(a.stats().packets_sent, 2, "INIT and COOKIE-ECHO");
    assert_eq!(b.stats().packets_sent, 2, "INIT-ACK and COOKIE-ACK");
}

#[test]
fn data_after_a_lost_cookie_ack_establishes_the_side_that_echoed_the_cookie() {
    let (mut a, mut b, now) = pair(2, DtlsRole::Client, DtlsRole::Server);
    // INIT, INIT-ACK, COOKIE-ECHO: B is established; its COOKIE-ACK is lost.
    b.handle_packet(now, &a.poll_transmit(now).unwrap());
    a.handle_packet(now, &b.poll_transmit(now).unwrap());
    b.handle_packet(now, &a.poll_transmit(now).unwrap());
    assert_eq!(b.state, State::Established);
    assert!(b.poll_transmit(now).is_some(), "the COOKIE-ACK, lost");
    assert_eq!(a.state, State::CookieEchoed);
    let options = SendOptions { ordered: false, reliability: crate::sctp::Reliability::MaxRetransmits(0) };
    b.send(now, 1, 53, Bytes::from_static(b"state"), options).unwrap();
    a.handle_packet(now, &b.poll_transmit(now).unwrap());
    assert_eq!(a.state, State::Established);
    assert_eq!(
        events(&mut a),
        vec![
            SctpEvent::Connected,
            SctpEvent::Message(crate::sctp::Message { stream: 1, ppid: 53, data: Bytes::from_static(b"state") })
        ]
    );
    // A acknowledges it at once (nothing waits for a retransmission timer).
    let answer = a.poll_transmit(now).unwrap();
    let sack = Packet::parse(&answer).unwrap();
    assert!(sack.chunks.iter().any(|chunk| matches!(chunk, Chunk::Sack(_))), "{sack:?}");
    b.handle_packet(now, &answer);
    assert_eq!(b.bytes_in_flight(), 0);
}

#[test]
fn simultaneous_open_connects_once_on_each_side() {
    for order in [true, false] {
        let (mut a, mut b, now) = pair(2, DtlsRole::Client, DtlsRole::Client);
        // Both INITs cross on the wire before either side reads.
        let init_a = a.poll_transmit(now).unwrap();
        let init_b = b.poll_transmit(now).unwrap();
        if order {
            b.handle_packet(now, &init_a);
            a.handle_packet(now, &init_b);
        } else {
            a.handle_packet(now, &init_b);
            b.handle_packet(now, &init_a);
        }
        exchange(&mut a, &mut b, now, &mut never());
        assert_eq!(events(&mut a), vec![SctpEvent::Connected]);
        assert_eq!(events(&mut b), vec![SctpEvent::Connected]);
        assert_eq!(a.peer_tag(), Some(b.local_tag));
        assert_eq!(b.peer_tag(), Some(a.local_tag));
    }
}

#[test]
fn handshake_connects_under_heavy_loss() {
    let mut times = Vec::new();
    for seed in 0..20 {
        let (mut a, mut b, start) = pair(100 + seed, DtlsRole::Client, DtlsRole::Server);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut lose = || rng.random_bool(0.3);
        let end = run(&mut a, &mut b, start, Duration::from_secs(30), &mut lose, |a, b| {
            a.state == State::Established && b.state == State::Established
        });
        assert_eq!(a.state, State::Established, "seed {seed}");
        assert_eq!(b.state, State::Established, "seed {seed}");
        times.push(end - start);
    }
    times.sort();
    println!("handshake at 30% loss, 20 seeds (no RTT): median {:?}, worst {:?}", times[10], times[19]);
    assert!(times[10] < Duration::from_secs(2));
}

/// Runs `a` alone, nothing answering, until no timer is left: the packets it sent, and when
/// its last timer ran.
fn packets_unanswered(a: &mut Association, start: Instant) -> (u32, Instant) {
    let mut now = start;
    let mut packets = 0;
    while let Some(deadline) = a.poll_timeout() {
        while a.poll_transmit(now).is_some() {
            packets += 1;
        }
        now = deadline;
        a.handle_timeout(now);
    }
    while a.poll_transmit(now).is_some() {
        packets += 1;
    }
    (packets, now)
}

#[test]
fn an_unanswered_client_gives_up_after_its_retransmissions() {
    let (mut a, _b, start) = pair(3, DtlsRole::Client, DtlsRole::Server);
    let (inits, now) = packets_unanswered(&mut a, start);
    let config = SctpConfig::default();
    assert_eq!(inits, 1 + config.max_init_retransmits);
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::HandshakeTimeout)]);
    assert!(a.poll_transmit(now).is_none(), "no INIT after giving up");
    // 0.25 + 0.5 + 1 + 2 + 3 × 13 s: backoff capped at 3 s.
    assert_eq!(now - start, Duration::from_millis(42_750));
    assert_eq!(a.poll_timeout(), None);
}

/// Connects a client and a server over a path of `one_way` delay, where the packets numbered
/// in `lost` (counted over both directions) are lost; the srtt each side starts with.
fn handshake_srtt(one_way: Duration, lost: &[usize]) -> (Option<Duration>, Option<Duration>) {
    let (mut client, mut server, start) = pair(7, DtlsRole::Client, DtlsRole::Server);
    let mut now = start;
    // (arrival, to the server, packet)
    let mut wire: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut sent = 0;
    while now < start + Duration::from_secs(10) {
        for (sender, to_server) in [(&mut client, true), (&mut server, false)] {
            while let Some(packet) = sender.poll_transmit(now) {
                if !lost.contains(&sent) {
                    wire.push((now + one_way, to_server, packet));
                }
                sent += 1;
            }
        }
        if client.state == State::Established && server.state == State::Established {
            break;
        }
        let arrival = wire.iter().map(|(at, ..)| *at).min();
        let Some(next) = [arrival, client.poll_timeout(), server.poll_timeout()].into_iter().flatten().min() else {
            break;
        };
        now = next;
        for (_, to_server, packet) in wire.extract_if(.., |(at, ..)| *at <= now) {
            let receiver = if to_server { &mut server } else { &mut client };
            receiver.handle_packet(now, &packet);
        }
        client.handle_timeout(now);
        server.handle_timeout(now);
    }
    assert_eq!((client.state, server.state), (State::Established, State::Established));
    (client.stats().srtt, server.stats().srtt)
}

#[test]
fn the_handshake_round_trip_is_the_first_rtt_sample_on_both_sides() {
    let one_way = Duration::from_millis(20);
    let rtt = Some(one_way * 2);
    assert_eq!(handshake_srtt(one_way, &[]), (rtt, rtt), "INIT to INIT-ACK, INIT-ACK to COOKIE-ECHO");
    // Karn's rule: the first INIT lost, the client measures nothing; the server still does.
    assert_eq!(handshake_srtt(one_way, &[0]), (None, rtt));
    // The first COOKIE-ECHO lost: the server sees the retransmission only and measures nothing.
    assert_eq!(handshake_srtt(one_way, &[2]), (rtt, None));
}

/// Two associations, a client and a server drawn from `seed`, connected on a virtual clock
/// (their `Connected` events taken); also used by the attack and MTU tests.
pub(super) fn connected(seed: u64) -> (Association, Association, Instant) {
    let (mut a, mut b, now) = pair(seed, DtlsRole::Client, DtlsRole::Server);
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut a), vec![SctpEvent::Connected]);
    assert_eq!(events(&mut b), vec![SctpEvent::Connected]);
    (a, b, now)
}

/// A packet to `to` carrying `chunks` under `tag`.
fn packet(tag: u32, chunks: &[Chunk]) -> Vec<u8> {
    let mut builder =
        PacketBuilder::new(CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: tag }, 65_535);
    for chunk in chunks {
        assert!(builder.push(chunk));
    }
    builder.finish()
}

#[test]
fn heartbeats_are_answered_with_their_information() {
    let (mut a, mut b, now) = connected(4);
    let info = Bytes::from_static(&[0, 1, 0, 8, 1, 2, 3, 4]);
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::Heartbeat(info.clone())]));
    let answer = Packet::parse(&b.poll_transmit(now).unwrap()).unwrap();
    assert_eq!(answer.header.verification_tag, a.local_tag);
    assert_eq!(answer.chunks, vec![Chunk::HeartbeatAck(info)]);
    let _ = &mut a;
}

#[test]
fn answers_never_outgrow_a_packet() {
    let (_a, mut b, now) = connected(18);
    // A HEARTBEAT whose echo would not fit the MTU, and a reportable unknown chunk too long to
    // report, get no answer.
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::Heartbeat(Bytes::from(vec![0; 2000]))]));
    let mut raw = vec![0xC7, 0, 0x03, 0xE8];
    raw.resize(1000, 0);
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::Unknown { kind: 0xC7, raw: Bytes::from(raw) }]));
    assert!(b.poll_transmit(now).is_none());
    // An INIT full of long unknown parameters gets an INIT-ACK of one packet.
    let (mut a, mut server, now) = pair(19, DtlsRole::Client, DtlsRole::Server);
    let mut init = a.our_init(None, vec![]);
    init.initiate_tag = 5;
    let mut bytes = packet(0, &[Chunk::Init(init)]);
    for _ in 0..4 {
        bytes.extend_from_slice(&[0xC0, 0x77, 0x03, 0xE8]);
        bytes.extend_from_slice(&[0; 996]);
    }
    let chunk_len = (bytes.len() - 12) as u16;
    bytes[14..16].copy_from_slice(&chunk_len.to_be_bytes());
    crate::sctp::wire::seal_for_tests(&mut bytes);
    server.handle_packet(now, &bytes);
    let answer = server.poll_transmit(now).unwrap();
    assert!(answer.len() <= SctpConfig::default().mtu, "{}", answer.len());
    let _ = a.poll_transmit(now);
}

#[test]
fn a_wrong_tag_or_a_bad_checksum_is_dropped() {
    let (mut a, mut b, now) = connected(5);
    let abort = Chunk::Abort { tag_reflected: false, causes: vec![] };
    b.handle_packet(now, &packet(b.local_tag.wrapping_add(1), std::slice::from_ref(&abort)));
    let mut corrupt = packet(b.local_tag, std::slice::from_ref(&abort));
    corrupt[8] ^= 1;
    b.handle_packet(now, &corrupt);
    // A reflected-tag ABORT must carry b's peer's tag, not its own.
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::Abort { tag_reflected: true, causes: vec![] }]));
    // An INIT must come alone and with tag 0.
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::CookieAck, Chunk::Init(a.our_init(None, vec![]))]));
    assert_eq!(b.stats().packets_dropped, 4);
    assert_eq!(b.state, State::Established);
    assert!(events(&mut b).is_empty());
    // The right tag works.
    b.handle_packet(now, &packet(a.local_tag, &[Chunk::Abort { tag_reflected: true, causes: vec![] }]));
    assert_eq!(events(&mut b), vec![SctpEvent::Closed(SctpError::Aborted)]);
    let _ = &mut a;
}

#[test]
fn a_forged_or_replayed_cookie_establishes_nothing() {
    let (_a, mut b, start) = pair(6, DtlsRole::Client, DtlsRole::Server);
    let mut rng = StdRng::seed_from_u64(6);
    for len in [0, 10, cookie::COOKIE_LEN, 500] {
        let mut forged = vec![0; len];
        rng.fill_bytes(&mut forged);
        b.handle_packet(start, &packet(b.local_tag, &[Chunk::CookieEcho(Bytes::from(forged))]));
    }
    assert_eq!(b.state, State::Closed);
    assert!(b.poll_transmit(start).is_none());
    // A genuine cookie replayed after its lifetime is refused too.
    let (mut a, mut b, start) = pair(7, DtlsRole::Client, DtlsRole::Server);
    b.handle_packet(start, &a.poll_transmit(start).unwrap());
    a.handle_packet(start, &b.poll_transmit(start).unwrap());
    let echo = a.poll_transmit(start).unwrap();
    b.handle_packet(start + VALID_COOKIE_LIFE + Duration::from_secs(1), &echo);
    assert_eq!(b.state, State::Closed);
    b.handle_packet(start + Duration::from_secs(1), &echo);
    assert_eq!(b.state, State::Established);
}

#[test]
fn an_init_flood_costs_bounded_memory_and_still_lets_the_peer_in() {
    let (mut a, mut b, now) = pair(8, DtlsRole::Client, DtlsRole::Server);
    let mut rng = StdRng::seed_from_u64(8);
    for _ in 0..10_000 {
        let mut init = a.our_init(None, vec![]);
        init.initiate_tag = rng.random_range(1..u32::MAX);
        b.handle_packet(now, &packet(0, &[Chunk::Init(init)]));
        assert!(b.control.len() <= MAX_CONTROL_QUEUE);
    }
    assert_eq!(b.state, State::Closed);
    assert!(b.peer.is_none());
    while b.poll_transmit(now).is_some() {}
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(b.state, State::Established);
    assert_eq!(a.state, State::Established);
}

#[test]
fn abort_ends_both_sides() {
    let (mut a, mut b, now) = connected(9);
    a.abort(now);
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::AbortedLocally)]);
    assert_eq!(events(&mut b), vec![SctpEvent::Closed(SctpError::Aborted)]);
    assert_eq!(
        a.send(
            now,
            0,
            51,
            Bytes::from_static(b"x"),
            SendOptions { ordered: true, reliability: crate::sctp::Reliability::Reliable }
        ),
        Err(SctpError::NotConnected)
    );
}

#[test]
fn shutdown_ends_both_sides_gracefully_even_under_loss() {
    for seed in 0..10 {
        let (mut a, mut b, start) = connected(10 + seed);
        a.close(start);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut lose = || rng.random_bool(0.3);
        run(&mut a, &mut b, start, Duration::from_secs(60), &mut lose, |a, b| {
            a.state == State::Ended && b.state == State::Ended
        });
        assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::ShutDown)], "seed {seed}");
        // A SHUTDOWN-COMPLETE lost is sent again when B's SHUTDOWN-ACK comes again.
        assert_eq!(events(&mut b), vec![SctpEvent::Closed(SctpError::ShutDown)], "seed {seed}");
    }
}

#[test]
fn both_sides_closing_at_once_end_cleanly() {
    let (mut a, mut b, now) = connected(30);
    a.close(now);
    b.close(now);
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::ShutDown)]);
    assert_eq!(events(&mut b), vec![SctpEvent::Closed(SctpError::ShutDown)]);
}

#[test]
fn an_unanswered_shutdown_ends_after_the_retransmission_limit() {
    let (mut a, _b, start) = connected(31);
    a.close(start);
    let mut now = start;
    while let Some(deadline) = a.poll_timeout() {
        while a.poll_transmit(now).is_some() {}
        now = deadline;
        a.handle_timeout(now);
    }
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::TooManyRetransmissions)]);
    let abort = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
    assert!(matches!(abort.chunks[..], [Chunk::Abort { .. }]));
}

#[test]
fn unknown_chunks_are_reported_or_skipped_by_their_type_bits() {
    let (mut a, mut b, now) = connected(11);
    let unknown = |kind: u8| Chunk::Unknown { kind, raw: Bytes::from(vec![kind, 0, 0, 4]) };
    let heartbeat = Chunk::Heartbeat(Bytes::from_static(&[0, 1, 0, 4]));
    // 11: skipped and reported, the rest processed.
    b.handle_packet(now, &packet(b.local_tag, &[unknown(0xC5), heartbeat.clone()]));
    let reply = Packet::parse(&b.poll_transmit(now).unwrap()).unwrap();
    assert_eq!(
        reply.chunks,
        vec![
            Chunk::HeartbeatAck(Bytes::from_static(&[0, 1, 0, 4])),
            Chunk::Error(vec![ErrorCause::new(code::UNRECOGNIZED_CHUNK, Bytes::from(vec![0xC5, 0, 0, 4]))]),
        ]
    );
    // 00: the rest of the packet is dropped, nothing reported.
    b.handle_packet(now, &packet(b.local_tag, &[unknown(0x3E), heartbeat]));
    assert!(b.poll_transmit(now).is_none());
    let _ = &mut a;
}

#[test]
fn a_stream_reset_is_requested_and_answered() {
    let (mut a, mut b, now) = connected(12);
    a.reset_streams(now, &[1, 3]);
    let request = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
    let Chunk::ReConfig(params) = &request.chunks[0] else { panic!("{request:?}") };
    assert!(matches!(&params[..], [ReconfigParam::OutgoingReset { streams, request_seq, .. }]
        if streams == &vec![1, 3] && *request_seq == a.local_initial_tsn));
    assert!(a.reconfig_timer.deadline().is_some());
    b.handle_packet(now, &packet(b.local_tag, &request.chunks));
    let response = b.poll_transmit(now).unwrap();
    // The request sent again (its response lost) is answered the same, not applied twice.
    b.handle_packet(now, &packet(b.local_tag, &request.chunks));
    let again = b.poll_transmit(now).unwrap();
    assert_eq!(Packet::parse(&response).unwrap().chunks, Packet::parse(&again).unwrap().chunks);
    let answer = Packet::parse(&response).unwrap();
    assert_eq!(
        answer.chunks,
        vec![Chunk::ReConfig(vec![ReconfigParam::Response {
            response_seq: a.local_initial_tsn,
            result: ReconfigResult::SuccessPerformed
        }])]
    );
    a.handle_packet(now, &response);
    assert!(a.reset_in_flight.is_none());
    assert_eq!(a.reconfig_timer.deadline(), None);
    // A second reset takes the next sequence number.
    a.reset_streams(now, &[5]);
    exchange(&mut a, &mut b, now, &mut never());
    assert!(a.reset_in_flight.is_none());
    assert_eq!(b.peer_next_request_seq, a.local_initial_tsn.wrapping_add(2));
}

/// The peer answers `a`'s RE-CONFIG request `seq` with `result`.
fn answer_reset(a: &mut Association, now: Instant, seq: u32, result: ReconfigResult) {
    let response = ReconfigParam::Response { response_seq: seq, result };
    a.handle_packet(now, &packet(a.local_tag, &[Chunk::ReConfig(vec![response])]));
}

#[test]
fn a_reset_answered_in_progress_is_asked_again_under_a_new_number() {
    let (mut a, b, now) = connected(16);
    a.reset_streams(now, &[1]);
    let first = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
    let Chunk::ReConfig(params) = &first.chunks[0] else { panic!("{first:?}") };
    let [ReconfigParam::OutgoingReset { request_seq, last_tsn, .. }] = params[..] else { panic!("{params:?}") };
    let answer = |result| {
        packet(a.local_tag, &[Chunk::ReConfig(vec![ReconfigParam::Response { response_seq: request_seq, result }])])
    };
    a.handle_packet(now, &answer(ReconfigResult::InProgress));
    assert!(a.poll_transmit(now).is_none());
    // Many "in progress" rounds never count as the peer failing.
    let mut now = now;
    let mut seq = request_seq;
    for _ in 0..20 {
        now = a.poll_timeout().unwrap();
        a.handle_timeout(now);
        let again = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
        let Chunk::ReConfig(params) = &again.chunks[0] else { panic!("{again:?}") };
        let [ReconfigParam::OutgoingReset { request_seq: new_seq, last_tsn: same_tsn, .. }] = params[..] else {
            panic!("{params:?}")
        };
        assert_eq!(new_seq, seq.wrapping_add(1));
        assert_eq!(same_tsn, last_tsn);
        seq = new_seq;
        answer_reset(&mut a, now, seq, ReconfigResult::InProgress);
    }
    assert_eq!(a.state, State::Established);
    answer_reset(&mut a, now, seq, ReconfigResult::SuccessPerformed);
    assert!(a.reset_in_flight.is_none());
    let _ = b;
}

#[test]
fn other_reconfig_requests_are_denied_and_bad_numbers_refused() {
    let (_a, mut b, now) = connected(13);
    let seq = b.peer_next_request_seq;
    let ask = |kind: u16, request_seq: u32| {
        packet(b.local_tag, &[Chunk::ReConfig(vec![ReconfigParam::OtherRequest { kind, request_seq }])])
    };
    let add_streams = ask(17, seq);
    let far = ask(17, seq.wrapping_add(100));
    for (bytes, result) in [(add_streams, ReconfigResult::Denied), (far, ReconfigResult::BadSequenceNumber)] {
        b.handle_packet(now, &bytes);
        let reply = Packet::parse(&b.poll_transmit(now).unwrap()).unwrap();
        assert!(matches!(&reply.chunks[..], [Chunk::ReConfig(params)]
            if matches!(params[..], [ReconfigParam::Response { result: r, .. }] if r == result)));
    }
}

#[test]
fn an_unanswered_stream_reset_is_sent_again_then_ends_the_association() {
    let (mut a, _b, start) = connected(14);
    a.reset_streams(start, &[2]);
    let (requests, _) = packets_unanswered(&mut a, start);
    assert_eq!(requests, 1 + SctpConfig::default().max_retransmissions + 1, "the requests, then the ABORT");
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::TooManyRetransmissions)]);
}

#[test]
fn hostile_packets_never_panic_in_any_state() {
    let mut rng = StdRng::seed_from_u64(15);
    for round in 0..300 {
        let (mut a, mut b, now) =
            if round % 2 == 0 { connected(round) } else { pair(round, DtlsRole::Client, DtlsRole::Server) };
        for _ in 0..50 {
            let len = rng.random_range(0..200);
            let mut bytes = vec![0; len];
            rng.fill_bytes(&mut bytes);
            if len > 12 {
                let tag = if rng.random_bool(0.5) { b.local_tag } else { 0 };
                bytes[4..8].copy_from_slice(&tag.to_be_bytes());
                bytes[12] = rng.random_range(0..16);
                crate::sctp::wire::seal_for_tests(&mut bytes);
            }
            b.handle_packet(now, &bytes);
            while b.poll_transmit(now).is_some() {}
        }
        assert!(b.control.len() <= MAX_CONTROL_QUEUE);
        let _ = &mut a;
    }
}

#[test]
fn no_reset_request_goes_to_a_peer_without_reconfig() {
    let (mut a, _b, now) = connected(17);
    if let Some(peer) = a.peer.as_mut() {
        peer.peer_extensions.reconfig = false;
    }
    a.reset_streams(now, &[1]);
    assert!(a.poll_transmit(now).is_none());
    assert!(a.reset_in_flight.is_none());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn data_reaching_a_shutdown_sender_is_answered_with_shutdown_again() {
    let (mut a, mut b, now) = connected(20);
    a.close(now);
    let shutdown = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
    assert!(matches!(shutdown.chunks[..], [Chunk::Shutdown { .. }]));
    assert_eq!(a.state, State::ShutdownSent);
    // B had data on its way before it saw the SHUTDOWN.
    let options = SendOptions { ordered: true, reliability: crate::sctp::Reliability::Reliable };
    b.send(now, 1, 53, Bytes::from_static(b"late"), options).unwrap();
    a.handle_packet(now, &b.poll_transmit(now).unwrap());
    let answer = Packet::parse(&a.poll_transmit(now).unwrap()).unwrap();
    assert!(answer.chunks.iter().any(|chunk| matches!(chunk, Chunk::Shutdown { .. })), "{answer:?}");
    assert_eq!(
        events(&mut a),
        vec![SctpEvent::Message(crate::sctp::Message { stream: 1, ppid: 53, data: Bytes::from_static(b"late") })]
    );
}

#[test]
fn a_reset_of_many_streams_goes_in_requests_that_fit_a_packet() {
    let (mut a, mut b, now) = connected(21);
    let streams: Vec<StreamId> = (0..1000).collect();
    a.reset_streams(now, &streams);
    let mut reset = Vec::new();
    for _ in 0..10 {
        while let Some(packet) = a.poll_transmit(now) {
            assert!(packet.len() <= SctpConfig::default().mtu, "{}", packet.len());
            b.handle_packet(now, &packet);
        }
        while let Some(packet) = b.poll_transmit(now) {
            a.handle_packet(now, &packet);
        }
        while let Some(event) = b.poll_event() {
            if let SctpEvent::StreamsReset(streams) = event {
                reset.extend(streams);
            }
        }
    }
    reset.sort_unstable();
    assert_eq!(reset, streams);
    assert!(a.reset_in_flight.is_none() && a.resets_pending.is_empty());
}

#[test]
fn data_on_a_stream_past_the_limit_is_acknowledged_and_reported() {
    let (a, mut b, now) = connected(22);
    let chunk = DataChunk {
        tsn: a.local_initial_tsn,
        stream: 2000,
        ssn: 0,
        ppid: 53,
        unordered: false,
        beginning: true,
        ending: true,
        immediate_sack: true,
        payload: Bytes::from_static(b"x"),
    };
    b.handle_packet(now, &packet(b.local_tag, &[Chunk::Data(chunk)]));
    let reply = Packet::parse(&b.poll_transmit(now).unwrap()).unwrap();
    assert!(
        reply.chunks.contains(&Chunk::Error(vec![ErrorCause::new(code::INVALID_STREAM, &[0x07, 0xD0, 0, 0][..])])),
        "{reply:?}"
    );
    assert!(reply
        .chunks
        .iter()
        .any(|chunk| matches!(chunk, Chunk::Sack(sack) if sack.cumulative_tsn == a.local_initial_tsn)));
    assert!(events(&mut b).is_empty());
}

#[test]
fn a_peer_breaking_the_rules_is_aborted() {
    let now = Instant::now();
    let mut rng = StdRng::seed_from_u64(23);
    let mut a = Association::new(SctpConfig::default(), DtlsRole::Client, &mut rng, now);
    let small = SctpConfig { max_message_size: 1000, ..SctpConfig::default() };
    let mut b = Association::new(small, DtlsRole::Server, &mut rng, now);
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut a), vec![SctpEvent::Connected]);
    assert_eq!(events(&mut b), vec![SctpEvent::Connected]);
    let options = SendOptions { ordered: true, reliability: crate::sctp::Reliability::Reliable };
    a.send(now, 0, 53, Bytes::from(vec![7; 5000]), options).unwrap();
    exchange(&mut a, &mut b, now, &mut never());
    assert_eq!(events(&mut b), vec![SctpEvent::Closed(SctpError::RemoteMessageTooLarge { max: 1000 })]);
    assert_eq!(events(&mut a), vec![SctpEvent::Closed(SctpError::Aborted)]);
}

#[test]
fn a_path_change_sends_what_is_in_flight_again_at_once_and_a_heartbeat_is_answered() {
    let (mut a, mut b, now) = connected(22);
    let options = SendOptions { ordered: true, reliability: crate::sctp::Reliability::Reliable };
    a.send(now, 1, 53, Bytes::from_static(b"lost on the old path"), options).unwrap();
    let lost = a.poll_transmit(now).expect("the DATA");
    assert!(a.bytes_in_flight() > 0);
    // Nothing more goes before the retransmission timer, until the path changes.
    let later = now + Duration::from_millis(100);
    assert_eq!(a.poll_transmit(later), None);
    a.path_changed(later);
    let again = a.poll_transmit(later).expect("the DATA again");
    let tsns = |packet: &[u8]| -> Vec<u32> {
        let chunks = Packet::parse(packet).unwrap().chunks;
        chunks.iter().filter_map(|chunk| if let Chunk::Data(data) = chunk { Some(data.tsn) } else { None }).collect()
    };
    assert_eq!(tsns(&again), tsns(&lost));
    assert_eq!(tsns(&again).len(), 1);
    assert_eq!(a.stats().t3_timeouts, 0, "not a timeout");
    b.handle_packet(later, &again);
    assert_eq!(
        events(&mut b),
        vec![SctpEvent::Message(crate::sctp::Message {
            stream: 1,
            ppid: 53,
            data: Bytes::from_static(b"lost on the old path")
        })]
    );
    // A keepalive on an idle path: B answers it.
    exchange(&mut a, &mut b, later, &mut never());
    assert_eq!(a.bytes_in_flight(), 0);
    a.send_heartbeat();
    let heartbeat = a.poll_transmit(later).expect("a HEARTBEAT");
    assert!(matches!(Packet::parse(&heartbeat).unwrap().chunks[..], [Chunk::Heartbeat(_)]));
    b.handle_packet(later, &heartbeat);
    let answer = Packet::parse(&b.poll_transmit(later).expect("its answer")).unwrap();
    assert!(matches!(answer.chunks[..], [Chunk::HeartbeatAck(_)]));
}
