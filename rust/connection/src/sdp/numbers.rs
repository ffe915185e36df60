//! Decimal numbers as SDP writes them: ASCII digits only (Rust's parsers also take a sign), in
//! the range of the type they are read into.

use std::str::FromStr;

/// `text` as a number of type `T`, if it is digits only and fits.
pub(crate) fn decimal<T: FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_that_fit() {
        assert_eq!(decimal::<u16>("5000"), Some(5000));
        assert_eq!(decimal::<u16>("0065535"), Some(65535));
        for bad in ["", "+1", "-1", "65536", "1e3", "0x10", " 1", "1 ", "١٢"] {
            assert_eq!(decimal::<u16>(bad), None, "{bad:?}");
        }
        assert_eq!(decimal::<u64>("18446744073709551616"), None);
        assert_eq!(decimal::<u64>(&"9".repeat(5000)), None);
    }
}
