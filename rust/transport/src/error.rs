//! The transport's error type.

use std::net::IpAddr;

/// Everything that can go wrong in the transport: refused calls (returned at once) and failures
/// on the runtime (reported later as [`PeerEvent::Error`](crate::PeerEvent::Error)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The configuration given to a connection or channel is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A session description could not be parsed or has an unknown type.
    #[error("malformed session description: {0}")]
    InvalidSdp(String),
    /// An ICE candidate could not be parsed.
    #[error("malformed ICE candidate: {0}")]
    InvalidCandidate(String),
    /// The connection already has the most remote ICE candidates it takes (the number), so the
    /// candidate is refused.
    #[error("the connection already has {0} remote ICE candidates, the most it takes: this one is refused")]
    TooManyCandidates(usize),
    /// A negotiated channel with this stream id is already open on the connection (the W3C
    /// API's OperationError).
    #[error("a data channel with id {0} already exists on this connection; close it first or pick another id")]
    IdInUse(u16),
    /// The call does not fit the object's current state.
    #[error("{0}")]
    WrongState(String),
    /// A packet is larger than the channel can carry.
    #[error("packet of {size} bytes exceeds the channel's maximum of {max} bytes")]
    PacketTooLarge {
        /// Size of the packet that was refused.
        size: usize,
        /// Largest packet the channel carries.
        max: usize,
    },
    /// The data channel is not open (still connecting, closing or closed).
    #[error("the data channel is not open")]
    ChannelNotOpen,
    /// Sending would take the channel's unsent bytes past their limit
    /// ([`MAX_BUFFERED_AMOUNT`](crate::channel::MAX_BUFFERED_AMOUNT)): the remote side reads or
    /// acknowledges more slowly than the game sends.
    #[error(
        "the data channel's send buffer is full ({buffered} bytes not yet sent, limit {limit}): the \
         remote side takes data more slowly than it is sent; wait until get_buffered_amount() falls"
    )]
    SendBufferFull {
        /// Bytes buffered when the packet was refused.
        buffered: usize,
        /// The limit.
        limit: usize,
    },
    /// A reliable channel held its limit of bytes that nobody read for
    /// [`HOLD_LIMIT`](crate::channel::HOLD_LIMIT) while more waited for it (the connection was held
    /// meanwhile): it was closed rather than lose a message, grow, or hold the connection longer.
    #[error(
        "data channel '{label}' (id {id}) held {limit} bytes the game did not read for 5 s while more arrived; \
         closed (read its packets every frame, or raise network/limits/webrtc/max_channel_in_buffer_kb)"
    )]
    ReceiveBufferOverflow {
        /// The channel's label.
        label: String,
        /// The channel's stream id.
        id: i32,
        /// Its limit in bytes.
        limit: usize,
    },
    /// The shared runtime has been shut down (the library is unloading).
    #[error("the WebRTC runtime has been shut down")]
    RuntimeGone,
    /// The connection's UDP socket could not be bound.
    #[error("cannot create the connection (bind {address}): {reason}")]
    Bind {
        /// The address that was to be bound.
        address: IpAddr,
        /// What the system said.
        reason: String,
    },
    /// A signaling step the connection ran on the runtime failed (creating the offer or the
    /// answer, applying a description or a candidate).
    #[error("{step} failed: {reason}")]
    Signaling {
        /// The step, named as the API names it (`create_offer`, `set_remote_description`, ...).
        step: &'static str,
        /// What the WebRTC stack said.
        reason: String,
    },
    /// A data channel could not be created or read.
    #[error("data channel '{label}': {reason}")]
    Channel {
        /// The channel's label (empty if it could not be read).
        label: String,
        /// What the WebRTC stack said.
        reason: String,
    },
    /// ICE found a path, but the DTLS handshake over it gave up: the other side answered none of
    /// its retransmissions.
    #[error(
        "the connection failed: the DTLS handshake gave up, as none of its retransmissions was \
         answered (the path carried ICE checks but lost the handshake)"
    )]
    HandshakeFailed,
    /// The remote certificate presented in the DTLS handshake does not match the fingerprint its
    /// session description carried: we refused it (someone on the signaling path, or the
    /// signaling server, may have changed the description to sit in the middle).
    #[error(
        "the connection failed: the remote certificate does not match the fingerprint in its \
         description (the description may have been changed on its way: is signaling over TLS?)"
    )]
    CertificateMismatch,
    /// The remote side ended the DTLS handshake with a fatal alert: it refused our certificate
    /// (`bad_certificate`: the fingerprint it was given is not ours) or our handshake.
    #[error(
        "the connection failed: the remote side refused the DTLS handshake (alert: {alert}){hint}",
        hint = refusal_hint(.alert)
    )]
    HandshakeRefused {
        /// The alert's description, as RFC 5246 names it (`bad_certificate`, `handshake_failure`, ...).
        alert: String,
    },
    /// We ended the DTLS handshake with a fatal alert for a reason other than the certificate (no
    /// cipher suite in common, a malformed message, ...).
    #[error("the connection failed: we refused the remote side's DTLS handshake (alert: {alert})")]
    HandshakeRejected {
        /// The alert's description, as RFC 5246 names it.
        alert: String,
    },
    /// ICE connected, but no DTLS handshake ever came from the remote side (we are the DTLS server
    /// and waited for its ClientHello).
    #[error(
        "the connection failed: ICE connected, but the remote side started no DTLS handshake within \
         {waited_secs} s (it may not be a WebRTC peer, or the path drops DTLS)"
    )]
    HandshakeNeverStarted {
        /// How long we waited after ICE connected, in seconds.
        waited_secs: u64,
    },
    /// The remote description's certificate fingerprint uses a hash the stack cannot check.
    #[error(
        "the remote description's certificate fingerprint uses '{0}', which cannot be checked here \
         (only sha-256 can, and every browser sends it)"
    )]
    UnsupportedFingerprint(String),
    /// ICE found no working path; the fields say what it had to work with. (A DTLS handshake
    /// that fails is [`TransportError::HandshakeFailed`].)
    #[error(
        "the connection failed: ICE found no working path (local candidates: {gathered}; remote \
         candidates received: {remote_candidates}; {advice})",
        advice = relay_advice(*.relay_configured, .gathered)
    )]
    ConnectionFailed {
        /// The local candidates gathered, by type (`"1 host, 1 srflx"`, or `"none"`).
        gathered: String,
        /// How many remote candidates were added.
        remote_candidates: usize,
        /// Whether a TURN server was configured.
        relay_configured: bool,
    },
}

/// Characters of a caller's text that a message quotes (see [`excerpt`]).
pub const EXCERPT_CHARS: usize = 60;

/// `text` for quoting in a message: whole when short, else its first [`EXCERPT_CHARS`]
/// characters and its length. Refusals quote what they refuse, and a script may pass megabytes
/// (a whole description where a type name belongs, say): one error must stay one readable line.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}... ({} bytes)", &text[..end], text.len()),
    }
}

/// What a refusal by the remote side means, from its alert.
fn refusal_hint(alert: &str) -> &'static str {
    match alert {
        "bad_certificate" => {
            ": our certificate does not match the fingerprint it was given (the description may have been \
             changed on its way: is signaling over TLS?)"
        }
        _ => "",
    }
}

/// What to try next after ICE failed, from whether a TURN server was configured and what was
/// gathered.
fn relay_advice(relay_configured: bool, gathered: &str) -> &'static str {
    match (relay_configured, gathered.contains("relay")) {
        (false, _) => {
            "no TURN server is configured: peers behind symmetric NATs or strict firewalls only meet through \
             one, so add a 'turn:' server with username and credential to iceServers"
        }
        (true, false) => "a TURN server is configured but gave no relay candidate: check its address and credentials",
        (true, true) => "relay candidates were tried too",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(excerpt("offer"), "offer");
        let long = "é".repeat(1 << 19);
        let cut = excerpt(&long);
        assert!(cut.starts_with(&"é".repeat(EXCERPT_CHARS)));
        assert!(cut.ends_with(&format!("... ({} bytes)", 1 << 20)));
        assert!(cut.len() < 200);
    }
}
