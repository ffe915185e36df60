//! The sans-IO WebRTC connection core of webrtc-mesh.
//!
//! Every part is a state machine in the manner of quinn-proto and str0m: it takes datagrams and
//! timeouts with the time passed in and gives back datagrams to send, events and its next
//! deadline. Nothing here holds a socket or a runtime, or reads a clock, so every part is tested
//! on virtual time through the simulated network of the `netsim` crate, reproducibly from a seed.
//!
//! - [`connection`]: the connection that drives them all, as an `RTCPeerConnection` for data
//!   channels: signaling, roles, datagrams in and out, events, deadlines.
//! - [`ice_dtls`]: the secure path under SCTP: ICE (RFC 8445) with consent freshness (RFC 7675)
//!   and DTLS 1.2 over the selected pair; SCTP packets travel as DTLS application data.
//! - [`sctp`]: the SCTP association that carries data channels (RFC 9260 with the WebRTC
//!   subset: partial reliability, stream reset), with loss recovery at game speed.
//! - [`channels`]: the data channels above it (RFC 8831, DCEP of RFC 8832), as a table that
//!   turns the association's events into channel events and the application's calls into
//!   commands for the association.
//! - [`sdp`]: the session descriptions of a connection: our offers and answers, and the other
//!   side's read within bounds.

#![forbid(unsafe_code)]

pub mod channels;
pub mod connection;
pub mod ice_dtls;
pub mod sctp;
pub mod sdp;
