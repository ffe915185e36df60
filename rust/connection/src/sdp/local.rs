//! Our own descriptions: offers and answers with one data-channel section, written as
//! browsers write theirs (JSEP, RFC 8829 sections 5.2 and 5.3; RFC 8841), which Chromium,
//! Firefox, Safari, libdatachannel and aiortc take.
//!
//! ```text
//! v=0
//! o=- <session id> <version> IN IP4 127.0.0.1
//! s=-
//! t=0 0
//! a=group:BUNDLE 0
//! a=x-webrtc-mesh-relay        (when we take a relayed path)
//! m=application 9 UDP/DTLS/SCTP webrtc-datachannel
//! c=IN IP4 0.0.0.0
//! a=candidate:...            (each candidate given)
//! a=end-of-candidates        (when gathering is complete)
//! a=ice-ufrag:<ufrag>
//! a=ice-pwd:<pwd>
//! a=ice-options:trickle
//! a=fingerprint:sha-256 <digest>
//! a=setup:actpass            (active or passive in answers)
//! a=mid:0
//! a=sctp-port:5000
//! a=max-message-size:262144
//! ```
//!
//! An answer repeats the offer's media sections in order: the data-channel one as above with
//! the offer's mid and protocol, each other one refused (`m=<media> 0 <proto> <formats>` as
//! offered, `c=IN IP4 0.0.0.0`, its mid kept, out of the BUNDLE group, no transport lines).

use std::fmt::Write;

use super::candidate::Candidate;
use super::error::{excerpt, SdpError};
use super::fingerprint::Fingerprint;
use super::ice_credentials::IceCredentials;
use super::limits::{OUR_MAX_MESSAGE_SIZE, OUR_SCTP_PORT};
use super::relay_attribute::RELAY_ATTRIBUTE;
use super::remote::RemoteDescription;
use super::setup::Setup;
use crate::DtlsRole;

/// The mid of our offers' data-channel section.
const OUR_MID: &str = "0";

/// The bound of the origin's session id (RFC 8829 section 5.2.1: less than 2^63 - 1).
const MAX_SESSION_ID: u64 = (1 << 63) - 1;

/// The protocol of our offers' data-channel section.
const OUR_PROTO: &str = "UDP/DTLS/SCTP";

/// Our side of a connection's descriptions: what each one carries, and the session's origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalDescription {
    /// The origin's session id (under [`MAX_SESSION_ID`]).
    session_id: u64,
    /// The version the next description carries: one more for each written.
    version: u64,
    /// Our ICE credentials.
    ice: IceCredentials,
    /// Our certificate's fingerprint.
    fingerprint: Fingerprint,
    /// Our DTLS role once the first exchange decided it: later answers keep it.
    established_role: Option<DtlsRole>,
    /// Whether our descriptions carry [`RELAY_ATTRIBUTE`].
    relay: bool,
}

impl LocalDescription {
    /// Our descriptions for a connection: `session_id` is random from the caller (taken modulo
    /// 2^63 - 1: RFC 8829 section 5.2.1 keeps it under that), `ice` our credentials,
    /// `fingerprint` our certificate's.
    pub fn new(session_id: u64, ice: IceCredentials, fingerprint: Fingerprint) -> Self {
        Self {
            session_id: session_id % MAX_SESSION_ID,
            version: 0,
            ice,
            fingerprint,
            established_role: None,
            relay: false,
        }
    }

    /// Our DTLS role as the first exchange decided it: every later answer keeps it (answers
    /// `passive` to an `actpass` offer when we are the server), as RFC 8842 §5.5 asks of a
    /// description that does not make a new DTLS association.
    pub fn keep_role(&mut self, role: DtlsRole) {
        self.established_role = Some(role);
    }

    /// Whether the descriptions written from now on carry `a=x-webrtc-mesh-relay` at the session
    /// level (we take a relayed path beside the direct one).
    pub fn announce_relay(&mut self, relay: bool) {
        self.relay = relay;
    }

    /// Our ICE credentials.
    pub fn ice(&self) -> &IceCredentials {
        &self.ice
    }

    /// Takes new ICE credentials for the descriptions that follow: our ICE restart, or our
    /// answer to the other side's ([`RemoteDescription::restarts_ice_since`]).
    pub fn restart_ice(&mut self, ice: IceCredentials) {
        self.ice = ice;
    }

    /// An offer with our data-channel section and `candidates`, saying that gathering is
    /// complete when `end_of_candidates`.
    pub fn write_offer(&mut self, candidates: &[Candidate], end_of_candidates: bool) -> String {
        let mut sdp = self.session(Some(OUR_MID));
        self.data_section(&mut sdp, OUR_PROTO, Some(OUR_MID), Setup::ActPass, candidates, end_of_candidates);
        sdp
    }

    /// Our answer to the offer `remote`: its data-channel section accepted with
    /// `candidates`, every other section refused.
    pub fn write_answer(
        &mut self,
        remote: &RemoteDescription,
        candidates: &[Candidate],
        end_of_candidates: bool,
    ) -> String {
        let data_mid = remote.data.mid.as_deref();
        let mut sdp = self.session(data_mid.filter(|_| remote.data.bundled));
        for section in &remote.sections {
            let mid = section.mid.as_deref();
            if section.refused {
                // An m= line needs a format (Chromium's parser asks four fields); "0" when the
                // offer gave none, as Chromium writes it.
                let formats = if section.formats.is_empty() { "0" } else { &section.formats };
                let _ = write!(sdp, "m={} 0 {} {formats}\r\nc=IN IP4 0.0.0.0\r\n", section.media, section.proto);
                if let Some(mid) = mid {
                    let _ = write!(sdp, "a=mid:{mid}\r\n");
                }
            } else {
                let setup = self.established_role.map_or_else(|| remote.setup.answering(), Setup::keeping);
                self.data_section(&mut sdp, &section.proto, mid, setup, candidates, end_of_candidates);
            }
        }
        sdp
    }

    /// Refuses an answer that does not answer our offer: one data-channel section with our mid.
    pub fn check_answer(&self, answer: &RemoteDescription) -> Result<(), SdpError> {
        if answer.sections.len() != 1 {
            return Err(SdpError::AnswerMismatch(format!(
                "it has {} media sections where our offer has 1",
                answer.sections.len()
            )));
        }
        if answer.data.mid.as_deref() != Some(OUR_MID) {
            return Err(SdpError::AnswerMismatch(format!(
                "its data-channel section's mid is '{}' where our offer's is '{OUR_MID}'",
                excerpt(answer.data.mid.as_deref().unwrap_or(""))
            )));
        }
        Ok(())
    }

    /// The session level, with a BUNDLE group of `bundled` alone when given; the version
    /// moves on.
    fn session(&mut self, bundled: Option<&str>) -> String {
        let version = self.version;
        self.version = self.version.wrapping_add(1);
        let mut sdp = format!("v=0\r\no=- {} {version} IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", self.session_id);
        if let Some(mid) = bundled {
            let _ = write!(sdp, "a=group:BUNDLE {mid}\r\n");
        }
        if self.relay {
            let _ = write!(sdp, "a={RELAY_ATTRIBUTE}\r\n");
        }
        sdp
    }

    /// Our data-channel section.
    fn data_section(
        &self,
        sdp: &mut String,
        proto: &str,
        mid: Option<&str>,
        setup: Setup,
        candidates: &[Candidate],
        end_of_candidates: bool,
    ) {
        let _ = write!(sdp, "m=application 9 {proto} webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n");
        for candidate in candidates {
            let _ = write!(sdp, "a={candidate}\r\n");
        }
        if end_of_candidates {
            sdp.push_str("a=end-of-candidates\r\n");
        }
        let _ = write!(
            sdp,
            "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=ice-options:trickle\r\na=fingerprint:{}\r\na=setup:{}\r\n",
            self.ice.ufrag(),
            self.ice.pwd(),
            self.fingerprint,
            setup.name()
        );
        if let Some(mid) = mid {
            let _ = write!(sdp, "a=mid:{mid}\r\n");
        }
        let _ = write!(sdp, "a=sctp-port:{OUR_SCTP_PORT}\r\na=max-message-size:{OUR_MAX_MESSAGE_SIZE}\r\n");
    }
}
