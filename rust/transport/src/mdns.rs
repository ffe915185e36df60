//! Remote candidates named by mDNS: browsers hide their host addresses behind `<uuid>.local`
//! names (RFC 8839 §5.1, draft-ietf-mmusic-mdns-ice-candidates), which the core cannot use.
//! The transport asks the name on the multicast group (the sans-IO `rtc-mdns` client, on the
//! mDNS socket the pump opens) and hands the core the candidate with the address it resolved to.
//! Our own candidates keep their addresses, as Godot's own plugin gives them.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_mdns::{Mdns, MdnsConfig, MdnsEvent, QueryId};
use rtc_shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use sansio::Protocol;

/// Names being resolved at most per connection: a browser signals one per interface and address
/// family. Past it, further `.local` candidates are dropped (the remote side picks the names, so
/// the queries it can make us send are bounded).
pub(crate) const MAX_MDNS_QUERIES: usize = 16;
/// How often an unanswered query is asked again.
const QUERY_INTERVAL: Duration = Duration::from_millis(500);
/// How long a name is asked before it is given up.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest name asked (a browser's is a UUID and `.local`, 42 bytes).
const MAX_NAME_BYTES: usize = 255;

/// Whether a candidate line names its address by mDNS (`... <name>.local <port> typ ...`).
pub(crate) fn is_mdns_candidate(line: &str) -> bool {
    address_word(line).is_some_and(|address| address.to_ascii_lowercase().ends_with(".local"))
}

/// The address word of a candidate line (the fifth).
fn address_word(line: &str) -> Option<&str> {
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    line.split_whitespace().nth(4)
}

/// A candidate line with its address word replaced by `ip`.
fn with_address(line: &str, ip: IpAddr) -> String {
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    if let Some(word) = words.get_mut(4) {
        *word = ip.to_string();
    }
    words.join(" ")
}

/// The mDNS queries of one connection.
#[derive(Default)]
pub(crate) struct MdnsResolver {
    /// The client, made with the first query.
    client: Option<Mdns>,
    /// Queries under way: their id and the candidate line waiting for the answer.
    pending: Vec<(QueryId, String)>,
    /// Candidate lines resolved, for the core.
    resolved: Vec<String>,
}

impl MdnsResolver {
    /// Starts resolving the name of a `.local` candidate line (dropped past
    /// [`MAX_MDNS_QUERIES`]).
    pub(crate) fn resolve(&mut self, line: &str, now: Instant) {
        let Some(name) = address_word(line) else { return };
        if self.pending.len() >= MAX_MDNS_QUERIES || name.len() > MAX_NAME_BYTES {
            log::debug!("an mDNS candidate was dropped: {MAX_MDNS_QUERIES} names are being resolved already");
            return;
        }
        let config = MdnsConfig::default().with_query_interval(QUERY_INTERVAL).with_query_timeout(QUERY_TIMEOUT);
        let client = self.client.get_or_insert_with(|| Mdns::new(now, config));
        let id = client.query_now(now, name);
        self.pending.push((id, line.to_owned()));
    }

    /// Whether queries are under way (the pump then needs the mDNS socket).
    pub(crate) fn is_resolving(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes a datagram received on the mDNS socket.
    pub(crate) fn handle_datagram(&mut self, now: Instant, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        let Some(client) = self.client.as_mut() else { return };
        let transport = TransportContext {
            local_addr: local,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        if let Err(error) = client.handle_read(TaggedBytesMut { now, transport, message: BytesMut::from(datagram) }) {
            log::debug!("mDNS: {error}");
        }
        self.take_events();
    }

    /// Runs the queries' timers.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        let Some(client) = self.client.as_mut() else { return };
        if client.poll_timeout().is_some_and(|at| at <= now) {
            if let Err(error) = client.handle_timeout(now) {
                log::debug!("mDNS: {error}");
            }
        }
        self.take_events();
    }

    /// When [`MdnsResolver::handle_timeout`] must run next.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        self.client.as_mut().and_then(Protocol::poll_timeout)
    }

    /// The next query to send to the multicast group: destination and bytes.
    pub(crate) fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        let write = self.client.as_mut()?.poll_write()?;
        Some((write.transport.peer_addr, write.message))
    }

    /// The next candidate line resolved to an address.
    pub(crate) fn poll_resolved(&mut self) -> Option<String> {
        self.resolved.pop()
    }

    fn take_events(&mut self) {
        let Some(client) = self.client.as_mut() else { return };
        while let Some(event) = client.poll_event() {
            match event {
                MdnsEvent::QueryAnswered(id, ip) => {
                    if let Some(position) = self.pending.iter().position(|(pending, _)| *pending == id) {
                        let (_, line) = self.pending.swap_remove(position);
                        self.resolved.push(with_address(&line, ip));
                    }
                }
                MdnsEvent::QueryTimeout(id) => {
                    if let Some(position) = self.pending.iter().position(|(pending, _)| *pending == id) {
                        let (_, line) = self.pending.swap_remove(position);
                        log::info!("mDNS name of candidate '{}' did not resolve", crate::error::excerpt(&line));
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSER: &str = "candidate:1 1 udp 2122260223 4f3a2c1e-9d1b-4f0e-8a55-1c2d3e4f5a6b.local 54321 typ host";

    #[test]
    fn local_names_are_recognised_and_replaced_by_their_address() {
        assert!(is_mdns_candidate(BROWSER));
        assert!(is_mdns_candidate(&format!("a={}", BROWSER.replace(".local", ".LOCAL"))));
        assert!(!is_mdns_candidate("candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host"));
        assert!(!is_mdns_candidate("garbage"));
        let resolved = with_address(BROWSER, "192.168.1.20".parse().unwrap());
        assert_eq!(resolved, "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host");
    }

    #[test]
    fn a_query_goes_to_the_group_and_queries_are_bounded() {
        let now = Instant::now();
        let mut resolver = MdnsResolver::default();
        assert!(!resolver.is_resolving());
        resolver.resolve(BROWSER, now);
        assert!(resolver.is_resolving());
        let (to, query) = resolver.poll_transmit().expect("a query");
        assert_eq!(to, "224.0.0.251:5353".parse::<SocketAddr>().unwrap());
        assert!(!query.is_empty());
        for _ in 0..100 {
            resolver.resolve(BROWSER, now);
        }
        assert_eq!(resolver.pending.len(), MAX_MDNS_QUERIES);
        resolver.handle_timeout(now + QUERY_TIMEOUT + Duration::from_secs(1));
        resolver.handle_timeout(now + QUERY_TIMEOUT + Duration::from_secs(2));
        assert!(!resolver.is_resolving(), "given up after the timeout");
        assert_eq!(resolver.poll_resolved(), None);
    }

    #[test]
    fn an_answer_gives_the_candidate_with_its_address() {
        let now = Instant::now();
        let mut resolver = MdnsResolver::default();
        resolver.resolve(BROWSER, now);
        let (group, query) = resolver.poll_transmit().expect("a query");
        // The browser's responder, as rtc-mdns answers for a name of its own.
        let name = address_word(BROWSER).unwrap().to_owned();
        let ip: IpAddr = "192.168.1.20".parse().unwrap();
        let mut browser = Mdns::new(now, MdnsConfig::default().with_local_names(vec![name]).with_local_ip(ip));
        let ours: SocketAddr = "192.168.1.10:5353".parse().unwrap();
        let transport = TransportContext {
            local_addr: group,
            peer_addr: ours,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        };
        browser.handle_read(TaggedBytesMut { now, transport, message: query }).unwrap();
        let answer = browser.poll_write().expect("an answer");
        resolver.handle_datagram(now, ours, SocketAddr::new(ip, 5353), &answer.message);
        assert_eq!(resolver.poll_resolved(), Some(with_address(BROWSER, ip)));
        assert!(!resolver.is_resolving());
    }

    #[test]
    fn garbage_on_the_multicast_socket_resolves_nothing() {
        let now = Instant::now();
        let mut resolver = MdnsResolver::default();
        resolver.resolve(BROWSER, now);
        let address: SocketAddr = "192.0.2.9:5353".parse().unwrap();
        for garbage in [&[][..], &[0; 12][..], &[0xff; 600][..]] {
            resolver.handle_datagram(now, address, address, garbage);
        }
        assert_eq!(resolver.poll_resolved(), None);
        assert!(resolver.is_resolving());
    }
}
