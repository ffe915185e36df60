//! What ICE had to work with (candidates gathered and received, whether a relay was configured),
//! kept to explain a failure.

use crate::error::TransportError;

/// The candidate types, in the order they are reported.
const TYPES: [&str; 4] = ["host", "srflx", "prflx", "relay"];

/// Counts of a connection's candidates.
#[derive(Debug, Default)]
pub(crate) struct IceTally {
    local: [usize; TYPES.len()],
    remote: usize,
    relay_configured: bool,
}

impl IceTally {
    /// A tally for a connection with (or without) a TURN server.
    pub(crate) fn new(relay_configured: bool) -> Self {
        Self { relay_configured, ..Self::default() }
    }

    /// Counts a local candidate from its SDP line (`... typ host ...`).
    pub(crate) fn local_candidate(&mut self, line: &str) {
        let kind = line.split_whitespace().skip_while(|word| *word != "typ").nth(1);
        if let Some(index) = kind.and_then(|kind| TYPES.iter().position(|known| *known == kind)) {
            self.local[index] += 1;
        }
    }

    /// Counts `count` remote candidates that were added.
    pub(crate) fn remote_candidates(&mut self, count: usize) {
        self.remote = self.remote.saturating_add(count);
    }

    /// The failure to report when ICE found no path.
    pub(crate) fn failure(&self) -> TransportError {
        let local = self.local;
        let gathered: Vec<String> = TYPES
            .iter()
            .zip(local)
            .filter(|(_, count)| *count > 0)
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        TransportError::ConnectionFailed {
            gathered: if gathered.is_empty() { "none".into() } else { gathered.join(", ") },
            remote_candidates: self.remote,
            relay_configured: self.relay_configured,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_says_what_was_gathered_and_suggests_turn() {
        let mut tally = IceTally::new(false);
        tally.local_candidate("candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host");
        tally.local_candidate("candidate:2 1 udp 1694498815 198.18.0.11 5000 typ srflx raddr 10.0.0.2 rport 5000");
        tally.remote_candidates(1);
        let text = tally.failure().to_string();
        assert!(text.contains("local candidates: 1 host, 1 srflx"), "{text}");
        assert!(text.contains("remote candidates received: 1"), "{text}");
        assert!(text.contains("add a 'turn:' server"), "{text}");
    }

    #[test]
    fn a_configured_relay_that_gave_nothing_is_named() {
        let mut tally = IceTally::new(true);
        let text = tally.failure().to_string();
        assert!(text.contains("local candidates: none"), "{text}");
        assert!(text.contains("gave no relay candidate"), "{text}");
        tally.local_candidate("candidate:3 1 udp 16777215 198.18.0.1 50000 typ relay raddr 0.0.0.0 rport 0");
        assert!(tally.failure().to_string().contains("relay candidates were tried too"));
    }
}
