//! Where lobby names, peer ids and the Redis instance name come from: the operating system's
//! random source (`getrandom`), so that no name can be predicted from the names seen before it.
//! The state machine's own tests may seed a splitmix64 generator instead, so that their names
//! and ids repeat from run to run; that generator exists only in test builds.

/// Draws before giving up on finding an unused name or id. Collisions are rare (2^40 lobby
/// names, 2^31 peer ids), so reaching this means something is wrong, not unlucky.
const MAX_DRAWS: usize = 64;

/// 64 bits from the operating system's random source; `None` if it cannot be read (the caller
/// refuses what needed them rather than fall back to anything guessable).
pub(crate) fn os_u64() -> Option<u64> {
    getrandom::u64().ok()
}

/// The source of a server's names and ids.
#[derive(Debug, Clone)]
pub(crate) enum Random {
    /// The operating system's random source: what every server uses.
    System,
    /// A splitmix64 generator with this state: the state machine's tests only.
    #[cfg(test)]
    Seeded(u64),
}

impl Random {
    /// The next 64 random bits; `None` if the operating system's source failed.
    pub(crate) fn next_u64(&mut self) -> Option<u64> {
        match self {
            Self::System => os_u64(),
            #[cfg(test)]
            Self::Seeded(state) => Some(splitmix64(state)),
        }
    }

    /// Draws values made by `make` until one is not taken; `None` after a bounded number of
    /// draws, or if the random source failed.
    pub(crate) fn draw_unused<T>(&mut self, make: impl Fn(u64) -> T, is_taken: impl Fn(&T) -> bool) -> Option<T> {
        for _ in 0..MAX_DRAWS {
            let candidate = make(self.next_u64()?);
            if !is_taken(&candidate) {
                return Some(candidate);
            }
        }
        None
    }
}

/// The splitmix64 generator (Steele, Lea and Flood, 2014): advances `state`, returns 64 bits.
#[cfg(test)]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut mixed = *state;
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_generator_is_splitmix64() {
        // The reference implementation's first outputs for seed 0.
        let mut random = Random::Seeded(0);
        assert_eq!(random.next_u64(), Some(0xE220_A839_7B1D_CDAF));
        assert_eq!(random.next_u64(), Some(0x6E78_9E6A_A1B9_65F4));
    }

    #[test]
    fn drawing_an_unused_value_gives_up_when_everything_is_taken() {
        let mut random = Random::System;
        assert_eq!(random.draw_unused(|bits| bits % 4, |_| true), None);
        assert_eq!(random.draw_unused(|bits| bits % 2, |value| *value == 0), Some(1));
    }

    #[test]
    fn the_system_source_does_not_repeat_itself() {
        let draws: std::collections::BTreeSet<_> = (0..64).filter_map(|_| Random::System.next_u64()).collect();
        assert_eq!(draws.len(), 64, "64 draws of 64 bits from the OS, all different");
    }
}
