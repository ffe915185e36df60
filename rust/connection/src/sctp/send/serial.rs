//! TSNs widened to 64 bits, so that they compare and subtract without wrapping (RFC 1982's serial
//! number arithmetic done once, where a TSN comes in).

use super::super::chunks::Tsn;

/// A TSN widened to 64 bits: its low 32 bits are the TSN on the wire.
pub(super) type WideTsn = u64;

/// The first wide TSN of an association whose initial TSN is `initial`: far from 0, so that TSNs
/// before it (a SACK's cumulative TSN is the initial one minus one) stay positive.
pub(super) fn widen_initial(initial: Tsn) -> WideTsn {
    (1 << 32) | WideTsn::from(initial)
}

/// Widens `tsn` to the wide TSN nearest to `reference` (within 2^31 either way).
pub(super) fn widen(reference: WideTsn, tsn: Tsn) -> WideTsn {
    let delta = i64::from(tsn.wrapping_sub(reference as Tsn) as i32);
    reference.wrapping_add_signed(delta)
}

/// The TSN on the wire of a wide TSN.
pub(super) fn narrow(tsn: WideTsn) -> Tsn {
    tsn as Tsn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_follows_the_reference_across_the_wrap() {
        let start = widen_initial(u32::MAX - 1);
        assert_eq!(widen(start, u32::MAX), start + 1);
        assert_eq!(widen(start, 0), start + 2);
        assert_eq!(widen(start, 5), start + 7);
        assert_eq!(widen(start, u32::MAX - 2), start - 1);
        assert_eq!(narrow(start + 2), 0);
    }

    #[test]
    fn widening_is_nearest_within_half_the_space() {
        let start = widen_initial(1000);
        assert_eq!(widen(start, 1000 + (1 << 31) - 1), start + (1 << 31) - 1);
        assert_eq!(widen(start, 1000u32.wrapping_add(1 << 31)), start - (1 << 31));
    }
}
