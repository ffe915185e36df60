//! Why a connection failed, as the transport's errors say it: the core's
//! [`ConnectionFailure`] with what the transport saw beside it (the candidates ICE had, whether
//! any DTLS came from the peer).

use std::time::Duration;

use connection::connection::ConnectionFailure;
use connection::ice_dtls::FailureReason;

use crate::error::TransportError;
use crate::ice_tally::IceTally;

/// What the transport saw of a connection besides its core, to explain a failure.
pub(crate) struct Seen<'a> {
    /// The candidates ICE had.
    pub(crate) ice: &'a IceTally,
    /// Whether any DTLS came from the peer.
    pub(crate) dtls_heard: bool,
    /// Whether we sent any DTLS.
    pub(crate) dtls_sent: bool,
    /// How long the handshake may take.
    pub(crate) handshake_budget: Duration,
}

/// The error reported for `failure`.
pub(crate) fn transport_error(failure: &ConnectionFailure, seen: &Seen<'_>) -> TransportError {
    match failure {
        ConnectionFailure::Path(reason) => path_error(reason, seen),
        ConnectionFailure::Sctp(error) => {
            TransportError::Signaling { step: "the SCTP association", reason: error.to_string() }
        }
    }
}

/// The error for a failed secure path (ICE or DTLS).
fn path_error(reason: &FailureReason, seen: &Seen<'_>) -> TransportError {
    match reason {
        FailureReason::IceFailed | FailureReason::ConsentExpired => seen.ice.failure(),
        FailureReason::FingerprintMismatch => TransportError::CertificateMismatch,
        FailureReason::CertificateRefusedByPeer => TransportError::HandshakeRefused { alert: alert_name(42) },
        FailureReason::PeerAlert(alert) => TransportError::HandshakeRefused { alert: alert_name(*alert) },
        // A DTLS server whose client never sent a ClientHello heard no DTLS and sent none.
        FailureReason::HandshakeTimeout if !seen.dtls_heard && !seen.dtls_sent => {
            TransportError::HandshakeNeverStarted { waited_secs: seen.handshake_budget.as_secs() }
        }
        FailureReason::HandshakeTimeout => TransportError::HandshakeFailed,
        FailureReason::NoPeerCertificate => TransportError::HandshakeRejected { alert: "no_certificate".into() },
        FailureReason::Dtls(reason) => TransportError::HandshakeRejected { alert: crate::error::excerpt(reason) },
    }
}

/// An alert's description as RFC 5246 7.2 names it (`bad_certificate`), or its number.
pub(crate) fn alert_name(description: u8) -> String {
    let name = match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        90 => "user_canceled",
        100 => "no_renegotiation",
        110 => "unsupported_extension",
        _ => return format!("number {description}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(ice: &IceTally, dtls_heard: bool, dtls_sent: bool) -> Seen<'_> {
        Seen { ice, dtls_heard, dtls_sent, handshake_budget: Duration::from_secs(10) }
    }

    #[test]
    fn a_handshake_timeout_is_told_apart_by_what_went_over_the_wire() {
        let ice = IceTally::new(false);
        let timeout = ConnectionFailure::Path(FailureReason::HandshakeTimeout);
        assert_eq!(
            transport_error(&timeout, &seen(&ice, false, false)),
            TransportError::HandshakeNeverStarted { waited_secs: 10 },
            "a server that never heard a ClientHello"
        );
        assert_eq!(transport_error(&timeout, &seen(&ice, false, true)), TransportError::HandshakeFailed);
        assert_eq!(transport_error(&timeout, &seen(&ice, true, true)), TransportError::HandshakeFailed);
    }

    #[test]
    fn certificate_and_alert_failures_keep_their_errors() {
        let ice = IceTally::new(false);
        let path = |reason| transport_error(&ConnectionFailure::Path(reason), &seen(&ice, true, true));
        assert_eq!(path(FailureReason::FingerprintMismatch), TransportError::CertificateMismatch);
        assert_eq!(
            path(FailureReason::CertificateRefusedByPeer),
            TransportError::HandshakeRefused { alert: "bad_certificate".into() }
        );
        assert_eq!(
            path(FailureReason::PeerAlert(40)),
            TransportError::HandshakeRefused { alert: "handshake_failure".into() }
        );
        assert!(matches!(path(FailureReason::IceFailed), TransportError::ConnectionFailed { .. }));
        assert!(matches!(path(FailureReason::ConsentExpired), TransportError::ConnectionFailed { .. }));
    }

    #[test]
    fn alerts_are_named_as_rfc_5246_names_them() {
        assert_eq!(alert_name(42), "bad_certificate");
        assert_eq!(alert_name(40), "handshake_failure");
        assert_eq!(alert_name(200), "number 200");
    }
}
