//! Serial number arithmetic (RFC 1982) for the 32-bit TSNs and 16-bit SSNs of the wire, done once,
//! where a number comes in: each is widened to a `u64` relative to a reference the caller keeps
//! (the cumulative TSN, a stream's next SSN), the value nearest to it. Wide numbers then compare
//! and subtract as plain integers, across any number of wrap-arounds.

use crate::sctp::chunks::Tsn;

/// A TSN widened to 64 bits: its low 32 bits are the TSN on the wire.
pub(crate) type WideTsn = u64;

/// An SSN widened to 64 bits: its low 16 bits are the SSN on the wire.
pub(crate) type WideSsn = u64;

/// Where wide TSNs start: far enough from zero that a TSN half the serial space behind the first
/// reference (a SACK's cumulative TSN is the initial TSN minus one) still widens to a positive value.
const BASE_TSN: WideTsn = 1 << 32;

/// Like [`BASE_TSN`], for 16-bit stream sequence numbers.
const BASE_SSN: WideSsn = 1 << 16;

/// The wide value of `initial`, a first reference (an initial TSN, or the TSN before one).
pub(crate) fn widen_initial(initial: Tsn) -> WideTsn {
    BASE_TSN | WideTsn::from(initial)
}

/// Widens `tsn` to the wide TSN nearest to `reference` (within 2^31 either way).
pub(crate) fn widen(reference: WideTsn, tsn: Tsn) -> WideTsn {
    // Truncation to the low 32 bits is the point: serial arithmetic works on the wire's width.
    let distance = tsn.wrapping_sub(reference as Tsn) as i32;
    reference.wrapping_add_signed(i64::from(distance))
}

/// The TSN on the wire of a wide TSN.
pub(crate) fn narrow(tsn: WideTsn) -> Tsn {
    // Truncation to the low 32 bits is the point.
    tsn as Tsn
}

/// The wide value of SSN 0 as a stream's first reference.
pub(crate) fn first_wide_ssn() -> WideSsn {
    BASE_SSN
}

/// Widens `ssn` to the wide SSN nearest to `reference` (within 2^15 either way).
pub(crate) fn widen_ssn(reference: WideSsn, ssn: u16) -> WideSsn {
    // Truncation to the low 16 bits is the point.
    let distance = ssn.wrapping_sub(reference as u16) as i16;
    reference.wrapping_add_signed(i64::from(distance))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsns_widen_across_the_wrap() {
        let start = widen_initial(u32::MAX - 1);
        assert_eq!(widen(start, u32::MAX), start + 1);
        assert_eq!(widen(start, 0), start + 2);
        assert_eq!(widen(start, 5), start + 7);
        assert_eq!(widen(start, u32::MAX - 2), start - 1);
        assert_eq!(widen(start, u32::MAX - 3), start - 2);
        assert_eq!(narrow(start + 2), 0);
        assert_eq!(narrow(start + 7), 5);
    }

    #[test]
    fn tsns_widen_to_the_nearest_value_within_half_the_space() {
        let start = widen_initial(1000);
        assert_eq!(widen(start, 1000 + (1 << 31) - 1), start + (1 << 31) - 1);
        assert_eq!(widen(start, 1000u32.wrapping_add(1 << 31)), start - (1 << 31));
        // Far behind, across many wraps of the reference itself: still positive.
        let later = start + 10 * (1u64 << 32);
        assert_eq!(widen(later, 999), later - 1);
    }

    #[test]
    fn ssns_widen_across_the_wrap() {
        let reference = first_wide_ssn() + u64::from(u16::MAX);
        assert_eq!(reference as u16, u16::MAX);
        assert_eq!(widen_ssn(reference, 0), reference + 1);
        assert_eq!(widen_ssn(reference, 3), reference + 4);
        assert_eq!(widen_ssn(reference, u16::MAX - 1), reference - 1);
        assert_eq!(widen_ssn(first_wide_ssn(), u16::MAX), first_wide_ssn() - 1);
    }
}
