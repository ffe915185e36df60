//! Receiving: per-channel queues filled at poll time, read in the engine's round robin.

use super::queue::{PacketQueue, Pushed, PACKET_OVERHEAD};
use super::{channel_kind, channel_label, Mesh};
use crate::channels::TransferMode;
use crate::error::MeshError;

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

impl<L, P: AsRef<[u8]>> Mesh<L, P> {
    /// Moves received packets into the queues: `drain` is called for every channel of every
    /// link, in insertion and channel order, with a budget in bytes (each packet counts its
    /// payload and [`PACKET_OVERHEAD`](super::queue::PACKET_OVERHEAD)), and returns that channel's
    /// packets. A reliable channel's budget is what its queue has room for within the
    /// [receive limit](Self::set_receive_limit) (at least one packet of the largest size when it
    /// is empty): what does not fit stays in the link, whose transport holds the sender back (a link
    /// that learns sizes only once it took a packet may pass it by one packet). An unreliable
    /// channel has no budget (`None`): its queue drops its oldest packets instead. A peer whose
    /// drain returned more than that on a reliable channel is removed (with `peer_disconnected`
    /// if it was announced). Returns the removed peers' ids and links, for the
    /// caller to close, each with the error to report.
    pub fn receive<I: IntoIterator<Item = P>>(
        &mut self,
        mut drain: impl FnMut(&mut L, usize, Option<usize>) -> I,
    ) -> Vec<(i32, L, MeshError)> {
        let limit = self.receive_limit;
        let largest = self.max_packet_size;
        let mut overflowed = Vec::new();
        for peer in &mut self.peers {
            'channels: for (channel_index, queue) in peer.queues.iter_mut().enumerate() {
                let reliable = channel_kind(&self.extras, channel_index).1 == TransferMode::Reliable;
                let budget = reliable.then(|| queue.room(limit, largest));
                // A link that learns a packet's size only once it took it may pass its budget by
                // one packet; a reliable queue past that is a link that ignored its budget.
                let hard_limit =
                    if reliable { limit.max(largest + PACKET_OVERHEAD) + largest + PACKET_OVERHEAD } else { limit };
                for packet in drain(&mut peer.link, channel_index, budget) {
                    match queue.push(packet, hard_limit, reliable) {
                        Pushed::Queued { dropped } => {
                            self.dropped += dropped;
                            if peer.announced {
                                self.available = self.available + 1 - dropped;
                            }
                        }
                        Pushed::Overflowed => {
                            overflowed.push((peer.id, channel_index));
                            break 'channels;
                        }
                    }
                }
            }
        }
        let removed = overflowed
            .into_iter()
            .filter_map(|(peer_id, channel_index)| {
                let link = self.remove_peer(peer_id)?;
                let error = MeshError::QueueFull(format!(
                    "peer {peer_id} sent more than {limit} bytes on channel '{}' that the game did not read; the \
                     peer was dropped (read packets every frame, or raise \
                     network/limits/webrtc/max_channel_in_buffer_kb)",
                    channel_label(channel_index)
                ));
                Some((peer_id, link, error))
            })
            .collect();
        if self.next.is_none() {
            self.select_next();
        }
        removed
    }

    /// Packets the unreliable channels' queues dropped, oldest first, to stay within the
    /// receive limit.
    pub fn dropped_packets(&self) -> usize {
        self.dropped
    }

    /// Takes the next packet, then moves the round robin on to the following peer.
    pub fn pop_packet(&mut self) -> Option<(PacketInfo, P)> {
        let info = self.next?;
        let index = self.position(info.peer)?;
        let packet = self.peers[index].queues[info.channel_index].pop()?;
        self.available -= 1;
        self.last_read_peer = info.peer;
        self.select_next();
        Some((info, packet))
    }
}

impl<L, P> Mesh<L, P> {
    /// Packets waiting from peers whose `peer_connected` was emitted.
    pub fn available_packets(&self) -> usize {
        self.available
    }

    /// The packet [`pop_packet`](Self::pop_packet) returns next.
    pub fn next_packet(&self) -> Option<PacketInfo> {
        self.next
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
            let channel_index = peer.queues.iter().position(|queue| !PacketQueue::is_empty(queue))?;
            let (transfer_channel, mode) = self.channel_kind(channel_index);
            Some(PacketInfo { peer: peer.id, channel_index, transfer_channel, mode })
        });
    }
}
