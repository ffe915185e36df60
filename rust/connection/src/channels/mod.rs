//! The data channels of one connection (RFC 8831, with DCEP of RFC 8832) above its SCTP
//! association, sans-IO: the connection hands [`DataChannels`] the association's
//! [`SctpEvent`](crate::sctp::SctpEvent)s and carries its [`SctpCommand`]s to the association
//! (`send`, `reset_streams`); the application opens, sends and closes, and reads
//! [`ChannelEvent`]s.

mod channel;
mod data_channels;
mod dcep;
mod error;
mod events;
mod limits;
mod options;
mod remote_opens;
mod stream_ids;

#[cfg(test)]
mod loopback_tests;

pub use crate::DtlsRole;
pub use channel::ChannelState;
pub use data_channels::DataChannels;
pub use error::ChannelError;
pub use events::{ChannelEvent, ChannelId, SctpCommand};
pub use limits::{
    ChannelLimits, DEFAULT_MAX_MESSAGE_SIZE, MAX_LABEL_BYTES, MAX_REFUSED_OPENINGS, MAX_REMOTE_CHANNELS,
    MAX_REMOTE_OPENS, MAX_REPORTED_ERRORS,
};
pub use options::{ChannelOptions, DEFAULT_PRIORITY};
