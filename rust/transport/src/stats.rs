//! Connection statistics, taken from the connection's core when asked.

use std::net::SocketAddr;
use std::time::Instant;

use connection::connection::ConnectionStats;
pub use connection::connection::PathKind;
use connection::ice_dtls::LocalCandidate;
use connection::sdp::CandidateKind;

/// The type of an ICE candidate, named as in the W3C `RTCIceCandidateType` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateType {
    /// An address of a local interface.
    Host,
    /// This machine's address as a STUN server saw it (behind a NAT).
    ServerReflexive,
    /// An address learned from the remote peer's connectivity checks.
    PeerReflexive,
    /// An address on a TURN server that relays the traffic.
    Relay,
}

impl CandidateType {
    /// The W3C name: `"host"`, `"srflx"`, `"prflx"` or `"relay"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::ServerReflexive => "srflx",
            Self::PeerReflexive => "prflx",
            Self::Relay => "relay",
        }
    }

    /// The type named `name` (`"host"`, ...).
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Self::Host, Self::ServerReflexive, Self::PeerReflexive, Self::Relay]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    fn from_core(kind: CandidateKind) -> Self {
        match kind {
            CandidateKind::Host => Self::Host,
            CandidateKind::ServerReflexive => Self::ServerReflexive,
            CandidateKind::PeerReflexive => Self::PeerReflexive,
            CandidateKind::Relayed => Self::Relay,
        }
    }
}

/// One end of the selected candidate pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateStats {
    /// How the candidate was found.
    pub candidate_type: CandidateType,
    /// Its IP address, as text.
    pub address: String,
    /// Its port.
    pub port: u16,
}

impl CandidateStats {
    fn new(candidate_type: CandidateType, address: SocketAddr) -> Self {
        Self { candidate_type, address: address.ip().to_string(), port: address.port() }
    }
}

/// The candidate pair ICE selected: the path the connection's packets take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedPair {
    /// This side's candidate.
    pub local: CandidateStats,
    /// The remote side's candidate.
    pub remote: CandidateStats,
    /// The transport protocol between them: `"udp"` (or `"tcp"`).
    pub protocol: String,
}

/// A snapshot of a connection's statistics. The default (before any snapshot) has every
/// counter at zero and nothing known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeerStats {
    /// The round-trip time, in seconds: the SCTP association's smoothed estimate once it sent
    /// data, else the latest ICE check's on the selected pair; `None` until one was measured.
    pub round_trip_time: Option<f64>,
    /// Bytes sent in UDP payloads on the connection's transport (ICE, DTLS and SCTP together).
    pub bytes_sent: u64,
    /// Bytes received in UDP payloads on the connection's transport.
    pub bytes_received: u64,
    /// Datagrams sent on the connection's transport.
    pub packets_sent: u64,
    /// Datagrams received on the connection's transport.
    pub packets_received: u64,
    /// SCTP retransmissions (DATA sent again, fast or by timer, and control chunks sent again);
    /// `None` until the association exists.
    pub retransmissions: Option<u64>,
    /// Partially reliable messages given up after they were sent (RFC 3758), and those dropped
    /// before they were ever sent (their lifetime ended, or they went stale waiting behind
    /// congestion); `None` until the association exists.
    pub messages_abandoned: Option<u64>,
    /// See [`messages_abandoned`](Self::messages_abandoned).
    pub messages_expired: Option<u64>,
    /// The selected candidate pair; `None` until ICE has selected one.
    pub selected_pair: Option<SelectedPair>,
    /// When the snapshot was taken; `None` before the first one.
    pub taken_at: Option<Instant>,
    /// The path DTLS records take: direct (ICE's selected pair) or relayed through a mesh member
    /// (issue 21); `None` until one was chosen.
    pub path: Option<PathKind>,
    /// The member relaying, while the path is relayed.
    pub relay: Option<i32>,
    /// Datagrams relayed through this connection (for us or for other members) that were dropped
    /// because its relay channel was not open or was congested.
    pub relay_channel_drops: u64,
    /// ICE restarts this connection made or followed, signaled over its relayed path after its
    /// direct path broke (issue 21).
    pub ice_restarts: u64,
    /// Datagrams of this connection sent and received via a relay.
    pub relayed_packets_sent: u64,
    /// See [`relayed_packets_sent`](Self::relayed_packets_sent).
    pub relayed_packets_received: u64,
}

/// The statistics of a connection whose core counted `report`, whose local candidates are
/// `local_candidates` and to which `signaled` were signaled, taken at `now`.
pub(crate) fn take(
    report: ConnectionStats,
    local_candidates: &[LocalCandidate],
    signaled: &[(SocketAddr, CandidateType)],
    now: Instant,
) -> PeerStats {
    let sctp = report.sctp.as_ref();
    PeerStats {
        round_trip_time: sctp.and_then(|sctp| sctp.srtt).or(report.ice_round_trip_time).map(|rtt| rtt.as_secs_f64()),
        bytes_sent: report.bytes_sent,
        bytes_received: report.bytes_received,
        packets_sent: report.datagrams_sent,
        packets_received: report.datagrams_received,
        retransmissions: sctp.map(|sctp| sctp.data_retransmissions + sctp.control_retransmissions),
        messages_abandoned: sctp.map(|sctp| sctp.abandoned_messages),
        messages_expired: sctp.map(|sctp| sctp.expired_messages),
        selected_pair: report
            .selected_pair
            .map(|(local, remote)| selected_pair(local_candidates, signaled, local, remote)),
        taken_at: Some(now),
        path: report.path,
        relay: None,
        relay_channel_drops: 0,
        ice_restarts: 0,
        relayed_packets_sent: report.relayed_datagrams_sent,
        relayed_packets_received: report.relayed_datagrams_received,
    }
}

/// The selected pair with its candidates' types: ours as gathered (the local socket is a host
/// candidate's or a relay's base), the remote one as signaled, else learned from its checks
/// (peer-reflexive).
fn selected_pair(
    local_candidates: &[LocalCandidate],
    signaled: &[(SocketAddr, CandidateType)],
    local: SocketAddr,
    remote: SocketAddr,
) -> SelectedPair {
    let local_type = local_candidates
        .iter()
        .find(|candidate| candidate.base == local && candidate.kind != CandidateKind::ServerReflexive)
        .map_or(CandidateType::Host, |candidate| CandidateType::from_core(candidate.kind));
    let remote_type =
        signaled.iter().find(|(address, _)| *address == remote).map_or(CandidateType::PeerReflexive, |(_, kind)| *kind);
    SelectedPair {
        local: CandidateStats::new(local_type, local),
        remote: CandidateStats::new(remote_type, remote),
        protocol: "udp".to_owned(),
    }
}
