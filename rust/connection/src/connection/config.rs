//! What a [`Connection`](super::Connection) is made with.

use crate::channels::ChannelLimits;
use crate::ice_dtls::{LocalCertificate, Timeouts};
use crate::sctp::SctpConfig;

/// The settings of one connection. [`ConnectionConfig::default`] gives WebRTC's usual values
/// with the parts' defaults.
#[derive(Clone, Debug, Default)]
pub struct ConnectionConfig {
    /// The SCTP association's settings.
    pub sctp: SctpConfig,
    /// The data-channel table's bounds. Its `max_message_size` is replaced, once the other
    /// side's description is read, by the smaller of the other side's `max-message-size` and
    /// `sctp.max_message_size`.
    pub channel_limits: ChannelLimits,
    /// ICE's and DTLS's timers.
    pub timeouts: Timeouts,
    /// Whether we take a relayed path beside ICE's direct one (issue 21): our descriptions carry
    /// `a=x-webrtc-mesh-relay` at the session level, and when the other side's do too,
    /// [`Connection::set_relay_path`](super::Connection::set_relay_path) is honoured. Off by
    /// default (a connection then behaves as before).
    pub relay: bool,
    /// Our DTLS certificate; `None` makes a new one (as browsers do, one per connection).
    pub certificate: Option<LocalCertificate>,
    /// Tests only: seeds DTLS's randomness (see
    /// [`SecurePathConfig::dtls_seed_for_tests`](crate::ice_dtls::SecurePathConfig::dtls_seed_for_tests)),
    /// so that a run on virtual time repeats exactly. `None` (always, outside tests): DTLS draws
    /// from the system's random source.
    pub dtls_seed_for_tests: Option<u64>,
}
