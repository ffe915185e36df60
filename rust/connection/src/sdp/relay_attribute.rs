//! `a=x-webrtc-mesh-relay`: the session-level attribute by which a webrtc-mesh member says it
//! takes a relayed path beside ICE's direct one (a member both sides reach carries their DTLS
//! datagrams; see `Connection::set_relay_path`). Other stacks ignore an attribute they do not know
//! (RFC 8866 section 5.13), so a browser or Godot's own class never sees a difference.
//!
//! Read only at the session level, as a flag: a value after a colon is ignored (room for a later
//! version), so the attribute costs no more than the description's own line bounds
//! ([`super::limits::MAX_LINE_BYTES`]) and can never be refused.

use super::sections::Attributes;

/// The attribute's name, as written after `a=`.
pub const RELAY_ATTRIBUTE: &str = "x-webrtc-mesh-relay";

/// Whether the session-level `attributes` announce a relayed path.
pub(crate) fn announces_relay(session: &Attributes<'_>) -> bool {
    session.has(RELAY_ATTRIBUTE)
}
