//! Session descriptions for the connection we own (JSEP, RFC 8829, with what RFC 8841 asks of
//! data channels): our offers and answers written as browsers write theirs, and the other
//! side's read by a bounded parser of our own (SDP is line-based, RFC 8866) that never panics
//! and refuses, with a message a Godot user can act on, what the connection cannot use.
//!
//! - [`LocalDescription`] writes our offers and answers: one data-channel section, BUNDLE and
//!   mid, ICE credentials and candidates, the sha-256 fingerprint, the DTLS role, SCTP port
//!   and largest message; media sections of an offer refused in the answer.
//! - [`RemoteDescription`] reads the other side's: what ICE, DTLS and SCTP need, which sections
//!   to refuse, whether ICE restarted.
//! - [`Candidate`] reads and writes ICE candidates, in descriptions and trickled.
//! - [`limits`] bounds everything read.
//! - [`RELAY_ATTRIBUTE`] (`a=x-webrtc-mesh-relay`, session level) says a member takes a relayed
//!   path: [`LocalDescription::announce_relay`] writes it, [`RemoteDescription::relay`] reads it.
//!
//! A connection uses them so:
//! - offering: [`LocalDescription::write_offer`]; the answer read with
//!   [`RemoteDescription::parse`] as [`DescriptionKind::Answer`], then
//!   [`LocalDescription::check_answer`]; our DTLS role is [`RemoteDescription::our_dtls_role`]
//!   (the server when the answer says `active`, as browsers answer).
//! - answering: the offer read as [`DescriptionKind::Offer`]; when it
//!   [restarts ICE](RemoteDescription::restarts_ice_since) after the previous one, new
//!   credentials go to [`LocalDescription::restart_ice`] first; then
//!   [`LocalDescription::write_answer`] (we are the DTLS client unless the offer says `active`;
//!   once [`LocalDescription::keep_role`] was told the role the first exchange decided, every
//!   later answer keeps it, and [`Setup::keeps`] says whether a later description does).
//! - trickled candidates: [`Candidate::parse`], kept when
//!   [`RemoteDescription::takes_trickled`] says they are for the data section's transport; the
//!   cap of [`limits::MAX_REMOTE_CANDIDATES`] counts them with the description's over the
//!   connection's life (the ICE agent's count).

mod candidate;
mod error;
mod fingerprint;
mod ice_credentials;
pub mod limits;
mod lines;
mod local;
mod media_section;
mod numbers;
mod relay_attribute;
mod remote;
mod sections;
mod setup;

pub use candidate::{Candidate, CandidateAddress, CandidateKind, CandidateTransport, TcpType};
pub use error::SdpError;
pub use fingerprint::Fingerprint;
pub use ice_credentials::{IceCredentials, PWD_RANDOM_BYTES, UFRAG_RANDOM_BYTES};
pub use local::LocalDescription;
pub use media_section::MediaSection;
pub use relay_attribute::RELAY_ATTRIBUTE;
pub use remote::{DataSection, DescriptionKind, RemoteDescription};
pub use setup::Setup;
