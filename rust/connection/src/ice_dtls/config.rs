//! What a secure path is made with.

use std::time::Duration;

use super::certificate::LocalCertificate;
use crate::sdp::Fingerprint;
use crate::DtlsRole;

/// The path's timers. The defaults are the issue's: a peer is `disconnected` after 5 s without
/// anything from it, the path fails after 15 s (RFC 7675 allows 30 s; a game drops a silent peer
/// sooner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time without anything authenticated from the peer before ICE reads `disconnected`.
    pub disconnected: Duration,
    /// Time without anything authenticated from the peer before the path fails; also the
    /// budget of ICE checks while connecting and of the DTLS handshake.
    pub failed: Duration,
    /// Consent checks on the selected pair come this often, ±20 % (RFC 7675: 5 s, 4-6 s).
    pub consent_interval: Duration,
    /// The first retransmission of a DTLS flight waits this long; each further one twice as long
    /// (±25 % jitter, `dimpl`'s).
    pub dtls_initial_rto: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            disconnected: Duration::from_secs(5),
            failed: Duration::from_secs(15),
            consent_interval: Duration::from_secs(5),
            dtls_initial_rto: DEFAULT_DTLS_INITIAL_RTO,
        }
    }
}

/// The first DTLS retransmission timeout: 250 ms rather than RFC 6347's 1 s. A handshake is three
/// round trips of flights that are lost whole when one datagram is; at 10 % loss about half of
/// all handshakes lose a flight, so the first retry decides the median setup time. Our peers
/// are games, mostly on the same continent (RTT well under 200 ms, and ICE has measured the path
/// before DTLS starts); a spurious retry costs one flight (a few KB) once. Backoff doubles from
/// there, so a slow path sees 0.25, 0.5, 1, 2, 4 s.
const DEFAULT_DTLS_INITIAL_RTO: Duration = Duration::from_millis(250);

/// Everything a [`super::SecurePath`] is made with.
#[derive(Debug, Clone)]
pub struct SecurePathConfig {
    /// Whether our ICE agent is controlling: the offerer is.
    pub ice_controlling: bool,
    /// Our ICE username fragment (at least 3 characters, from the caller's RNG).
    pub local_ufrag: String,
    /// Our ICE password (at least 16 characters, from the caller's RNG).
    pub local_pwd: String,
    /// Our DTLS role.
    pub dtls_role: DtlsRole,
    /// Our certificate (one per connection).
    pub certificate: LocalCertificate,
    /// The fingerprints the peer signaled; its certificate must match one.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// The path's timers.
    pub timeouts: Timeouts,
    /// Seeds the jitter of the consent checks (from the caller's RNG).
    pub jitter_seed: u64,
    /// Tests only: seeds all of DTLS's randomness (its retransmission jitter, and its keys and
    /// randoms too), so that a run on virtual time repeats exactly. `None` (always, outside
    /// tests): DTLS draws from the system's random source.
    pub dtls_seed_for_tests: Option<u64>,
}
