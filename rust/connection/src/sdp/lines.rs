//! The lines of a session description (RFC 8866 section 5): `<type>=<value>`, one a line, read
//! within [`MAX_DESCRIPTION_BYTES`], [`MAX_LINES`] and [`MAX_LINE_BYTES`].
//!
//! Lines end in CRLF as RFC 8866 asks, or in LF alone as some stacks and hand-edited
//! descriptions have it; trailing spaces are dropped (libdatachannel does the same) and blank
//! lines skipped.

use super::error::{excerpt, SdpError};
use super::limits::{MAX_DESCRIPTION_BYTES, MAX_LINES, MAX_LINE_BYTES};

/// One line of a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Its number in the text, from 1 (for error messages).
    pub(crate) number: usize,
    /// Its type: the lower-case letter before `=`.
    pub(crate) kind: u8,
    /// What follows the `=`.
    pub(crate) value: &'a str,
}

/// The lines of `text`, or why it is not a description within our bounds.
pub(crate) fn lines(text: &str) -> Result<Vec<Line<'_>>, SdpError> {
    if text.len() > MAX_DESCRIPTION_BYTES {
        return Err(SdpError::TooLarge(text.len()));
    }
    let mut out = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        if number > MAX_LINES {
            return Err(SdpError::TooManyLines);
        }
        if line.len() > MAX_LINE_BYTES {
            return Err(SdpError::LineTooLong(number));
        }
        let bytes = line.as_bytes();
        if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
            return Err(SdpError::MalformedLine { line: number, text: excerpt(line) });
        }
        // The first two bytes are ASCII, so index 2 is a character boundary.
        out.push(Line { number, kind: bytes[0], value: &line[2..] });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_in_crlf_or_lf_and_blank_ones_are_skipped() {
        let read = lines("v=0\r\no=- 1 2 IN IP4 127.0.0.1\n\r\na=x  \r\n").unwrap();
        let values: Vec<(usize, u8, &str)> = read.iter().map(|line| (line.number, line.kind, line.value)).collect();
        assert_eq!(values, vec![(1, b'v', "0"), (2, b'o', "- 1 2 IN IP4 127.0.0.1"), (4, b'a', "x")]);
        assert_eq!(lines("").unwrap(), vec![]);
    }

    #[test]
    fn what_is_not_a_line_is_refused_with_its_number() {
        for bad in ["v=0\r\nhello\r\n", "v=0\r\n=x\r\n", "v=0\r\nA=x\r\n", "v=0\r\nx\r\n", "v=0\r\n a=x\r\n"] {
            assert!(matches!(lines(bad), Err(SdpError::MalformedLine { line: 2, .. })), "{bad:?}");
        }
        let error = lines(&format!("v=0\r\n{}\r\n", "é".repeat(1000))).unwrap_err();
        assert!(error.to_string().chars().count() < 200, "{error}");
    }

    #[test]
    fn the_bounds_hold() {
        assert_eq!(lines(&"a".repeat(MAX_DESCRIPTION_BYTES + 1)), Err(SdpError::TooLarge(MAX_DESCRIPTION_BYTES + 1)));
        let many = "a=x\r\n".repeat(MAX_LINES);
        assert_eq!(lines(&many).unwrap().len(), MAX_LINES, "exactly the limit passes");
        assert_eq!(lines(&format!("{many}a=x\r\n")), Err(SdpError::TooManyLines));
        assert_eq!(lines(&"a=x\r\n".repeat(10_000)), Err(SdpError::TooManyLines));
        let long = format!("v=0\r\na={}\r\n", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(lines(&long), Err(SdpError::LineTooLong(2)));
        // Blank lines cost nothing to keep but are bounded by the size.
        assert_eq!(lines(&"\n".repeat(MAX_DESCRIPTION_BYTES)).unwrap(), vec![]);
    }
}
