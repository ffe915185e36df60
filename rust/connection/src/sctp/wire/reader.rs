//! A bounds-checked cursor over received bytes: every read returns `None` past the end instead of
//! panicking, so the parsers built on it hold on any input.

use bytes::Bytes;

/// Reads big-endian fields from the front of a byte buffer.
pub(crate) struct Reader {
    bytes: Bytes,
}

impl Reader {
    /// A cursor over `bytes`.
    pub(crate) fn new(bytes: Bytes) -> Self {
        Reader { bytes }
    }

    /// How many bytes are left.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes, without copying.
    pub(crate) fn take(&mut self, n: usize) -> Option<Bytes> {
        if n > self.bytes.len() {
            return None;
        }
        Some(self.bytes.split_to(n))
    }

    /// Skips `n` bytes, or all that is left when fewer remain (padding at the very end may be
    /// missing).
    pub(crate) fn skip_up_to(&mut self, n: usize) {
        let n = n.min(self.bytes.len());
        let _ = self.bytes.split_to(n);
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let b = self.take(1)?;
        b.first().copied()
    }

    /// The next 16-bit big-endian value.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// The next 32-bit big-endian value.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
    }

    /// Everything that is left.
    pub(crate) fn rest(&mut self) -> Bytes {
        self.bytes.split_off(0)
    }
}

/// The padding after a chunk or parameter of `len` bytes, to the next multiple of four.
pub(crate) fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}
