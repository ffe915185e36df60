//! ICE candidates as SDP writes them (RFC 8839 section 5.1; TCP candidates RFC 6544; mDNS
//! names RFC 8828): `candidate:<foundation> <component> <transport> <priority> <address> <port>
//! typ <type> [raddr <address> rport <port>] [<extension name> <value>]...`, in a description's
//! `a=candidate` lines and trickled alone.
//!
//! Extensions other than `raddr`, `rport` and `tcptype` (Chromium's `generation`, `ufrag`,
//! `network-id`, `network-cost`) are skipped.

use std::fmt;
use std::net::IpAddr;

use super::error::{excerpt, SdpError};
use super::limits::{MAX_FOUNDATION_CHARS, MAX_LINE_BYTES, MAX_MDNS_NAME_BYTES};
use super::numbers::decimal;

/// One ICE candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Candidates with the same foundation share a base and server (1 to 32 visible characters).
    pub foundation: String,
    /// The component: 1 for a data channel (RTCP's separate component 2 is not ours).
    pub component: u16,
    /// UDP, or TCP with its role.
    pub transport: CandidateTransport,
    /// The candidate's priority (RFC 8445 section 5.1.2).
    pub priority: u32,
    /// Where it receives: an IP address or an mDNS name.
    pub address: CandidateAddress,
    /// Its port.
    pub port: u16,
    /// Host, server-reflexive, peer-reflexive or relayed.
    pub kind: CandidateKind,
    /// The address and port it was derived from (`raddr`/`rport`), when both are given.
    pub related: Option<(CandidateAddress, u16)>,
}

/// A candidate's transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateTransport {
    /// UDP.
    Udp,
    /// TCP (RFC 6544), with the candidate's connection role.
    Tcp(TcpType),
}

/// A TCP candidate's connection role (RFC 6544 section 4.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpType {
    /// It opens connections.
    Active,
    /// It accepts connections.
    Passive,
    /// Simultaneous open.
    SimultaneousOpen,
}

/// Where a candidate receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CandidateAddress {
    /// An IP address.
    Ip(IpAddr),
    /// An mDNS name ending in `.local` that hides a host's address (RFC 8828), to be resolved
    /// on the local network.
    Mdns(String),
}

/// A candidate's type (RFC 8445 section 5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    /// An address of the host (`host`).
    Host,
    /// The host's address as a STUN server saw it (`srflx`).
    ServerReflexive,
    /// An address learnt from a connectivity check (`prflx`).
    PeerReflexive,
    /// An address on a TURN server (`relay`).
    Relayed,
}

impl Candidate {
    /// Reads a candidate: the value of an `a=candidate` line or a trickled candidate string,
    /// with or without its `a=` and `candidate:` prefixes. An empty string, which the W3C API
    /// trickles to say gathering ended, is not a candidate: the caller reads it as
    /// `a=end-of-candidates`.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let bad = |reason: String| SdpError::BadCandidate { candidate: excerpt(text), reason };
        if text.len() > MAX_LINE_BYTES {
            return Err(bad(format!("it is longer than {MAX_LINE_BYTES} bytes")));
        }
        let body = text.trim();
        let body = body.strip_prefix("a=").unwrap_or(body);
        let body = match body.get(..10) {
            Some(prefix) if prefix.eq_ignore_ascii_case("candidate:") => &body[10..],
            _ => body,
        };
        let mut words = body.split_ascii_whitespace();
        let mut next = |what: &str| words.next().ok_or_else(|| bad(format!("its {what} is missing")));
        let foundation = next("foundation")?;
        let component = next("component")?;
        let transport = next("transport")?;
        let priority = next("priority")?;
        let address = next("address")?;
        let port = next("port")?;
        if !next("'typ'")?.eq_ignore_ascii_case("typ") {
            return Err(bad("'typ' does not follow its port".into()));
        }
        let kind = next("type")?;

        if foundation.len() > MAX_FOUNDATION_CHARS || !foundation.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(bad(format!("its foundation '{}' is not 1 to 32 visible characters", excerpt(foundation))));
        }
        let component = decimal::<u16>(component)
            .filter(|component| (1..=256).contains(component))
            .ok_or_else(|| bad(format!("its component '{}' is not a number from 1 to 256", excerpt(component))))?;
        let udp = match transport.to_ascii_lowercase().as_str() {
            "udp" => true,
            "tcp" => false,
            _ => return Err(bad(format!("its transport '{}' is neither udp nor tcp", excerpt(transport)))),
        };
        let priority = decimal::<u32>(priority)
            .ok_or_else(|| bad(format!("its priority '{}' is not a 32-bit number", excerpt(priority))))?;
        let address = CandidateAddress::parse(address).map_err(&bad)?;
        let port = port_number(port).map_err(&bad)?;
        let kind = CandidateKind::parse(kind).map_err(&bad)?;

        let (mut related_address, mut related_port, mut tcp_type) = (None, None, None);
        let rest: Vec<&str> = words.collect();
        for pair in rest.chunks(2) {
            let [name, value] = pair else { break };
            match name.to_ascii_lowercase().as_str() {
                "raddr" => related_address = Some(CandidateAddress::parse(value).map_err(&bad)?),
                "rport" => related_port = Some(port_number(value).map_err(&bad)?),
                "tcptype" => tcp_type = Some(TcpType::parse(value).map_err(&bad)?),
                _ => {}
            }
        }
        let transport = match (udp, tcp_type) {
            (true, _) => CandidateTransport::Udp,
            (false, Some(tcp_type)) => CandidateTransport::Tcp(tcp_type),
            (false, None) => return Err(bad("it is a TCP candidate without its tcptype".into())),
        };
        Ok(Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address,
            port,
            kind,
            related: related_address.zip(related_port),
        })
    }
}

/// A port, or why it is not one.
fn port_number(text: &str) -> Result<u16, String> {
    decimal(text).ok_or_else(|| format!("its port '{}' is not a number from 0 to 65535", excerpt(text)))
}

impl CandidateAddress {
    /// Reads an IP address or an mDNS `.local` name.
    fn parse(text: &str) -> Result<Self, String> {
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        let is_name = text.len() <= MAX_MDNS_NAME_BYTES
            && text.len() > ".local".len()
            && text.get(text.len() - 6..).is_some_and(|end| end.eq_ignore_ascii_case(".local"))
            && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
        if is_name {
            Ok(Self::Mdns(text.to_owned()))
        } else {
            Err(format!("its address '{}' is neither an IP address nor an mDNS .local name", excerpt(text)))
        }
    }
}

impl CandidateKind {
    /// Reads `host`, `srflx`, `prflx` or `relay`.
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "host" => Ok(Self::Host),
            "srflx" => Ok(Self::ServerReflexive),
            "prflx" => Ok(Self::PeerReflexive),
            "relay" => Ok(Self::Relayed),
            _ => Err(format!("its type '{}' is not host, srflx, prflx or relay", excerpt(text))),
        }
    }

    /// The name SDP gives it.
    fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::ServerReflexive => "srflx",
            Self::PeerReflexive => "prflx",
            Self::Relayed => "relay",
        }
    }
}

impl TcpType {
    /// Reads `active`, `passive` or `so`.
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "active" => Ok(Self::Active),
            "passive" => Ok(Self::Passive),
            "so" => Ok(Self::SimultaneousOpen),
            _ => Err(format!("its tcptype '{}' is not active, passive or so", excerpt(text))),
        }
    }

    /// The name SDP gives it.
    fn name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Passive => "passive",
            Self::SimultaneousOpen => "so",
        }
    }
}

impl fmt::Display for CandidateAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Mdns(name) => f.write_str(name),
        }
    }
}

/// The candidate as a description's `a=candidate` line writes it, without the `a=`; the
/// string a trickled candidate carries.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match self.transport {
            CandidateTransport::Udp => "udp",
            CandidateTransport::Tcp(_) => "tcp",
        };
        write!(
            f,
            "candidate:{} {} {transport} {} {} {} typ {}",
            self.foundation,
            self.component,
            self.priority,
            self.address,
            self.port,
            self.kind.name()
        )?;
        if let Some((address, port)) = &self.related {
            write!(f, " raddr {address} rport {port}")?;
        }
        if let CandidateTransport::Tcp(tcp_type) = self.transport {
            write!(f, " tcptype {}", tcp_type.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn ip(text: &str) -> CandidateAddress {
        CandidateAddress::Ip(text.parse().unwrap())
    }

    #[test]
    fn what_browsers_and_libraries_write_is_read() {
        // Chromium, trickled, with its extensions.
        let chromium = Candidate::parse(
            "candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0 ufrag +Lxv \
             network-id 1 network-cost 10",
        )
        .unwrap();
        assert_eq!(
            chromium,
            Candidate {
                foundation: "1467250027".into(),
                component: 1,
                transport: CandidateTransport::Udp,
                priority: 2122260223,
                address: CandidateAddress::Ip(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 196))),
                port: 46243,
                kind: CandidateKind::Host,
                related: None,
            }
        );
        // Chromium's mDNS name, in a description's line.
        let mdns = Candidate::parse(
            "a=candidate:3091073559 1 udp 2113937151 c17ad899-fc88-4380-9152-8a02ba055a45.local 58111 typ host \
             generation 0 network-cost 999",
        )
        .unwrap();
        assert_eq!(mdns.address, CandidateAddress::Mdns("c17ad899-fc88-4380-9152-8a02ba055a45.local".into()));
        // Chromium's server-reflexive one hides its base.
        let srflx = Candidate::parse(
            "candidate:842163049 1 udp 1677729535 203.0.113.7 52200 typ srflx raddr 0.0.0.0 rport 0 generation 0 \
             network-cost 999",
        )
        .unwrap();
        assert_eq!((srflx.kind, srflx.related), (CandidateKind::ServerReflexive, Some((ip("0.0.0.0"), 0))));
        // Chromium's TCP.
        let tcp = Candidate::parse("candidate:2 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active generation 0")
            .unwrap();
        assert_eq!(tcp.transport, CandidateTransport::Tcp(TcpType::Active));
        // Firefox and libjuice (libdatachannel) write the transport in capitals.
        let firefox =
            Candidate::parse("candidate:1 1 UDP 1686052863 203.0.113.7 55555 typ srflx raddr 10.0.0.2 rport 55555")
                .unwrap();
        assert_eq!(firefox.transport, CandidateTransport::Udp);
        assert_eq!(firefox.related, Some((ip("10.0.0.2"), 55555)));
        // A relayed IPv6 candidate from TURN, aiortc's hexadecimal foundation.
        let relay = Candidate::parse(
            "candidate:6815297761 1 udp 16777215 2001:db8::1 3478 typ relay raddr 2001:db8::2 rport 50000",
        )
        .unwrap();
        assert_eq!(relay.address, CandidateAddress::Ip(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))));
        let aiortc =
            Candidate::parse("candidate:0ae8f2b59d9e0f4e1b4d8a8b2c1f1a2e 1 udp 2130706431 10.99.0.2 45678 typ host")
                .unwrap();
        assert_eq!(aiortc.foundation, "0ae8f2b59d9e0f4e1b4d8a8b2c1f1a2e");
        // Peer-reflexive, and surrounding whitespace.
        assert_eq!(
            Candidate::parse(
                "  candidate:9 1 udp 1845501695 198.51.100.4 6000 typ prflx raddr 10.0.0.2 rport 6000\r\n"
            )
            .unwrap()
            .kind,
            CandidateKind::PeerReflexive
        );
        // A relayed TCP candidate from a TURN-over-TCP allocation.
        let passive = Candidate::parse(
            "candidate:5 1 TCP 8331263 198.51.100.9 443 typ relay raddr 1.2.3.4 rport 9 tcptype passive",
        )
        .unwrap();
        assert_eq!(passive.transport, CandidateTransport::Tcp(TcpType::Passive));
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let texts = [
            "candidate:1 1 udp 2122260223 192.168.0.196 46243 typ host",
            "candidate:a1 1 udp 2113937151 0b1e2c3d-aaaa-bbbb-cccc-123456789abc.local 58111 typ host",
            "candidate:2 1 udp 1677729535 203.0.113.7 52200 typ srflx raddr 192.168.0.196 rport 46243",
            "candidate:3 1 udp 16777215 2001:db8::1 3478 typ relay raddr 203.0.113.7 rport 52200",
            "candidate:4 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active",
            "candidate:5 1 tcp 1518214911 192.168.0.196 50000 typ host tcptype so",
        ];
        for text in texts {
            let candidate = Candidate::parse(text).unwrap();
            assert_eq!(candidate.to_string(), text);
            assert_eq!(Candidate::parse(&candidate.to_string()).unwrap(), candidate);
        }
    }

    #[test]
    fn malformed_candidates_are_refused_saying_why() {
        let cases = [
            ("", "foundation is missing"),
            ("candidate:", "foundation"),
            ("candidate:1 1 udp 1 10.0.0.1", "port"),
            ("candidate:1 1 udp 1 10.0.0.1 9", "'typ'"),
            ("candidate:1 1 udp 1 10.0.0.1 9 type host", "'typ' does not follow"),
            ("candidate:1 0 udp 1 10.0.0.1 9 typ host", "component '0'"),
            ("candidate:1 257 udp 1 10.0.0.1 9 typ host", "component"),
            ("candidate:1 1 sctp 1 10.0.0.1 9 typ host", "transport 'sctp'"),
            ("candidate:1 1 udp 4294967296 10.0.0.1 9 typ host", "priority"),
            ("candidate:1 1 udp -1 10.0.0.1 9 typ host", "priority"),
            ("candidate:1 1 udp 1 999.1.1.1 9 typ host", "address '999.1.1.1'"),
            ("candidate:1 1 udp 1 example.com 9 typ host", "mDNS"),
            ("candidate:1 1 udp 1 .local 9 typ host", "address"),
            ("candidate:1 1 udp 1 a_b.local 9 typ host", "address"),
            ("candidate:1 1 udp 1 [::1] 9 typ host", "address"),
            ("candidate:1 1 udp 1 10.0.0.1 65536 typ host", "port '65536'"),
            ("candidate:1 1 udp 1 10.0.0.1 9 typ HOSTILE", "type 'HOSTILE'"),
            ("candidate:1 1 udp 1 10.0.0.1 9 typ srflx raddr x rport 1", "address 'x'"),
            ("candidate:1 1 udp 1 10.0.0.1 9 typ srflx raddr 1.2.3.4 rport x", "port 'x'"),
            ("candidate:1 1 tcp 1 10.0.0.1 9 typ host", "tcptype"),
            ("candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype sideways", "tcptype 'sideways'"),
            ("candidate:123456789012345678901234567890123 1 udp 1 10.0.0.1 9 typ host", "foundation"),
        ];
        for (text, reason) in cases {
            let error = Candidate::parse(text).unwrap_err();
            assert!(error.to_string().contains(reason), "{text:?}: {error}");
        }
        let huge = format!("candidate:1 1 udp 1 10.0.0.1 9 typ host {}", "x ".repeat(10_000));
        assert!(Candidate::parse(&huge).unwrap_err().to_string().len() < 300);
        let long_name = format!("candidate:1 1 udp 1 {}.local 9 typ host", "a".repeat(300));
        assert!(Candidate::parse(&long_name).is_err());
    }

    #[test]
    fn unknown_extensions_and_a_lone_trailing_word_are_skipped() {
        let candidate =
            Candidate::parse("candidate:1 1 udp 1 10.0.0.1 9 typ host generation 0 some-future thing dangling")
                .unwrap();
        assert_eq!(candidate.related, None);
        let half = Candidate::parse("candidate:1 1 udp 1 10.0.0.1 9 typ srflx raddr 10.0.0.2").unwrap();
        assert_eq!(half.related, None, "a related address without its port is dropped");
    }
}
