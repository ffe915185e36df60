//! Hostile session descriptions and candidates: oversize, too many lines, sections or
//! candidates, missing fields, bad numbers, truncation, and seeded garbage. Reading never
//! panics, stays within its bounds, and every refusal is one short line.

use connection::sdp::limits::{MAX_DESCRIPTION_BYTES, MAX_LINES, MAX_MEDIA_SECTIONS, MAX_REMOTE_CANDIDATES};
use connection::sdp::{
    Candidate, DescriptionKind, Fingerprint, IceCredentials, LocalDescription, RemoteDescription, SdpError,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const SAMPLES: [&str; 6] = [
    include_str!("sdp_samples/chromium_offer_data.sdp"),
    include_str!("sdp_samples/chromium_offer_audio_video_data.sdp"),
    include_str!("sdp_samples/firefox_offer_data.sdp"),
    include_str!("sdp_samples/libdatachannel_offer.sdp"),
    include_str!("sdp_samples/godot_webrtc_native_offer.sdp"),
    include_str!("sdp_samples/aiortc_offer.sdp"),
];
const OFFER: &str = SAMPLES[0];

/// Characters an error message may have: one line a player can read.
const MAX_MESSAGE_CHARS: usize = 400;

/// Reads `text` both as an offer and as an answer; every refusal must be one short line. When
/// it reads, our answer to it must read back.
fn read(text: &str) -> Result<RemoteDescription, SdpError> {
    let answer = RemoteDescription::parse(DescriptionKind::Answer, text);
    let offer = RemoteDescription::parse(DescriptionKind::Offer, text);
    for result in [&offer, &answer] {
        if let Err(error) = result {
            let message = error.to_string();
            assert!(message.chars().count() < MAX_MESSAGE_CHARS && !message.contains('\n'), "{message}");
        }
    }
    if let Ok(offer) = &offer {
        let mut local =
            LocalDescription::new(7, IceCredentials::from_random([1; 8], [2; 24]), Fingerprint::sha256([3; 32]));
        let written = local.write_answer(offer, &offer.candidates, true);
        let back = RemoteDescription::parse(DescriptionKind::Answer, &written);
        assert!(back.is_ok(), "our answer to {text:?} reads back: {back:?}\n{written}");
    }
    offer
}

/// `OFFER` with `line` appended to its data section (its last).
fn with_line(line: &str) -> String {
    format!("{OFFER}{line}\r\n")
}

#[test]
fn oversize_descriptions_are_refused_before_reading() {
    let padding = "a=x-padding\r\n".repeat(MAX_DESCRIPTION_BYTES / 13);
    let big = format!("{OFFER}{padding}");
    assert!(big.len() > MAX_DESCRIPTION_BYTES);
    assert_eq!(read(&big).unwrap_err(), SdpError::TooLarge(big.len()));
    let huge = "v=0\r\n".repeat(1_000_000);
    assert_eq!(read(&huge).unwrap_err(), SdpError::TooLarge(huge.len()));
    let one_line = format!("v=0\r\na={}", "x".repeat(10 * MAX_DESCRIPTION_BYTES));
    assert!(matches!(read(&one_line), Err(SdpError::TooLarge(_))));
}

#[test]
fn ten_thousand_lines_are_refused() {
    let lines = format!("{OFFER}{}", "a=x\r\n".repeat(10_000));
    assert_eq!(read(&lines).unwrap_err(), SdpError::TooManyLines);
    let fits = format!("{OFFER}{}", "a=x\r\n".repeat(MAX_LINES - OFFER.lines().count()));
    assert!(read(&fits).is_ok(), "up to the limit reads");
}

#[test]
fn ten_thousand_candidates_are_refused_and_those_that_fit_are_capped() {
    let candidate = |n: usize| format!("a=candidate:{n} 1 udp {n} 10.0.0.1 {n} typ host\r\n");
    let many: String = (0..10_000).map(candidate).collect();
    assert!(matches!(read(&format!("{OFFER}{many}")), Err(SdpError::TooLarge(_))));

    // As many as fit in a description: the first are kept, the offer's own two first.
    let fitting: String = (0..1_000).map(candidate).collect();
    let description = read(&format!("{OFFER}{fitting}")).unwrap();
    assert_eq!(description.candidates.len(), MAX_REMOTE_CANDIDATES);
    assert_eq!(description.candidates_over_limit, 1_000 + 2 - MAX_REMOTE_CANDIDATES);
    assert_eq!(description.candidates[2].port, 0, "in order");
    assert_eq!(description.candidates[MAX_REMOTE_CANDIDATES - 1].port, MAX_REMOTE_CANDIDATES as u16 - 3);

    // Unreadable ones and other components are counted, not kept.
    let odd = with_line("a=candidate:garbage\r\na=candidate:1 2 udp 1 10.0.0.1 9 typ host\r\na=candidate:");
    let description = read(&odd).unwrap();
    assert_eq!((description.candidates.len(), description.candidates_ignored), (2, 3));
}

#[test]
fn ten_thousand_trickled_garbage_candidates_are_refused_without_panic() {
    let mut rng = StdRng::seed_from_u64(0x5d9);
    let base = "candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 ufrag +Lxv";
    for _ in 0..10_000 {
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..4) {
                0 => bytes[at] = rng.random(),
                1 => bytes.truncate(at),
                2 => bytes.insert(at, b' '),
                _ => bytes.splice(at..at, b"99999999999999999999 ".iter().copied()).for_each(drop),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Err(error) = Candidate::parse(&text) {
            assert!(error.to_string().chars().count() < MAX_MESSAGE_CHARS, "{error}");
        }
    }
    let long = format!("candidate:1 1 udp 1 10.0.0.1 9 typ host {}", "ext value ".repeat(100_000));
    assert!(Candidate::parse(&long).is_err(), "a trickled candidate is bounded like a line");
}

#[test]
fn too_many_media_sections_are_refused() {
    let audio = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\n";
    let fits = format!("{OFFER}{}", audio.repeat(MAX_MEDIA_SECTIONS - 1).replace("a=mid:a\r\n", ""));
    let description = read(&fits).unwrap();
    assert_eq!(description.sections.len(), MAX_MEDIA_SECTIONS);
    assert_eq!(description.sections.iter().filter(|section| section.refused).count(), MAX_MEDIA_SECTIONS - 1);
    // A section offered without formats is refused with format 0: an m= line needs one.
    let bare = read(&format!("{OFFER}m=video 9 UDP/TLS/RTP/SAVPF\r\na=mid:v\r\n")).unwrap();
    let mut local =
        LocalDescription::new(1, IceCredentials::from_random([1; 8], [2; 24]), Fingerprint::sha256([3; 32]));
    assert!(local
        .write_answer(&bare, &[], false)
        .contains("m=video 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"));
    let over = format!("{OFFER}{}", audio.repeat(MAX_MEDIA_SECTIONS));
    assert_eq!(read(&over).unwrap_err(), SdpError::TooManyMediaSections);
}

#[test]
fn every_line_missing_or_doubled_is_read_or_refused_without_panic() {
    for sample in SAMPLES {
        let lines: Vec<&str> = sample.lines().collect();
        for skipped in 0..lines.len() {
            let without: String = lines
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != skipped)
                .map(|(_, line)| format!("{line}\r\n"))
                .collect();
            let _ = read(&without);
            let doubled: String = lines
                .iter()
                .enumerate()
                .flat_map(|(index, line)| std::iter::repeat_n(*line, if index == skipped { 2 } else { 1 }))
                .map(|line| format!("{line}\r\n"))
                .collect();
            let _ = read(&doubled);
        }
    }
}

#[test]
fn missing_fields_are_refused_saying_what_is_missing() {
    let without = |prefix: &str| -> String {
        OFFER.lines().filter(|line| !line.starts_with(prefix)).map(|line| format!("{line}\r\n")).collect()
    };
    assert!(matches!(read(&without("v=")), Err(SdpError::NotSdp(_))));
    assert_eq!(read(&without("a=ice-ufrag")), Err(SdpError::MissingIceCredentials(DescriptionKind::Offer)));
    assert_eq!(read(&without("a=fingerprint")), Err(SdpError::MissingFingerprint(DescriptionKind::Offer)));
    assert_eq!(read(&without("m=")), Err(SdpError::NoDataSection(DescriptionKind::Offer)));
    assert_eq!(RemoteDescription::parse(DescriptionKind::Answer, &without("a=setup")), Err(SdpError::MissingSetup));
    // What has a default takes it.
    let defaults = read(&without("a=sctp-port").replace("a=max-message-size:262144\r\n", "")).unwrap();
    assert_eq!((defaults.data.sctp_port, defaults.data.max_message_size), (5000, 65_536));
    // An empty description, one of blank lines, one of only v=0.
    assert!(matches!(read(""), Err(SdpError::NotSdp(_))));
    assert!(matches!(read("\r\n\r\n\n"), Err(SdpError::NotSdp(_))));
    assert_eq!(read("v=0\r\n"), Err(SdpError::NoDataSection(DescriptionKind::Offer)));
}

#[test]
fn bad_numbers_are_refused() {
    for port in ["abc", "0", "65536", "-1", "+5000", "5000.0", "", "99999999999999999999", "0x1388"] {
        let text = OFFER.replace("a=sctp-port:5000", &format!("a=sctp-port:{port}"));
        assert!(matches!(read(&text), Err(SdpError::BadNumber { name: "sctp-port", .. })), "{port:?}");
    }
    for size in ["-1", "abc", "1e9", "18446744073709551616", ""] {
        let text = OFFER.replace("a=max-message-size:262144", &format!("a=max-message-size:{size}"));
        assert!(matches!(read(&text), Err(SdpError::BadNumber { name: "max-message-size", .. })), "{size:?}");
    }
    let any = read(&OFFER.replace("a=max-message-size:262144", "a=max-message-size:0")).unwrap();
    assert_eq!(any.data.max_message_size, u64::MAX, "0 is 'any size'");
    let largest = read(&OFFER.replace("a=max-message-size:262144", "a=max-message-size:18446744073709551615")).unwrap();
    assert_eq!(largest.data.max_message_size, u64::MAX);
    for port in ["x", "70000", "-9", "9/x"] {
        let text = OFFER.replace("m=application 9 ", &format!("m=application {port} "));
        assert!(matches!(read(&text), Err(SdpError::MalformedMediaLine { .. })), "{port:?}");
    }
}

#[test]
fn hostile_values_do_not_reach_our_answer() {
    // A refused section's mid with a carriage return would end a line in our answer.
    let media = include_str!("sdp_samples/chromium_offer_audio_video_data.sdp");
    let sneaky = media.replacen("a=mid:0", "a=mid:0\ra=setup:passive", 1);
    assert!(matches!(read(&sneaky), Err(SdpError::BadMid(_))));
    let sneaky = media.replacen("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=audio 9 UDP/TLS/RTP/SAVPF 111\ra=x", 1);
    assert!(matches!(read(&sneaky), Err(SdpError::MalformedMediaLine { .. })));
    let long_mid = OFFER.replace("a=mid:0", &format!("a=mid:{}", "m".repeat(1000)));
    assert!(matches!(read(&long_mid), Err(SdpError::BadMid(_))));
    let credentials = OFFER.replace("a=ice-ufrag:OpDk", "a=ice-ufrag:Op:k");
    assert!(matches!(read(&credentials), Err(SdpError::BadIceCredential { name: "ice-ufrag", .. })));
}

#[test]
fn every_truncation_is_read_or_refused_without_panic() {
    for sample in SAMPLES {
        for end in (0..=sample.len()).filter(|end| sample.is_char_boundary(*end)) {
            let _ = read(&sample[..end]);
        }
    }
}

#[test]
fn seeded_garbage_is_refused_without_panic() {
    let mut rng = StdRng::seed_from_u64(20);
    let mut read_ok = 0;
    for round in 0..20_000 {
        let text = if round % 4 == 0 {
            // Random bytes, some of them line breaks and '='.
            let length = rng.random_range(0..2000);
            let bytes: Vec<u8> = (0..length)
                .map(|_| match rng.random_range(0..10) {
                    0 => b'\n',
                    1 => b'=',
                    2 => b'a',
                    _ => rng.random(),
                })
                .collect();
            format!("v=0\r\n{}", String::from_utf8_lossy(&bytes))
        } else {
            // A sample with a few bytes changed, removed or repeated.
            let mut bytes = SAMPLES[round % SAMPLES.len()].as_bytes().to_vec();
            for _ in 0..rng.random_range(1..8) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..4) {
                    0 => bytes[at] = rng.random(),
                    1 => {
                        bytes.remove(at);
                    }
                    2 => bytes.insert(at, bytes[at]),
                    _ => {
                        let pick = b"0123456789:= \r\n";
                        bytes[at] = pick[rng.random_range(0..pick.len())];
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        if read(&text).is_ok() {
            read_ok += 1;
        }
    }
    println!("seeded garbage: {read_ok} of 20000 descriptions still read");
    assert!(read_ok > 0, "some mutations leave a readable description");
}
