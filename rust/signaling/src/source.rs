//! Source addresses, as the per-source caps count them: an IPv4 address, or an IPv6 address's
//! /64 network (one subscriber usually holds a whole /64, so counting single IPv6 addresses would
//! let one machine be 2^64 sources); and what each source holds at the moment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// Where connections come from, as counted by the per-source caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source(IpAddr);

impl Source {
    /// The source of a client at `address`: IPv4 (IPv4-mapped IPv6 too) as is, IPv6 by /64.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX)))),
            },
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// What one source holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Holdings {
    /// Connections still in their handshake.
    pub(crate) handshakes: usize,
    /// Connections whose handshake is done.
    pub(crate) clients: usize,
    /// Lobbies created by its clients and not ended (joins creating one count at once).
    pub(crate) lobbies: usize,
}

/// What every source holds; a source holding nothing has no entry, so the table has at most one
/// entry per connection.
#[derive(Debug, Default)]
pub(crate) struct SourceTable {
    holdings: BTreeMap<Source, Holdings>,
}

impl SourceTable {
    /// What `source` holds now.
    pub(crate) fn of(&self, source: Source) -> Holdings {
        self.holdings.get(&source).copied().unwrap_or_default()
    }

    /// Changes what `source` holds with `change`.
    pub(crate) fn update(&mut self, source: Source, change: impl FnOnce(&mut Holdings)) {
        let holdings = self.holdings.entry(source).or_default();
        change(holdings);
        if *holdings == Holdings::default() {
            self.holdings.remove(&source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_by_their_slash_64_and_mapped_ipv4_as_ipv4() {
        let of = |text: &str| Source::of(text.parse().unwrap());
        assert_eq!(of("2001:db8:1:2:aaaa::1"), of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(of("2001:db8:1:2::1"), of("2001:db8:1:3::1"));
        assert_eq!(of("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(of("::ffff:192.0.2.7"), of("192.0.2.7"));
        assert_ne!(of("192.0.2.7"), of("192.0.2.8"));
    }

    #[test]
    fn a_source_holding_nothing_leaves_the_table() {
        let mut table = SourceTable::default();
        let source = Source::of("192.0.2.7".parse().unwrap());
        table.update(source, |held| held.clients += 1);
        assert_eq!(table.of(source).clients, 1);
        table.update(source, |held| held.clients -= 1);
        assert!(table.holdings.is_empty());
    }
}
