//! The cap on a connection's remote ICE candidates.
//!
//! Each remote candidate makes candidate pairs the ICE agent checks: a remote description with
//! thousands of candidates would aim checks at thousands of addresses of its choosing, and grow
//! the agent's tables. The candidates inside remote descriptions and the trickled ones count
//! together, over the connection's life (a renegotiation's description counts again, as the agent
//! keeps what it had); past [`MAX_REMOTE_CANDIDATES`], a description's further candidate lines are dropped
//! and further trickled candidates refused, with one warning in the log.

use crate::error::TransportError;

/// Remote candidates a connection takes at most: a browser behind a few interfaces, IPv4 and
/// IPv6, with server-reflexive and relayed candidates, signals a few dozen at most.
pub const MAX_REMOTE_CANDIDATES: usize = 64;

/// How many remote candidates a connection has taken.
#[derive(Default)]
pub(crate) struct RemoteCandidates {
    taken: usize,
    warned: bool,
}

impl RemoteCandidates {
    /// Takes one trickled candidate, or refuses it past the cap.
    pub(crate) fn take_one(&mut self) -> Result<(), TransportError> {
        if self.taken >= MAX_REMOTE_CANDIDATES {
            self.warn();
            return Err(TransportError::TooManyCandidates(MAX_REMOTE_CANDIDATES));
        }
        self.taken += 1;
        Ok(())
    }

    /// `sdp` with its candidate lines past the cap dropped, and how many it keeps (to be
    /// counted with [`RemoteCandidates::count`] once the description is applied).
    pub(crate) fn trim(&mut self, sdp: String) -> (String, usize) {
        let room = MAX_REMOTE_CANDIDATES.saturating_sub(self.taken);
        let lines = sdp.split_inclusive('\n');
        let candidates = lines.clone().filter(|line| is_candidate(line)).count();
        if candidates <= room {
            return (sdp, candidates);
        }
        self.warn();
        let mut kept = 0;
        let trimmed = lines
            .filter(|line| {
                if !is_candidate(line) {
                    return true;
                }
                kept += 1;
                kept <= room
            })
            .collect();
        (trimmed, room)
    }

    /// Counts `count` candidates of an applied description.
    pub(crate) fn count(&mut self, count: usize) {
        self.taken += count;
    }

    fn warn(&mut self) {
        if !self.warned {
            self.warned = true;
            log::warn!(
                "the remote side signaled more than {MAX_REMOTE_CANDIDATES} ICE candidates: further ones are refused"
            );
        }
    }
}

fn is_candidate(line: &str) -> bool {
    line.trim_start().starts_with("a=candidate:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(candidates: usize) -> String {
        let mut sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n".to_owned();
        for n in 0..candidates {
            sdp.push_str(&format!("a=candidate:{n} 1 udp 1 10.0.0.1 {n} typ host\r\n"));
        }
        sdp.push_str("a=end-of-candidates\r\n");
        sdp
    }

    #[test]
    fn trickled_candidates_past_the_cap_are_refused() {
        let mut candidates = RemoteCandidates::default();
        for _ in 0..MAX_REMOTE_CANDIDATES {
            assert_eq!(candidates.take_one(), Ok(()));
        }
        assert_eq!(candidates.take_one(), Err(TransportError::TooManyCandidates(MAX_REMOTE_CANDIDATES)));
    }

    #[test]
    fn a_description_keeps_what_fits_with_the_trickled_ones() {
        let mut candidates = RemoteCandidates::default();
        let (sdp, kept) = candidates.trim(description(3));
        assert_eq!((sdp, kept), (description(3), 3), "a description within the cap is left whole");
        candidates.take_one().expect("room");
        let (sdp, kept) = candidates.trim(description(1000));
        assert_eq!(kept, MAX_REMOTE_CANDIDATES - 1);
        assert_eq!(sdp, description(MAX_REMOTE_CANDIDATES - 1), "the first ones, and every other line");
        candidates.count(kept);
        assert!(candidates.take_one().is_err());
    }
}
