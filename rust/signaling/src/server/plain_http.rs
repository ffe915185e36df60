//! The plain HTTP answers the signaling port gives to a request that is not a WebSocket
//! upgrade: `200 ok` to the health check, a 4xx to anything else. Every answer closes the
//! connection (`Connection: close`, then the write side is shut: a TLS close_notify on `wss://`).

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::health::HEALTH_PATH;

/// An answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// `200 OK`, body `ok`: the health check.
    Healthy,
    /// `400 Bad Request`: not HTTP, or a plain-text upgrade on a port that serves `wss://`.
    BadRequest,
    /// `404 Not Found`: a request that is not an upgrade, for another path than the health path.
    NotFound,
    /// `431 Request Header Fields Too Large`: a head over the limit.
    TooLarge,
}

impl Answer {
    /// The status code.
    pub(super) fn status(self) -> u16 {
        match self {
            Self::Healthy => 200,
            Self::BadRequest => 400,
            Self::NotFound => 404,
            Self::TooLarge => 431,
        }
    }

    /// The status line's reason and the body.
    fn words(self) -> (&'static str, String) {
        match self {
            Self::Healthy => ("OK", "ok\n".into()),
            Self::BadRequest => (
                "Bad Request",
                format!("bad request: this port serves WebSocket (over TLS on a wss:// port) and GET {HEALTH_PATH}\n"),
            ),
            Self::NotFound => {
                ("Not Found", format!("not found: this port speaks WebSocket, and answers GET {HEALTH_PATH}\n"))
            }
            Self::TooLarge => ("Request Header Fields Too Large", "request head too large\n".into()),
        }
    }

    /// The whole answer, without its body for a `HEAD` request (`head_only`).
    pub(super) fn to_http(self, head_only: bool) -> String {
        let (reason, body) = self.words();
        let mut answer = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status(),
            body.len()
        );
        if !head_only {
            answer.push_str(&body);
        }
        answer
    }

    /// Writes the answer to `stream` and shuts its write side. Errors are ignored: the
    /// connection is closed either way, and the caller's deadline bounds how long it takes.
    pub(super) async fn write<S: AsyncWrite + Unpin>(self, stream: &mut S, head_only: bool) {
        if stream.write_all(self.to_http(head_only).as_bytes()).await.is_ok() {
            let _ = stream.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_whole_http_responses_that_close() {
        let healthy = Answer::Healthy.to_http(false);
        assert!(healthy.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(healthy.ends_with("Content-Length: 3\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nok\n"));
        assert!(Answer::Healthy.to_http(true).ends_with("\r\n\r\n"));
        for answer in [Answer::BadRequest, Answer::NotFound, Answer::TooLarge] {
            let http = answer.to_http(false);
            assert!((400..500).contains(&answer.status()));
            let (head, body) = http.split_once("\r\n\r\n").unwrap();
            assert!(head.contains(&format!("Content-Length: {}", body.len())), "{http}");
        }
    }
}
