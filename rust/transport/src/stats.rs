//! Connection statistics, taken from the connection's core when asked.

use std::time::Instant;

use rtc::peer_connection::transport::{RTCIceCandidate, RTCIceCandidateType};
use rtc::statistics::report::RTCStatsReportEntry;
use rtc::statistics::StatsSelector;

use crate::core::Core;

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

    fn from_name(name: &str) -> Option<Self> {
        [Self::Host, Self::ServerReflexive, Self::PeerReflexive, Self::Relay]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    fn from_rtc(kind: RTCIceCandidateType) -> Option<Self> {
        match kind {
            RTCIceCandidateType::Host => Some(Self::Host),
            RTCIceCandidateType::Srflx => Some(Self::ServerReflexive),
            RTCIceCandidateType::Prflx => Some(Self::PeerReflexive),
            RTCIceCandidateType::Relay => Some(Self::Relay),
            _ => None,
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
    fn from_rtc(candidate: &RTCIceCandidate) -> Option<Self> {
        Some(Self {
            candidate_type: CandidateType::from_rtc(candidate.typ)?,
            address: candidate.address.clone(),
            port: candidate.port,
        })
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
    /// The latest round-trip time measured by ICE connectivity checks on the selected pair, in
    /// seconds (the W3C `currentRoundTripTime`); `None` until one was measured.
    pub round_trip_time: Option<f64>,
    /// Bytes sent in UDP payloads on the connection's transport (ICE, DTLS and SCTP together).
    pub bytes_sent: u64,
    /// Bytes received in UDP payloads on the connection's transport.
    pub bytes_received: u64,
    /// Datagrams sent on the connection's transport.
    pub packets_sent: u64,
    /// Datagrams received on the connection's transport.
    pub packets_received: u64,
    /// SCTP retransmissions. Always `None` with rtc 0.21: its SCTP association counts them but
    /// does not expose the count.
    pub retransmissions: Option<u64>,
    /// The selected candidate pair; `None` until ICE has selected one.
    pub selected_pair: Option<SelectedPair>,
    /// When the snapshot was taken; `None` before the first one.
    pub taken_at: Option<Instant>,
}

/// Takes statistics from a connection's core.
pub(crate) fn take(core: &mut Core) -> PeerStats {
    let now = Instant::now();
    let report = core.rtc.get_stats(now, StatsSelector::None);
    let mut stats = PeerStats { taken_at: Some(now), ..PeerStats::default() };
    if let Some(transport) = report.transport() {
        stats.bytes_sent = transport.bytes_sent;
        stats.bytes_received = transport.bytes_received;
        stats.packets_sent = transport.packets_sent;
        stats.packets_received = transport.packets_received;
        if let Some(RTCStatsReportEntry::IceCandidatePair(pair)) = report.get(&transport.selected_candidate_pair_id) {
            stats.round_trip_time = (pair.responses_received > 0).then_some(pair.current_round_trip_time);
        }
    }
    stats.selected_pair = selected_pair(core);
    stats
}

/// The selected pair, read from the ICE transport (the stats report leaves out peer-reflexive
/// remote candidates, which the ICE transport knows).
///
/// A check that arrives before the candidate it comes from makes a peer-reflexive remote
/// candidate, which the ICE agent keeps in the pair when the candidate arrives after all; as in
/// libwebrtc, the pair then names the signaled candidate.
fn selected_pair(core: &Core) -> Option<SelectedPair> {
    let ice = core.rtc.sctp()?.transport().ice_transport();
    let pair = ice.get_selected_candidate_pair()?;
    let mut remote = CandidateStats::from_rtc(pair.remote())?;
    if remote.candidate_type == CandidateType::PeerReflexive {
        let signaled =
            core.signaled.iter().find(|(address, port, _)| *address == remote.address && *port == remote.port);
        if let Some(kind) = signaled.and_then(|(_, _, typ)| CandidateType::from_name(typ)) {
            remote.candidate_type = kind;
        }
    }
    Some(SelectedPair {
        local: CandidateStats::from_rtc(pair.local())?,
        remote,
        protocol: pair.local().protocol.to_string(),
    })
}
