//! Receiving: per-channel queues filled at poll time, read in the engine's round robin.

use std::collections::VecDeque;

use super::Mesh;
use crate::channels::TransferMode;

/// Describes the packet that will be read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// The sending peer.
    pub peer: i32,
    /// Index of the channel in the peer's channel list.
    pub channel_index: usize,
    /// The transfer channel Godot reports: 0 for the built-in channels, i + 1 for extra i.
    pub transfer_channel: i32,
    /// The transfer mode of that channel.
    pub mode: TransferMode,
}

impl<L, P> Mesh<L, P> {
    /// Moves received packets into the queues: `drain` is called for every channel of every
    /// link, in insertion and channel order, and returns that channel's packets.
    pub fn receive<I: IntoIterator<Item = P>>(&mut self, mut drain: impl FnMut(&mut L, usize) -> I) {
        for peer in &mut self.peers {
            for (channel_index, queue) in peer.queues.iter_mut().enumerate() {
                let before = queue.len();
                queue.extend(drain(&mut peer.link, channel_index));
                if peer.announced {
                    self.available += queue.len() - before;
                }
            }
        }
        if self.next.is_none() {
            self.select_next();
        }
    }

    /// Packets waiting from peers whose `peer_connected` was emitted.
    pub fn available_packets(&self) -> usize {
        self.available
    }

    /// The packet [`pop_packet`](Self::pop_packet) returns next.
    pub fn next_packet(&self) -> Option<PacketInfo> {
        self.next
    }

    /// Takes the next packet, then moves the round robin on to the following peer.
    pub fn pop_packet(&mut self) -> Option<(PacketInfo, P)> {
        let info = self.next?;
        let index = self.position(info.peer)?;
        let packet = self.peers[index].queues[info.channel_index].pop_front()?;
        self.available -= 1;
        self.last_read_peer = info.peer;
        self.select_next();
        Some((info, packet))
    }

    /// The engine's round robin: the first peer after the one read last (wrapping around, and
    /// ending with that peer) that has a packet, from its first channel with one.
    pub(super) fn select_next(&mut self) {
        let count = self.peers.len();
        let start = self.position(self.last_read_peer).map_or(0, |index| index + 1);
        self.next = (start..count).chain(0..start.min(count)).find_map(|index| {
            let peer = &self.peers[index];
            if !peer.announced {
                return None;
            }
            let channel_index = peer.queues.iter().position(|queue| !VecDeque::is_empty(queue))?;
            let (transfer_channel, mode) = self.channel_kind(channel_index);
            Some(PacketInfo { peer: peer.id, channel_index, transfer_channel, mode })
        });
    }
}
