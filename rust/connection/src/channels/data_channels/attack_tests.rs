//! A connected peer turned hostile at the data-channel layer: DCEP OPENs (valid, duplicate, on
//! the wrong parity, on the reserved stream, malformed, with huge labels), ACKs nobody asked
//! for, messages on streams no channel uses, stream resets of anything, all mixed with the
//! application's own calls. Seeded and bounded: nothing panics, and the table, the refused set,
//! the error reports and the queues stay within their documented limits.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::super::limits::{MAX_REFUSED_OPENINGS, MAX_REMOTE_CHANNELS, MAX_REPORTED_ERRORS};
use super::*;
use crate::sctp::SctpError;

fn stream(rng: &mut StdRng) -> StreamId {
    if rng.random_bool(0.9) {
        rng.random_range(0..80)
    } else {
        rng.random()
    }
}

/// A DATA_CHANNEL_OPEN, often well-formed, sometimes cut, with labels up to the wire's 64 KiB.
fn open_bytes(rng: &mut StdRng) -> Vec<u8> {
    let label_len: u16 = if rng.random_bool(0.8) { rng.random_range(0..20) } else { rng.random() };
    let protocol_len: u16 = if rng.random_bool(0.9) { rng.random_range(0..8) } else { rng.random() };
    let channel_type = [0x00, 0x01, 0x02, 0x80, 0x81, 0x82, 0x7f][rng.random_range(0..7)];
    let mut bytes = vec![0x03, channel_type];
    bytes.extend_from_slice(&rng.random::<u16>().to_be_bytes());
    bytes.extend_from_slice(&rng.random::<u32>().to_be_bytes());
    bytes.extend_from_slice(&label_len.to_be_bytes());
    bytes.extend_from_slice(&protocol_len.to_be_bytes());
    let text_len = usize::from(label_len) + usize::from(protocol_len);
    bytes.extend(std::iter::repeat_n(b'a', text_len.min(70_000)));
    if rng.random_bool(0.05) {
        let last = bytes.len() - 1;
        bytes[12.min(last)] = 0xff; // not UTF-8
    }
    if rng.random_bool(0.1) {
        bytes.truncate(rng.random_range(0..bytes.len()));
    }
    bytes
}

fn hostile_event(rng: &mut StdRng) -> SctpEvent {
    let stream = stream(rng);
    match rng.random_range(0..20) {
        0..8 => SctpEvent::Message(Message { stream, ppid: ppid::DCEP, data: Bytes::from(open_bytes(rng)) }),
        8..10 => SctpEvent::Message(Message { stream, ppid: ppid::DCEP, data: Bytes::from_static(&[0x02]) }),
        10 => SctpEvent::Message(Message { stream, ppid: ppid::DCEP, data: Bytes::from(vec![rng.random(); 3]) }),
        11..15 => {
            let ppid =
                [ppid::STRING, ppid::BINARY, ppid::STRING_EMPTY, ppid::BINARY_EMPTY, 0, 99][rng.random_range(0..6)];
            SctpEvent::Message(Message { stream, ppid, data: Bytes::from_static(b"payload") })
        }
        15..19 => {
            let count = rng.random_range(0..6);
            SctpEvent::StreamsReset((0..count).map(|_| self::stream(rng)).collect())
        }
        _ => SctpEvent::Connected,
    }
}

#[test]
fn a_hostile_peer_keeps_the_channel_table_within_its_limits() {
    let mut opened_in_all = 0;
    for seed in 0..200 {
        let mut rng = StdRng::seed_from_u64(seed);
        let role = if rng.random_bool(0.5) { DtlsRole::Client } else { DtlsRole::Server };
        let mut channels = DataChannels::new(role, ChannelLimits::default());
        channels.handle_sctp_event(SctpEvent::Connected);
        let mut local = 0;
        for _ in 0..2000 {
            match rng.random_range(0..20) {
                0 if local < 32 => {
                    let options = ChannelOptions { label: "game".into(), ..ChannelOptions::default() };
                    if channels.open(options).is_ok() {
                        local += 1;
                    }
                }
                1 => {
                    let _ = channels.close(ChannelId(stream(&mut rng)));
                }
                2 => {
                    let _ = channels.send(ChannelId(stream(&mut rng)), Bytes::from_static(b"x"), true);
                }
                _ => channels.handle_sctp_event(hostile_event(&mut rng)),
            }
            let remote = channels.channels.values().filter(|channel| channel.origin == Origin::Remote).count();
            assert!(remote <= MAX_REMOTE_CHANNELS, "{remote} remote channels");
            assert!(channels.refused.len() <= MAX_REFUSED_OPENINGS);
            assert!(channels.errors_reported <= MAX_REPORTED_ERRORS);
            for channel in channels.channels.values() {
                assert!(channel.options.label.len() <= MAX_LABEL_BYTES_FOR_TESTS);
                assert!(channel.options.protocol.len() <= MAX_LABEL_BYTES_FOR_TESTS);
            }
            // What the table queues for the association and the application is taken at once,
            // as the connection does.
            while channels.poll_command().is_some() {}
            while let Some(event) = channels.poll_event() {
                opened_in_all += usize::from(matches!(event, ChannelEvent::RemoteOpened { .. }));
            }
        }
        if rng.random_bool(0.5) {
            channels.handle_sctp_event(SctpEvent::Closed(SctpError::Aborted));
            assert!(channels.channels.is_empty() && channels.refused.is_empty());
        }
    }
    println!("200 hostile lives: {opened_in_all} channels opened by the peer in all");
    assert!(opened_in_all > 0, "no hostile opening was ever admitted: the test reaches nothing");
}

const MAX_LABEL_BYTES_FOR_TESTS: usize = super::super::limits::MAX_LABEL_BYTES;
