//! Relaying through a common mesh member (issue 21): members A and C whose direct path does not
//! work keep their one DTLS session and SCTP association, and B, connected to both, carries their
//! DTLS datagrams in envelopes ([`envelope`]) on a channel of its own with each
//! ([`RELAY_STREAM_ID`]); B can neither read nor forge them. The [`RelayHub`] (one per mesh)
//! forwards in the connections' tasks, within a budget per source. A pair whose direct path
//! broke tries it again with an ICE restart signaled over its relayed connection
//! ([`ice_restart`]).

mod budget;
pub(crate) mod endpoint;
pub mod envelope;
mod hub;
pub mod ice_restart;
pub(crate) mod port;

pub use endpoint::{MAX_RELAY_CHANNEL_BUFFERED, RELAY_AFTER};
pub use hub::{RelayHub, RelayStats, SourceStats, MAX_REACH_REFRESH, MAX_RELAY_MEMBERS, REACH_INTERVAL, REACH_REFRESH};
pub use mesh_core::RELAY_STREAM_ID;
pub use port::{MAX_RELAY_INBOX_BYTES, MAX_RELAY_OUTBOX_BYTES};
