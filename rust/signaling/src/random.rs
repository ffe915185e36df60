//! The seeded generator behind lobby names and peer ids (splitmix64), and the seed the server
//! draws at start. The same seed and the same calls give the same names and ids.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::SystemTime;

/// Draws before giving up on finding an unused name or id. Collisions are rare (2^40 lobby
/// names, 2^31 peer ids), so reaching this means something is wrong, not unlucky.
const MAX_DRAWS: usize = 64;

/// The splitmix64 generator (Steele, Lea and Flood, 2014): small, fast, and every seed is good.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose output is fixed by `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// Draws values made by `make` until one is not taken; `None` after a bounded number of draws.
    pub(crate) fn draw_unused<T>(&mut self, make: impl Fn(u64) -> T, is_taken: impl Fn(&T) -> bool) -> Option<T> {
        (0..MAX_DRAWS).map(|_| make(self.next_u64())).find(|candidate| !is_taken(candidate))
    }
}

/// A seed that differs at every start: the process's random hash keys (from the OS) mixed with
/// the clock.
pub(crate) fn seed_from_entropy() -> u64 {
    RandomState::new().hash_one((SystemTime::now(), std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_splitmix64() {
        // The reference implementation's first outputs for seed 0.
        let mut random = SplitMix64::new(0);
        assert_eq!(random.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(random.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn drawing_an_unused_value_gives_up_when_everything_is_taken() {
        let mut random = SplitMix64::new(1);
        assert_eq!(random.draw_unused(|bits| bits % 4, |_| true), None);
        assert_eq!(random.draw_unused(|bits| bits % 2, |value| *value == 0), Some(1));
    }
}
