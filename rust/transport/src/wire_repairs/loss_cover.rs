//! Sends the connection's data twice while the path loses datagrams.
//!
//! `rtc-sctp` 0.21.1 recovers most losses by its retransmission timeout, fixed at 1 s and
//! doubling (docs/upstream/rtc-interop-and-loss-defects.md, defect 6): one lost datagram can stall
//! a reliable channel for a second or more, and in the lab 1000 messages took a minute at 10 %
//! loss. A copy of each DTLS application-data datagram, sent right behind it, loses the data only
//! when both are lost (1 % at 10 % loss); the receiving DTLS drops whichever copy comes second
//! (its replay protection, RFC 6347 4.1.2.6), in every stack.
//!
//! Copies go only while the path is seen to lose. Every DTLS record the other side sends carries a
//! sequence number; of the records from the address our data goes to, a number that never
//! arrives, or, while the other side sends copies too, a copy that never arrives, turns the copies
//! on until [`CLEAN_RECORDS_TO_STOP`] records in a row arrived whole. Our direction is judged by
//! the other one. Copies are capped at [`COPY_BYTES_PER_SECOND`], so a bulk transfer over a
//! congested link is not doubled.

use std::net::SocketAddr;
use std::time::Instant;

use super::peek::dtls_records;

/// How many records behind the newest a record is judged (arrived, arrived twice, or lost):
/// later ones are taken as lost, as reordering that deep is rare (and then only costs copies).
/// Short, as losses before the first judgement are not covered: 32 records, tens of
/// milliseconds of a game's traffic. At most 128 (the bitmaps' width).
const WINDOW: u64 = 32;
/// Records in a row that must arrive whole before the copies stop.
const CLEAN_RECORDS_TO_STOP: u32 = 1024;
/// How long after the last record that came twice the other side is taken to send copies.
const COPIES_SEEN_FOR: u64 = 2 * WINDOW;
/// The copies' rate at most, in bytes per second.
const COPY_BYTES_PER_SECOND: f64 = 2.0 * 1024.0 * 1024.0;
/// The copies' burst at most, in bytes.
const COPY_BURST_BYTES: f64 = 256.0 * 1024.0;
/// The DTLS content type of application data (RFC 6347 4.1, RFC 5246 6.2.1).
const APPLICATION_DATA: u8 = 23;

/// What one connection knows of the loss on its path, and its budget of copies.
pub(super) struct LossCover {
    /// Where our data goes: the other side's address on the selected path. Only its records are
    /// judged, so that nobody else can turn the copies on or keep them off.
    data_peer: Option<SocketAddr>,
    heard: Heard,
    verdicts: Verdicts,
    budget: f64,
    budget_at: Option<Instant>,
}

impl Default for LossCover {
    fn default() -> Self {
        Self {
            data_peer: None,
            heard: Heard::default(),
            verdicts: Verdicts { clean_run: CLEAN_RECORDS_TO_STOP, remote_copies_until: None },
            budget: COPY_BURST_BYTES,
            budget_at: None,
        }
    }
}

impl LossCover {
    /// Looks at a datagram received from `from`: if it is where our data goes, its encrypted
    /// records' numbers.
    pub(super) fn on_received(&mut self, from: SocketAddr, datagram: &[u8]) {
        if self.data_peer != Some(from) {
            return;
        }
        let verdicts = &mut self.verdicts;
        for (epoch, sequence) in dtls_records(datagram).filter(|&(epoch, _)| epoch > 0) {
            self.heard.record(epoch, sequence, |sequence, copies| verdicts.judge(sequence, copies));
        }
    }

    /// How many times to send a datagram we are about to send to `to`: 2 for application data
    /// while the path loses and the budget allows, else 1.
    pub(super) fn copies(&mut self, to: SocketAddr, datagram: &[u8], now: Instant) -> usize {
        if datagram.first() != Some(&APPLICATION_DATA) {
            return 1;
        }
        self.data_peer = Some(to);
        if !self.covering() {
            return 1;
        }
        let elapsed = self.budget_at.map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        self.budget = (self.budget + elapsed * COPY_BYTES_PER_SECOND).min(COPY_BURST_BYTES);
        self.budget_at = Some(now);
        let size = datagram.len() as f64;
        if self.budget < size {
            return 1;
        }
        self.budget -= size;
        2
    }

    /// Whether copies go now.
    pub(super) fn covering(&self) -> bool {
        self.verdicts.clean_run < CLEAN_RECORDS_TO_STOP
    }
}

/// What the records judged so far say.
struct Verdicts {
    /// Records judged whole in a row since the last one judged lost.
    clean_run: u32,
    /// The last record judged to have come twice, plus [`COPIES_SEEN_FOR`].
    remote_copies_until: Option<u64>,
}

impl Verdicts {
    /// Judges record `sequence`, which came `copies` times.
    fn judge(&mut self, sequence: u64, copies: u8) {
        if copies == 2 {
            self.remote_copies_until = Some(sequence.saturating_add(COPIES_SEEN_FOR));
        }
        let remote_copies = self.remote_copies_until.is_some_and(|until| sequence <= until);
        let lost = copies == 0 || (copies == 1 && remote_copies);
        self.clean_run = if lost { 0 } else { self.clean_run.saturating_add(1) };
    }
}

/// The record numbers heard in the newest [`WINDOW`] of one epoch, and how often each came.
#[derive(Default)]
struct Heard {
    epoch: u16,
    /// The first number heard in the epoch: those before it are not judged.
    first: u64,
    newest: Option<u64>,
    /// Bit `i`: number `newest - i` came at least once.
    once: u128,
    /// Bit `i`: number `newest - i` came twice or more.
    twice: u128,
}

impl Heard {
    /// Notes that record `sequence` of `epoch` came; hands `left` each number that left the
    /// window, with how many times it came (0, 1 or 2).
    fn record(&mut self, epoch: u16, sequence: u64, mut left: impl FnMut(u64, u8)) {
        let newest = match self.newest {
            Some(newest) if epoch == self.epoch => newest,
            Some(_) if epoch < self.epoch => return,
            _ => {
                *self = Self { epoch, first: sequence, newest: Some(sequence), once: 1, twice: 0 };
                return;
            }
        };
        if sequence <= newest {
            let bit = newest - sequence;
            if sequence >= self.first && bit < WINDOW {
                let mask = 1u128 << bit;
                self.twice |= self.once & mask;
                self.once |= mask;
            }
            return;
        }
        let shift = sequence - newest;
        // Numbers newest - i for i from the window's end down, while they leave it.
        for i in (WINDOW.saturating_sub(shift)..WINDOW).rev() {
            let Some(number) = newest.checked_sub(i).filter(|&number| number >= self.first) else {
                continue;
            };
            let copies = u8::from(self.once >> i & 1 == 1) + u8::from(self.twice >> i & 1 == 1);
            left(number, copies);
        }
        // A jump past the whole window: the numbers skipped never came (one judgement for all,
        // so a forged jump costs nothing).
        if shift > WINDOW {
            left(sequence - WINDOW, 0);
        }
        let (once, twice) = if shift >= WINDOW { (0, 0) } else { (self.once << shift, self.twice << shift) };
        (self.once, self.twice, self.newest) = (once | 1, twice, Some(sequence));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::{IpAddr, Ipv4Addr};

    const PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5000);

    /// A cover that has sent data to [`PEER`].
    fn sending_data() -> LossCover {
        let mut cover = LossCover::default();
        assert_eq!(cover.copies(PEER, &data(0), Instant::now()), 1);
        cover
    }
    /// A datagram of one epoch-1 record numbered `sequence`, of content type `kind`.
    fn record(kind: u8, sequence: u64) -> Vec<u8> {
        let mut datagram = vec![kind, 0xfe, 0xfd, 0, 1];
        datagram.extend_from_slice(&sequence.to_be_bytes()[2..]);
        datagram.extend_from_slice(&[0, 4, 1, 2, 3, 4]);
        datagram
    }

    fn data(sequence: u64) -> Vec<u8> {
        record(APPLICATION_DATA, sequence)
    }

    fn hear(cover: &mut LossCover, numbers: impl IntoIterator<Item = u64>, times: usize) {
        for number in numbers {
            for _ in 0..times {
                cover.on_received(PEER, &data(number));
            }
        }
    }

    #[test]
    fn a_path_that_loses_nothing_gets_no_copies() {
        let mut cover = sending_data();
        hear(&mut cover, 0..WINDOW + 10, 1);
        assert!(!cover.covering(), "the first records judged are whole");
        hear(&mut cover, WINDOW + 10..5000, 1);
        assert!(!cover.covering());
        assert_eq!(cover.copies(PEER, &data(1), Instant::now()), 1);
    }

    #[test]
    fn one_lost_record_turns_copies_on_until_1024_arrive_whole() {
        let mut cover = sending_data();
        hear(&mut cover, (0..1000).filter(|&n| n != 500), 1);
        assert!(cover.covering(), "the gap is judged once it leaves the window");
        assert_eq!(cover.copies(PEER, &data(1), Instant::now()), 2);
        assert_eq!(cover.copies(PEER, &record(22, 1), Instant::now()), 1, "only application data is copied");
        hear(&mut cover, 1000..(500 + 1024 + WINDOW), 1);
        assert!(cover.covering());
        hear(&mut cover, [500 + 1024 + WINDOW], 1);
        assert!(!cover.covering());
    }

    #[test]
    fn late_and_reordered_records_inside_the_window_are_not_lost() {
        let mut cover = sending_data();
        for chunk in (0..2000u64).collect::<Vec<_>>().chunks(20) {
            hear(&mut cover, chunk.iter().rev().copied(), 1);
        }
        assert!(!cover.covering());
    }

    #[test]
    fn while_the_other_side_sends_copies_a_missing_copy_counts_as_a_loss() {
        let mut cover = sending_data();
        hear(&mut cover, 0..2000, 2);
        assert!(!cover.covering());
        cover.on_received(PEER, &data(2000));
        hear(&mut cover, 2001..2200, 2);
        assert!(cover.covering(), "record 2000 came once where every other came twice");
        // When the other side stops sending copies, single records are whole again.
        hear(&mut cover, 2200..(2200 + 2 * WINDOW + 1024 + WINDOW), 1);
        assert!(!cover.covering());
    }

    #[test]
    fn records_of_several_in_one_datagram_are_all_heard() {
        let mut cover = sending_data();
        for pair in (0..3000u64).step_by(2) {
            cover.on_received(PEER, &[data(pair), data(pair + 1)].concat());
        }
        assert!(!cover.covering());
    }

    #[test]
    fn a_new_epoch_starts_over_and_epoch_zero_is_not_judged() {
        let mut cover = sending_data();
        hear(&mut cover, (0..300).step_by(3), 1);
        assert!(cover.covering());
        let mut cover = sending_data();
        for number in (0..300).step_by(3) {
            let mut datagram = data(number);
            datagram[4] = 0;
            cover.on_received(PEER, &datagram);
        }
        assert!(!cover.covering());
        cover.on_received(PEER, &data(7_000_000));
        hear(&mut cover, 7_000_001..7_002_000, 1);
        assert!(!cover.covering(), "numbers before the first heard are not judged");
    }

    #[test]
    fn a_jump_far_ahead_is_one_loss_not_millions() {
        let mut cover = sending_data();
        hear(&mut cover, 0..10, 1);
        let started = Instant::now();
        hear(&mut cover, [(1 << 48) - 1], 1);
        assert!(started.elapsed().as_millis() < 100);
        assert!(cover.covering());
    }

    #[test]
    fn copies_stop_at_the_budget_and_resume_as_it_refills() {
        let mut cover = sending_data();
        hear(&mut cover, (0..300).filter(|&n| n != 10), 1);
        let datagram = vec![APPLICATION_DATA; 1200];
        let now = Instant::now();
        let copied = (0..1000).filter(|_| cover.copies(PEER, &datagram, now) == 2).count();
        assert_eq!(copied, (COPY_BURST_BYTES / 1200.0) as usize);
        let later = now + std::time::Duration::from_millis(100);
        let refilled = (0..1000).filter(|_| cover.copies(PEER, &datagram, later) == 2).count();
        assert_eq!(refilled, ((COPY_BURST_BYTES % 1200.0 + COPY_BYTES_PER_SECOND * 0.1) / 1200.0) as usize);
    }

    #[test]
    fn only_the_address_our_data_goes_to_is_judged() {
        let mut cover = LossCover::default();
        hear(&mut cover, (0..300).step_by(3), 1);
        assert!(!cover.covering(), "no data sent yet: nobody is judged");
        let mut cover = sending_data();
        let stranger = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5001);
        for number in (0..300).step_by(3) {
            cover.on_received(stranger, &data(number));
        }
        assert!(!cover.covering());
    }
}
