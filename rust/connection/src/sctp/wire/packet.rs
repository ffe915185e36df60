//! An SCTP packet: the common header (RFC 9260 §3.1), then chunks; read whole and checked, or
//! built chunk by chunk up to the MTU.

use bytes::{BufMut, Bytes};

use super::checksum;
use super::chunk::Chunk;
use super::reader::Reader;

/// The common header's size.
pub(crate) const COMMON_HEADER_LEN: usize = 12;
/// The most chunks read from one packet; the rest of a longer packet is ignored (a 1200-byte
/// packet holds at most 297 four-byte chunks; real peers bundle a handful).
pub(crate) const MAX_CHUNKS_PER_PACKET: usize = 64;

/// The common header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CommonHeader {
    /// The sender's port.
    pub(crate) source_port: u16,
    /// The receiver's port.
    pub(crate) destination_port: u16,
    /// The receiver's verification tag (0 for an INIT).
    pub(crate) verification_tag: u32,
}

/// A received packet, its checksum verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Packet {
    /// Its common header.
    pub(crate) header: CommonHeader,
    /// Its chunks, in order: at most [`MAX_CHUNKS_PER_PACKET`]; reading stops at the first
    /// chunk whose length runs past the packet.
    pub(crate) chunks: Vec<Chunk>,
}

impl Packet {
    /// Reads a packet; `None` when it is shorter than the common header or its checksum is wrong.
    pub(crate) fn parse(bytes: &[u8]) -> Option<Packet> {
        if bytes.len() < COMMON_HEADER_LEN || !checksum::verify(bytes) {
            return None;
        }
        let mut reader = Reader::new(Bytes::copy_from_slice(bytes));
        let header = CommonHeader {
            source_port: reader.u16()?,
            destination_port: reader.u16()?,
            verification_tag: reader.u32()?,
        };
        reader.u32()?;
        let mut chunks = Vec::new();
        while chunks.len() < MAX_CHUNKS_PER_PACKET && reader.remaining() > 0 {
            match Chunk::parse(&mut reader) {
                Some(chunk) => chunks.push(chunk),
                None => break,
            }
        }
        Some(Packet { header, chunks })
    }
}

/// Builds one outgoing packet, chunk by chunk, within a size limit.
pub(crate) struct PacketBuilder {
    bytes: Vec<u8>,
    limit: usize,
}

impl PacketBuilder {
    /// An empty packet with this header, to hold at most `limit` bytes.
    pub(crate) fn new(header: CommonHeader, limit: usize) -> Self {
        let mut bytes = Vec::with_capacity(limit);
        bytes.put_u16(header.source_port);
        bytes.put_u16(header.destination_port);
        bytes.put_u32(header.verification_tag);
        bytes.put_u32(0);
        PacketBuilder { bytes, limit }
    }

    /// The bytes still free for chunks.
    pub(crate) fn room(&self) -> usize {
        self.limit.saturating_sub(self.bytes.len())
    }

    /// Whether no chunk was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.len() <= COMMON_HEADER_LEN
    }

    /// Adds `chunk` when it fits, or when the packet is still empty (a lone chunk larger than
    /// the limit goes alone rather than never). Returns whether it was added.
    pub(crate) fn push(&mut self, chunk: &Chunk) -> bool {
        if !self.is_empty() && chunk.encoded_len() > self.room() {
            return false;
        }
        chunk.encode(&mut self.bytes);
        true
    }

    /// The finished packet, its checksum written.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        checksum::seal(&mut self.bytes);
        self.bytes
    }
}
