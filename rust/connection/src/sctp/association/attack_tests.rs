//! A connected peer turned hostile: chunks that parse (so they reach the association's logic,
//! not only its parser) with field values chosen to hurt: TSNs near and far from what is in
//! flight, gap blocks and duplicates by the hundred, zero and huge windows, FORWARD-TSNs and
//! stream resets on any stream, control chunks in the wrong state, time that jumps by hours.
//! Seeded and bounded: the association never panics, never loops, and what it holds stays
//! within its documented limits.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use super::tests::connected;
use super::*;
use crate::sctp::chunks::GapBlock;
use crate::sctp::{Reliability, StreamId};

/// The most packets one poll loop may give before it counts as looping.
const MAX_PACKETS_PER_DRAIN: usize = 10_000;

/// A TSN near `base`: mostly within a few thousand either way, sometimes anywhere.
fn tsn_near(rng: &mut StdRng, base: u32) -> u32 {
    match rng.random_range(0..10) {
        0 => rng.next_u32(),
        1 => base.wrapping_add(rng.random_range(0..=u32::from(u16::MAX) + 2)),
        _ => base.wrapping_add(rng.random_range(0..4000)).wrapping_sub(rng.random_range(0..200)),
    }
}

fn stream(rng: &mut StdRng) -> StreamId {
    if rng.random_bool(0.9) {
        rng.random_range(0..8)
    } else {
        rng.random()
    }
}

fn payload(rng: &mut StdRng) -> Bytes {
    let len = if rng.random_bool(0.9) { rng.random_range(1..64) } else { rng.random_range(1..1200) };
    Bytes::from(vec![7; len])
}

/// One chunk as a hostile connected peer would send it to `victim`.
fn hostile_chunk(rng: &mut StdRng, victim: &Association, patient: bool) -> Chunk {
    let peer_tsn = victim.peer.map_or(0, |peer| peer.peer_initial_tsn);
    let our_tsn = victim.local_initial_tsn;
    let kinds = if patient { 86 } else { 100 };
    match rng.random_range(0..kinds) {
        0..30 => Chunk::Data(DataChunk {
            tsn: tsn_near(rng, peer_tsn),
            stream: stream(rng),
            ssn: rng.random_range(0..8),
            ppid: rng.random_range(50..58),
            unordered: rng.random(),
            beginning: rng.random(),
            ending: rng.random(),
            immediate_sack: rng.random(),
            payload: payload(rng),
        }),
        30..55 => {
            let count = if rng.random_bool(0.8) { rng.random_range(0..8) } else { rng.random_range(0..300) };
            let mut offset = 0u16;
            let gaps = (0..count)
                .map(|_| {
                    if rng.random_bool(0.2) {
                        GapBlock { start: rng.random(), end: rng.random() }
                    } else {
                        let start = offset.saturating_add(rng.random_range(1..20));
                        let end = start.saturating_add(rng.random_range(0..20));
                        offset = end;
                        GapBlock { start, end }
                    }
                })
                .collect();
            let duplicates = (0..rng.random_range(0..40)).map(|_| tsn_near(rng, our_tsn)).collect();
            let a_rwnd = match rng.random_range(0..4) {
                0 => 0,
                1 => u32::MAX,
                2 => rng.random_range(0..2000),
                _ => rng.random(),
            };
            Chunk::Sack(Sack { cumulative_tsn: tsn_near(rng, our_tsn.wrapping_sub(1)), a_rwnd, gaps, duplicates })
        }
        55..70 => {
            let count = if rng.random_bool(0.8) { rng.random_range(0..4) } else { rng.random_range(0..300) };
            let skipped = (0..count).map(|_| (stream(rng), rng.random())).collect();
            Chunk::ForwardTsn(ForwardTsn { new_cumulative_tsn: tsn_near(rng, peer_tsn), skipped })
        }
        70..82 => {
            let param = match rng.random_range(0..3) {
                0 => ReconfigParam::OutgoingReset {
                    request_seq: victim.peer_next_request_seq.wrapping_add(rng.random_range(0..3)).wrapping_sub(1),
                    response_seq: rng.random(),
                    last_tsn: tsn_near(rng, peer_tsn),
                    streams: (0..rng.random_range(0..40)).map(|_| stream(rng)).collect(),
                },
                1 => ReconfigParam::Response {
                    response_seq: victim.next_request_seq.wrapping_add(rng.random_range(0..3)).wrapping_sub(2),
                    result: [
                        ReconfigResult::SuccessNothingToDo,
                        ReconfigResult::SuccessPerformed,
                        ReconfigResult::Denied,
                        ReconfigResult::InProgress,
                        ReconfigResult::BadSequenceNumber,
                        ReconfigResult::Other(99),
                    ][rng.random_range(0..6)],
                },
                _ => ReconfigParam::OtherRequest { kind: rng.random_range(14..20), request_seq: rng.random() },
            };
            Chunk::ReConfig(vec![param])
        }
        82..86 => Chunk::Heartbeat(Bytes::from(vec![0, 1, 0, 8, 1, 2, 3, 4])),
        86..88 => Chunk::HeartbeatAck(Bytes::from_static(b"x")),
        88..90 => Chunk::Shutdown { cumulative_tsn: tsn_near(rng, our_tsn) },
        90..92 => Chunk::CookieEcho(payload(rng)),
        92..94 => Chunk::CookieAck,
        94..96 => Chunk::Error(vec![ErrorCause::new(rng.random(), payload(rng))]),
        96..97 => Chunk::ShutdownAck,
        _ => Chunk::Unknown { kind: rng.random_range(0x40..0xff), raw: Bytes::from(vec![0xc0, 0, 0, 4]) },
    }
}

/// A packet for `victim` carrying `chunks` under its own verification tag.
fn packet_to(victim: &Association, chunks: &[Chunk]) -> Vec<u8> {
    let header = CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: victim.local_tag };
    let mut builder = PacketBuilder::new(header, 65_535);
    for chunk in chunks {
        builder.push(chunk);
    }
    builder.finish()
}

/// Sends everything `from` has to `to` (or drops it), failing if it never stops.
fn drain(from: &mut Association, to: Option<&mut Association>, now: Instant) {
    let mut to = to;
    for _ in 0..MAX_PACKETS_PER_DRAIN {
        let Some(packet) = from.poll_transmit(now) else { return };
        assert!(packet.len() <= from.config.mtu, "a packet of {} bytes past the MTU", packet.len());
        if let Some(to) = to.as_deref_mut() {
            to.handle_packet(now, &packet);
        }
    }
    panic!("poll_transmit gives packets without end");
}

/// What the association holds that a peer could grow, checked against its limits.
fn assert_bounded(association: &Association) {
    assert!(association.control.len() <= MAX_CONTROL_QUEUE);
    assert!(association.resets_pending.len() <= usize::from(association.config.max_streams).max(1));
    let stats = association.stats();
    assert!(stats.rto <= association.config.rto_max, "rto {:?}", stats.rto);
    assert!(stats.cwnd <= 4 * 1024 * 1024, "cwnd {}", stats.cwnd);
}

/// Runs one seeded round: an honest pair where B's side of the wire is also a hostile peer
/// forging chunks at A, while A sends messages of every kind and time moves in jumps.
fn hostile_round(seed: u64, packets: usize, patient: bool) -> usize {
    let (mut a, mut b, mut now) = connected(seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    for step in 0..packets {
        if rng.random_bool(0.3) {
            let reliability = match rng.random_range(0..3) {
                0 => Reliability::Reliable,
                1 => Reliability::MaxRetransmits(rng.random_range(0..3)),
                _ => Reliability::MaxLifetime(Duration::from_millis(rng.random_range(0..2000))),
            };
            let options = SendOptions { ordered: rng.random(), reliability };
            let _ = a.send(now, rng.random_range(0..8), 53, payload(&mut rng), options);
        }
        if rng.random_bool(0.02) {
            a.reset_streams(now, &[rng.random_range(0..8)]);
        }
        let chunks: Vec<Chunk> = (0..rng.random_range(1..4)).map(|_| hostile_chunk(&mut rng, &a, patient)).collect();
        a.handle_packet(now, &packet_to(&a, &chunks));
        // A's answers go to the honest B half the time (B must hold against them too).
        let honest = rng.random_bool(0.5);
        drain(&mut a, honest.then_some(&mut b), now);
        drain(&mut b, Some(&mut a), now);
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        let jump = match rng.random_range(u32::from(patient)..20) {
            0 => Duration::from_secs(rng.random_range(0..100_000)),
            1..5 => Duration::from_millis(rng.random_range(0..3000)),
            _ => Duration::from_millis(rng.random_range(0..20)),
        };
        now += jump;
        for association in [&mut a, &mut b] {
            if let Some(deadline) = association.poll_timeout() {
                if deadline <= now {
                    association.handle_timeout(now);
                }
            }
        }
        assert_bounded(&a);
        assert_bounded(&b);
        if a.state == State::Ended {
            return step;
        }
    }
    packets
}

#[test]
fn a_hostile_connected_peer_never_panics_loops_or_grows_the_association() {
    for patient in [false, true] {
        let mut steps = 0;
        for seed in 0..300 {
            steps += hostile_round(seed, 400, patient);
        }
        println!("patient {patient}: {steps} hostile packets handled before the association ended (of {})", 300 * 400);
    }
}

/// The DATA chunks' TSNs in the packets `association` has to send now (sent nowhere).
fn sent_tsns(association: &mut Association, now: Instant) -> Vec<u32> {
    let mut tsns = Vec::new();
    while let Some(packet) = association.poll_transmit(now) {
        let Some(packet) = crate::sctp::wire::Packet::parse(&packet) else { continue };
        tsns.extend(packet.chunks.iter().filter_map(|chunk| match chunk {
            Chunk::Data(data) => Some(data.tsn),
            _ => None,
        }));
    }
    tsns
}

/// A connected peer makes us hold many tiny chunks outstanding (it acknowledged quickly to
/// open the window, then stops), then sends SACKs that each gap-acknowledge all of them again,
/// one per packet (only a packet's first SACK is read) or with 63 more copies behind it. What
/// does each packet cost us?
#[test]
fn repeated_sacks_over_a_full_outstanding_list_cost_little() {
    let (per_sack, per_full_packet, held) = repeated_sacks(30, false);
    assert!(held > 1000, "the window did not open: {held} chunks outstanding");
    // A SACK that repeats the last is skipped: 0.4 µs per packet of one SACK (was 6 µs with
    // 2400 chunks outstanding, walking them all), 18 µs per packet of 64 (parsing them; was 23).
    assert!(per_sack < Duration::from_micros(3), "{per_sack:?} per packet of one SACK");
    assert!(per_full_packet < Duration::from_micros(100), "{per_full_packet:?} per packet of 64 SACKs");
}

/// The same with two SACKs taking turns (the second's gap block ends one TSN lower), so that
/// none repeats the one before: each walks only the chunks it names not acknowledged yet (and,
/// for miss indications, those between its gap blocks).
#[test]
fn alternating_sacks_over_a_full_outstanding_list_cost_little() {
    let (per_sack, per_full_packet, held) = repeated_sacks(30, true);
    assert!(held > 1000, "the window did not open: {held} chunks outstanding");
    // 0.6 µs per packet of one SACK (was 6 µs).
    assert!(per_sack < Duration::from_micros(3), "{per_sack:?} per packet of one SACK");
    assert!(per_full_packet < Duration::from_micros(100), "{per_full_packet:?} per packet of 64 SACKs");
}

/// Opens our window with `rounds` of prompt acknowledgements, fills it with one-byte messages
/// left unacknowledged, then times packets of SACKs each gap-acknowledging all of them again
/// (`alternate`: every other packet's leave the last chunk out); the time per packet of one
/// SACK, per packet of 64, and the chunks outstanding.
fn repeated_sacks(rounds: usize, alternate: bool) -> (Duration, Duration, u32) {
    let (mut a, _b, now) = connected(77);
    let options = SendOptions { ordered: false, reliability: Reliability::Reliable };
    let one_byte = Bytes::from_static(b"x");
    // The window opens: everything sent is acknowledged at once, with all the room there is.
    for _ in 0..rounds {
        for _ in 0..2000 {
            if a.send(now, 1, 53, one_byte.clone(), options).is_err() {
                break;
            }
        }
        let Some(&highest) = sent_tsns(&mut a, now).last() else { continue };
        let sack = Sack { cumulative_tsn: highest, a_rwnd: u32::MAX, gaps: Vec::new(), duplicates: Vec::new() };
        a.handle_packet(now, &packet_to(&a, &[Chunk::Sack(sack)]));
    }
    // Then nothing more is acknowledged.
    let mut outstanding = Vec::new();
    for _ in 0..20 {
        for _ in 0..2000 {
            if a.send(now, 1, 53, one_byte.clone(), options).is_err() {
                break;
            }
        }
        outstanding.extend(sent_tsns(&mut a, now));
    }
    let (Some(&first), Some(&last)) = (outstanding.first(), outstanding.last()) else { panic!("nothing sent") };
    let held = last.wrapping_sub(first) + 1;
    println!("cwnd {} bytes, {held} chunks outstanding", a.stats().cwnd);
    let end = u16::try_from(held - 1).unwrap_or(u16::MAX);
    let sack = |end: u16| {
        Chunk::Sack(Sack {
            cumulative_tsn: first.wrapping_sub(1),
            a_rwnd: 0,
            gaps: vec![GapBlock { start: 2, end }],
            duplicates: Vec::new(),
        })
    };
    let sacks = [sack(end), sack(if alternate { end - 1 } else { end })];
    let one_each = sacks.clone().map(|sack| packet_to(&a, &[sack]));
    let copies_each = sacks.map(|sack| packet_to(&a, &vec![sack; 64]));
    let per_sack = time_per_packet(&mut a, now, &one_each);
    let per_full_packet = time_per_packet(&mut a, now, &copies_each);
    println!(
        "{held} chunks outstanding, SACKs alternating: {alternate}: {per_sack:?} per packet of one SACK, \
         {per_full_packet:?} per packet of 64"
    );
    (per_sack, per_full_packet, held)
}

/// The time `a` takes per packet, `packets` in turn: the fastest of 5 batches of 200 (the
/// machine is shared, and other work only adds time).
fn time_per_packet(a: &mut Association, now: Instant, packets: &[Vec<u8>; 2]) -> Duration {
    (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            for index in 0..200 {
                a.handle_packet(now, &packets[index % 2]);
            }
            started.elapsed() / 200
        })
        .min()
        .unwrap_or_default()
}

/// A connected peer resets all its streams again and again (a RE-CONFIG request listing no
/// stream means every one) while the application is busy and reads no event: each reset waits
/// as an event naming up to `max_streams` streams. What waits must stay within the receive
/// side's bound on things held, counted in stream ids, not in events.
#[test]
fn resets_of_every_stream_nobody_reads_hold_bounded_memory() {
    let (mut a, _b, now) = connected(78);
    let last_tsn = a.peer.map_or(0, |peer| peer.peer_initial_tsn).wrapping_sub(1);
    let mut seq = a.peer_next_request_seq;
    for _ in 0..20_000 {
        let request = ReconfigParam::OutgoingReset { request_seq: seq, response_seq: 0, last_tsn, streams: Vec::new() };
        seq = seq.wrapping_add(1);
        a.handle_packet(now, &packet_to(&a, &[Chunk::ReConfig(vec![request])]));
        while a.poll_transmit(now).is_some() {}
    }
    let mut events = 0;
    let mut stream_ids = 0;
    while let Some(event) = a.poll_event() {
        events += 1;
        if let SctpEvent::StreamsReset(streams) = event {
            stream_ids += streams.len();
        }
    }
    println!("20 000 resets of every stream, unread: {events} events naming {stream_ids} stream ids");
    let max_held = 16_384; // the receive side's MAX_HELD_ITEMS
    assert!(stream_ids <= max_held, "{stream_ids} stream ids held ({} bytes)", 2 * stream_ids);
}

/// A connected peer sends packets of 64 one-byte DATA chunks on every other TSN (each a new
/// gap), then repeats them (duplicates), then FORWARD-TSNs over them: what does a packet cost?
#[test]
fn packets_of_tiny_chunks_full_of_gaps_cost_little() {
    let (mut a, _b, now) = connected(79);
    let first = a.peer.map_or(0, |peer| peer.peer_initial_tsn);
    let chunk = |tsn: u32, stream: u16| {
        Chunk::Data(DataChunk {
            tsn,
            stream,
            ssn: 0,
            ppid: 53,
            unordered: true,
            beginning: true,
            ending: false,
            immediate_sack: false,
            payload: Bytes::from_static(b"x"),
        })
    };
    let packets: Vec<Vec<u8>> = (0..400u32)
        .map(|index| {
            let chunks: Vec<Chunk> =
                (0..64u32).map(|k| chunk(first.wrapping_add(1 + 2 * (index * 64 + k)), (k % 8) as u16)).collect();
            packet_to(&a, &chunks)
        })
        .collect();
    let mut times = Vec::new();
    for round in 0..3 {
        let started = std::time::Instant::now();
        for packet in &packets {
            a.handle_packet(now, packet);
            while a.poll_transmit(now).is_some() {}
        }
        times.push(started.elapsed() / packets.len() as u32);
        let _ = round;
    }
    println!("400 packets of 64 tiny chunks on every other TSN, per packet: {times:?} (first, duplicates, again)");
    for time in times {
        assert!(time < Duration::from_micros(500), "{time:?} per packet");
    }
}

/// An INIT or INIT-ACK with hostile fields: zero or huge windows, stream counts, cookies of any
/// size, unknown parameters to report.
fn hostile_init(rng: &mut StdRng, with_cookie: bool) -> Init {
    Init {
        initiate_tag: if rng.random_bool(0.1) { 0 } else { rng.random() },
        a_rwnd: [0, 1, u32::MAX, rng.random()][rng.random_range(0..4)],
        outbound_streams: [0, 1, u16::MAX, rng.random()][rng.random_range(0..4)],
        inbound_streams: [0, 1, u16::MAX, rng.random()][rng.random_range(0..4)],
        initial_tsn: rng.random(),
        forward_tsn_supported: rng.random(),
        extensions: (0..rng.random_range(0..40)).map(|_| rng.random()).collect(),
        cookie: with_cookie.then(|| Bytes::from(vec![rng.random(); rng.random_range(0..2000)])),
        unrecognized: Vec::new(),
        reported_unrecognized: Vec::new(),
    }
}

#[test]
fn a_hostile_peer_during_the_handshake_never_panics_or_grows_the_association() {
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let role = if seed % 2 == 0 { DtlsRole::Client } else { DtlsRole::Server };
        let mut now = Instant::now();
        let mut victim = Association::new(SctpConfig::default(), role, &mut rng, now);
        for _ in 0..100 {
            let (tag, chunks) = match rng.random_range(0..6) {
                0 => (0, vec![Chunk::Init(hostile_init(&mut rng, false))]),
                1 => (victim.local_tag, vec![Chunk::InitAck(hostile_init(&mut rng, true))]),
                2 => (victim.local_tag, vec![Chunk::CookieEcho(payload(&mut rng))]),
                3 => (victim.local_tag, vec![Chunk::CookieAck]),
                4 => (victim.local_tag, (0..3).map(|_| hostile_chunk(&mut rng, &victim, true)).collect()),
                _ => (rng.random(), vec![Chunk::Abort { tag_reflected: rng.random(), causes: Vec::new() }]),
            };
            let header = CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: tag };
            let mut builder = PacketBuilder::new(header, 65_535);
            for chunk in &chunks {
                builder.push(chunk);
            }
            victim.handle_packet(now, &builder.finish());
            drain(&mut victim, None, now);
            while victim.poll_event().is_some() {}
            now += Duration::from_millis(rng.random_range(0..500));
            if victim.poll_timeout().is_some_and(|deadline| deadline <= now) {
                victim.handle_timeout(now);
            }
            assert_bounded(&victim);
        }
    }
}
