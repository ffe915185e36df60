//! A connection's first HTTP request head, read before tungstenite sees it, to tell a WebSocket
//! upgrade (handed on to tungstenite with the bytes read: [`super::replayed::Replayed`]) from a
//! plain `GET /health` (answered here: [`super::plain_http`]) and from anything else (refused).
//! Reading is bounded: at most [`MAX_REQUEST_HEAD`] bytes and [`MAX_HEADERS`] headers, and in
//! time by the handshake deadline the pump enforces around the whole handshake. The head is
//! parsed (httparse) only after reads that bring a line end, and after the first read, so a
//! head sent a byte at a time is parsed about once per line, not once per byte; and a head of
//! more lines than a request may have ([`MAX_LINES`]: empty ones too, which httparse skips
//! before the request line) is refused, so that it is parsed that many times at most.

use std::fmt;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::health::HEALTH_PATH;

/// The longest request head read, in bytes (the WebSocket upgrade of a browser is well under
/// 2 KiB, cookies and all; nginx's default is 8 KiB a line). Past it: `431`, and the connection
/// is closed.
pub(super) const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Headers in a request head at most (tungstenite's own limit). Past it: `431`.
const MAX_HEADERS: usize = 124;
/// Empty lines allowed before the request line (RFC 9112 2.2: a server should ignore at least one).
const MAX_EMPTY_LINES_BEFORE: usize = 4;
/// Lines in a request head at most: the empty lines before it, the request line, [`MAX_HEADERS`]
/// headers and the empty line ending it. Past it (with the head still unfinished): `431`. Each
/// read bringing a line end is parsed from the start, so this bounds the parses of one head.
const MAX_LINES: usize = MAX_EMPTY_LINES_BEFORE + 1 + MAX_HEADERS + 1;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 2048;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    /// A WebSocket upgrade (the request has an `Upgrade` header; tungstenite checks the rest).
    Upgrade,
    /// `GET` or `HEAD` of [`HEALTH_PATH`], without an `Upgrade` header.
    Health,
    /// Anything else: another path, or another method.
    Other,
}

/// A request head as read: its bytes (and whatever came after it in the same reads, which
/// tungstenite judges) and what it asks for.
#[derive(Debug)]
pub(super) struct RequestHead {
    /// Every byte read from the connection so far.
    pub(super) bytes: Vec<u8>,
    /// What the request asks for.
    pub(super) asked: Asked,
    /// A `HEAD` request: whatever the answer, it has no body (RFC 9110 9.3.2).
    pub(super) head_only: bool,
}

/// Why no request head was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unread {
    /// The bytes are not an HTTP request (`400`); what the parser said.
    Malformed(String),
    /// Over [`MAX_REQUEST_HEAD`] bytes, [`MAX_HEADERS`] headers or [`MAX_LINES`] lines without the
    /// head's end (`431`).
    TooLarge,
    /// The connection ended (or failed) before the head's end; what happened.
    Ended(String),
}

impl fmt::Display for Unread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(details) => write!(f, "not an HTTP request: {details}"),
            Self::TooLarge => {
                write!(f, "a request head over {MAX_REQUEST_HEAD} bytes, {MAX_HEADERS} headers or {MAX_LINES} lines")
            }
            Self::Ended(details) => write!(f, "the request head did not come whole: {details}"),
        }
    }
}

/// Reads one request head from `stream`.
pub(super) async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> Result<RequestHead, Unread> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; READ_SIZE];
    let mut lines = 0usize;
    loop {
        let room = MAX_REQUEST_HEAD - bytes.len();
        if room == 0 {
            return Err(Unread::TooLarge);
        }
        let count = match stream.read(&mut chunk[..room.min(READ_SIZE)]).await {
            Ok(0) => return Err(Unread::Ended(format!("the connection ended after {} bytes", bytes.len()))),
            Ok(count) => count,
            Err(error) => return Err(Unread::Ended(error.to_string())),
        };
        let new = &chunk[..count];
        let first = bytes.is_empty();
        bytes.extend_from_slice(new);
        let line_ends = new.iter().filter(|&&byte| byte == b'\n').count();
        if first || line_ends > 0 {
            if let Some((asked, head_only)) = parse(&bytes)? {
                return Ok(RequestHead { bytes, asked, head_only });
            }
        }
        lines = lines.saturating_add(line_ends);
        if lines > MAX_LINES {
            return Err(Unread::TooLarge);
        }
    }
}

/// What the head at the start of `bytes` asks for, and whether it is a `HEAD` request; `None`
/// while it is incomplete.
fn parse(bytes: &[u8]) -> Result<Option<(Asked, bool)>, Unread> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => Ok(Some((asked(&request), request.method == Some("HEAD")))),
        Err(httparse::Error::TooManyHeaders) => Err(Unread::TooLarge),
        Err(error) => Err(Unread::Malformed(error.to_string())),
    }
}

/// What a complete request asks for.
fn asked(request: &httparse::Request<'_, '_>) -> Asked {
    if request.headers.iter().any(|header| header.name.eq_ignore_ascii_case("upgrade")) {
        return Asked::Upgrade;
    }
    let path = origin_form(request.path.unwrap_or_default());
    let path = path.split_once('?').map_or(path, |(path, _query)| path);
    match request.method {
        Some("GET" | "HEAD") if path == HEALTH_PATH => Asked::Health,
        _ => Asked::Other,
    }
}

/// The path (and query) of a request target: itself in the origin form (`/health`), the part from
/// the authority's end in the absolute form (`http://host/health`, RFC 9112 3.2.2); any other
/// target as it is.
fn origin_form(target: &str) -> &str {
    let Some((scheme, rest)) = target.split_once("://") else { return target };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return target;
    }
    rest.find(['/', '?']).map_or("/", |at| &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a head from `input` (a byte slice is a stream that yields it and ends).
    fn read_from(mut input: &[u8]) -> Result<RequestHead, Unread> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(read(&mut input))
    }

    #[test]
    fn a_websocket_upgrade_is_handed_on_with_every_byte_read() {
        let head = b"GET /lobby HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        let read = read_from(head).unwrap();
        assert_eq!(read.asked, Asked::Upgrade);
        assert_eq!(read.bytes, head);
    }

    #[test]
    fn the_health_path_is_asked_by_get_and_head_only() {
        let asked = |head: &[u8]| read_from(head).map(|read| read.asked);
        assert_eq!(asked(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n"), Ok(Asked::Health));
        assert_eq!(asked(b"GET /health?probe=1 HTTP/1.0\r\n\r\n"), Ok(Asked::Health));
        assert_eq!(asked(b"HEAD /health HTTP/1.1\r\n\r\n"), Ok(Asked::Health));
        let head_only = |head: &[u8]| read_from(head).map(|read| read.head_only);
        assert_eq!(head_only(b"HEAD /health HTTP/1.1\r\n\r\n"), Ok(true));
        assert_eq!(head_only(b"HEAD / HTTP/1.1\r\n\r\n"), Ok(true));
        assert_eq!(head_only(b"GET /health HTTP/1.1\r\n\r\n"), Ok(false));
        assert_eq!(asked(b"POST /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), Ok(Asked::Other));
        assert_eq!(asked(b"GET / HTTP/1.1\r\n\r\n"), Ok(Asked::Other));
        assert_eq!(asked(b"GET /healthz HTTP/1.1\r\n\r\n"), Ok(Asked::Other));
        assert_eq!(asked(b"GET /health HTTP/1.1\r\nupgrade: websocket\r\n\r\n"), Ok(Asked::Upgrade));
        // The absolute form, which a server must accept (RFC 9112 3.2.2).
        assert_eq!(asked(b"GET http://a:9080/health?x HTTP/1.1\r\n\r\n"), Ok(Asked::Health));
        assert_eq!(asked(b"HEAD HTTPS://a/health HTTP/1.1\r\n\r\n"), Ok(Asked::Health));
        assert_eq!(asked(b"GET http://a/healthz HTTP/1.1\r\n\r\n"), Ok(Asked::Other));
        assert_eq!(asked(b"GET http://health HTTP/1.1\r\n\r\n"), Ok(Asked::Other));
        assert_eq!(asked(b"GET ftp://a/health HTTP/1.1\r\n\r\n"), Ok(Asked::Other));
    }

    #[test]
    fn garbage_is_refused_at_once_and_a_head_too_large_at_the_limit() {
        let tls_hello = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];
        assert!(matches!(read_from(&tls_hello), Err(Unread::Malformed(_))));
        assert!(matches!(read_from(b"GET / HTTP/1.1\r\nbad header\r\n\r\n"), Err(Unread::Malformed(_))));
        let endless = format!("GET / HTTP/1.1\r\nX-Pad: {}", "a".repeat(MAX_REQUEST_HEAD));
        assert_eq!(read_from(endless.as_bytes()).unwrap_err(), Unread::TooLarge);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(read_from(many.as_bytes()).unwrap_err(), Unread::TooLarge);
        assert!(matches!(read_from(b"GET / HTTP/1.1\r\nHost:"), Err(Unread::Ended(_))));
        // Every byte value, in a head's place: refused or ended, never a panic.
        let all: Vec<u8> = (0..=255).collect();
        assert!(read_from(&all).is_err());
    }

    /// A stream that gives one byte per read, and counts the bytes taken.
    struct Trickle<'a> {
        input: &'a [u8],
        taken: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if let Some((&byte, rest)) = self.input.split_first() {
                buf.put_slice(&[byte]);
                self.input = rest;
                self.taken += 1;
            }
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn empty_lines_sent_a_byte_at_a_time_are_refused_within_a_head_of_lines() {
        // httparse skips empty lines before the request line: every read of a line end was
        // parsed again from the start (a quadratic cost: 16 Ki parses of up to 16 KiB).
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for line_end in ["\n", "\r\n"] {
            let flood = line_end.repeat(MAX_REQUEST_HEAD);
            let mut trickle = Trickle { input: flood.as_bytes(), taken: 0 };
            let started = std::time::Instant::now();
            let outcome = runtime.block_on(read(&mut trickle));
            println!("{line_end:?} flood: {outcome:?} after {} bytes, {:?}", trickle.taken, started.elapsed());
            assert_eq!(outcome.unwrap_err(), Unread::TooLarge);
            assert!(trickle.taken <= (MAX_LINES + 1) * line_end.len(), "took {} bytes", trickle.taken);
        }
        // A few empty lines before the request line are allowed (RFC 9112 2.2), and so is a head
        // of every header allowed, a byte at a time.
        let head = format!("\r\n\r\nGET / HTTP/1.1\r\n{}\r\n", "a: b\r\n".repeat(MAX_HEADERS));
        let mut trickle = Trickle { input: head.as_bytes(), taken: 0 };
        assert_eq!(runtime.block_on(read(&mut trickle)).map(|head| head.asked), Ok(Asked::Other));
    }
}
