//! Our side's DTLS role, the one role of a connection: the description decides it (`a=setup`,
//! RFC 8842), the secure path's handshake takes it, and in WebRTC the SCTP association and the
//! data channels' stream ids follow it (the DTLS client sends the INIT and opens channels on even
//! stream ids, RFC 8832 §6).

/// Our side's role in the DTLS handshake, and so in SCTP and the data channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtlsRole {
    /// The DTLS client: sends the ClientHello, then the SCTP INIT; opens channels on even ids.
    Client,
    /// The DTLS server: answers the ClientHello and the INIT (and also answers an INIT sent at
    /// the same time as its own, had it sent one); opens channels on odd ids.
    Server,
}
