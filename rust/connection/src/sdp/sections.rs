//! A description's lines grouped as RFC 8866 does: the session level (before the first `m=`
//! line), then one media section per `m=` line, each with its attributes (`a=<name>[:<value>]`),
//! borrowed from the text. What the attributes mean is read in [`remote`](super::remote).

use super::error::{excerpt, SdpError};
use super::limits::MAX_MEDIA_SECTIONS;
use super::lines::{lines, Line};

/// One `a=` line: `a=<name>` or `a=<name>:<value>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Attribute<'a> {
    /// The name (compared without regard to case).
    pub(crate) name: &'a str,
    /// The value, when the line has a colon.
    pub(crate) value: Option<&'a str>,
}

/// The attributes of one level, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attributes<'a>(Vec<Attribute<'a>>);

impl<'a> Attributes<'a> {
    /// The values of every attribute called `name` (an attribute without a value gives "").
    pub(crate) fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.0.iter().filter(move |attribute| attribute.name.eq_ignore_ascii_case(name)).map(|a| a.value.unwrap_or(""))
    }

    /// The value of the first attribute called `name`.
    pub(crate) fn first(&self, name: &str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// Whether an attribute called `name` is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.first(name).is_some()
    }
}

/// One media section: its `m=` line's fields and its attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Section<'a> {
    /// The media type: `audio`, `video`, `application`...
    pub(crate) media: &'a str,
    /// The port (the part before any `/<count>`).
    pub(crate) port: u16,
    /// The transport protocol: `UDP/DTLS/SCTP`, `UDP/TLS/RTP/SAVPF`...
    pub(crate) proto: &'a str,
    /// The format list, as written (may be empty).
    pub(crate) formats: &'a str,
    /// Its attributes.
    pub(crate) attributes: Attributes<'a>,
}

/// A description's session-level attributes and media sections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sections<'a> {
    /// The attributes before the first `m=` line.
    pub(crate) session: Attributes<'a>,
    /// The media sections, in order.
    pub(crate) media: Vec<Section<'a>>,
}

/// `text` grouped in sections, or why it is not a description within our bounds.
pub(crate) fn sections(text: &str) -> Result<Sections<'_>, SdpError> {
    let lines = lines(text)?;
    match lines.first() {
        Some(Line { kind: b'v', value: "0", .. }) => {}
        _ => return Err(SdpError::NotSdp(excerpt(text.lines().next().unwrap_or("")))),
    }
    let mut session = Attributes::default();
    let mut media: Vec<Section<'_>> = Vec::new();
    for line in &lines[1..] {
        match line.kind {
            b'm' => {
                if media.len() == MAX_MEDIA_SECTIONS {
                    return Err(SdpError::TooManyMediaSections);
                }
                media.push(media_line(line)?);
            }
            b'a' => {
                let (name, value) = match line.value.split_once(':') {
                    Some((name, value)) => (name, Some(value)),
                    None => (line.value, None),
                };
                let attribute = Attribute { name, value };
                match media.last_mut() {
                    Some(section) => section.attributes.0.push(attribute),
                    None => session.0.push(attribute),
                }
            }
            // o=, s=, t=, c=, b= and the rest say nothing a data channel needs.
            _ => {}
        }
    }
    Ok(Sections { session, media })
}

/// The section an `m=` line opens: `m=<media> <port>[/<count>] <proto> <fmt> ...`.
fn media_line<'a>(line: &Line<'a>) -> Result<Section<'a>, SdpError> {
    let malformed = || SdpError::MalformedMediaLine { line: line.number, text: excerpt(line.value) };
    // Our answer repeats a refused section's line: nothing in it may break a line.
    if !line.value.bytes().all(|byte| byte == b' ' || byte.is_ascii_graphic()) {
        return Err(malformed());
    }
    let mut rest = line.value;
    let mut field = || {
        let trimmed = rest.trim_start_matches(' ');
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        rest = &trimmed[end..];
        Some(&trimmed[..end]).filter(|word| !word.is_empty())
    };
    let media = field().ok_or_else(malformed)?;
    let port = field().ok_or_else(malformed)?;
    let proto = field().ok_or_else(malformed)?;
    // `u16::from_str` takes a leading `+`, which SDP does not.
    if !port.split('/').all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit())) {
        return Err(malformed());
    }
    let port = port.split('/').next().and_then(|port| port.parse::<u16>().ok()).ok_or_else(malformed)?;
    Ok(Section { media, port, proto, formats: rest.trim(), attributes: Attributes::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_go_to_the_level_they_are_written_at() {
        let text = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=group:BUNDLE 0 1\r\na=ice-lite\r\n\
                    m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n\
                    m=application 0/2 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\na=Sctp-Port:5000\r\n";
        let read = sections(text).unwrap();
        assert_eq!(read.session.first("group"), Some("BUNDLE 0 1"));
        assert_eq!(read.session.first("ice-lite"), Some(""));
        assert!(!read.session.has("mid"));
        assert_eq!(read.media.len(), 2);
        assert_eq!((read.media[0].media, read.media[0].port, read.media[0].proto), ("audio", 9, "UDP/TLS/RTP/SAVPF"));
        assert_eq!(read.media[0].formats, "111 0");
        assert_eq!(read.media[1].port, 0);
        assert_eq!(read.media[1].attributes.first("sctp-port"), Some("5000"), "names in any case");
        assert_eq!(read.media[1].attributes.values("mid").collect::<Vec<_>>(), vec!["1"]);
    }

    #[test]
    fn a_description_starts_with_v0() {
        for bad in ["", "o=- 1 1 IN IP4 0.0.0.0\r\n", "v=1\r\n", "{\"type\":\"offer\"}"] {
            assert!(matches!(sections(bad), Err(SdpError::NotSdp(_)) | Err(SdpError::MalformedLine { .. })), "{bad}");
        }
        assert!(matches!(sections("{\"type\":\"offer\"}"), Err(SdpError::MalformedLine { line: 1, .. })));
        assert!(matches!(sections("v=1\r\n"), Err(SdpError::NotSdp(_))));
    }

    #[test]
    fn malformed_media_lines_are_refused() {
        for bad in [
            "audio",
            "audio 9",
            "audio x RTP",
            "audio 70000 RTP",
            "audio -1 RTP",
            "audio +9 RTP",
            "audio 9/ RTP",
            "audio 9 RTP\r0",
            "audio\t9 RTP 0",
            "audio 9 RTP é",
        ] {
            let text = format!("v=0\r\nm={bad}\r\n");
            assert!(matches!(sections(&text), Err(SdpError::MalformedMediaLine { line: 2, .. })), "{bad}");
        }
        let read = sections("v=0\r\nm=application 9 UDP/DTLS/SCTP\r\n").unwrap();
        assert_eq!(read.media[0].formats, "", "a missing format list is left for the reader to judge");
    }

    #[test]
    fn media_sections_are_bounded() {
        let section = "m=audio 0 RTP/AVP 0\r\n";
        let fits = format!("v=0\r\n{}", section.repeat(MAX_MEDIA_SECTIONS));
        assert_eq!(sections(&fits).unwrap().media.len(), MAX_MEDIA_SECTIONS);
        let over = format!("{fits}{section}");
        assert_eq!(sections(&over), Err(SdpError::TooManyMediaSections));
    }
}
