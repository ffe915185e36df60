//! What the other side's description tells us: its ICE credentials and candidates, its
//! certificate's fingerprint, its DTLS role, its data-channel section (mid, index, SCTP port,
//! largest message) and which media sections our answer refuses.
//!
//! Attributes that may sit at the session or the media level (ICE credentials and options,
//! `ice-lite`, fingerprints, `a=setup`) are read from the data-channel section first, then from
//! the section whose transport it shares (its BUNDLE group's first, when it is `a=bundle-only`),
//! then from the session level (RFC 8839 section 5.4, RFC 8122 section 5, RFC 8843).
//! Candidates come from those sections only; past [`MAX_REMOTE_CANDIDATES`] they are dropped
//! and counted, and those we cannot use (unreadable, another component) are counted.

use std::fmt;

use super::candidate::Candidate;
use super::error::{excerpt, SdpError};
use super::fingerprint::Fingerprint;
use super::ice_credentials::IceCredentials;
use super::limits::{DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_SCTP_PORT, MAX_REMOTE_CANDIDATES};
use super::media_section::{is_data_channel, is_in_use, is_legacy_data_channel, MediaSection};
use super::numbers::decimal;
use super::relay_attribute::announces_relay;
use super::sections::{sections, Attributes, Section};
use super::setup::Setup;
use crate::DtlsRole;

/// Whether a description is an offer or an answer (a provisional answer reads as an answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptionKind {
    /// An offer.
    Offer,
    /// An answer.
    Answer,
}

impl fmt::Display for DescriptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Offer => "offer",
            Self::Answer => "answer",
        })
    }
}

/// The other side's description, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDescription {
    /// Offer or answer.
    pub kind: DescriptionKind,
    /// Its ICE credentials.
    pub ice: IceCredentials,
    /// Whether it is an ICE lite agent (`a=ice-lite`): it never checks, we must control.
    pub ice_lite: bool,
    /// Whether it trickles candidates (`a=ice-options` with `trickle`).
    pub trickle: bool,
    /// Its certificate's sha-256 fingerprint.
    pub fingerprint: Fingerprint,
    /// Its DTLS role.
    pub setup: Setup,
    /// Its data-channel section.
    pub data: DataSection,
    /// Every media section in order, the data-channel one among them, the others refused.
    pub sections: Vec<MediaSection>,
    /// The candidates it carries (at most [`MAX_REMOTE_CANDIDATES`]).
    pub candidates: Vec<Candidate>,
    /// Whether it says it has no more candidates (`a=end-of-candidates`).
    pub end_of_candidates: bool,
    /// Candidates dropped past [`MAX_REMOTE_CANDIDATES`].
    pub candidates_over_limit: usize,
    /// Candidates skipped: unreadable, or for a component other than 1.
    pub candidates_ignored: usize,
    /// Whether it announces a relayed path (`a=x-webrtc-mesh-relay` at the session level).
    pub relay: bool,
}

/// The data-channel section of a remote description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSection {
    /// Its position among the media sections (a trickled candidate's `sdpMLineIndex`).
    pub index: usize,
    /// Its identification tag (a trickled candidate's `sdpMid`), if it has one.
    pub mid: Option<String>,
    /// Whether its mid is in a BUNDLE group (then our answer bundles it alone).
    pub bundled: bool,
    /// The mid of the section whose transport it uses: its own, or its BUNDLE group's first
    /// when it is `a=bundle-only` (the mid a browser trickles that transport's candidates with).
    pub transport_mid: Option<String>,
    /// The other side's SCTP port (`a=sctp-port`; [`DEFAULT_SCTP_PORT`] when absent).
    pub sctp_port: u16,
    /// The largest message the other side takes (`a=max-message-size`;
    /// [`DEFAULT_MAX_MESSAGE_SIZE`] when absent, `u64::MAX` for its 0, "any size").
    pub max_message_size: u64,
}

impl RemoteDescription {
    /// Reads the other side's description of `kind`, or says why it cannot be used.
    pub fn parse(kind: DescriptionKind, text: &str) -> Result<Self, SdpError> {
        let read = sections(text)?;
        let (index, data) = data_section(kind, &read.media)?;
        let sections: Vec<MediaSection> = read
            .media
            .iter()
            .enumerate()
            .map(|(position, section)| MediaSection::new(section, position != index))
            .collect::<Result<_, _>>()?;
        let mid = sections.get(index).and_then(|section| section.mid.clone());
        let bundle = mid.as_deref().and_then(|mid| bundle_group(&read.session, mid));
        let transport = match bundle {
            Some(first) if data.attributes.has("bundle-only") => {
                read.media.iter().find(|section| section.attributes.first("mid") == Some(first)).unwrap_or(data)
            }
            _ => data,
        };
        // Where attributes are looked up, most specific first: the data section, the section
        // whose transport it shares, the session. Candidates are media-level only.
        let mut levels: Vec<&Attributes<'_>> = vec![&data.attributes];
        if !std::ptr::eq(transport, data) {
            levels.push(&transport.attributes);
        }
        let media_levels = levels.len();
        levels.push(&read.session);
        let first = |name: &str| levels.iter().find_map(|level| level.first(name));

        let (Some(ufrag), Some(pwd)) = (first("ice-ufrag"), first("ice-pwd")) else {
            return Err(SdpError::MissingIceCredentials(kind));
        };
        let ice = IceCredentials::new(ufrag.trim(), pwd.trim())?;
        let fingerprint = levels
            .iter()
            .find_map(|level| Fingerprint::choose(level.values("fingerprint")).transpose())
            .ok_or(SdpError::MissingFingerprint(kind))??;
        let setup = Setup::parse(kind, first("setup"))?;
        let trickle = first("ice-options")
            .is_some_and(|options| options.split([' ', ',']).any(|option| option.eq_ignore_ascii_case("trickle")));

        let mut description = Self {
            kind,
            ice,
            ice_lite: levels.iter().any(|level| level.has("ice-lite")),
            trickle,
            fingerprint,
            setup,
            data: DataSection {
                index,
                bundled: bundle.is_some(),
                transport_mid: transport.attributes.first("mid").map(str::to_owned),
                mid,
                sctp_port: sctp_port(data)?,
                max_message_size: max_message_size(data)?,
            },
            sections,
            candidates: Vec::new(),
            end_of_candidates: levels.iter().any(|level| level.has("end-of-candidates")),
            candidates_over_limit: 0,
            candidates_ignored: 0,
            relay: announces_relay(&read.session),
        };
        for line in levels.iter().take(media_levels).flat_map(|level| level.values("candidate")) {
            description.take_candidate(line);
        }
        Ok(description)
    }

    /// Whether this description restarts ICE after `previous` (RFC 8839 section 4.4.1.1.1: new
    /// credentials); the answer to it must carry new credentials too.
    pub fn restarts_ice_since(&self, previous: &RemoteDescription) -> bool {
        self.ice != previous.ice
    }

    /// Our DTLS role once this description is applied (with our answer as
    /// [`LocalDescription::write_answer`](super::LocalDescription::write_answer) writes it).
    pub fn our_dtls_role(&self) -> DtlsRole {
        self.setup.our_role()
    }

    /// Whether a trickled candidate with this `sdpMid` and `sdpMLineIndex` is for the
    /// data-channel section's transport (W3C `addIceCandidate`: the mid decides when given,
    /// else the index). Candidates for refused sections are not.
    pub fn takes_trickled(&self, mid: Option<&str>, index: Option<u16>) -> bool {
        match (mid, index) {
            (Some(mid), _) => self.data.mid.as_deref() == Some(mid) || self.data.transport_mid.as_deref() == Some(mid),
            (None, Some(index)) => usize::from(index) == self.data.index,
            (None, None) => false,
        }
    }

    /// Keeps a candidate line's candidate, or counts it dropped or ignored.
    fn take_candidate(&mut self, line: &str) {
        if self.candidates.len() == MAX_REMOTE_CANDIDATES {
            self.candidates_over_limit += 1;
            return;
        }
        match Candidate::parse(line) {
            Ok(candidate) if candidate.component == 1 => self.candidates.push(candidate),
            _ => self.candidates_ignored += 1,
        }
    }
}

/// The data-channel section, the first one in use, and its index.
fn data_section<'s, 'a>(kind: DescriptionKind, media: &'s [Section<'a>]) -> Result<(usize, &'s Section<'a>), SdpError> {
    if let Some(found) = media.iter().enumerate().find(|(_, section)| is_data_channel(section) && is_in_use(section)) {
        return Ok(found);
    }
    if media.iter().any(is_data_channel) {
        return Err(SdpError::DataSectionRefused(kind));
    }
    if media.iter().any(is_legacy_data_channel) {
        return Err(SdpError::LegacyDataSection(kind));
    }
    Err(SdpError::NoDataSection(kind))
}

/// The first mid of the BUNDLE group (`a=group:BUNDLE <mid> ...`) that holds `mid`, if any.
fn bundle_group<'a>(session: &Attributes<'a>, mid: &str) -> Option<&'a str> {
    session.values("group").find_map(|group| {
        let mut words = group.split_ascii_whitespace();
        let semantics = words.next()?;
        let mids: Vec<&str> = words.collect();
        (semantics.eq_ignore_ascii_case("BUNDLE") && mids.contains(&mid)).then_some(())?;
        mids.first().copied()
    })
}

/// The data section's `a=sctp-port`.
fn sctp_port(data: &Section<'_>) -> Result<u16, SdpError> {
    let Some(value) = data.attributes.first("sctp-port") else { return Ok(DEFAULT_SCTP_PORT) };
    decimal::<u16>(value.trim()).filter(|port| *port != 0).ok_or_else(|| SdpError::BadNumber {
        name: "sctp-port",
        value: excerpt(value),
        min: 1,
        max: u64::from(u16::MAX),
    })
}

/// The data section's `a=max-message-size`.
fn max_message_size(data: &Section<'_>) -> Result<u64, SdpError> {
    let Some(value) = data.attributes.first("max-message-size") else { return Ok(DEFAULT_MAX_MESSAGE_SIZE) };
    match decimal::<u64>(value.trim()) {
        Some(0) => Ok(u64::MAX),
        Some(size) => Ok(size),
        None => Err(SdpError::BadNumber { name: "max-message-size", value: excerpt(value), min: 0, max: u64::MAX }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINGERPRINT_A: &str =
        "sha-256 AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA";
    const FINGERPRINT_B: &str =
        "sha-256 BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB:BB";

    fn offer(text: &str) -> Result<RemoteDescription, SdpError> {
        RemoteDescription::parse(DescriptionKind::Offer, text)
    }

    #[test]
    fn a_bundle_only_data_section_takes_its_transport_from_the_group_s_first_section() {
        // Chromium with bundlePolicy max-bundle: only the first section has a port and candidates.
        let text = format!(
            "v=0\r\na=group:BUNDLE 0 1\r\n\
             m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:tagg\r\na=ice-pwd:tagged-password-is-long\r\n\
             a=fingerprint:{FINGERPRINT_A}\r\na=setup:actpass\r\na=candidate:1 1 udp 1 10.0.0.1 50000 typ host\r\n\
             m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=bundle-only\r\na=mid:1\r\na=sctp-port:5000\r\n"
        );
        let read = offer(&text).unwrap();
        assert_eq!((read.data.index, read.data.mid.as_deref(), read.data.bundled), (1, Some("1"), true));
        assert_eq!(read.ice.ufrag(), "tagg");
        assert_eq!(read.fingerprint.digest(), &[0xAA; 32]);
        assert_eq!(read.candidates.len(), 1);
        assert_eq!(read.sections.iter().map(|section| section.refused).collect::<Vec<_>>(), vec![true, false]);
        // Its transport's candidates are trickled with the first section's mid.
        assert_eq!(read.data.transport_mid.as_deref(), Some("0"));
        assert!(read.takes_trickled(Some("0"), None) && read.takes_trickled(Some("1"), Some(0)));
        assert!(read.takes_trickled(None, Some(1)) && !read.takes_trickled(None, Some(0)));
    }

    #[test]
    fn trickled_candidates_are_for_the_data_section_or_none() {
        let text = format!(
            "v=0\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:sess\r\na=ice-pwd:session-password-is-long\r\n\
             a=fingerprint:{FINGERPRINT_A}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
        );
        let read = offer(&text).unwrap();
        assert_eq!(read.data.transport_mid.as_deref(), Some("1"));
        assert!(read.takes_trickled(Some("1"), None));
        assert!(read.takes_trickled(Some("1"), Some(0)), "the mid decides when given");
        assert!(!read.takes_trickled(Some("0"), Some(1)), "the refused audio section's");
        assert!(read.takes_trickled(None, Some(1)));
        assert!(!read.takes_trickled(None, Some(0)) && !read.takes_trickled(None, None));
        assert!(!read.takes_trickled(Some("2"), None));
    }

    #[test]
    fn media_level_attributes_come_before_session_level_ones() {
        let text = format!(
            "v=0\r\na=ice-ufrag:sess\r\na=ice-pwd:session-password-is-long\r\na=fingerprint:{FINGERPRINT_A}\r\n\
             a=setup:active\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:medi\r\n\
             a=fingerprint:{FINGERPRINT_B}\r\na=setup:passive\r\na=end-of-candidates\r\n"
        );
        let read = offer(&text).unwrap();
        assert_eq!((read.ice.ufrag(), read.ice.pwd()), ("medi", "session-password-is-long"));
        assert_eq!(read.fingerprint.digest(), &[0xBB; 32]);
        assert_eq!(read.setup, Setup::Passive);
        assert!(read.end_of_candidates && !read.data.bundled && read.data.mid.is_none());
    }

    #[test]
    fn the_first_data_section_in_use_is_the_data_section() {
        let base = format!(
            "v=0\r\na=ice-ufrag:sess\r\na=ice-pwd:session-password-is-long\r\na=fingerprint:{FINGERPRINT_A}\r\n"
        );
        let data = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        let disabled = "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        let read = offer(&format!("{base}{disabled}{data}{data}")).unwrap();
        assert_eq!(read.data.index, 1);
        assert_eq!(read.sections.iter().map(|section| section.refused).collect::<Vec<_>>(), vec![true, false, true]);
        assert_eq!(offer(&format!("{base}{disabled}")), Err(SdpError::DataSectionRefused(DescriptionKind::Offer)));
    }

    #[test]
    fn a_group_other_than_bundle_does_not_bundle() {
        let text = format!(
            "v=0\r\na=group:LS 0\r\na=group:BUNDLE\r\na=ice-ufrag:sess\r\na=ice-pwd:session-password-is-long\r\n\
             a=fingerprint:{FINGERPRINT_A}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:0\r\n"
        );
        assert!(!offer(&text).unwrap().data.bundled);
    }

    #[test]
    fn the_relay_attribute_counts_at_the_session_level_only() {
        let with = |session: &str, media: &str| {
            format!(
                "v=0\r\n{session}a=ice-ufrag:sess\r\na=ice-pwd:session-password-is-long\r\n\
                 a=fingerprint:{FINGERPRINT_A}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n{media}"
            )
        };
        assert!(!offer(&with("", "")).unwrap().relay);
        assert!(offer(&with("a=x-webrtc-mesh-relay\r\n", "")).unwrap().relay);
        assert!(offer(&with("a=X-WebRTC-Mesh-Relay:2 and more\r\n", "")).unwrap().relay, "a value is ignored");
        assert!(!offer(&with("", "a=x-webrtc-mesh-relay\r\n")).unwrap().relay, "media level: not ours");
        assert!(!offer(&with("a=x-webrtc-mesh-relayed\r\n", "")).unwrap().relay);
    }
}
