//! Serial number arithmetic (RFC 1982) for the 32-bit TSNs and 16-bit SSNs of the wire, done once:
//! each number is unwrapped into a `u64` that only grows, relative to a reference the caller
//! keeps (the cumulative TSN, a stream's next SSN). Comparisons on the unwrapped values are then
//! plain integer comparisons, across any number of wrap-arounds.

use crate::sctp::chunks::Tsn;

/// The unwrapped value that the first reference starts at: far enough from zero that a number
/// half the serial space behind the reference still unwraps to a positive value.
const BASE_TSN: u64 = 1 << 32;

/// Like [`BASE_TSN`], for 16-bit stream sequence numbers.
const BASE_SSN: u64 = 1 << 16;

/// The unwrapped value of `tsn` as first reference (for the TSN before the peer's initial TSN).
pub(crate) fn first_unwrapped_tsn(tsn: Tsn) -> u64 {
    BASE_TSN + u64::from(tsn)
}

/// Unwraps `tsn` relative to `reference` (an unwrapped TSN): the value within 2^31 of the
/// reference whose low 32 bits are `tsn`.
pub(crate) fn unwrap_tsn(reference: u64, tsn: Tsn) -> u64 {
    // Truncation to the low 32 bits is the point: serial arithmetic works on the wire's width.
    let distance = tsn.wrapping_sub(reference as u32) as i32;
    reference.wrapping_add_signed(i64::from(distance))
}

/// The wire value of an unwrapped TSN.
pub(crate) fn wrap_tsn(unwrapped: u64) -> Tsn {
    // Truncation to the low 32 bits is the point.
    unwrapped as u32
}

/// The unwrapped value of SSN 0 as a stream's first reference.
pub(crate) fn first_unwrapped_ssn() -> u64 {
    BASE_SSN
}

/// Unwraps `ssn` relative to `reference` (an unwrapped SSN): the value within 2^15 of the
/// reference whose low 16 bits are `ssn`.
pub(crate) fn unwrap_ssn(reference: u64, ssn: u16) -> u64 {
    // Truncation to the low 16 bits is the point.
    let distance = ssn.wrapping_sub(reference as u16) as i16;
    reference.wrapping_add_signed(i64::from(distance))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsns_unwrap_across_wrap_around() {
        let reference = first_unwrapped_tsn(u32::MAX - 1);
        assert_eq!(unwrap_tsn(reference, u32::MAX), reference + 1);
        assert_eq!(unwrap_tsn(reference, 0), reference + 2);
        assert_eq!(unwrap_tsn(reference, 5), reference + 7);
        assert_eq!(unwrap_tsn(reference, u32::MAX - 3), reference - 2);
        assert_eq!(wrap_tsn(reference + 2), 0);
        assert_eq!(wrap_tsn(reference + 7), 5);
    }

    #[test]
    fn tsns_unwrap_to_the_nearest_value_within_half_the_space() {
        let reference = first_unwrapped_tsn(10);
        assert_eq!(unwrap_tsn(reference, 10 + (1 << 31) - 1), reference + (1 << 31) - 1);
        assert_eq!(unwrap_tsn(reference, 10u32.wrapping_add(1 << 31)), reference - (1 << 31));
        // Far behind, across many wraps of the reference itself: still positive.
        let later = reference + 10 * (1u64 << 32);
        assert_eq!(unwrap_tsn(later, 9), later - 1);
    }

    #[test]
    fn ssns_unwrap_across_wrap_around() {
        let reference = first_unwrapped_ssn() + u64::from(u16::MAX);
        assert_eq!(reference as u16, u16::MAX);
        assert_eq!(unwrap_ssn(reference, 0), reference + 1);
        assert_eq!(unwrap_ssn(reference, 3), reference + 4);
        assert_eq!(unwrap_ssn(reference, u16::MAX - 1), reference - 1);
        assert_eq!(unwrap_ssn(first_unwrapped_ssn(), u16::MAX), first_unwrapped_ssn() - 1);
    }
}
