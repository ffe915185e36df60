//! The two ends of a simulated network.

/// One end of a [`Network`](crate::Network) or [`Pair`](crate::Pair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The first end (the `a` endpoint of a [`Pair`](crate::Pair)).
    A,
    /// The second end (the `b` endpoint of a [`Pair`](crate::Pair)).
    B,
}

impl Side {
    /// The opposite end: where a datagram sent from `self` is delivered.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}
