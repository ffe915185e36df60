//! Candidates: ours as the pump gathered them, the peer's as signaled (bounded).

use std::net::SocketAddr;

use rtc_ice::candidate::candidate_host::CandidateHostConfig;
use rtc_ice::candidate::candidate_relay::CandidateRelayConfig;
use rtc_ice::candidate::candidate_server_reflexive::CandidateServerReflexiveConfig;
use rtc_ice::candidate::{Candidate, CandidateConfig};

use super::error::SecurePathError;
use crate::sdp::{self, CandidateAddress, CandidateKind, CandidateTransport};

/// Remote candidates taken at most per ICE session (as `rust/transport`'s cap): each makes a
/// pair with every local candidate, and every pair is checked.
pub const MAX_REMOTE_CANDIDATES: usize = 64;
/// ICE component of every candidate (RTP; data channels use one component).
const COMPONENT: u16 = 1;

/// A local candidate the pump gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCandidate {
    /// How it was gathered: host, server-reflexive or relayed (peer-reflexive candidates are
    /// learned, not gathered, and refused).
    pub kind: CandidateKind,
    /// Its address, as signaled.
    pub address: SocketAddr,
    /// The local socket datagrams for it are sent from and received on: the host socket for a
    /// host or server-reflexive candidate, the relayed address itself for a relay candidate (the
    /// pump sends through the allocation whose address it is).
    pub base: SocketAddr,
}

impl LocalCandidate {
    /// The ICE agent's candidate.
    pub(super) fn to_ice(self) -> Result<Candidate, SecurePathError> {
        let base_config = CandidateConfig {
            network: "udp".to_owned(),
            address: self.address.ip().to_string(),
            port: self.address.port(),
            component: COMPONENT,
            ..CandidateConfig::default()
        };
        let (rel_addr, rel_port) = (self.base.ip().to_string(), self.base.port());
        let candidate = match self.kind {
            CandidateKind::Host => {
                CandidateHostConfig { base_config, ..CandidateHostConfig::default() }.new_candidate_host()
            }
            CandidateKind::ServerReflexive => {
                CandidateServerReflexiveConfig { base_config, rel_addr, rel_port, url: None }
                    .new_candidate_server_reflexive()
            }
            CandidateKind::Relayed => {
                CandidateRelayConfig { base_config, rel_addr, rel_port, url: None }.new_candidate_relay()
            }
            CandidateKind::PeerReflexive => {
                return Err(SecurePathError::InvalidCandidate("a peer-reflexive candidate is not gathered".to_owned()))
            }
        };
        candidate.map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
    }
}

/// The agent's candidate for a signaled one; `None` for one it cannot use: an mDNS name (to be
/// resolved by the pump, which then passes the address) or a TCP candidate (we speak UDP only).
pub(super) fn remote_to_ice(candidate: &sdp::Candidate) -> Result<Option<Candidate>, SecurePathError> {
    if matches!(candidate.address, CandidateAddress::Mdns(_)) || candidate.transport != CandidateTransport::Udp {
        return Ok(None);
    }
    let line = candidate.to_string();
    let line = line.strip_prefix("candidate:").unwrap_or(&line);
    rtc_ice::candidate::unmarshal_candidate(line)
        .map(Some)
        .map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
}

/// The signaled form of a candidate of the agent.
pub(super) fn to_sdp(candidate: &Candidate) -> Result<sdp::Candidate, SecurePathError> {
    sdp::Candidate::parse(&format!("candidate:{}", candidate.marshal()))
        .map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
}
