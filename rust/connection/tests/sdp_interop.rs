//! Session descriptions as Chromium, Firefox, Safari, libdatachannel, Godot's webrtc-native
//! plugin and aiortc write them (`tests/sdp_samples/`): their offers are read and answered
//! (media refused), their answers to our offers read, and what we write reads back the same.

use std::net::IpAddr;

use connection::sdp::limits::MAX_REMOTE_CANDIDATES;
use connection::sdp::{
    Candidate, CandidateAddress, CandidateKind, CandidateTransport, DescriptionKind, Fingerprint, IceCredentials,
    LocalDescription, RemoteDescription, SdpError, Setup, TcpType,
};
use connection::DtlsRole;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const CHROMIUM_OFFER: &str = include_str!("sdp_samples/chromium_offer_data.sdp");
const CHROMIUM_RESTART: &str = include_str!("sdp_samples/chromium_offer_ice_restart.sdp");
const CHROMIUM_MEDIA_OFFER: &str = include_str!("sdp_samples/chromium_offer_audio_video_data.sdp");
const CHROMIUM_ANSWER: &str = include_str!("sdp_samples/chromium_answer.sdp");
const FIREFOX_OFFER: &str = include_str!("sdp_samples/firefox_offer_data.sdp");
const FIREFOX_MEDIA_OFFER: &str = include_str!("sdp_samples/firefox_offer_audio_data.sdp");
const FIREFOX_ANSWER: &str = include_str!("sdp_samples/firefox_answer.sdp");
const SAFARI_OFFER: &str = include_str!("sdp_samples/safari_offer_data.sdp");
const LIBDATACHANNEL_OFFER: &str = include_str!("sdp_samples/libdatachannel_offer.sdp");
const LIBDATACHANNEL_ANSWER: &str = include_str!("sdp_samples/libdatachannel_answer.sdp");
const GODOT_OFFER: &str = include_str!("sdp_samples/godot_webrtc_native_offer.sdp");
const AIORTC_OFFER: &str = include_str!("sdp_samples/aiortc_offer.sdp");
const AIORTC_ANSWER: &str = include_str!("sdp_samples/aiortc_answer.sdp");

/// Every sample offer, by stack.
const OFFERS: [(&str, &str); 9] = [
    ("chromium", CHROMIUM_OFFER),
    ("chromium restart", CHROMIUM_RESTART),
    ("chromium media", CHROMIUM_MEDIA_OFFER),
    ("firefox", FIREFOX_OFFER),
    ("firefox media", FIREFOX_MEDIA_OFFER),
    ("safari", SAFARI_OFFER),
    ("libdatachannel", LIBDATACHANNEL_OFFER),
    ("godot webrtc-native", GODOT_OFFER),
    ("aiortc", AIORTC_OFFER),
];

/// Every sample answer to our offer, by stack.
const ANSWERS: [(&str, &str); 4] = [
    ("chromium", CHROMIUM_ANSWER),
    ("firefox", FIREFOX_ANSWER),
    ("libdatachannel", LIBDATACHANNEL_ANSWER),
    ("aiortc", AIORTC_ANSWER),
];

fn offer(text: &str) -> RemoteDescription {
    RemoteDescription::parse(DescriptionKind::Offer, text).expect("the offer reads")
}

fn answer(text: &str) -> RemoteDescription {
    RemoteDescription::parse(DescriptionKind::Answer, text).expect("the answer reads")
}

/// `a=fingerprint:sha-256 <value>`'s fingerprint.
fn fingerprint(text: &str, from: &str) -> Fingerprint {
    let value = text.lines().find_map(|line| line.strip_prefix("a=fingerprint:sha-256 ")).expect(from);
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(value.trim().split(':')) {
        *byte = u8::from_str_radix(pair, 16).expect("hex");
    }
    Fingerprint::sha256(digest)
}

/// Our side: fixed credentials and fingerprint.
fn local() -> LocalDescription {
    let ice = IceCredentials::from_random([3, 1, 4, 1, 5, 9, 2, 6], [7; 24]);
    LocalDescription::new(0xF234_5678_9ABC_DEF0, ice, Fingerprint::sha256([0xAB; 32]))
}

fn host(address: &str, port: u16) -> Candidate {
    Candidate::parse(&format!("candidate:1 1 udp 2122260223 {address} {port} typ host")).expect("candidate")
}

#[test]
fn chromium_offer() {
    let read = offer(CHROMIUM_OFFER);
    assert_eq!(read.ice, IceCredentials::new("OpDk", "OPd9GWsmjbN25gJMosh+0wjg").unwrap());
    assert_eq!(read.fingerprint, fingerprint(CHROMIUM_OFFER, "chromium"));
    assert_eq!((read.setup, read.our_dtls_role()), (Setup::ActPass, DtlsRole::Client));
    assert_eq!((read.data.index, read.data.mid.as_deref(), read.data.bundled), (0, Some("0"), true));
    assert_eq!((read.data.sctp_port, read.data.max_message_size), (5000, 262_144));
    assert!(read.trickle && !read.ice_lite && !read.end_of_candidates);
    assert_eq!(read.candidates.len(), 2);
    assert_eq!(read.candidates[0].address, CandidateAddress::Mdns("c17ad899-fc88-4380-9152-8a02ba055a45.local".into()));
    assert_eq!(read.candidates[1].kind, CandidateKind::ServerReflexive);
    assert_eq!((read.candidates_ignored, read.candidates_over_limit), (0, 0));
    assert_eq!(read.sections.len(), 1);
    assert!(!read.sections[0].refused);
}

#[test]
fn firefox_offer() {
    let read = offer(FIREFOX_OFFER);
    assert_eq!(read.ice, IceCredentials::new("5b6a7c8d", "2d3a0b3f4e9a9d3c5b1f7e8a6c4d2b10").unwrap());
    assert_eq!(read.fingerprint, fingerprint(FIREFOX_OFFER, "firefox"), "the session-level fingerprint applies");
    assert_eq!(read.data.max_message_size, 1_073_741_823);
    assert!(read.trickle && read.end_of_candidates);
    let transports: Vec<CandidateTransport> = read.candidates.iter().map(|candidate| candidate.transport).collect();
    assert_eq!(
        transports,
        vec![CandidateTransport::Udp, CandidateTransport::Tcp(TcpType::Active), CandidateTransport::Udp]
    );
}

#[test]
fn safari_offer() {
    let read = offer(SAFARI_OFFER);
    assert_eq!(read.candidates.len(), 2);
    assert!(read.candidates.iter().all(|candidate| matches!(candidate.address, CandidateAddress::Mdns(_))));
    assert_eq!(read.fingerprint, fingerprint(SAFARI_OFFER, "safari"));
}

#[test]
fn libdatachannel_offer() {
    let read = offer(LIBDATACHANNEL_OFFER);
    assert_eq!(read.ice, IceCredentials::new("Yb4Z", "wXr0FlRMvH9ZJ8SgWLtFhU").unwrap());
    assert!(read.trickle, "'ice2,trickle' is read as options separated by commas");
    assert!(read.end_of_candidates);
    let expected = [
        "candidate:1 1 udp 2122317823 10.99.0.1 50219 typ host",
        "candidate:2 1 udp 2122317567 fd00:99::1 50219 typ host",
    ];
    let expected: Vec<Candidate> = expected.iter().map(|text| Candidate::parse(text).unwrap()).collect();
    assert_eq!(read.candidates, expected, "'UDP' in capitals reads as udp");
}

#[test]
fn godot_webrtc_native_offer_with_session_level_attributes() {
    let read = offer(GODOT_OFFER);
    assert_eq!(read.ice, IceCredentials::new("E6Ls", "hl2XsMg1/UmCi9UE8emSkv").unwrap());
    assert_eq!(read.setup, Setup::ActPass);
    assert_eq!(read.fingerprint, fingerprint(GODOT_OFFER, "godot"));
    assert_eq!(read.candidates.len(), 2);
    assert!(read.data.bundled && read.end_of_candidates);
    assert!(!read.trickle, "that writer drops a=ice-options:trickle once gathering is done");
}

#[test]
fn aiortc_offer() {
    let read = offer(AIORTC_OFFER);
    assert_eq!(read.ice, IceCredentials::new("QZbT", "0pgYCgfuUCjO9A8ygKAfVe").unwrap());
    assert_eq!(read.fingerprint, fingerprint(AIORTC_OFFER, "aiortc"), "sha-256 among sha-384 and sha-512");
    assert_eq!(read.data.max_message_size, 65_536);
    assert!(!read.trickle, "aiortc gathers before it offers");
    assert!(read.end_of_candidates);
    assert_eq!(read.candidates.len(), 2);
}

#[test]
fn browser_offers_with_media_have_their_media_refused() {
    for (text, data_index) in [(CHROMIUM_MEDIA_OFFER, 2), (FIREFOX_MEDIA_OFFER, 1)] {
        let read = offer(text);
        assert_eq!(read.data.index, data_index);
        assert_eq!(read.data.mid.as_deref(), Some(data_index.to_string().as_str()));
        let refused: Vec<bool> = read.sections.iter().map(|section| section.refused).collect();
        let mut expected = vec![true; data_index];
        expected.push(false);
        assert_eq!(refused, expected);

        let mut local = local();
        let written = local.write_answer(&read, &[], false);
        // Each refused section keeps its place, media, protocol and mid, with port 0.
        let media_lines: Vec<&str> = written.lines().filter(|line| line.starts_with("m=")).collect();
        assert_eq!(media_lines.len(), data_index + 1);
        for (line, section) in media_lines.iter().zip(&read.sections) {
            let port = if section.refused { "0" } else { "9" };
            assert!(line.starts_with(&format!("m={} {port} {}", section.media, section.proto)), "{line}");
        }
        assert!(media_lines[0].starts_with("m=audio 0 UDP/TLS/RTP/SAVPF 1"), "{}", media_lines[0]);
        // Only the data section is bundled; the refused ones carry no transport.
        assert!(written.contains(&format!("a=group:BUNDLE {data_index}\r\n")), "{written}");
        assert_eq!(written.matches("a=ice-ufrag:").count(), 1);
        assert_eq!(written.matches("a=setup:").count(), 1);
        for mid in 0..=data_index {
            assert!(written.contains(&format!("a=mid:{mid}\r\n")), "mid {mid} kept");
        }

        // Read back as an answer: the sections line up with the offer.
        let back = answer(&written);
        assert_eq!(back.data.index, data_index);
        assert_eq!(back.data.mid, read.data.mid);
        let mids: Vec<Option<String>> = back.sections.iter().map(|section| section.mid.clone()).collect();
        let offered: Vec<Option<String>> = read.sections.iter().map(|section| section.mid.clone()).collect();
        assert_eq!(mids, offered);
        assert!(back.sections.iter().enumerate().all(|(index, section)| (section.port == 0) == (index != data_index)));
    }
}

#[test]
fn every_offer_is_answered_and_the_answer_reads_back_with_our_values() {
    for (stack, text) in OFFERS {
        let read = offer(text);
        let mut local = local();
        let candidates = [host("10.99.0.3", 40000), host("fd00:99::3", 40001)];
        let written = local.write_answer(&read, &candidates, true);
        let back =
            RemoteDescription::parse(DescriptionKind::Answer, &written).unwrap_or_else(|e| panic!("{stack}: {e}"));
        assert_eq!(&back.ice, local.ice(), "{stack}");
        assert_eq!(back.fingerprint, Fingerprint::sha256([0xAB; 32]), "{stack}");
        assert_eq!(back.setup, Setup::Active, "{stack}: we answer active to actpass");
        assert_eq!(back.data.mid, read.data.mid, "{stack}");
        assert_eq!(back.data.bundled, read.data.bundled, "{stack}");
        assert_eq!((back.data.sctp_port, back.data.max_message_size), (5000, 262_144), "{stack}");
        assert_eq!(back.candidates, candidates, "{stack}");
        assert!(back.end_of_candidates && back.trickle, "{stack}");
        assert_eq!(back.sections.len(), read.sections.len(), "{stack}");
    }
}

#[test]
fn answers_to_our_offer_are_read() {
    let ours = local();
    for (stack, text) in ANSWERS {
        let read = answer(text);
        assert_eq!(read.setup, Setup::Active, "{stack}");
        assert_eq!(read.our_dtls_role(), DtlsRole::Server, "{stack}: the answer is active, we are the DTLS server");
        assert_eq!(read.fingerprint, fingerprint(text, stack), "{stack}");
        assert_eq!(ours.check_answer(&read), Ok(()), "{stack}");
        assert_eq!(read.data.mid.as_deref(), Some("0"), "{stack}");
    }
    assert_eq!(answer(AIORTC_ANSWER).data.max_message_size, 65_536);
    assert_eq!(answer(AIORTC_ANSWER).candidates.len(), 1);
    // A passive answer makes us the client.
    let passive = CHROMIUM_ANSWER.replace("a=setup:active", "a=setup:passive");
    assert_eq!(answer(&passive).our_dtls_role(), DtlsRole::Client);
}

#[test]
fn answers_browsers_would_refuse_are_refused() {
    // Chromium refuses an answer without a=setup, or with actpass.
    let without = CHROMIUM_ANSWER.replace("a=setup:active\r\n", "");
    assert_eq!(RemoteDescription::parse(DescriptionKind::Answer, &without), Err(SdpError::MissingSetup));
    let actpass = CHROMIUM_ANSWER.replace("a=setup:active", "a=setup:actpass");
    assert!(matches!(RemoteDescription::parse(DescriptionKind::Answer, &actpass), Err(SdpError::BadSetup { .. })));
    // An answer that refuses the data section.
    let refused = CHROMIUM_ANSWER.replace("m=application 9", "m=application 0");
    assert_eq!(
        RemoteDescription::parse(DescriptionKind::Answer, &refused),
        Err(SdpError::DataSectionRefused(DescriptionKind::Answer))
    );
    // An answer for another mid, or with more sections than we offered.
    let ours = local();
    let other_mid = answer(&CHROMIUM_ANSWER.replace("a=mid:0", "a=mid:data"));
    assert!(matches!(ours.check_answer(&other_mid), Err(SdpError::AnswerMismatch(_))));
    let two = answer(&format!("{CHROMIUM_ANSWER}m=audio 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n"));
    assert!(matches!(ours.check_answer(&two), Err(SdpError::AnswerMismatch(_))));
}

#[test]
fn offers_browsers_would_refuse_are_refused() {
    // A malformed fingerprint line.
    let malformed = CHROMIUM_OFFER.replace("a=fingerprint:sha-256 4D:85", "a=fingerprint:sha-256 4D85");
    assert!(matches!(
        RemoteDescription::parse(DescriptionKind::Offer, &malformed),
        Err(SdpError::MalformedFingerprint(_))
    ));
    let sha1 = CHROMIUM_OFFER
        .lines()
        .map(|line| if line.starts_with("a=fingerprint") { "a=fingerprint:sha-1 11:22:33" } else { line })
        .collect::<Vec<_>>()
        .join("\r\n");
    let error = RemoteDescription::parse(DescriptionKind::Offer, &sha1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "fingerprint algorithm sha-1 is not accepted: only sha-256 is (every browser sends one)"
    );
    // No fingerprint, no credentials.
    let without: String =
        CHROMIUM_OFFER.lines().filter(|line| !line.starts_with("a=fingerprint")).map(|l| format!("{l}\r\n")).collect();
    assert_eq!(
        RemoteDescription::parse(DescriptionKind::Offer, &without),
        Err(SdpError::MissingFingerprint(DescriptionKind::Offer))
    );
    let without: String =
        CHROMIUM_OFFER.lines().filter(|line| !line.starts_with("a=ice-pwd")).map(|l| format!("{l}\r\n")).collect();
    assert_eq!(
        RemoteDescription::parse(DescriptionKind::Offer, &without),
        Err(SdpError::MissingIceCredentials(DescriptionKind::Offer))
    );
    // Audio only: nothing to answer.
    let audio_only: String = CHROMIUM_MEDIA_OFFER.split("m=video").next().unwrap().to_owned();
    let error = RemoteDescription::parse(DescriptionKind::Offer, &audio_only).unwrap_err();
    assert_eq!(error, SdpError::NoDataSection(DescriptionKind::Offer));
    assert!(error.to_string().starts_with("the offer has no data-channel section"));
    // The data-channel format of before 2018.
    let legacy = CHROMIUM_OFFER
        .replace("UDP/DTLS/SCTP webrtc-datachannel", "DTLS/SCTP 5000")
        .replace("a=sctp-port:5000", "a=sctpmap:5000 webrtc-datachannel 1024");
    assert_eq!(
        RemoteDescription::parse(DescriptionKind::Offer, &legacy),
        Err(SdpError::LegacyDataSection(DescriptionKind::Offer))
    );
}

#[test]
fn an_ice_restart_is_seen_and_answered_with_new_credentials() {
    let first = offer(CHROMIUM_OFFER);
    let again = offer(CHROMIUM_OFFER);
    let restart = offer(CHROMIUM_RESTART);
    assert!(!again.restarts_ice_since(&first));
    assert!(restart.restarts_ice_since(&first));
    assert_eq!(restart.fingerprint, first.fingerprint);

    let mut local = local();
    let before = answer(&local.write_answer(&first, &[], false));
    local.restart_ice(IceCredentials::from_random([9; 8], [8; 24]));
    let after = answer(&local.write_answer(&restart, &[], false));
    assert!(after.restarts_ice_since(&before), "our answer to a restart carries new credentials");
    // Only the password changing is a restart too.
    let new_pwd = CHROMIUM_OFFER.replace("OPd9GWsmjbN25gJMosh+0wjg", "OPd9GWsmjbN25gJMosh+0wjX");
    assert!(offer(&new_pwd).restarts_ice_since(&first));
}

#[test]
fn our_offer_reads_back_the_same() {
    let mut local = local();
    let candidates = [
        host("10.99.0.3", 40000),
        Candidate::parse("candidate:2 1 udp 1677729535 203.0.113.3 40000 typ srflx raddr 10.99.0.3 rport 40000")
            .unwrap(),
        Candidate::parse("candidate:3 1 udp 16777215 198.51.100.1 3478 typ relay raddr 203.0.113.3 rport 40000")
            .unwrap(),
        Candidate::parse("candidate:4 1 tcp 1518280447 10.99.0.3 9 typ host tcptype active").unwrap(),
        Candidate::parse("candidate:5 1 udp 2122260223 0b1e2c3d-aaaa-bbbb-cccc-123456789abc.local 40002 typ host")
            .unwrap(),
    ];
    for (candidates, end) in [(&candidates[..], true), (&[][..], false)] {
        let written = local.write_offer(candidates, end);
        let read = offer(&written);
        assert_eq!(&read.ice, local.ice());
        assert_eq!(read.fingerprint, Fingerprint::sha256([0xAB; 32]));
        assert_eq!((read.setup, read.trickle, read.ice_lite), (Setup::ActPass, true, false));
        assert_eq!((read.data.index, read.data.mid.as_deref(), read.data.bundled), (0, Some("0"), true));
        assert_eq!((read.data.sctp_port, read.data.max_message_size), (5000, 262_144));
        assert_eq!(read.candidates, candidates);
        assert_eq!(read.end_of_candidates, end);
        assert_eq!(read.sections.len(), 1);
        // And it answers itself.
        let answered = answer(&local.clone().write_answer(&read, &[], false));
        assert_eq!(local.check_answer(&answered), Ok(()));
    }
}

#[test]
fn our_offer_is_written_as_browsers_write_theirs() {
    let mut local = local();
    let written = local.write_offer(&[host("10.99.0.3", 40000)], true);
    let ufrag = local.ice().ufrag().to_owned();
    let pwd = local.ice().pwd().to_owned();
    let fingerprint = ["AB"; 32].join(":");
    let expected = format!(
        "v=0\r\no=- {} 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=candidate:1 1 udp 2122260223 10.99.0.3 40000 typ host\r\na=end-of-candidates\r\n\
         a=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\na=ice-options:trickle\r\na=fingerprint:sha-256 {fingerprint}\r\n\
         a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n",
        0x7234_5678_9ABC_DEF1_u64
    );
    assert_eq!(written, expected);
}

#[test]
fn the_origin_keeps_its_session_and_its_version_increases() {
    let mut local = local();
    let read = offer(CHROMIUM_OFFER);
    let origins: Vec<String> =
        [local.write_offer(&[], false), local.write_answer(&read, &[], false), local.write_offer(&[], false)]
            .iter()
            .map(|sdp| sdp.lines().find(|line| line.starts_with("o=")).unwrap().to_owned())
            .collect();
    let session = 0x7234_5678_9ABC_DEF1_u64;
    assert_eq!(
        origins,
        vec![
            format!("o=- {session} 0 IN IP4 127.0.0.1"),
            format!("o=- {session} 1 IN IP4 127.0.0.1"),
            format!("o=- {session} 2 IN IP4 127.0.0.1"),
        ]
    );
    assert!(session < (1 << 63) - 1, "the session id stays under 2^63 - 1");
    let largest =
        LocalDescription::new(u64::MAX, IceCredentials::from_random([0; 8], [0; 24]), Fingerprint::sha256([0; 32]))
            .write_offer(&[], false);
    assert!(largest.contains("o=- 1 0 IN IP4"), "u64::MAX is 1 modulo 2^63 - 1");
}

#[test]
fn an_answer_to_an_active_offer_is_passive_and_keeps_a_missing_mid_out() {
    let active = LIBDATACHANNEL_OFFER.replace("a=setup:actpass", "a=setup:active");
    let read = offer(&active);
    assert_eq!(read.our_dtls_role(), DtlsRole::Server);
    let written = local().write_answer(&read, &[], false);
    assert!(written.contains("a=setup:passive\r\n"));
    assert_eq!(answer(&written).our_dtls_role(), DtlsRole::Client, "they read our passive: they are the client");

    // An offer without mids or BUNDLE: the answer has neither.
    let bare: String = AIORTC_OFFER
        .lines()
        .filter(|line| !line.starts_with("a=mid") && !line.starts_with("a=group"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    let read = offer(&bare);
    assert_eq!((read.data.mid.as_deref(), read.data.bundled), (None, false));
    let written = local().write_answer(&read, &[], false);
    assert!(!written.contains("a=mid") && !written.contains("a=group"), "{written}");
}

/// A random candidate of any kind, transport and address family.
fn random_candidate(rng: &mut StdRng, n: usize) -> Candidate {
    let address = |rng: &mut StdRng| match rng.random_range(0..3) {
        0 => CandidateAddress::Ip(IpAddr::from(rng.random::<[u8; 4]>())),
        1 => CandidateAddress::Ip(IpAddr::from(rng.random::<[u16; 8]>())),
        _ => CandidateAddress::Mdns(format!("{:08x}-aaaa-bbbb-cccc-{:012x}.local", rng.random::<u32>(), n)),
    };
    let kind =
        [CandidateKind::Host, CandidateKind::ServerReflexive, CandidateKind::PeerReflexive, CandidateKind::Relayed]
            [rng.random_range(0..4)];
    let transport = match rng.random_range(0..4) {
        0 => CandidateTransport::Tcp(
            [TcpType::Active, TcpType::Passive, TcpType::SimultaneousOpen][rng.random_range(0..3)],
        ),
        _ => CandidateTransport::Udp,
    };
    let related = (kind != CandidateKind::Host).then(|| (address(rng), rng.random()));
    Candidate {
        foundation: format!("{}", rng.random::<u32>()),
        component: 1,
        transport,
        priority: rng.random(),
        address: address(rng),
        port: rng.random(),
        kind,
        related,
    }
}

#[test]
fn seeded_descriptions_read_back_the_same() {
    let mut rng = StdRng::seed_from_u64(8829);
    for _ in 0..500 {
        let ice = IceCredentials::from_random(rng.random(), rng.random());
        let fingerprint = Fingerprint::sha256(rng.random());
        let mut local = LocalDescription::new(rng.random(), ice.clone(), fingerprint);
        let candidates: Vec<Candidate> =
            (0..rng.random_range(0..MAX_REMOTE_CANDIDATES)).map(|n| random_candidate(&mut rng, n)).collect();
        let end = rng.random();
        let read = offer(&local.write_offer(&candidates, end));
        assert_eq!((&read.ice, read.fingerprint, read.setup), (&ice, fingerprint, Setup::ActPass));
        assert_eq!((read.candidates.as_slice(), read.end_of_candidates), (candidates.as_slice(), end));
        let answered = answer(&local.write_answer(&read, &candidates, end));
        assert_eq!((&answered.ice, answered.fingerprint, answered.setup), (&ice, fingerprint, Setup::Active));
        assert_eq!(answered.candidates, candidates);
        assert_eq!(local.check_answer(&answered), Ok(()));
    }
}
