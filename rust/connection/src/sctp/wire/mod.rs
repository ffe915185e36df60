//! SCTP's wire format: packets with their common header and CRC32c, and every chunk a WebRTC
//! peer sends. Reading is bounded and never panics, whatever the bytes.

mod checksum;
mod chunk;
mod error_cause;
mod init;
mod packet;
mod reader;
mod reconfig;

pub(crate) use chunk::{kind, Chunk, UnknownAction, DATA_HEADER_LEN};
pub(crate) use error_cause::{code, ErrorCause};
pub(crate) use init::Init;
pub(crate) use packet::{CommonHeader, Packet, PacketBuilder, COMMON_HEADER_LEN};
pub(crate) use reconfig::{ReconfigParam, ReconfigResult};

#[cfg(test)]
pub(crate) use checksum::seal as seal_for_tests;

#[cfg(test)]
mod tests;
