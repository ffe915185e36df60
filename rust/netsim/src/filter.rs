//! A test's own hand on one direction: see, change or drop chosen datagrams.

use std::fmt;
use std::time::Instant;

/// What a filter set with [`Network::set_filter`](crate::Network::set_filter) decides for a
/// datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The datagram (as the filter left it) goes on into the link.
    Pass,
    /// The datagram is dropped and counted in
    /// [`LinkStats::filtered`](crate::LinkStats::filtered).
    Drop,
}

/// The closure a filter is made of: the send time and the datagram, which it may change.
pub(crate) type FilterFn = Box<dyn FnMut(Instant, &mut Vec<u8>) -> Verdict>;

/// A filter on one direction (a boxed closure, shown by name only when debugging).
pub(crate) struct Filter(pub(crate) FilterFn);

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Filter")
    }
}
