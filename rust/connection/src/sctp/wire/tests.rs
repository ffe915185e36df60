//! Round trips of every chunk, and hostile input: truncated, garbage and mutated packets.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use super::*;
use crate::sctp::chunks::{DataChunk, ForwardTsn, GapBlock, Sack};

const HEADER: CommonHeader = CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: 0xDEAD_BEEF };

fn packet_of(chunks: &[Chunk]) -> Vec<u8> {
    let mut builder = PacketBuilder::new(HEADER, 65_535);
    for chunk in chunks {
        assert!(builder.push(chunk));
    }
    builder.finish()
}

fn data(payload: &'static [u8]) -> DataChunk {
    DataChunk {
        tsn: 0xFFFF_FFFE,
        stream: 3,
        ssn: 7,
        ppid: 53,
        unordered: true,
        beginning: true,
        ending: false,
        immediate_sack: true,
        payload: Bytes::from_static(payload),
    }
}

fn every_chunk() -> Vec<Chunk> {
    vec![
        Chunk::Data(data(b"x")),
        Chunk::Data(data(b"hello")),
        Chunk::Init(Init {
            initiate_tag: 1,
            a_rwnd: 2,
            outbound_streams: 3,
            inbound_streams: 4,
            initial_tsn: 5,
            forward_tsn_supported: true,
            extensions: vec![kind::FORWARD_TSN, kind::RE_CONFIG],
            cookie: None,
            unrecognized: vec![],
            reported_unrecognized: vec![],
        }),
        Chunk::InitAck(Init {
            initiate_tag: 9,
            a_rwnd: 8,
            outbound_streams: 7,
            inbound_streams: 6,
            initial_tsn: 5,
            forward_tsn_supported: true,
            extensions: vec![kind::FORWARD_TSN, kind::RE_CONFIG, 0x40],
            cookie: Some(Bytes::from_static(b"cookie!")),
            unrecognized: vec![],
            reported_unrecognized: vec![Bytes::from_static(&[0x40, 0x01, 0x00, 0x05, 0xAB])],
        }),
        Chunk::Sack(Sack {
            cumulative_tsn: 100,
            a_rwnd: 65536,
            gaps: vec![GapBlock { start: 2, end: 3 }, GapBlock { start: 5, end: 9 }],
            duplicates: vec![99, 98],
        }),
        Chunk::Heartbeat(Bytes::from_static(&[0, 1, 0, 8, 1, 2, 3, 4])),
        Chunk::HeartbeatAck(Bytes::from_static(&[0, 1, 0, 8, 1, 2, 3, 4])),
        Chunk::Abort { tag_reflected: true, causes: vec![ErrorCause::new(code::USER_INITIATED_ABORT, &b"bye"[..])] },
        Chunk::Abort { tag_reflected: false, causes: vec![] },
        Chunk::Shutdown { cumulative_tsn: 77 },
        Chunk::ShutdownAck,
        Chunk::Error(vec![
            ErrorCause::new(code::UNRECOGNIZED_CHUNK, &[0x7F, 0, 0, 4][..]),
            ErrorCause::new(code::PROTOCOL_VIOLATION, &b"no"[..]),
        ]),
        Chunk::CookieEcho(Bytes::from_static(b"cookie!")),
        Chunk::CookieAck,
        Chunk::ShutdownComplete { tag_reflected: true },
        Chunk::ForwardTsn(ForwardTsn { new_cumulative_tsn: 12, skipped: vec![(1, 2), (3, 4)] }),
        Chunk::ReConfig(vec![
            ReconfigParam::OutgoingReset { request_seq: 1, response_seq: 2, last_tsn: 3, streams: vec![4, 5, 6] },
            ReconfigParam::Response { response_seq: 7, result: ReconfigResult::SuccessPerformed },
        ]),
        Chunk::ReConfig(vec![ReconfigParam::OtherRequest { kind: 17, request_seq: 9 }]),
        Chunk::Unknown { kind: 0xBF, raw: Bytes::from_static(&[0xBF, 0x03, 0x00, 0x06, 0xAA, 0xBB]) },
    ]
}

#[test]
fn every_chunk_round_trips_alone_and_bundled() {
    for chunk in every_chunk() {
        let bytes = packet_of(std::slice::from_ref(&chunk));
        assert_eq!(bytes.len(), COMMON_HEADER_LEN + chunk.encoded_len(), "{chunk:?}");
        assert_eq!(bytes.len() % 4, 0, "{chunk:?} is padded");
        let packet = Packet::parse(&bytes).unwrap();
        assert_eq!(packet.header, HEADER);
        assert_eq!(packet.chunks, vec![chunk]);
    }
    let all = every_chunk();
    let packet = Packet::parse(&packet_of(&all)).unwrap();
    assert_eq!(packet.chunks, all);
}

#[test]
fn a_wrong_checksum_or_short_packet_is_refused() {
    let mut bytes = packet_of(&[Chunk::CookieAck]);
    assert!(Packet::parse(&bytes).is_some());
    bytes[13] ^= 1;
    assert!(Packet::parse(&bytes).is_none());
    for len in 0..COMMON_HEADER_LEN {
        assert!(Packet::parse(&vec![0; len]).is_none());
    }
}

fn reseal(bytes: &mut [u8]) {
    super::checksum::seal(bytes);
}

#[test]
fn every_truncation_parses_to_a_prefix_of_the_chunks() {
    let all = every_chunk();
    let full = packet_of(&all);
    for len in COMMON_HEADER_LEN..full.len() {
        let mut cut = full[..len].to_vec();
        reseal(&mut cut);
        let packet = Packet::parse(&cut).unwrap();
        for (i, chunk) in packet.chunks.iter().enumerate() {
            // A chunk cut inside its padding is still whole; any other is not read.
            assert_eq!(chunk, &all[i], "truncated to {len}");
        }
    }
}

#[test]
fn garbage_and_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(20);
    let valid = packet_of(&every_chunk());
    for round in 0..20_000 {
        let mut bytes = if round % 2 == 0 {
            let len = rng.random_range(COMMON_HEADER_LEN..1500);
            let mut bytes = vec![0; len];
            rng.fill_bytes(&mut bytes);
            // Plausible chunk headers more often than chance gives them.
            if round % 4 == 0 && len > 16 {
                bytes[12] = rng.random_range(0..16);
                let chunk_len = rng.random_range(0..(len - 12) as u16 + 8);
                bytes[14..16].copy_from_slice(&chunk_len.to_be_bytes());
            }
            bytes
        } else {
            let mut bytes = valid.clone();
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(COMMON_HEADER_LEN..bytes.len());
                bytes[i] = rng.random();
            }
            bytes.truncate(rng.random_range(COMMON_HEADER_LEN..=bytes.len()));
            bytes
        };
        reseal(&mut bytes);
        if let Some(packet) = Packet::parse(&bytes) {
            assert!(packet.chunks.len() <= super::packet::MAX_CHUNKS_PER_PACKET);
            for chunk in &packet.chunks {
                let mut out = Vec::new();
                chunk.encode(&mut out);
                assert_eq!(out.len(), chunk.encoded_len());
            }
        }
    }
}

#[test]
fn chunk_count_is_bounded() {
    let many = vec![Chunk::CookieAck; 300];
    let packet = Packet::parse(&packet_of(&many)).unwrap();
    assert_eq!(packet.chunks.len(), super::packet::MAX_CHUNKS_PER_PACKET);
}

#[test]
fn unknown_chunk_types_act_by_their_upper_bits() {
    assert_eq!(UnknownAction::of(0x3F), UnknownAction { continue_packet: false, report: false });
    assert_eq!(UnknownAction::of(0x40), UnknownAction { continue_packet: false, report: true });
    assert_eq!(UnknownAction::of(0x84), UnknownAction { continue_packet: true, report: false });
    assert_eq!(UnknownAction::of(0xC2), UnknownAction { continue_packet: true, report: true });
}

#[test]
fn a_known_chunk_too_short_to_read_is_unknown() {
    // A SACK claiming three gap blocks but holding one, and an empty DATA chunk.
    let sack = [3, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 0, 0, 0, 1, 0, 1];
    let empty_data = [0, 3, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 51];
    for raw in [&sack[..], &empty_data[..]] {
        let mut bytes = packet_of(&[]);
        bytes.extend_from_slice(raw);
        reseal(&mut bytes);
        let packet = Packet::parse(&bytes).unwrap();
        assert_eq!(packet.chunks, vec![Chunk::Unknown { kind: raw[0], raw: Bytes::copy_from_slice(raw) }]);
    }
}

fn init_with_params(params: &[u8]) -> Init {
    let mut value = vec![0, 0, 0, 1, 0, 0, 0x10, 0, 0, 1, 0, 1, 0, 0, 0, 5];
    value.extend_from_slice(params);
    Init::parse_value(Bytes::from(value)).unwrap()
}

#[test]
fn init_parameters_act_by_their_upper_bits() {
    let forward_tsn = [0xC0, 0x00, 0x00, 0x04];
    // 10: skipped silently, the rest read.
    let init = init_with_params(&[&[0x80, 0x77, 0x00, 0x05, 0x01, 0, 0, 0][..], &forward_tsn].concat());
    assert!(init.forward_tsn_supported && init.unrecognized.is_empty());
    // 11: skipped and reported.
    let init = init_with_params(&[&[0xC0, 0x77, 0x00, 0x04][..], &forward_tsn].concat());
    assert!(init.forward_tsn_supported);
    assert_eq!(init.unrecognized, vec![Bytes::from_static(&[0xC0, 0x77, 0x00, 0x04])]);
    // 01: reported, and nothing after it read.
    let init = init_with_params(&[&[0x40, 0x77, 0x00, 0x04][..], &forward_tsn].concat());
    assert!(!init.forward_tsn_supported);
    assert_eq!(init.unrecognized.len(), 1);
    // 00: nothing after it read; known address parameters are skipped.
    let init = init_with_params(&[&[0x00, 0x77, 0x00, 0x04][..], &forward_tsn].concat());
    assert!(!init.forward_tsn_supported && init.unrecognized.is_empty());
    let init = init_with_params(&[&[0x00, 0x05, 0x00, 0x08, 10, 0, 0, 1][..], &forward_tsn].concat());
    assert!(init.forward_tsn_supported);
}

#[test]
fn packet_builder_stops_at_its_limit_but_takes_one_oversized_chunk() {
    let mut builder = PacketBuilder::new(HEADER, 40);
    assert!(builder.push(&Chunk::Data(data(&[0; 100]))));
    assert!(!builder.push(&Chunk::CookieAck));
    let mut builder = PacketBuilder::new(HEADER, 40);
    assert!(builder.push(&Chunk::Data(data(b"1234"))));
    assert_eq!(builder.room(), 40 - 12 - 20);
    assert!(builder.push(&Chunk::Shutdown { cumulative_tsn: 1 }));
    assert!(!builder.push(&Chunk::Shutdown { cumulative_tsn: 1 }));
}
