//! What goes wrong on the secure path: refused calls ([`SecurePathError`]) and the reasons a
//! path fails for good ([`FailureReason`], reported as an event).

/// A call the secure path refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurePathError {
    /// Our certificate could not be made.
    #[error("cannot make the certificate: {0}")]
    Certificate(String),
    /// A configuration the ICE agent or DTLS refuses (credentials too short, say).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A candidate that cannot be parsed or used.
    #[error("invalid candidate: {0}")]
    InvalidCandidate(String),
    /// More remote candidates than [`super::MAX_REMOTE_CANDIDATES`].
    #[error("too many remote candidates")]
    TooManyRemoteCandidates,
    /// Application data before the handshake completed, after a close or a failure.
    #[error("the secure path is not connected")]
    NotConnected,
    /// Application data larger than [`super::MAX_APPLICATION_DATA`].
    #[error("application data of {0} bytes is too large")]
    TooLarge(usize),
}

/// Why a secure path failed; it is of no further use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// ICE found no working pair in time.
    IceFailed,
    /// Consent was lost: nothing came back on the selected pair for the failed timeout.
    ConsentExpired,
    /// The peer's certificate does not match the fingerprint it signaled (we sent it a fatal
    /// `bad_certificate` alert).
    FingerprintMismatch,
    /// The peer refused our certificate (it sent a fatal `bad_certificate` alert: our
    /// fingerprint did not reach it intact, or it is someone else).
    CertificateRefusedByPeer,
    /// The peer sent another fatal alert (its description code).
    PeerAlert(u8),
    /// The handshake did not complete: retransmissions exhausted or its deadline passed.
    HandshakeTimeout,
    /// The handshake ended without the peer presenting a certificate.
    NoPeerCertificate,
    /// DTLS failed otherwise (the engine's message).
    Dtls(String),
}
