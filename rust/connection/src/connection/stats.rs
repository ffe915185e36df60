//! A connection's counters.

use std::net::SocketAddr;
use std::time::Duration;

use crate::ice_dtls::PathKind;
use crate::sctp::AssociationStats;

/// Counters of one connection: datagrams on the wire both ways, the selected pair, and the
/// SCTP association's counters once it exists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectionStats {
    /// Datagrams given to the caller to send (STUN, DTLS).
    pub datagrams_sent: u64,
    /// Their bytes (UDP payload).
    pub bytes_sent: u64,
    /// Datagrams the caller passed in.
    pub datagrams_received: u64,
    /// Their bytes (UDP payload).
    pub bytes_received: u64,
    /// The path DTLS records take now, once one was chosen.
    pub path: Option<PathKind>,
    /// Switches between the direct and the relayed path (the first choice not counted).
    pub path_switches: u64,
    /// Datagrams given to the caller to send by the relay.
    pub relayed_datagrams_sent: u64,
    /// Their bytes (the inner DTLS datagram, without the relay's envelope).
    pub relayed_bytes_sent: u64,
    /// Datagrams the caller passed in from the relay (taken or not).
    pub relayed_datagrams_received: u64,
    /// Their bytes.
    pub relayed_bytes_received: u64,
    /// Datagrams for the relay dropped because the caller did not take them in time.
    pub relay_queue_drops: u64,
    /// The pair ICE selected: local socket and remote address.
    pub selected_pair: Option<(SocketAddr, SocketAddr)>,
    /// The round-trip time of the latest ICE check answered on the selected pair, once one was.
    pub ice_round_trip_time: Option<Duration>,
    /// The SCTP association's counters (retransmissions, RTO, RTT, window), once DTLS is up.
    pub sctp: Option<AssociationStats>,
}
