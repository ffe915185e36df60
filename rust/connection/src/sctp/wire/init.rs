//! INIT and INIT-ACK chunks (RFC 9260 §3.3.2, §3.3.3) with the parameters WebRTC peers use.

use bytes::{BufMut, Bytes};

use super::reader::{padding, Reader};

/// The most parameters read from one INIT or INIT-ACK; the rest are ignored.
pub(crate) const MAX_INIT_PARAMETERS: usize = 32;
/// The most unrecognized parameters kept to report back.
pub(crate) const MAX_UNRECOGNIZED: usize = 4;
/// The longest unrecognized parameter kept to report back (a longer one is not reported), so an
/// INIT-ACK with its reports stays within one packet.
pub(crate) const MAX_UNRECOGNIZED_LEN: usize = 128;
/// The most chunk types read from a Supported Extensions parameter.
pub(crate) const MAX_EXTENSIONS: usize = 32;

/// Parameter types.
mod param {
    /// IPv4 address (ignored: no multi-homing).
    pub(super) const IPV4_ADDRESS: u16 = 5;
    /// IPv6 address (ignored).
    pub(super) const IPV6_ADDRESS: u16 = 6;
    /// State cookie (INIT-ACK).
    pub(super) const STATE_COOKIE: u16 = 7;
    /// Unrecognized parameter (INIT-ACK): wraps a parameter of the INIT we did not know.
    pub(super) const UNRECOGNIZED: u16 = 8;
    /// Cookie preservative (ignored).
    pub(super) const COOKIE_PRESERVATIVE: u16 = 9;
    /// Host name address (deprecated, ignored).
    pub(super) const HOST_NAME: u16 = 11;
    /// Supported address types (ignored).
    pub(super) const SUPPORTED_ADDRESS_TYPES: u16 = 12;
    /// Supported extensions (RFC 5061 §4.2.7): the chunk types the sender understands.
    pub(super) const SUPPORTED_EXTENSIONS: u16 = 0x8008;
    /// Forward-TSN supported (RFC 3758 §3.1).
    pub(super) const FORWARD_TSN_SUPPORTED: u16 = 0xC000;
}

/// An INIT or INIT-ACK chunk's content.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Init {
    /// The sender's verification tag: the other side puts it in every packet it sends.
    pub(crate) initiate_tag: u32,
    /// The sender's receive window, in bytes.
    pub(crate) a_rwnd: u32,
    /// How many streams the sender wants to send on.
    pub(crate) outbound_streams: u16,
    /// How many streams the sender accepts.
    pub(crate) inbound_streams: u16,
    /// The TSN of the sender's first DATA chunk (and, RFC 6525, its first re-configuration
    /// request sequence number).
    pub(crate) initial_tsn: u32,
    /// Whether the sender offered the Forward-TSN-Supported parameter.
    pub(crate) forward_tsn_supported: bool,
    /// The chunk types listed in the sender's Supported Extensions parameter.
    pub(crate) extensions: Vec<u8>,
    /// The state cookie (INIT-ACK only).
    pub(crate) cookie: Option<Bytes>,
    /// Parameters of this chunk that its receiver did not know and must report (each whole), at
    /// most [`MAX_UNRECOGNIZED`]; never encoded.
    pub(crate) unrecognized: Vec<Bytes>,
    /// Unrecognized Parameter parameters (INIT-ACK): what the sender did not know of our INIT, at
    /// most [`MAX_UNRECOGNIZED`].
    pub(crate) reported_unrecognized: Vec<Bytes>,
}

impl Init {
    /// Whether the sender understands this chunk type (listed as an extension).
    pub(crate) fn supports(&self, chunk_type: u8) -> bool {
        self.extensions.contains(&chunk_type)
    }

    /// Appends the chunk's value (after the chunk header) to `out`.
    pub(crate) fn encode_value(&self, out: &mut Vec<u8>) {
        out.put_u32(self.initiate_tag);
        out.put_u32(self.a_rwnd);
        out.put_u16(self.outbound_streams);
        out.put_u16(self.inbound_streams);
        out.put_u32(self.initial_tsn);
        if let Some(cookie) = &self.cookie {
            put_parameter(out, param::STATE_COOKIE, cookie);
        }
        if self.forward_tsn_supported {
            put_parameter(out, param::FORWARD_TSN_SUPPORTED, &[]);
        }
        if !self.extensions.is_empty() {
            put_parameter(out, param::SUPPORTED_EXTENSIONS, &self.extensions);
        }
        for unrecognized in &self.reported_unrecognized {
            put_parameter(out, param::UNRECOGNIZED, unrecognized);
        }
    }

    /// Reads an INIT or INIT-ACK chunk's value; `None` when its fixed part is short.
    /// Unknown parameters are handled by their upper two bits (RFC 9260 §3.2.1): stop or skip,
    /// and report or not.
    pub(crate) fn parse_value(value: Bytes) -> Option<Init> {
        let mut reader = Reader::new(value);
        let mut init = Init {
            initiate_tag: reader.u32()?,
            a_rwnd: reader.u32()?,
            outbound_streams: reader.u16()?,
            inbound_streams: reader.u16()?,
            initial_tsn: reader.u32()?,
            ..Init::default()
        };
        for _ in 0..MAX_INIT_PARAMETERS {
            if reader.remaining() < 4 {
                break;
            }
            let whole = reader.rest();
            let mut header = Reader::new(whole.clone());
            let (Some(kind), Some(len)) = (header.u16(), header.u16()) else { break };
            let len = usize::from(len);
            let (Some(body_len), true) = (len.checked_sub(4), len <= whole.len()) else { break };
            let body = whole.slice(4..4 + body_len);
            let encoded = whole.slice(..len);
            reader = Reader::new(whole.slice(len..));
            reader.skip_up_to(padding(len));
            match kind {
                param::STATE_COOKIE => init.cookie = Some(body),
                param::FORWARD_TSN_SUPPORTED => init.forward_tsn_supported = true,
                param::SUPPORTED_EXTENSIONS => init.extensions = body.iter().copied().take(MAX_EXTENSIONS).collect(),
                param::UNRECOGNIZED => {
                    if init.reported_unrecognized.len() < MAX_UNRECOGNIZED && body.len() <= MAX_UNRECOGNIZED_LEN {
                        init.reported_unrecognized.push(body);
                    }
                }
                param::IPV4_ADDRESS
                | param::IPV6_ADDRESS
                | param::COOKIE_PRESERVATIVE
                | param::HOST_NAME
                | param::SUPPORTED_ADDRESS_TYPES => {}
                _ => {
                    if kind & 0x4000 != 0
                        && init.unrecognized.len() < MAX_UNRECOGNIZED
                        && encoded.len() <= MAX_UNRECOGNIZED_LEN
                    {
                        init.unrecognized.push(encoded);
                    }
                    if kind & 0x8000 == 0 {
                        break;
                    }
                }
            }
        }
        Some(init)
    }
}

/// Appends one parameter (type, length, value, padding) to `out`.
fn put_parameter(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    out.put_u16(kind);
    out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
    out.put_slice(value);
    out.put_bytes(0, padding(len));
}
