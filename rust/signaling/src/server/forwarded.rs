//! A client's address as a trusted proxy forwards it: the last hop of `X-Forwarded-For` or of
//! `Forwarded` (RFC 7239), the one the proxy itself appended. Earlier hops were written by
//! whoever connected to the proxy and prove nothing; so does the header the proxy does not set,
//! which is why only one header, the one the operator names, is read.

use std::net::{IpAddr, SocketAddr};

use tokio_tungstenite::tungstenite::handshake::server::Request;

/// The header a trusted proxy appends the client's address to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (nginx's `$proxy_add_x_forwarded_for`, Caddy).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client;proto=https, for="[2001:db8::1]:4711"` (RFC 7239).
    Forwarded,
}

impl ProxyHeader {
    fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

/// The address the proxy appended last to `header` in `request`; `None` if there is none or it
/// is not an IP address (`unknown`, an obfuscated name).
pub(super) fn forwarded_address(header: ProxyHeader, request: &Request) -> Option<IpAddr> {
    let value = request.headers().get_all(header.name()).iter().next_back()?.to_str().ok()?;
    let last = value.rsplit(',').next()?.trim();
    match header {
        ProxyHeader::XForwardedFor => parse_node(last),
        ProxyHeader::Forwarded => last
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
            .and_then(|(_, node)| parse_node(node.trim().trim_matches('"'))),
    }
}

/// An address as proxies write it: `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711`,
/// `[2001:db8::1]:4711` or `[2001:db8::1]`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .or_else(|_| node.parse::<SocketAddr>().map(|address| address.ip()))
        .or_else(|_| node.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().uri("/");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn the_last_hop_of_x_forwarded_for_is_the_client() {
        let spoofed = request(&[("X-Forwarded-For", "203.0.113.9, 198.51.100.4")]);
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &spoofed), ip("198.51.100.4"));
        let two_headers = request(&[("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "2001:db8::7")]);
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &two_headers), ip("2001:db8::7"));
        let with_port = request(&[("X-Forwarded-For", "[2001:db8::7]:4711")]);
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &with_port), ip("2001:db8::7"));
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &request(&[("X-Forwarded-For", "unknown")])), None);
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &request(&[])), None);
    }

    #[test]
    fn the_last_element_of_forwarded_is_the_client() {
        let forwarded = request(&[("Forwarded", "for=203.0.113.9, for=\"[2001:db8::7]:4711\";proto=https")]);
        assert_eq!(forwarded_address(ProxyHeader::Forwarded, &forwarded), ip("2001:db8::7"));
        let v4 = request(&[("Forwarded", "proto=https;For=198.51.100.4:80")]);
        assert_eq!(forwarded_address(ProxyHeader::Forwarded, &v4), ip("198.51.100.4"));
        assert_eq!(forwarded_address(ProxyHeader::Forwarded, &request(&[("Forwarded", "for=_hidden")])), None);
    }

    #[test]
    fn only_the_named_header_counts() {
        let both = request(&[("X-Forwarded-For", "198.51.100.4"), ("Forwarded", "for=203.0.113.9")]);
        assert_eq!(forwarded_address(ProxyHeader::XForwardedFor, &both), ip("198.51.100.4"));
        assert_eq!(forwarded_address(ProxyHeader::Forwarded, &both), ip("203.0.113.9"));
    }
}
