//! One channel's queue of received packets, bounded in bytes.

use std::collections::VecDeque;

/// Bytes each queued packet counts for besides its payload (its queue entry), so that a flood
/// of empty packets is bounded too. The same as the transport's channels.
pub const PACKET_OVERHEAD: usize = 32;

/// What became of a packet offered to a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; `dropped` older packets made room for it (an unreliable channel's only).
    Queued { dropped: usize },
    /// Refused: a reliable channel's queue is over its limit.
    Overflowed,
}

/// Received packets of one channel, and the bytes they count for.
#[derive(Debug)]
pub(crate) struct PacketQueue<P> {
    packets: VecDeque<P>,
    /// Payload bytes plus [`PACKET_OVERHEAD`] each.
    bytes: usize,
}

impl<P> Default for PacketQueue<P> {
    fn default() -> Self {
        Self { packets: VecDeque::new(), bytes: 0 }
    }
}

impl<P: AsRef<[u8]>> PacketQueue<P> {
    /// Queues `packet` within `limit` bytes: past it, a reliable queue refuses it and an
    /// unreliable one drops its oldest packets. An empty queue takes any one packet.
    pub(crate) fn push(&mut self, packet: P, limit: usize, reliable: bool) -> Pushed {
        let cost = cost(&packet);
        let mut dropped = 0;
        if self.bytes + cost > limit && !self.packets.is_empty() {
            if reliable {
                return Pushed::Overflowed;
            }
            while self.bytes + cost > limit && self.pop().is_some() {
                dropped += 1;
            }
        }
        self.bytes += cost;
        self.packets.push_back(packet);
        Pushed::Queued { dropped }
    }

    /// Bytes of packets (each its payload and [`PACKET_OVERHEAD`]) the queue takes now within
    /// `limit`; an empty queue takes at least one packet of `largest` bytes.
    pub(crate) fn room(&self, limit: usize, largest: usize) -> usize {
        if self.packets.is_empty() {
            limit.max(largest + PACKET_OVERHEAD)
        } else {
            limit.saturating_sub(self.bytes)
        }
    }

    /// Takes the oldest packet.
    pub(crate) fn pop(&mut self) -> Option<P> {
        let packet = self.packets.pop_front()?;
        self.bytes -= cost(&packet);
        Some(packet)
    }
}

impl<P> PacketQueue<P> {
    /// Packets queued.
    pub(crate) fn len(&self) -> usize {
        self.packets.len()
    }

    /// Whether no packet is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}

fn cost<P: AsRef<[u8]>>(packet: &P) -> usize {
    packet.as_ref().len() + PACKET_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 3 * (10 + PACKET_OVERHEAD);

    fn packet(byte: u8) -> Vec<u8> {
        vec![byte; 10]
    }

    #[test]
    fn an_unreliable_queue_drops_its_oldest_packets() {
        let mut queue = PacketQueue::default();
        for byte in 0..3 {
            assert_eq!(queue.push(packet(byte), LIMIT, false), Pushed::Queued { dropped: 0 });
        }
        assert_eq!(queue.push(packet(3), LIMIT, false), Pushed::Queued { dropped: 1 });
        let big = vec![9; 2 * 10 + PACKET_OVERHEAD];
        assert_eq!(queue.push(big, LIMIT, false), Pushed::Queued { dropped: 2 });
        let left: Vec<u8> = std::iter::from_fn(|| queue.pop()).map(|packet| packet[0]).collect();
        assert_eq!(left, [3, 9]);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_reliable_queue_refuses_past_its_limit_and_takes_again_once_read() {
        let mut queue = PacketQueue::default();
        for byte in 0..3 {
            assert_eq!(queue.push(packet(byte), LIMIT, true), Pushed::Queued { dropped: 0 });
        }
        assert_eq!(queue.push(packet(3), LIMIT, true), Pushed::Overflowed);
        assert_eq!(queue.len(), 3);
        queue.pop();
        assert_eq!(queue.push(packet(3), LIMIT, true), Pushed::Queued { dropped: 0 });
    }

    #[test]
    fn an_empty_queue_takes_a_packet_larger_than_its_limit() {
        let mut queue = PacketQueue::default();
        assert_eq!(queue.push(vec![0; 2 * LIMIT], LIMIT, true), Pushed::Queued { dropped: 0 });
        assert_eq!(queue.push(Vec::new(), LIMIT, true), Pushed::Overflowed);
    }

    #[test]
    fn empty_packets_count_their_overhead() {
        let mut queue = PacketQueue::default();
        for _ in 0..LIMIT / PACKET_OVERHEAD {
            assert_eq!(queue.push(Vec::new(), LIMIT, true), Pushed::Queued { dropped: 0 });
        }
        assert_eq!(queue.push(Vec::new(), LIMIT, true), Pushed::Overflowed);
    }
}
