//! A stream whose first reads give back bytes already read from it: the request head read to
//! tell a WebSocket upgrade from a health check ([`super::request_head`]) is read again by
//! tungstenite's handshake. Once given back, the bytes are freed; writes go straight through.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `stream`, with `head` read before it.
#[derive(Debug)]
pub(super) struct Replayed<S> {
    /// Bytes still to give back, from `at` on.
    head: Vec<u8>,
    /// How many of `head` were given back.
    at: usize,
    /// The stream they came from.
    stream: S,
}

impl<S> Replayed<S> {
    /// `stream` whose next reads give `head` first.
    pub(super) fn new(head: Vec<u8>, stream: S) -> Self {
        Self { head, at: 0, stream }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Replayed<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let left = this.head.len() - this.at;
        if left == 0 {
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        }
        let count = left.min(buf.remaining());
        buf.put_slice(&this.head[this.at..this.at + count]);
        this.at += count;
        if this.at == this.head.len() {
            this.head = Vec::new();
            this.at = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Replayed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn the_head_comes_first_in_small_reads_then_the_stream() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut replayed = Replayed::new(b"head".to_vec(), &b"-tail"[..]);
            let mut small = [0u8; 3];
            assert_eq!(replayed.read(&mut small).await.unwrap(), 3);
            assert_eq!(&small, b"hea");
            let mut rest = Vec::new();
            replayed.read_to_end(&mut rest).await.unwrap();
            assert_eq!(rest, b"d-tail");
            assert_eq!(replayed.head.capacity(), 0, "given back, the head is freed");
        });
    }
}
