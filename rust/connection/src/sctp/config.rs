//! The association's settings, shared by its parts (handshake, receive side, send side).

use std::time::Duration;

/// The settings of one SCTP association. [`SctpConfig::default`] gives WebRTC's usual values;
/// each field documents its default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SctpConfig {
    /// Our SCTP port (SDP's `a=sctp-port`). Default 5000 (RFC 8841).
    pub local_port: u16,
    /// The other side's SCTP port. Default 5000.
    pub remote_port: u16,
    /// The largest SCTP packet we send, in bytes (common header and chunks; DTLS and UDP headers
    /// come on top). Default 1200, what browsers use so that nothing fragments on the way.
    pub mtu: usize,
    /// The most payload bytes one DATA chunk carries; longer messages are fragmented. Default
    /// 1200 - 12 (common header) - 16 (DATA chunk header) = 1172.
    pub max_data_payload: usize,
    /// The retransmission timeout before any round trip was measured (RFC 9260 §6.3.1). Default
    /// 500 ms (dcSCTP's).
    pub rto_initial: Duration,
    /// The floor of the retransmission timeout. Default 400 ms (dcSCTP's): it must stay above the
    /// peer's delayed SACK (up to 200 ms) plus the round trip, or sparse reliable traffic times out
    /// spuriously and collapses the window.
    pub rto_min: Duration,
    /// The first wait of the handshake's timers (T1-init, T1-cookie) before INIT or COOKIE-ECHO
    /// goes again; it doubles on each expiry up to `max_timer_backoff`. Default 250 ms: the
    /// answers to INIT and COOKIE-ECHO are never delayed, DTLS has just crossed the path, and an
    /// early resend costs one small packet (an INIT-ACK is stateless, a COOKIE-ECHO seen twice is
    /// acknowledged twice), while each loss in the handshake waits this long.
    pub t1_initial: Duration,
    /// The ceiling of the retransmission timeout, backoff included. Default 60 s (RFC 9260).
    pub rto_max: Duration,
    /// The ceiling of the handshake's timers (T1-init, T1-cookie) and of T3-rtx as they back off
    /// (unless the RTO itself is longer). Default 3 s (dcSCTP's `max_timer_backoff_duration` as
    /// WebRTC sets it), so a connection under heavy loss keeps trying often.
    pub max_timer_backoff: Duration,
    /// How many times INIT or COOKIE-ECHO is retransmitted before the association gives up
    /// (RFC 9260 `Max.Init.Retransmits`). Default 16 (about 40 s with `max_timer_backoff`): DTLS
    /// has already connected, so the peer is there, and under 30% loss each way eight tries fail
    /// one handshake in a few hundred.
    pub max_init_retransmits: u32,
    /// How many consecutive retransmission timeouts (of any timer) end an established
    /// association (RFC 9260 §8.1 `Association.Max.Retrans`). Default 10.
    pub max_retransmissions: u32,
    /// The longest a SACK is held for a lone packet (RFC 9260 §6.2 delayed SACK; the receive side
    /// uses min(this, RTO / 2)). Default 200 ms.
    pub delayed_sack_max: Duration,
    /// The bytes of received data held (reassembly and not yet polled messages) at most: the
    /// window advertised to the peer. Default 1 MiB.
    pub max_receive_buffer: usize,
    /// The bytes of messages queued for sending (not yet cut into chunks) at most; past it
    /// `send` refuses with `SctpError::SendBufferFull`. Default 1 MiB.
    pub max_send_buffer: usize,
    /// The largest message accepted for sending or received, in bytes. Default 256 KiB.
    pub max_message_size: usize,
    /// The number of streams in each direction offered in INIT (outbound streams and the most
    /// inbound streams accepted). Default 1024 (a stream is a data channel; ids 0..1023).
    pub max_streams: u16,
}

impl Default for SctpConfig {
    fn default() -> Self {
        let mtu = 1200;
        SctpConfig {
            local_port: 5000,
            remote_port: 5000,
            mtu,
            max_data_payload: mtu - 12 - 16,
            rto_initial: Duration::from_millis(500),
            rto_min: Duration::from_millis(400),
            t1_initial: Duration::from_millis(250),
            rto_max: Duration::from_secs(60),
            max_timer_backoff: Duration::from_secs(3),
            max_init_retransmits: 16,
            max_retransmissions: 10,
            delayed_sack_max: Duration::from_millis(200),
            max_receive_buffer: 1024 * 1024,
            max_send_buffer: 1024 * 1024,
            max_message_size: 256 * 1024,
            max_streams: 1024,
        }
    }
}
