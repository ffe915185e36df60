//! The health check: the path the signaling port answers over plain HTTP with `200 ok`, and the
//! probe that asks for it (the binary's `--health-check`, for a container's `HEALTHCHECK`
//! where no curl is installed).
//!
//! The answer says that the server accepts connections and that its pump runs: a health check
//! is a connection like any other (it counts in the handshake caps, and is answered within the
//! handshake deadline), answered by the connection's own task. A server that serves `wss://`
//! itself answers the health check in TLS too, and also in plain text on the same port (a
//! connection whose first byte does not start a TLS record), so that a probe on the same
//! machine needs no certificate; nothing else is served in plain text there.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The path answered with `200 ok` to `GET` and `HEAD` without an `Upgrade` header.
pub const HEALTH_PATH: &str = "/health";
/// How long the probe waits for the whole answer.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of the answer the probe reads at most.
const MAX_ANSWER: u64 = 4096;

/// Asks the server at `address` for [`HEALTH_PATH`] over plain HTTP: `Ok` if it answers `200`
/// within [`CHECK_TIMEOUT`]; otherwise why not (the status line it gave, or what failed).
pub async fn check(address: SocketAddr) -> Result<(), String> {
    let asking = async {
        let mut stream = TcpStream::connect(address).await.map_err(|error| format!("cannot connect: {error}"))?;
        let request = format!("GET {HEALTH_PATH} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|error| format!("cannot ask: {error}"))?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await.map_err(|error| format!("no whole answer: {error}"))?;
        let answer = String::from_utf8_lossy(&answer);
        let status_line = answer.lines().next().unwrap_or_default();
        match status_line.split(' ').nth(1) {
            Some("200") if status_line.starts_with("HTTP/1.") => Ok(()),
            _ if status_line.is_empty() => Err("the connection closed without an answer".to_owned()),
            _ => Err(format!("answered {status_line:?}")),
        }
    };
    match tokio::time::timeout(CHECK_TIMEOUT, asking).await {
        Ok(checked) => checked,
        Err(_) => Err(format!("no answer within {} s", CHECK_TIMEOUT.as_secs())),
    }
}
