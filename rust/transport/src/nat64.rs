//! NAT64 for STUN and TURN servers given as IPv4 addresses, on a network that has only IPv6
//! (mobile carriers, the network Apple's app review tests on): the network's translator reaches
//! an IPv4 address at the IPv6 address made of its prefix and the IPv4 address (RFC 6052), and
//! the prefix is learnt the way RFC 7050 says: the IPv6 addresses the system's resolver gives for
//! `ipv4only.arpa`, a name that has only the IPv4 addresses 192.0.0.170 and 192.0.0.171, carry the
//! prefix where a DNS64 resolver made them up. Discovery runs on the shared runtime, bounded by
//! [`DISCOVERY_TIMEOUT`], and its answer is kept for [`DISCOVERY_LIFETIME`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::lock::lock;

/// Longest wait for the resolver's answer for `ipv4only.arpa`; past it there is no prefix.
pub(crate) const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a discovery's answer (a prefix, or none) is used before the next connection asks
/// again (the player may have moved to another network).
pub(crate) const DISCOVERY_LIFETIME: Duration = Duration::from_secs(60);
/// The name whose only addresses are [`IPV4ONLY_ADDRESSES`] (RFC 7050 §2.2).
const IPV4ONLY_NAME: &str = "ipv4only.arpa:0";
/// The IPv4 addresses of `ipv4only.arpa` (RFC 7050 §2.2).
const IPV4ONLY_ADDRESSES: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 0, 170), Ipv4Addr::new(192, 0, 0, 171)];
/// The prefix lengths RFC 6052 §2.2 allows, the one most used first.
const PREFIX_LENGTHS: [u8; 6] = [96, 64, 56, 48, 40, 32];

/// The last discovery: when it ran and what it found.
static DISCOVERED: Mutex<Option<(Instant, Option<Nat64Prefix>)>> = Mutex::new(None);

/// A NAT64 prefix: the first `length` bits of `bits` (the rest zero), `length` one of RFC 6052's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nat64Prefix {
    bits: Ipv6Addr,
    length: u8,
}

impl Nat64Prefix {
    /// The prefix of `length` bits of `address`, if `length` is one RFC 6052 allows.
    pub(crate) fn new(address: Ipv6Addr, length: u8) -> Option<Self> {
        if !PREFIX_LENGTHS.contains(&length) {
            return None;
        }
        let kept = usize::from(length / 8);
        let mut octets = [0; 16];
        octets[..kept].copy_from_slice(&address.octets()[..kept]);
        Some(Self { bits: Ipv6Addr::from(octets), length })
    }

    /// The IPv6 address at which the translator reaches `v4` (RFC 6052 §2.2: the IPv4 address
    /// right after the prefix, skipping bits 64 to 71, which stay zero, then zeros).
    pub(crate) fn synthesize(&self, v4: Ipv4Addr) -> Ipv6Addr {
        let mut octets = self.bits.octets();
        for (index, octet) in embedding_positions(self.length).zip(v4.octets()) {
            octets[index] = octet;
        }
        Ipv6Addr::from(octets)
    }

    /// The IPv4 address `address` embeds if it is under this prefix with a well-formed suffix.
    fn extract(&self, address: Ipv6Addr) -> Option<Ipv4Addr> {
        let octets = address.octets();
        let kept = usize::from(self.length / 8);
        // Bits 64 to 71 are zero in every form, the prefix's included (RFC 6052 §2.2).
        if octets[..kept] != self.bits.octets()[..kept] || octets[8] != 0 {
            return None;
        }
        let positions: Vec<usize> = embedding_positions(self.length).collect();
        let rest_is_zero = (kept..16).filter(|index| !positions.contains(index)).all(|index| octets[index] == 0);
        let mut v4 = [0; 4];
        for (slot, index) in v4.iter_mut().zip(&positions) {
            *slot = octets[*index];
        }
        rest_is_zero.then_some(Ipv4Addr::from(v4))
    }
}

impl std::fmt::Display for Nat64Prefix {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}/{}", self.bits, self.length)
    }
}

/// Where the four octets of an IPv4 address go after a prefix of `length` bits: the octets after
/// the prefix, skipping octet 8 (bits 64 to 71).
fn embedding_positions(length: u8) -> impl Iterator<Item = usize> {
    (usize::from(length / 8)..16).filter(|index| *index != 8).take(4)
}

/// The NAT64 prefixes the resolver's IPv6 addresses for `ipv4only.arpa` reveal (RFC 7050 §3):
/// each address that embeds one of the name's IPv4 addresses at an allowed prefix length (the
/// longest that fits first), without repeats. Other addresses, IPv4-mapped ones among them, are
/// ignored.
pub(crate) fn prefixes_from_ipv4only(answers: &[Ipv6Addr]) -> Vec<Nat64Prefix> {
    let mut found = Vec::new();
    for answer in answers.iter().filter(|answer| answer.to_ipv4_mapped().is_none()) {
        let prefix = PREFIX_LENGTHS.iter().find_map(|length| {
            let prefix = Nat64Prefix::new(*answer, *length)?;
            prefix.extract(*answer).filter(|v4| IPV4ONLY_ADDRESSES.contains(v4)).map(|_| prefix)
        });
        if let Some(prefix) = prefix.filter(|prefix| !found.contains(prefix)) {
            found.push(prefix);
        }
    }
    found
}

/// The network's NAT64 prefix: the last discovery's if it is younger than
/// [`DISCOVERY_LIFETIME`], else a new one's (none when the resolver gives no synthesized address
/// for `ipv4only.arpa` within [`DISCOVERY_TIMEOUT`]). Runs on the shared runtime.
pub(crate) async fn prefix() -> Option<Nat64Prefix> {
    if let Some((at, prefix)) = *lock(&DISCOVERED) {
        if at.elapsed() < DISCOVERY_LIFETIME {
            return prefix;
        }
    }
    let answers = match tokio::time::timeout(DISCOVERY_TIMEOUT, tokio::net::lookup_host(IPV4ONLY_NAME)).await {
        Ok(Ok(addresses)) => addresses
            .filter_map(|address| match address.ip() {
                IpAddr::V6(v6) => Some(v6),
                IpAddr::V4(_) => None,
            })
            .collect(),
        Ok(Err(error)) => {
            log::debug!("NAT64 discovery: cannot resolve {IPV4ONLY_NAME}: {error}");
            Vec::new()
        }
        Err(_) => {
            log::debug!("NAT64 discovery: no answer for {IPV4ONLY_NAME} within {DISCOVERY_TIMEOUT:?}");
            Vec::new()
        }
    };
    let prefix = prefixes_from_ipv4only(&answers).first().copied();
    match prefix {
        Some(prefix) => log::info!("NAT64 prefix {prefix}: IPv4 ICE servers are reached through it"),
        None => log::info!("no NAT64 prefix found: IPv4 ICE servers are not reachable from IPv6 alone"),
    }
    *lock(&DISCOVERED) = Some((Instant::now(), prefix));
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(address: &str) -> Ipv6Addr {
        address.parse().expect("an address")
    }

    fn prefix(address: &str, length: u8) -> Nat64Prefix {
        Nat64Prefix::new(v6(address), length).expect("a prefix")
    }

    #[test]
    fn addresses_are_synthesized_as_rfc_6052_shows() {
        // RFC 6052 §2.4, the table of examples, for 192.0.2.33.
        let v4 = Ipv4Addr::new(192, 0, 2, 33);
        for (prefix_address, length, expected) in [
            ("2001:db8::", 32, "2001:db8:c000:221::"),
            ("2001:db8:100::", 40, "2001:db8:1c0:2:21::"),
            ("2001:db8:122::", 48, "2001:db8:122:c000:2:2100::"),
            ("2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::"),
            ("2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0"),
            ("2001:db8:122:344::", 96, "2001:db8:122:344::192.0.2.33"),
            ("64:ff9b::", 96, "64:ff9b::192.0.2.33"),
        ] {
            let prefix = prefix(prefix_address, length);
            assert_eq!(prefix.synthesize(v4), v6(expected), "/{length}");
            assert_eq!(prefix.extract(v6(expected)), Some(v4), "/{length}");
        }
    }

    #[test]
    fn only_rfc_6052_lengths_make_prefixes_and_the_host_bits_are_dropped() {
        assert_eq!(Nat64Prefix::new(v6("64:ff9b::"), 80), None);
        assert_eq!(Nat64Prefix::new(v6("64:ff9b::"), 0), None);
        assert_eq!(prefix("64:ff9b::c000:2aa", 96), prefix("64:ff9b::", 96));
        assert_eq!(prefix("64:ff9b::", 96).to_string(), "64:ff9b::/96");
    }

    #[test]
    fn discovery_answers_reveal_the_prefix() {
        // A DNS64 resolver with the well-known prefix answers both addresses of the name.
        let well_known = [v6("64:ff9b::c000:aa"), v6("64:ff9b::c000:ab")];
        assert_eq!(prefixes_from_ipv4only(&well_known), vec![prefix("64:ff9b::", 96)]);
        // A network-specific /64 (RFC 6052 example prefix), the u octet skipped.
        let network = prefix("2001:db8:122:344::", 64);
        let answer = network.synthesize(Ipv4Addr::new(192, 0, 0, 170));
        assert_eq!(prefixes_from_ipv4only(&[answer]), vec![network]);
        // A /32 and a /96 from two translators, in the resolver's order.
        let short = prefix("2001:db8::", 32);
        let answers = [short.synthesize(Ipv4Addr::new(192, 0, 0, 171)), v6("64:ff9b::192.0.0.170")];
        assert_eq!(prefixes_from_ipv4only(&answers), vec![short, prefix("64:ff9b::", 96)]);
    }

    #[test]
    fn answers_without_the_well_known_addresses_reveal_nothing() {
        assert_eq!(prefixes_from_ipv4only(&[]), vec![]);
        // A real IPv6 address, an address embedding another IPv4 address, a mapped address.
        let answers = [v6("2001:db8::1"), v6("64:ff9b::c000:221"), v6("::ffff:192.0.0.170"), v6("::1")];
        assert_eq!(prefixes_from_ipv4only(&answers), vec![]);
        // The well-known address at a /64 position but with a non-zero suffix.
        let mut octets = prefix("2001:db8:122:344::", 64).synthesize(Ipv4Addr::new(192, 0, 0, 170)).octets();
        octets[15] = 1;
        assert_eq!(prefixes_from_ipv4only(&[Ipv6Addr::from(octets)]), vec![]);
    }
}
