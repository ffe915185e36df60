//! An ICE restart signaled in-band (issue 21): when a pair's direct path worked and broke, the
//! pair falls back to a relay, and tries direct again with an ICE restart whose offer and answer
//! travel over the pair's own connection, relayed and end-to-end encrypted, as RESTART envelopes
//! on its relay channel. Godot's API gives scripts no ICE restart, and the game's signaling and
//! descriptions are not involved.
//!
//! The side that made the first offer starts: once records have taken the relay for
//! [`restart_delay`] (5 s, then 10, 20, 40, and 60 s from then on), it restarts ICE (new
//! credentials, its candidates kept) and sends an offer; the other side restarts too and answers
//! with its own; each gives the other's credentials and candidates to its core. The relay
//! channel loses what its path loses: an offer or answer lost is one attempt lost, and the next
//! comes after the next delay. Only connections where both sides announced relaying have the
//! channel, so only they do this.
//!
//! The message (the envelope's payload): a first line `offer SEQ UFRAG PWD` or
//! `answer SEQ UFRAG PWD`, then at most [`MAX_RESTART_CANDIDATES`] lines `candidate:...`, the
//! whole at most [`MAX_RELAYED_DATAGRAM`] bytes. Credentials are checked by the core as a
//! description's are, and each candidate is parsed by its bounded candidate parser.

use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::connection::{Connection, ConnectionState as CoreState, PathKind, SignalingState};

use super::envelope::MAX_RELAYED_DATAGRAM;

/// The first delay between records taking the relay and an ICE restart; each further attempt
/// waits twice as long as the one before, up to [`MAX_RESTART_DELAY`].
pub const FIRST_RESTART_DELAY: Duration = Duration::from_secs(5);

/// The longest delay between two ICE restarts of a pair that stays relayed.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);

/// The shortest time between two restarts the answering side follows: an offer that comes
/// sooner is ignored (a peer cannot make us restart in a loop).
pub const MIN_ANSWER_INTERVAL: Duration = Duration::from_secs(2);

/// Most candidates one restart message carries (more are left out, as are those past the
/// message's size).
pub const MAX_RESTART_CANDIDATES: usize = 16;

/// The delay before restart attempt `attempt` (0 the first): 5 s, 10 s, 20 s, 40 s, then 60 s.
pub fn restart_delay(attempt: u32) -> Duration {
    FIRST_RESTART_DELAY.saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX)).min(MAX_RESTART_DELAY)
}

/// One ICE restart message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RestartMessage {
    /// An answer (else an offer).
    answer: bool,
    /// The offer's number, which its answer repeats.
    seq: u32,
    /// The sender's new ICE username fragment.
    ufrag: String,
    /// The sender's new ICE password.
    pwd: String,
    /// The sender's candidates (`candidate:...` lines).
    candidates: Vec<String>,
}

impl RestartMessage {
    /// The message's bytes: candidates past [`MAX_RESTART_CANDIDATES`] or past the size left out;
    /// `None` if the first line alone does not fit or has a space or line break in a credential.
    fn encode(&self) -> Option<Bytes> {
        let kind = if self.answer { "answer" } else { "offer" };
        let plain = |value: &str| !value.is_empty() && !value.contains([' ', '\n', '\r']);
        if !plain(&self.ufrag) || !plain(&self.pwd) {
            return None;
        }
        let mut text = format!("{kind} {} {} {}", self.seq, self.ufrag, self.pwd);
        if text.len() > MAX_RELAYED_DATAGRAM {
            return None;
        }
        for line in self.candidates.iter().take(MAX_RESTART_CANDIDATES) {
            if line.contains(['\n', '\r']) || text.len() + 1 + line.len() > MAX_RELAYED_DATAGRAM {
                continue;
            }
            text.push('\n');
            text.push_str(line);
        }
        Some(Bytes::from(text))
    }

    /// Reads a message from any bytes: `None` unless it is UTF-8 of at most
    /// [`MAX_RELAYED_DATAGRAM`] bytes, with a valid first line and at most
    /// [`MAX_RESTART_CANDIDATES`] lines after it, each `candidate:...`.
    fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_RELAYED_DATAGRAM {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.split('\n');
        let mut first = lines.next()?.split(' ');
        let answer = match first.next()? {
            "offer" => false,
            "answer" => true,
            _ => return None,
        };
        let seq = first.next()?.parse().ok()?;
        let ufrag = first.next()?.to_owned();
        let pwd = first.next()?.to_owned();
        if first.next().is_some() {
            return None;
        }
        let candidates: Vec<String> = lines.map(str::to_owned).collect();
        let all_candidates = candidates.iter().all(|line| line.starts_with("candidate:"));
        (candidates.len() <= MAX_RESTART_CANDIDATES && all_candidates).then_some(Self {
            answer,
            seq,
            ufrag,
            pwd,
            candidates,
        })
    }
}

/// A connection's in-band ICE restarts.
#[derive(Default)]
pub(crate) struct IceRestart {
    /// Records took the direct path at least once (a pair that never had one is not restarted:
    /// its ICE found no path, and the relay is its path).
    direct_once: bool,
    /// When records last moved to the relay (while they stay there).
    relayed_since: Option<Instant>,
    /// Restart attempts since then.
    attempts: u32,
    /// When the next attempt is due.
    next_at: Option<Instant>,
    /// The last offer's number.
    seq: u32,
    /// The offer whose answer we wait for.
    pending: Option<u32>,
    /// When we last followed an offer of the other side's.
    answered_at: Option<Instant>,
    /// Restarts made or followed (for the logs and tests).
    restarts: u64,
}

impl IceRestart {
    /// Records now take `path`.
    pub(crate) fn on_path_changed(&mut self, path: PathKind, now: Instant) {
        match path {
            PathKind::Direct => {
                self.direct_once = true;
                self.relayed_since = None;
                self.attempts = 0;
                self.next_at = None;
            }
            PathKind::Relayed => {
                if self.relayed_since.is_none() {
                    self.relayed_since = Some(now);
                    self.attempts = 0;
                    self.next_at = Some(now + restart_delay(0));
                }
            }
        }
    }

    /// The restart due at `now`, if this side starts them, the pair once had a direct path and
    /// is relayed, the connection is connected with the game's signaling stable and the relay
    /// channel `usable`: the offer to send. Also when to ask again.
    pub(crate) fn poll_offer(
        &mut self,
        conn: &mut Connection,
        usable: bool,
        now: Instant,
    ) -> (Option<Bytes>, Option<Instant>) {
        let Some(due) = self.next_at.filter(|_| self.direct_once && conn.offered_first()) else {
            return (None, None);
        };
        if due > now {
            return (None, Some(due));
        }
        self.attempts = self.attempts.saturating_add(1);
        let next = now + restart_delay(self.attempts);
        self.next_at = Some(next);
        let ready = usable && conn.state() == CoreState::Connected && conn.signaling_state() == SignalingState::Stable;
        if !ready {
            return (None, Some(next));
        }
        if let Err(error) = conn.restart_ice(now) {
            log::debug!("in-band ICE restart: {error}");
            return (None, Some(next));
        }
        self.restarts += 1;
        self.seq = self.seq.wrapping_add(1);
        self.pending = Some(self.seq);
        log::debug!("in-band ICE restart {} (attempt {}), next in {:?}", self.seq, self.attempts, next - now);
        (message(conn, false, self.seq), Some(next))
    }

    /// A RESTART envelope's message came from the other side: an offer is followed (our ICE
    /// restarts, its credentials and candidates go to the core) and answered (the answer to
    /// send); an answer to our pending offer completes it. Anything else is ignored.
    pub(crate) fn on_message(&mut self, conn: &mut Connection, bytes: &[u8], now: Instant) -> Option<Bytes> {
        let Some(received) = RestartMessage::parse(bytes) else {
            log::debug!("in-band ICE restart: a malformed message ({} bytes)", bytes.len());
            return None;
        };
        if received.answer {
            if self.pending != Some(received.seq) {
                return None;
            }
            self.pending = None;
            give(conn, &received, now);
            return None;
        }
        let too_soon = self.answered_at.is_some_and(|at| now.saturating_duration_since(at) < MIN_ANSWER_INTERVAL);
        if conn.offered_first() || too_soon || conn.state() != CoreState::Connected {
            return None;
        }
        if let Err(error) = conn.restart_ice(now) {
            log::debug!("in-band ICE restart offered: {error}");
            return None;
        }
        self.answered_at = Some(now);
        self.restarts += 1;
        give(conn, &received, now);
        message(conn, true, received.seq)
    }

    /// Restarts made or followed so far.
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts
    }
}

/// Our offer or answer `seq`, with our current credentials and candidates.
fn message(conn: &Connection, answer: bool, seq: u32) -> Option<Bytes> {
    let (ufrag, pwd, candidates) = conn.local_ice();
    RestartMessage { answer, seq, ufrag, pwd, candidates }.encode()
}

/// Gives the core the other side's credentials and candidates.
fn give(conn: &mut Connection, received: &RestartMessage, now: Instant) {
    if let Err(error) = conn.set_remote_ice(now, &received.ufrag, &received.pwd, &received.candidates) {
        log::debug!("in-band ICE restart: the other side's credentials were refused: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_5_s_up_to_60_s() {
        let delays: Vec<u64> = (0..8).map(|attempt| restart_delay(attempt).as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 60, 60, 60, 60]);
        assert_eq!(restart_delay(31), MAX_RESTART_DELAY);
        assert_eq!(restart_delay(32), MAX_RESTART_DELAY, "no overflow");
        assert_eq!(restart_delay(u32::MAX), MAX_RESTART_DELAY);
    }

    fn offer() -> RestartMessage {
        RestartMessage {
            answer: false,
            seq: 7,
            ufrag: "abcd".into(),
            pwd: "0123456789012345678901".into(),
            candidates: vec!["candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into()],
        }
    }

    #[test]
    fn a_message_round_trips() {
        let bytes = offer().encode().expect("fits");
        assert_eq!(RestartMessage::parse(&bytes), Some(offer()));
        let answer = RestartMessage { answer: true, candidates: Vec::new(), ..offer() };
        assert_eq!(RestartMessage::parse(&answer.encode().expect("fits")), Some(answer));
    }

    #[test]
    fn candidates_past_the_bounds_are_left_out() {
        let line = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".to_owned();
        let many = RestartMessage { candidates: vec![line.clone(); MAX_RESTART_CANDIDATES + 5], ..offer() };
        let parsed = RestartMessage::parse(&many.encode().expect("fits")).expect("parses");
        assert!(parsed.candidates.len() <= MAX_RESTART_CANDIDATES);
        let long = RestartMessage { candidates: vec![format!("{line} {}", "x".repeat(1400)), line], ..offer() };
        let bytes = long.encode().expect("fits");
        assert!(bytes.len() <= MAX_RELAYED_DATAGRAM);
        assert_eq!(RestartMessage::parse(&bytes).expect("parses").candidates.len(), 1, "the long one left out");
        let spaced = RestartMessage { ufrag: "a b".into(), ..offer() };
        assert_eq!(spaced.encode(), None);
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in [
            &b""[..],
            b"offer",
            b"offer 1 abcd",
            b"offer x abcd 0123456789012345678901",
            b"hello 1 abcd 0123456789012345678901",
            b"offer 1 abcd 0123456789012345678901 extra",
            b"offer 1 abcd 0123456789012345678901\nnot a candidate",
            b"offer 1 abcd \xff\xfe",
        ] {
            assert_eq!(RestartMessage::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let mut too_many = String::from("offer 1 abcd 0123456789012345678901");
        for _ in 0..=MAX_RESTART_CANDIDATES {
            too_many.push_str("\ncandidate:1");
        }
        assert_eq!(RestartMessage::parse(too_many.as_bytes()), None);
        assert_eq!(RestartMessage::parse(&vec![b'a'; MAX_RELAYED_DATAGRAM + 1]), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| b"offer 1\n candidate:ab"[(state as usize + i) % 21]).collect();
            let _ = RestartMessage::parse(&bytes);
        }
    }
}
