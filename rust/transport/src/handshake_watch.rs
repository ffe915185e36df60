//! Tells a DTLS handshake that failed from one still under way.
//!
//! `rtc` 0.21.1 reports no DTLS failure: an error of the handshake is only logged, and the
//! connection reads `connecting` for good (docs/upstream). A side that refuses the remote
//! certificate (its fingerprint does not match the description) sends a fatal `BadCertificate`
//! alert and stops; a side that receives a fatal alert carries on retransmitting until it gives
//! up, about 8 s later; a DTLS server whose client never sends a ClientHello waits forever. The
//! watch reads the alerts at the pump's edge (during the handshake they travel in the clear,
//! RFC 6347 4.1) and times the wait for a first DTLS record, so that the pump can fail the
//! connection with the cause.

use std::time::{Duration, Instant};

use crate::error::TransportError;

/// How long after ICE connected a DTLS server waits for the first DTLS record from its client
/// before the connection fails: 9 s, past `rtc`'s own client, which gives up on unanswered
/// ClientHellos after about 8 s (so that a path that drops DTLS fails on both sides with the
/// client's cause first), and within the 10 s a failure must take to show.
pub(crate) const DTLS_START_TIMEOUT: Duration = Duration::from_secs(9);

/// DTLS record header (RFC 6347 4.1): content type, version, epoch, sequence number, length.
const RECORD_HEADER: usize = 13;
/// Content type of an alert record.
const ALERT: u8 = 21;
/// Alert level `fatal` (RFC 5246 7.2).
const FATAL: u8 = 2;
/// Alert description `bad_certificate`: what `rtc-dtls` sends when the certificate does not match
/// the fingerprint.
const BAD_CERTIFICATE: u8 = 42;

/// What one connection saw of its DTLS handshake.
#[derive(Debug, Default)]
pub(crate) struct HandshakeWatch {
    /// Whether any DTLS record came from the remote side.
    heard: bool,
    /// When ICE first connected.
    ice_connected_at: Option<Instant>,
    /// The failure seen on the wire, when it was seen.
    verdict: Option<(Instant, TransportError)>,
    /// Set once a failure was handed out or the connection came up: there is nothing more to
    /// watch (alerts after that are the core's, and unauthenticated ones must not end it).
    done: bool,
}

impl HandshakeWatch {
    /// Looks at a datagram received from the remote side.
    pub(crate) fn on_received(&mut self, datagram: &[u8], now: Instant) {
        if self.done || !matches!(datagram.first(), Some(20..=63)) {
            return;
        }
        self.heard = true;
        if let Some(alert) = fatal_alert(datagram) {
            self.decide(now, TransportError::HandshakeRefused { alert: alert_name(alert) });
        }
    }

    /// Looks at a datagram we send.
    pub(crate) fn on_sent(&mut self, datagram: &[u8], now: Instant) {
        if self.done {
            return;
        }
        match fatal_alert(datagram) {
            Some(BAD_CERTIFICATE) => self.decide(now, TransportError::CertificateMismatch),
            Some(alert) => self.decide(now, TransportError::HandshakeRejected { alert: alert_name(alert) }),
            None => {}
        }
    }

    /// Notes that ICE is connected (only the first time counts).
    pub(crate) fn on_ice_connected(&mut self, now: Instant) {
        self.ice_connected_at.get_or_insert(now);
    }

    /// Notes that the connection came up (the handshake completed): the watch ends.
    pub(crate) fn on_connected(&mut self) {
        self.done = true;
    }

    /// The handshake's failure, if it failed by `now`: the first fatal alert seen either way, or
    /// no DTLS record from the remote side [`DTLS_START_TIMEOUT`] after ICE connected.
    pub(crate) fn failure(&mut self, now: Instant) -> Option<TransportError> {
        if self.done {
            return None;
        }
        let failure = match self.verdict.take() {
            Some((_, error)) => Some(error),
            None => self
                .start_deadline()
                .filter(|deadline| now >= *deadline)
                .map(|_| TransportError::HandshakeNeverStarted { waited_secs: DTLS_START_TIMEOUT.as_secs() }),
        };
        self.done = failure.is_some();
        failure
    }

    /// When [`Self::failure`] must be asked next.
    pub(crate) fn next_check(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        self.verdict.as_ref().map(|(at, _)| *at).or_else(|| self.start_deadline())
    }

    fn start_deadline(&self) -> Option<Instant> {
        self.ice_connected_at.filter(|_| !self.heard).map(|at| at + DTLS_START_TIMEOUT)
    }

    /// Keeps the first failure seen (a side that receives a fatal alert answers with the same
    /// alert: that answer is not a second cause).
    fn decide(&mut self, now: Instant, error: TransportError) {
        if self.verdict.is_none() {
            self.verdict = Some((now, error));
        }
    }
}

/// An alert's description as RFC 5246 7.2 names it (`bad_certificate`), or its number.
fn alert_name(description: u8) -> String {
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

/// The description of the first fatal alert sent in the clear in `datagram` (records of one
/// datagram follow each other, RFC 6347 4.1.1); an encrypted alert cannot be read.
fn fatal_alert(datagram: &[u8]) -> Option<u8> {
    let mut rest = datagram;
    while let Some(header) = rest.get(..RECORD_HEADER) {
        let length = usize::from(u16::from_be_bytes([header[11], header[12]]));
        let body = rest.get(RECORD_HEADER..RECORD_HEADER + length)?;
        if header[0] == ALERT && body.len() == 2 && body[0] == FATAL {
            return Some(body[1]);
        }
        rest = &rest[RECORD_HEADER + length..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One DTLS record of content type `kind`, epoch 0, with `body`.
    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut record = vec![kind, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3];
        record.extend_from_slice(&u16::try_from(body.len()).unwrap().to_be_bytes());
        record.extend_from_slice(body);
        record
    }

    #[test]
    fn a_fatal_alert_received_is_a_refusal_and_the_echo_we_send_is_not_a_second_cause() {
        let mut watch = HandshakeWatch::default();
        let now = Instant::now();
        let datagram = [record(22, &[1, 2, 3]), record(ALERT, &[FATAL, BAD_CERTIFICATE])].concat();
        watch.on_received(&datagram, now);
        watch.on_sent(&record(ALERT, &[FATAL, BAD_CERTIFICATE]), now);
        assert_eq!(watch.next_check(), Some(now));
        assert_eq!(watch.failure(now), Some(TransportError::HandshakeRefused { alert: "bad_certificate".into() }));
        assert_eq!(watch.failure(now), None, "reported once");
    }

    #[test]
    fn our_own_bad_certificate_alert_is_a_fingerprint_mismatch_and_other_alerts_a_rejection() {
        let now = Instant::now();
        let mut watch = HandshakeWatch::default();
        watch.on_sent(&record(ALERT, &[FATAL, BAD_CERTIFICATE]), now);
        assert_eq!(watch.failure(now), Some(TransportError::CertificateMismatch));
        let mut watch = HandshakeWatch::default();
        watch.on_sent(&record(ALERT, &[FATAL, 40]), now);
        assert!(matches!(watch.failure(now), Some(TransportError::HandshakeRejected { .. })));
    }

    #[test]
    fn once_connected_nothing_is_watched() {
        let now = Instant::now();
        let mut watch = HandshakeWatch::default();
        watch.on_ice_connected(now);
        watch.on_connected();
        watch.on_received(&record(ALERT, &[FATAL, BAD_CERTIFICATE]), now);
        watch.on_sent(&record(ALERT, &[FATAL, 40]), now);
        assert_eq!(watch.next_check(), None);
        assert_eq!(watch.failure(now + DTLS_START_TIMEOUT), None);
    }

    #[test]
    fn warnings_encrypted_alerts_and_cut_records_are_no_verdict() {
        let now = Instant::now();
        let mut watch = HandshakeWatch::default();
        watch.on_received(&record(ALERT, &[1, 0]), now);
        watch.on_received(&record(ALERT, &[FATAL; 26]), now);
        let cut = record(ALERT, &[FATAL, BAD_CERTIFICATE]);
        watch.on_received(&cut[..cut.len() - 1], now);
        watch.on_received(&[ALERT; 5], now);
        assert_eq!(watch.failure(now), None);
    }

    #[test]
    fn no_dtls_after_ice_connected_fails_after_the_timeout_and_any_record_stops_the_clock() {
        let start = Instant::now();
        let mut watch = HandshakeWatch::default();
        assert_eq!(watch.next_check(), None, "not before ICE connected");
        watch.on_ice_connected(start);
        watch.on_ice_connected(start + Duration::from_secs(5));
        watch.on_received(&[0, 1, 0, 0], start);
        assert_eq!(watch.next_check(), Some(start + DTLS_START_TIMEOUT), "STUN does not count");
        assert_eq!(watch.failure(start + DTLS_START_TIMEOUT - Duration::from_millis(1)), None);
        assert!(matches!(
            watch.failure(start + DTLS_START_TIMEOUT),
            Some(TransportError::HandshakeNeverStarted { .. })
        ));
        assert_eq!(watch.next_check(), None, "nothing more to wait for");

        let mut watch = HandshakeWatch::default();
        watch.on_ice_connected(start);
        watch.on_received(&record(22, &[1]), start);
        assert_eq!(watch.next_check(), None);
        assert_eq!(watch.failure(start + Duration::from_secs(60)), None);
    }
}
