//! The RE-CONFIG chunk (RFC 6525): stream reset requests and their responses.

use bytes::{BufMut, Bytes};

use super::reader::{padding, Reader};
use crate::sctp::chunks::Tsn;
use crate::sctp::StreamId;

/// The most parameters read from one RE-CONFIG chunk (RFC 6525 allows two).
pub(crate) const MAX_RECONFIG_PARAMETERS: usize = 2;

/// Parameter types (RFC 6525 §4).
mod param {
    /// Outgoing SSN Reset Request.
    pub(super) const OUTGOING_RESET: u16 = 13;
    /// Re-configuration Response.
    pub(super) const RESPONSE: u16 = 16;
}

/// A response's result (RFC 6525 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReconfigResult {
    /// Success, nothing to do.
    SuccessNothingToDo,
    /// Success, performed.
    SuccessPerformed,
    /// Denied.
    Denied,
    /// Error: wrong SSN.
    WrongSsn,
    /// Error: a request is already in progress.
    AlreadyInProgress,
    /// Error: bad sequence number.
    BadSequenceNumber,
    /// In progress: ask again later.
    InProgress,
    /// A value this implementation does not know.
    Other(u32),
}

impl ReconfigResult {
    fn to_wire(self) -> u32 {
        match self {
            ReconfigResult::SuccessNothingToDo => 0,
            ReconfigResult::SuccessPerformed => 1,
            ReconfigResult::Denied => 2,
            ReconfigResult::WrongSsn => 3,
            ReconfigResult::AlreadyInProgress => 4,
            ReconfigResult::BadSequenceNumber => 5,
            ReconfigResult::InProgress => 6,
            ReconfigResult::Other(value) => value,
        }
    }

    fn from_wire(value: u32) -> Self {
        match value {
            0 => ReconfigResult::SuccessNothingToDo,
            1 => ReconfigResult::SuccessPerformed,
            2 => ReconfigResult::Denied,
            3 => ReconfigResult::WrongSsn,
            4 => ReconfigResult::AlreadyInProgress,
            5 => ReconfigResult::BadSequenceNumber,
            6 => ReconfigResult::InProgress,
            other => ReconfigResult::Other(other),
        }
    }
}

/// One parameter of a RE-CONFIG chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReconfigParam {
    /// The sender resets these of its outgoing streams (all when empty) once the receiver has
    /// everything up to `last_tsn`.
    OutgoingReset {
        /// This request's sequence number.
        request_seq: u32,
        /// The sequence number of the receiver's request this one answers implicitly (unused).
        response_seq: u32,
        /// The last TSN the sender assigned before the reset.
        last_tsn: Tsn,
        /// The streams reset; empty means all.
        streams: Vec<StreamId>,
    },
    /// The answer to a request.
    Response {
        /// The sequence number of the request answered.
        response_seq: u32,
        /// What became of it.
        result: ReconfigResult,
    },
    /// A request of another kind (incoming reset, SSN/TSN reset, add streams): answered "denied".
    OtherRequest {
        /// Its parameter type.
        kind: u16,
        /// Its request sequence number (the first field of every request).
        request_seq: u32,
    },
}

impl ReconfigParam {
    /// Appends the parameter to `out`, padded.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        let kind = match self {
            ReconfigParam::OutgoingReset { request_seq, response_seq, last_tsn, streams } => {
                body.put_u32(*request_seq);
                body.put_u32(*response_seq);
                body.put_u32(*last_tsn);
                for stream in streams {
                    body.put_u16(*stream);
                }
                param::OUTGOING_RESET
            }
            ReconfigParam::Response { response_seq, result } => {
                body.put_u32(*response_seq);
                body.put_u32(result.to_wire());
                param::RESPONSE
            }
            ReconfigParam::OtherRequest { kind, request_seq } => {
                body.put_u32(*request_seq);
                *kind
            }
        };
        let len = 4 + body.len();
        out.put_u16(kind);
        out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
        out.put_slice(&body);
        out.put_bytes(0, padding(len));
    }

    /// Its encoded length, padding included.
    pub(crate) fn encoded_len(&self) -> usize {
        let len = 4 + match self {
            ReconfigParam::OutgoingReset { streams, .. } => 12 + 2 * streams.len(),
            ReconfigParam::Response { .. } => 8,
            ReconfigParam::OtherRequest { .. } => 4,
        };
        len + padding(len)
    }
}

/// Reads a RE-CONFIG chunk's parameters: at most [`MAX_RECONFIG_PARAMETERS`]; a malformed one
/// or unknown one ends the list.
pub(crate) fn parse_params(value: Bytes) -> Vec<ReconfigParam> {
    let mut reader = Reader::new(value);
    let mut params = Vec::new();
    while params.len() < MAX_RECONFIG_PARAMETERS && reader.remaining() >= 4 {
        let (Some(kind), Some(len)) = (reader.u16(), reader.u16()) else { break };
        let Some(body_len) = usize::from(len).checked_sub(4) else { break };
        let Some(body) = reader.take(body_len) else { break };
        reader.skip_up_to(padding(usize::from(len)));
        let mut body = Reader::new(body);
        let parsed = match kind {
            param::OUTGOING_RESET => (|| {
                let request_seq = body.u32()?;
                let response_seq = body.u32()?;
                let last_tsn = body.u32()?;
                let mut streams = Vec::with_capacity(body.remaining() / 2);
                while let Some(stream) = body.u16() {
                    streams.push(stream);
                }
                Some(ReconfigParam::OutgoingReset { request_seq, response_seq, last_tsn, streams })
            })(),
            param::RESPONSE => (|| {
                let response_seq = body.u32()?;
                let result = ReconfigResult::from_wire(body.u32()?);
                Some(ReconfigParam::Response { response_seq, result })
            })(),
            14 | 15 | 17 | 18 => body.u32().map(|request_seq| ReconfigParam::OtherRequest { kind, request_seq }),
            _ => None,
        };
        match parsed {
            Some(param) => params.push(param),
            None => break,
        }
    }
    params
}
