//! Every bound on what a remote description may hold, and the values a description takes when
//! it leaves an attribute out. A description comes from the other side through signaling: each
//! of these bounds what it can make us read, keep or quote.

use std::ops::RangeInclusive;

/// Bytes a description may have at most: the signaling server's largest frame (its default
/// `max_frame_size`), which carries a whole description. A browser's offer with audio, video and
/// data and a dozen candidates is under 10 KiB. Past it, the description is refused.
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;

/// Lines a description may have at most (a browser's offer with audio, video and data has
/// about 150). Past it, the description is refused.
pub const MAX_LINES: usize = 2048;

/// Bytes a line may have at most (the longest lines browsers write, `a=fmtp` and `a=extmap`,
/// stay under 300). Past it, the description is refused.
pub const MAX_LINE_BYTES: usize = 4096;

/// Media sections (`m=` lines) a description may have at most; all but the data-channel
/// section are refused in our answer, each with one line of its own. Past it, the description
/// is refused.
pub const MAX_MEDIA_SECTIONS: usize = 64;

/// Remote candidates a connection takes at most (the transport's `MAX_REMOTE_CANDIDATES`): a
/// browser behind a few interfaces, IPv4 and IPv6, with server-reflexive and relayed candidates,
/// signals a few dozen at most. A description's candidates past it are dropped and counted.
pub const MAX_REMOTE_CANDIDATES: usize = 64;

/// Lengths RFC 8839 (section 5.4) allows for `a=ice-ufrag`, which libwebrtc enforces too.
pub const ICE_UFRAG_CHARS: RangeInclusive<usize> = 4..=256;

/// Lengths RFC 8839 (section 5.4) allows for `a=ice-pwd`, which libwebrtc enforces too.
pub const ICE_PWD_CHARS: RangeInclusive<usize> = 22..=256;

/// Bytes of a media section's identification tag (`a=mid`) at most; browsers write one or two
/// digits, older Firefox `sdparta_0`. Our answer repeats it.
pub const MAX_MID_BYTES: usize = 64;

/// Characters of a candidate's foundation at most (RFC 8839 section 5.1: `1*32ice-char`).
pub const MAX_FOUNDATION_CHARS: usize = 32;

/// Bytes of a candidate's mDNS name (`<uuid>.local`, RFC 8828) at most: a DNS name's limit.
pub const MAX_MDNS_NAME_BYTES: usize = 253;

/// Characters of the other side's text an error message quotes (the transport's
/// `EXCERPT_CHARS`): one error stays one readable line whatever it was given.
pub const EXCERPT_CHARS: usize = 60;

/// The SCTP port when a data-channel section has no `a=sctp-port` (RFC 8841 section 5).
pub const DEFAULT_SCTP_PORT: u16 = 5000;

/// The largest message the other side takes when its description has no `a=max-message-size`
/// (RFC 8841 section 6.1).
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 64 * 1024;

/// The SCTP port our descriptions announce (every browser's).
pub const OUR_SCTP_PORT: u16 = 5000;

/// The largest message our descriptions announce (Chromium's and libdatachannel's).
pub const OUR_MAX_MESSAGE_SIZE: u64 = 256 * 1024;
