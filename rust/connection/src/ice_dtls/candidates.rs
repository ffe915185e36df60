//! Candidates: ours as the pump gathered them, the peer's as signaled (bounded).

use std::net::SocketAddr;

use rtc_ice::candidate::candidate_host::CandidateHostConfig;
use rtc_ice::candidate::candidate_relay::CandidateRelayConfig;
use rtc_ice::candidate::candidate_server_reflexive::CandidateServerReflexiveConfig;
use rtc_ice::candidate::{Candidate, CandidateConfig};

use super::error::SecurePathError;

/// Remote candidates taken at most per ICE session (as `rust/transport`'s cap): each makes a
/// pair with every local candidate, and every pair is checked.
pub const MAX_REMOTE_CANDIDATES: usize = 64;
/// ICE component of every candidate (RTP; data channels use one component).
const COMPONENT: u16 = 1;

/// How a local candidate was gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A socket of ours.
    Host,
    /// Our socket's address as a STUN server saw it.
    ServerReflexive,
    /// An address allocated on a TURN server.
    Relay,
}

/// A local candidate the pump gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalCandidate {
    /// How it was gathered.
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
            CandidateKind::Relay => {
                CandidateRelayConfig { base_config, rel_addr, rel_port, url: None }.new_candidate_relay()
            }
        };
        candidate.map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
    }
}

/// Longest candidate line parsed, in bytes (a real one is ~100-200).
const MAX_CANDIDATE_CHARS: usize = 512;

/// Parses a signaled candidate (`candidate:...`, with or without the `a=` and `candidate:`
/// prefixes).
pub(super) fn parse_remote(line: &str) -> Result<Candidate, SecurePathError> {
    if line.len() > MAX_CANDIDATE_CHARS {
        return Err(SecurePathError::InvalidCandidate("longer than 512 bytes".to_owned()));
    }
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    let line = line.strip_prefix("candidate:").unwrap_or(line);
    rtc_ice::candidate::unmarshal_candidate(line).map_err(|error| SecurePathError::InvalidCandidate(error.to_string()))
}
