//! Every chunk a WebRTC peer sends (RFC 9260 §3.3, RFC 3758, RFC 6525), read and written.

use bytes::{BufMut, Bytes};

use super::error_cause::{parse_causes, ErrorCause};
use super::init::Init;
use super::reader::{padding, Reader};
use super::reconfig::{parse_params, ReconfigParam};
use crate::sctp::chunks::{DataChunk, ForwardTsn, GapBlock, Sack, Tsn};

/// The most gap ack blocks read from one SACK; later ones are ignored (they only tell of more
/// data received, which a later SACK tells again).
pub(crate) const MAX_GAP_BLOCKS: usize = 256;
/// The most duplicate TSNs read from one SACK; later ones are ignored.
pub(crate) const MAX_DUPLICATES: usize = 256;

/// Chunk types (RFC 9260 §3.2, RFC 3758 §3.2, RFC 6525 §3.1).
pub(crate) mod kind {
    /// DATA.
    pub(crate) const DATA: u8 = 0;
    /// INIT.
    pub(crate) const INIT: u8 = 1;
    /// INIT-ACK.
    pub(crate) const INIT_ACK: u8 = 2;
    /// SACK.
    pub(crate) const SACK: u8 = 3;
    /// HEARTBEAT.
    pub(crate) const HEARTBEAT: u8 = 4;
    /// HEARTBEAT-ACK.
    pub(crate) const HEARTBEAT_ACK: u8 = 5;
    /// ABORT.
    pub(crate) const ABORT: u8 = 6;
    /// SHUTDOWN.
    pub(crate) const SHUTDOWN: u8 = 7;
    /// SHUTDOWN-ACK.
    pub(crate) const SHUTDOWN_ACK: u8 = 8;
    /// ERROR.
    pub(crate) const ERROR: u8 = 9;
    /// COOKIE-ECHO.
    pub(crate) const COOKIE_ECHO: u8 = 10;
    /// COOKIE-ACK.
    pub(crate) const COOKIE_ACK: u8 = 11;
    /// SHUTDOWN-COMPLETE.
    pub(crate) const SHUTDOWN_COMPLETE: u8 = 14;
    /// RE-CONFIG (RFC 6525).
    pub(crate) const RE_CONFIG: u8 = 0x82;
    /// FORWARD-TSN (RFC 3758).
    pub(crate) const FORWARD_TSN: u8 = 0xC0;
}

/// DATA chunk flags.
const FLAG_ENDING: u8 = 0x01;
const FLAG_BEGINNING: u8 = 0x02;
const FLAG_UNORDERED: u8 = 0x04;
const FLAG_IMMEDIATE: u8 = 0x08;
/// The T bit of ABORT and SHUTDOWN-COMPLETE: the verification tag is the receiver's own
/// (reflected) rather than the peer's.
const FLAG_TAG_REFLECTED: u8 = 0x01;

/// The size of a DATA chunk's header: what a DATA chunk costs beyond its payload.
pub(crate) const DATA_HEADER_LEN: usize = 16;

/// One chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// DATA.
    Data(DataChunk),
    /// INIT.
    Init(Init),
    /// INIT-ACK.
    InitAck(Init),
    /// SACK.
    Sack(Sack),
    /// HEARTBEAT, with its parameters as sent (echoed back whole in the HEARTBEAT-ACK).
    Heartbeat(Bytes),
    /// HEARTBEAT-ACK, with the HEARTBEAT's parameters.
    HeartbeatAck(Bytes),
    /// ABORT.
    Abort {
        /// The T bit: the packet carries the receiver's own tag.
        tag_reflected: bool,
        /// Why.
        causes: Vec<ErrorCause>,
    },
    /// SHUTDOWN, with the sender's cumulative TSN acknowledged.
    Shutdown {
        /// The last TSN the sender received without a gap.
        cumulative_tsn: Tsn,
    },
    /// SHUTDOWN-ACK.
    ShutdownAck,
    /// ERROR.
    Error(Vec<ErrorCause>),
    /// COOKIE-ECHO, with the cookie.
    CookieEcho(Bytes),
    /// COOKIE-ACK.
    CookieAck,
    /// SHUTDOWN-COMPLETE.
    ShutdownComplete {
        /// The T bit: the packet carries the receiver's own tag.
        tag_reflected: bool,
    },
    /// FORWARD-TSN.
    ForwardTsn(ForwardTsn),
    /// RE-CONFIG, with its one or two parameters.
    ReConfig(Vec<ReconfigParam>),
    /// A chunk of a type we do not handle (or a known one too short to read): what to do with it
    /// follows from its type's upper two bits (RFC 9260 §3.2).
    Unknown {
        /// Its type.
        kind: u8,
        /// The whole chunk as received (header and value, without padding), for an ERROR's
        /// "unrecognized chunk type" cause.
        raw: Bytes,
    },
}

/// What to do with a chunk of unknown type, from its type's upper two bits (RFC 9260 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UnknownAction {
    /// Whether the rest of the packet is still processed.
    pub(crate) continue_packet: bool,
    /// Whether the chunk is reported in an ERROR chunk.
    pub(crate) report: bool,
}

impl UnknownAction {
    /// The action for chunk type `kind`.
    pub(crate) fn of(kind: u8) -> Self {
        UnknownAction { continue_packet: kind & 0x80 != 0, report: kind & 0x40 != 0 }
    }
}

impl Chunk {
    /// Reads one chunk from the front of `reader`, with its padding. `None` when what is left
    /// cannot hold a chunk header or the chunk's declared length.
    pub(crate) fn parse(reader: &mut Reader) -> Option<Chunk> {
        let whole = reader.rest();
        let mut header = Reader::new(whole.clone());
        let kind = header.u8()?;
        let flags = header.u8()?;
        let len = usize::from(header.u16()?);
        if len < 4 || len > whole.len() {
            return None;
        }
        let raw = whole.slice(..len);
        let value = whole.slice(4..len);
        *reader = Reader::new(whole.slice(len..));
        reader.skip_up_to(padding(len));
        Some(Self::parse_value(kind, flags, value).unwrap_or(Chunk::Unknown { kind, raw }))
    }

    /// Reads a chunk's value by its type; `None` when it is too short for that type or of an
    /// unknown type.
    fn parse_value(kind: u8, flags: u8, value: Bytes) -> Option<Chunk> {
        let mut r = Reader::new(value.clone());
        Some(match kind {
            kind::DATA => {
                let tsn = r.u32()?;
                let stream = r.u16()?;
                let ssn = r.u16()?;
                let ppid = r.u32()?;
                let payload = r.rest();
                if payload.is_empty() {
                    return None;
                }
                Chunk::Data(DataChunk {
                    tsn,
                    stream,
                    ssn,
                    ppid,
                    unordered: flags & FLAG_UNORDERED != 0,
                    beginning: flags & FLAG_BEGINNING != 0,
                    ending: flags & FLAG_ENDING != 0,
                    immediate_sack: flags & FLAG_IMMEDIATE != 0,
                    payload,
                })
            }
            kind::INIT => Chunk::Init(Init::parse_value(value)?),
            kind::INIT_ACK => Chunk::InitAck(Init::parse_value(value)?),
            kind::SACK => {
                let cumulative_tsn = r.u32()?;
                let a_rwnd = r.u32()?;
                let gap_count = usize::from(r.u16()?);
                let duplicate_count = usize::from(r.u16()?);
                let mut gaps = Vec::with_capacity(gap_count.min(MAX_GAP_BLOCKS));
                for _ in 0..gap_count {
                    let (start, end) = (r.u16()?, r.u16()?);
                    if gaps.len() < MAX_GAP_BLOCKS {
                        gaps.push(GapBlock { start, end });
                    }
                }
                let mut duplicates = Vec::with_capacity(duplicate_count.min(MAX_DUPLICATES));
                for _ in 0..duplicate_count.min(MAX_DUPLICATES) {
                    duplicates.push(r.u32()?);
                }
                Chunk::Sack(Sack { cumulative_tsn, a_rwnd, gaps, duplicates })
            }
            kind::HEARTBEAT => Chunk::Heartbeat(value),
            kind::HEARTBEAT_ACK => Chunk::HeartbeatAck(value),
            kind::ABORT => Chunk::Abort { tag_reflected: flags & FLAG_TAG_REFLECTED != 0, causes: parse_causes(value) },
            kind::SHUTDOWN => Chunk::Shutdown { cumulative_tsn: r.u32()? },
            kind::SHUTDOWN_ACK => Chunk::ShutdownAck,
            kind::ERROR => Chunk::Error(parse_causes(value)),
            kind::COOKIE_ECHO => Chunk::CookieEcho(value),
            kind::COOKIE_ACK => Chunk::CookieAck,
            kind::SHUTDOWN_COMPLETE => Chunk::ShutdownComplete { tag_reflected: flags & FLAG_TAG_REFLECTED != 0 },
            kind::FORWARD_TSN => {
                let new_cumulative_tsn = r.u32()?;
                let mut skipped = Vec::with_capacity(r.remaining() / 4);
                while r.remaining() >= 4 {
                    let stream = r.u16()?;
                    let ssn = r.u16()?;
                    skipped.push((stream, ssn));
                }
                Chunk::ForwardTsn(ForwardTsn { new_cumulative_tsn, skipped })
            }
            kind::RE_CONFIG => Chunk::ReConfig(parse_params(value)),
            _ => return None,
        })
    }

    /// Its encoded length, header and padding included.
    pub(crate) fn encoded_len(&self) -> usize {
        let value_len = match self {
            Chunk::Data(data) => DATA_HEADER_LEN - 4 + data.payload.len(),
            Chunk::Init(_) | Chunk::InitAck(_) => {
                let mut out = Vec::new();
                self.encode_value(&mut out);
                out.len()
            }
            Chunk::Sack(sack) => 12 + 4 * sack.gaps.len() + 4 * sack.duplicates.len(),
            Chunk::Heartbeat(info) | Chunk::HeartbeatAck(info) | Chunk::CookieEcho(info) => info.len(),
            Chunk::Abort { causes, .. } | Chunk::Error(causes) => causes.iter().map(ErrorCause::encoded_len).sum(),
            Chunk::Shutdown { .. } => 4,
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => 0,
            Chunk::ForwardTsn(forward) => 4 + 4 * forward.skipped.len(),
            Chunk::ReConfig(params) => params.iter().map(ReconfigParam::encoded_len).sum(),
            Chunk::Unknown { raw, .. } => raw.len().saturating_sub(4),
        };
        let len = 4 + value_len;
        len + padding(len)
    }

    /// Appends the chunk (header, value, padding) to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u8(self.kind());
        out.put_u8(self.flags());
        out.put_u16(0);
        self.encode_value(out);
        let len = out.len() - start;
        let len_bytes = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
        if let Some(field) = out.get_mut(start + 2..start + 4) {
            field.copy_from_slice(&len_bytes);
        }
        out.put_bytes(0, padding(len));
    }

    /// Its chunk type.
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Chunk::Data(_) => kind::DATA,
            Chunk::Init(_) => kind::INIT,
            Chunk::InitAck(_) => kind::INIT_ACK,
            Chunk::Sack(_) => kind::SACK,
            Chunk::Heartbeat(_) => kind::HEARTBEAT,
            Chunk::HeartbeatAck(_) => kind::HEARTBEAT_ACK,
            Chunk::Abort { .. } => kind::ABORT,
            Chunk::Shutdown { .. } => kind::SHUTDOWN,
            Chunk::ShutdownAck => kind::SHUTDOWN_ACK,
            Chunk::Error(_) => kind::ERROR,
            Chunk::CookieEcho(_) => kind::COOKIE_ECHO,
            Chunk::CookieAck => kind::COOKIE_ACK,
            Chunk::ShutdownComplete { .. } => kind::SHUTDOWN_COMPLETE,
            Chunk::ForwardTsn(_) => kind::FORWARD_TSN,
            Chunk::ReConfig(_) => kind::RE_CONFIG,
            Chunk::Unknown { kind, .. } => *kind,
        }
    }

    fn flags(&self) -> u8 {
        match self {
            Chunk::Data(data) => {
                let mut flags = 0;
                for (set, flag) in [
                    (data.ending, FLAG_ENDING),
                    (data.beginning, FLAG_BEGINNING),
                    (data.unordered, FLAG_UNORDERED),
                    (data.immediate_sack, FLAG_IMMEDIATE),
                ] {
                    if set {
                        flags |= flag;
                    }
                }
                flags
            }
            Chunk::Abort { tag_reflected: true, .. } | Chunk::ShutdownComplete { tag_reflected: true } => {
                FLAG_TAG_REFLECTED
            }
            Chunk::Unknown { raw, .. } => raw.get(1).copied().unwrap_or(0),
            _ => 0,
        }
    }

    fn encode_value(&self, out: &mut Vec<u8>) {
        match self {
            Chunk::Data(data) => {
                out.put_u32(data.tsn);
                out.put_u16(data.stream);
                out.put_u16(data.ssn);
                out.put_u32(data.ppid);
                out.put_slice(&data.payload);
            }
            Chunk::Init(init) | Chunk::InitAck(init) => init.encode_value(out),
            Chunk::Sack(sack) => {
                out.put_u32(sack.cumulative_tsn);
                out.put_u32(sack.a_rwnd);
                out.put_u16(u16::try_from(sack.gaps.len()).unwrap_or(u16::MAX));
                out.put_u16(u16::try_from(sack.duplicates.len()).unwrap_or(u16::MAX));
                for gap in &sack.gaps {
                    out.put_u16(gap.start);
                    out.put_u16(gap.end);
                }
                for duplicate in &sack.duplicates {
                    out.put_u32(*duplicate);
                }
            }
            Chunk::Heartbeat(info) | Chunk::HeartbeatAck(info) | Chunk::CookieEcho(info) => out.put_slice(info),
            Chunk::Abort { causes, .. } | Chunk::Error(causes) => {
                for cause in causes {
                    cause.encode(out);
                }
            }
            Chunk::Shutdown { cumulative_tsn } => out.put_u32(*cumulative_tsn),
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => {}
            Chunk::ForwardTsn(forward) => {
                out.put_u32(forward.new_cumulative_tsn);
                for (stream, ssn) in &forward.skipped {
                    out.put_u16(*stream);
                    out.put_u16(*ssn);
                }
            }
            Chunk::ReConfig(params) => {
                for param in params {
                    param.encode(out);
                }
            }
            Chunk::Unknown { raw, .. } => out.put_slice(raw.get(4..).unwrap_or_default()),
        }
    }
}
