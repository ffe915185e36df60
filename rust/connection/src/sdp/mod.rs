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

mod candidate;
mod error;
mod fingerprint;
mod ice_credentials;
pub mod limits;
mod lines;
mod local;
mod media_section;
mod numbers;
mod remote;
mod sections;
mod setup;

pub use candidate::{Candidate, CandidateAddress, CandidateKind, CandidateTransport, TcpType};
pub use error::SdpError;
pub use fingerprint::Fingerprint;
pub use ice_credentials::{IceCredentials, PWD_RANDOM_BYTES, UFRAG_RANDOM_BYTES};
pub use local::LocalDescription;
pub use media_section::MediaSection;
pub use remote::{DataSection, DescriptionKind, RemoteDescription};
pub use setup::Setup;
