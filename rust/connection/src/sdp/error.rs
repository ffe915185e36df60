//! The one error type of session descriptions, with messages a Godot user can act on.

use thiserror::Error;

use super::limits::{
    EXCERPT_CHARS, MAX_DESCRIPTION_BYTES, MAX_LINES, MAX_LINE_BYTES, MAX_MEDIA_SECTIONS, MAX_MID_BYTES,
};
use super::remote::DescriptionKind;

/// Why a remote description or candidate was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SdpError {
    /// The description is longer than [`MAX_DESCRIPTION_BYTES`].
    #[error("the session description is {0} bytes long; at most {MAX_DESCRIPTION_BYTES} are accepted")]
    TooLarge(usize),
    /// The description has more than [`MAX_LINES`] lines.
    #[error("the session description has more than {MAX_LINES} lines")]
    TooManyLines,
    /// A line is longer than [`MAX_LINE_BYTES`].
    #[error("line {0} of the session description is longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong(usize),
    /// The description has more than [`MAX_MEDIA_SECTIONS`] media sections.
    #[error("the session description has more than {MAX_MEDIA_SECTIONS} media sections (m= lines)")]
    TooManyMediaSections,
    /// The text does not start with `v=0`.
    #[error("the text is not a session description: it must start with 'v=0', not '{0}'")]
    NotSdp(String),
    /// A line is not of the form `<letter>=<value>`.
    #[error("line {line} of the session description is not of the form 'x=value': '{text}'")]
    MalformedLine {
        /// The line's number, from 1.
        line: usize,
        /// The line, cut to [`EXCERPT_CHARS`].
        text: String,
    },
    /// An `m=` line lacks its media, port or protocol, or its port is not a number.
    #[error("line {line} is a malformed media line (expected 'm=<media> <port> <protocol> <formats>'): '{text}'")]
    MalformedMediaLine {
        /// The line's number, from 1.
        line: usize,
        /// The line, cut to [`EXCERPT_CHARS`].
        text: String,
    },
    /// No media section is a WebRTC data-channel section.
    #[error(
        "the {0} has no data-channel section (m=application ... UDP/DTLS/SCTP webrtc-datachannel): a WebRTC peer \
         offers one once it has created a data channel"
    )]
    NoDataSection(DescriptionKind),
    /// The only data section uses the format of before RFC 8841 (`DTLS/SCTP 5000`, `a=sctpmap`).
    #[error(
        "the {0}'s data-channel section uses the old 'DTLS/SCTP' format of before 2018, which is not supported: \
         update the other side's WebRTC library"
    )]
    LegacyDataSection(DescriptionKind),
    /// The data section has port 0: the other side refused or disabled it.
    #[error("the {0}'s data-channel section has port 0: the other side refused or closed it")]
    DataSectionRefused(DescriptionKind),
    /// An answer does not answer our offer's data section (another mid, or more sections).
    #[error("the answer does not match our offer: {0}")]
    AnswerMismatch(String),
    /// No `a=ice-ufrag` or `a=ice-pwd` applies to the data section.
    #[error("the {0} has no ICE credentials (a=ice-ufrag and a=ice-pwd) for its data-channel section")]
    MissingIceCredentials(DescriptionKind),
    /// An ICE username fragment or password has a length or characters RFC 8839 does not allow.
    #[error("{name} '{value}' is not valid: {reason} (RFC 8839)")]
    BadIceCredential {
        /// `ice-ufrag` or `ice-pwd`.
        name: &'static str,
        /// The value, cut to [`EXCERPT_CHARS`].
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No `a=fingerprint` applies to the data section.
    #[error(
        "the {0} has no certificate fingerprint (a=fingerprint:sha-256 ...): without it the connection \
         cannot be authenticated"
    )]
    MissingFingerprint(DescriptionKind),
    /// The data section's fingerprints use only hashes other than sha-256.
    #[error("fingerprint algorithm {0} is not accepted: only sha-256 is (every browser sends one)")]
    UnsupportedFingerprint(String),
    /// The sha-256 fingerprint is not 32 hexadecimal bytes separated by colons.
    #[error(
        "the certificate fingerprint '{0}' is malformed: a sha-256 fingerprint is 32 hexadecimal bytes separated \
         by colons"
    )]
    MalformedFingerprint(String),
    /// An answer has no `a=setup`.
    #[error("the answer has no a=setup line: it must say active or passive (RFC 8842)")]
    MissingSetup,
    /// An `a=setup` value that is unknown, or that the description's kind does not allow.
    #[error("a=setup:{value} is not accepted in an {kind}: {reason}")]
    BadSetup {
        /// The description's kind.
        kind: DescriptionKind,
        /// The value, cut to [`EXCERPT_CHARS`].
        value: String,
        /// What an accepted one is.
        reason: &'static str,
    },
    /// A numeric attribute's value is not a number in its range.
    #[error("a={name} value '{value}' is not a number from {min} to {max}")]
    BadNumber {
        /// The attribute's name.
        name: &'static str,
        /// The value, cut to [`EXCERPT_CHARS`].
        value: String,
        /// The smallest accepted.
        min: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A section's `a=mid` is empty, longer than [`MAX_MID_BYTES`] or has spaces or control
    /// characters.
    #[error("a=mid '{0}' is not valid: a media section's mid is 1 to {MAX_MID_BYTES} visible characters")]
    BadMid(String),
    /// An ICE candidate could not be read.
    #[error("the ICE candidate '{candidate}' is not valid: {reason}")]
    BadCandidate {
        /// The candidate, cut to [`EXCERPT_CHARS`].
        candidate: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `text` for quoting in a message: whole when short, else its first [`EXCERPT_CHARS`]
/// characters and its length. Errors quote what they refuse, and the other side may send
/// megabytes where a word belongs: one error must stay one readable line.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}... ({} bytes)", &text[..end], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_stay_short_whatever_they_quote() {
        assert_eq!(excerpt("sha-1"), "sha-1");
        let long = "é".repeat(10_000);
        let quoted = excerpt(&long);
        assert!(quoted.chars().count() < EXCERPT_CHARS + 20, "{quoted}");
        assert!(quoted.ends_with("(20000 bytes)"), "{quoted}");
    }

    #[test]
    fn messages_say_what_to_do() {
        let error = SdpError::NoDataSection(DescriptionKind::Offer);
        assert!(error.to_string().starts_with("the offer has no data-channel section"), "{error}");
        let error = SdpError::UnsupportedFingerprint("sha-1".into());
        assert!(error.to_string().starts_with("fingerprint algorithm sha-1 is not accepted"), "{error}");
    }
}
