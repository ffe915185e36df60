//! Error causes (RFC 9260 §3.3.10), carried by ABORT and ERROR chunks.

use bytes::{BufMut, Bytes};

use super::reader::{padding, Reader};

/// The most error causes read from one ABORT or ERROR chunk; the rest are ignored.
pub(crate) const MAX_CAUSES: usize = 16;

/// Cause codes this association sends or recognises.
pub(crate) mod code {
    /// Invalid stream identifier; the information is the stream id and two reserved bytes.
    pub(crate) const INVALID_STREAM: u16 = 1;
    /// Unrecognized chunk type; the information is the chunk as received.
    pub(crate) const UNRECOGNIZED_CHUNK: u16 = 6;
    /// The other side aborted on its user's request.
    pub(crate) const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol violation; the information is a text.
    pub(crate) const PROTOCOL_VIOLATION: u16 = 13;
}

/// One error cause: a code and its information bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ErrorCause {
    /// Its cause code (see [`code`]).
    pub(crate) code: u16,
    /// Its information, as sent (without padding).
    pub(crate) info: Bytes,
}

impl ErrorCause {
    /// A cause with this code and information.
    pub(crate) fn new(code: u16, info: impl Into<Bytes>) -> Self {
        ErrorCause { code, info: info.into() }
    }

    /// Its encoded length, padding included.
    pub(crate) fn encoded_len(&self) -> usize {
        let len = 4 + self.info.len();
        len + padding(len)
    }

    /// Appends it to `out`, padded.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let len = 4 + self.info.len();
        out.put_u16(self.code);
        out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
        out.put_slice(&self.info);
        out.put_bytes(0, padding(len));
    }
}

/// Reads the causes of an ABORT or ERROR chunk's value: at most [`MAX_CAUSES`]; a malformed one
/// ends the list.
pub(crate) fn parse_causes(value: Bytes) -> Vec<ErrorCause> {
    let mut reader = Reader::new(value);
    let mut causes = Vec::new();
    while causes.len() < MAX_CAUSES && reader.remaining() >= 4 {
        let (Some(code), Some(len)) = (reader.u16(), reader.u16()) else { break };
        let Some(info_len) = usize::from(len).checked_sub(4) else { break };
        let Some(info) = reader.take(info_len) else { break };
        reader.skip_up_to(padding(usize::from(len)));
        causes.push(ErrorCause { code, info });
    }
    causes
}
