//! The media sections of a remote description as our answer sees them: one data-channel
//! section (RFC 8841: `m=application <port> UDP/DTLS/SCTP webrtc-datachannel`) that we accept,
//! and every other one (audio, video, a second data section) that we refuse with port 0,
//! keeping its place and mid (RFC 8829 section 5.3.1, RFC 3264 section 6).

use super::error::{excerpt, SdpError};
use super::limits::MAX_MID_BYTES;
use super::sections::Section;

/// The data-channel section's protocols (RFC 8841 section 4.1): DTLS over UDP or over TCP.
const DATA_PROTOCOLS: [&str; 2] = ["UDP/DTLS/SCTP", "TCP/DTLS/SCTP"];

/// The data-channel section's format.
const DATA_FORMAT: &str = "webrtc-datachannel";

/// The protocol of data-channel sections written before RFC 8841 (`m=application 9 DTLS/SCTP
/// 5000` with `a=sctpmap`).
const LEGACY_DATA_PROTOCOL: &str = "DTLS/SCTP";

/// One media section of a remote description, as our answer repeats it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaSection {
    /// The media type: `audio`, `video`, `application`...
    pub media: String,
    /// The port of its `m=` line (0: disabled, or bundled with `a=bundle-only`).
    pub port: u16,
    /// The transport protocol, as written.
    pub proto: String,
    /// The format list, as written.
    pub formats: String,
    /// Its identification tag (`a=mid`), which the answer repeats.
    pub mid: Option<String>,
    /// Whether our answer refuses it (every section but the data-channel one).
    pub refused: bool,
}

impl MediaSection {
    /// The section read from `section`; `refused` unless it is the data-channel section.
    pub(crate) fn new(section: &Section<'_>, refused: bool) -> Result<Self, SdpError> {
        Ok(Self {
            media: section.media.to_owned(),
            port: section.port,
            proto: section.proto.to_owned(),
            formats: section.formats.to_owned(),
            mid: mid(section)?,
            refused,
        })
    }
}

/// Whether `section` is a WebRTC data-channel section.
pub(crate) fn is_data_channel(section: &Section<'_>) -> bool {
    section.media.eq_ignore_ascii_case("application")
        && DATA_PROTOCOLS.iter().any(|proto| section.proto.eq_ignore_ascii_case(proto))
        && section.formats.split(' ').any(|format| format == DATA_FORMAT)
}

/// Whether `section` is a data-channel section written before RFC 8841.
pub(crate) fn is_legacy_data_channel(section: &Section<'_>) -> bool {
    section.media.eq_ignore_ascii_case("application") && section.proto.eq_ignore_ascii_case(LEGACY_DATA_PROTOCOL)
}

/// Whether `section` is in use: a port other than 0, or port 0 with `a=bundle-only` (RFC 8843
/// section 6: it shares the transport of its BUNDLE group's first section).
pub(crate) fn is_in_use(section: &Section<'_>) -> bool {
    section.port != 0 || section.attributes.has("bundle-only")
}

/// The section's `a=mid`, refused when it is longer than [`MAX_MID_BYTES`] or has
/// characters other than visible ASCII (our answer repeats it).
fn mid(section: &Section<'_>) -> Result<Option<String>, SdpError> {
    let Some(mid) = section.attributes.first("mid") else { return Ok(None) };
    if mid.is_empty() || mid.len() > MAX_MID_BYTES || !mid.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(SdpError::BadMid(excerpt(mid)));
    }
    Ok(Some(mid.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::sections::sections;

    fn first(text: &str) -> MediaSection {
        let text = format!("v=0\r\n{text}");
        let read = sections(&text).unwrap();
        MediaSection::new(&read.media[0], true).unwrap()
    }

    #[test]
    fn data_sections_are_told_from_the_others() {
        let read = sections(
            "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nm=application 9 TCP/DTLS/SCTP webrtc-datachannel\r\n\
             m=application 9 DTLS/SCTP 5000\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=application 9 UDP/BFCP *\r\n\
             m=application 9 UDP/DTLS/SCTP other\r\n",
        )
        .unwrap();
        let data: Vec<bool> = read.media.iter().map(is_data_channel).collect();
        assert_eq!(data, vec![true, true, false, false, false, false]);
        let legacy: Vec<bool> = read.media.iter().map(is_legacy_data_channel).collect();
        assert_eq!(legacy, vec![false, false, true, false, false, false]);
    }

    #[test]
    fn a_section_is_in_use_unless_its_port_is_0_without_bundle_only() {
        let read =
            sections("v=0\r\nm=audio 9 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\na=bundle-only\r\n")
                .unwrap();
        let used: Vec<bool> = read.media.iter().map(is_in_use).collect();
        assert_eq!(used, vec![true, false, true]);
    }

    #[test]
    fn mids_are_kept_when_our_answer_can_repeat_them() {
        assert_eq!(first("m=audio 9 RTP/AVP 0\r\na=mid:sdparta_0\r\n").mid.as_deref(), Some("sdparta_0"));
        assert_eq!(first("m=audio 9 RTP/AVP 0\r\n").mid, None);
        for bad in ["a=mid:", "a=mid:a b", &format!("a=mid:{}", "m".repeat(MAX_MID_BYTES + 1)), "a=mid:\u{1}"] {
            let text = format!("v=0\r\nm=audio 9 RTP/AVP 0\r\n{bad}\r\n");
            let read = sections(&text).unwrap();
            assert!(matches!(MediaSection::new(&read.media[0], true), Err(SdpError::BadMid(_))), "{bad:?}");
        }
    }
}
