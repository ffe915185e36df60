//! Sending: where a `put_packet` goes under the target, transfer mode and channel, and which
//! failures are the call's.

use std::fmt::Display;

use super::Mesh;
use crate::channels::{TransferMode, BUILTIN_CHANNELS};
use crate::error::{invalid, MeshError};

/// Why a link refused a packet.
pub trait LinkSendError: Display {
    /// Whether the channel's send buffer is full (the call then fails with
    /// [`MeshError::QueueFull`] rather than [`MeshError::Unavailable`]).
    fn is_full(&self) -> bool;
}

/// Where one `put_packet` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SendPlan {
    /// Index of the channel to send on, in every target's channel list.
    pub(crate) channel_index: usize,
    /// The peers to send to, in mesh order.
    pub(crate) peers: Vec<i32>,
}

impl<L, P> Mesh<L, P> {
    /// Sends `data` under the current target, transfer mode and transfer channel: `send` is
    /// called with each target's link and the channel index. A packet larger than what one of
    /// its targets' links sends is refused whole, before any link is called (a broadcast does
    /// not reach some peers and fail for others). When the target is one peer, its failure is
    /// the call's (`QueueFull` when its send buffer is full, else `Unavailable`); a broadcast
    /// goes on past failures and returns them, one per peer, for the caller to report.
    pub fn send<E: LinkSendError>(
        &mut self,
        data: &[u8],
        mut send: impl FnMut(&mut L, usize, &[u8]) -> Result<(), E>,
    ) -> Result<Vec<MeshError>, MeshError> {
        let plan = self.send_plan()?;
        let smallest = plan.peers.iter().filter_map(|id| self.peer(*id)).min_by_key(|peer| peer.max_message_size);
        let limit = smallest.map_or(self.max_packet_size, |peer| peer.max_message_size);
        if data.len() > limit {
            let whose = smallest
                .filter(|_| limit < self.max_packet_size)
                .map(|peer| format!(" (what peer {} takes)", peer.id))
                .unwrap_or_default();
            return Err(invalid(format!(
                "a packet of {} bytes exceeds the maximum of {limit} bytes{whose}",
                data.len()
            )));
        }
        let single_target = self.target_peer > 0;
        let mut failures = Vec::new();
        for peer_id in plan.peers {
            let Some(link) = self.link_mut(peer_id) else { continue };
            if let Err(error) = send(link, plan.channel_index, data) {
                let text = format!("sending to peer {peer_id} failed: {error}");
                let failure = if error.is_full() { MeshError::QueueFull(text) } else { MeshError::Unavailable(text) };
                if single_target {
                    return Err(failure);
                }
                failures.push(failure);
            }
        }
        Ok(failures)
    }

    /// Where a `put_packet` goes under the current target, transfer mode and channel.
    pub(crate) fn send_plan(&self) -> Result<SendPlan, MeshError> {
        if self.status == super::ConnectionStatus::Disconnected {
            return Err(MeshError::Unconfigured("the peer is not connected".into()));
        }
        let channel_index = match self.transfer_channel {
            0 => self.transfer_mode.builtin_index(),
            channel => usize::try_from(channel).map_or(usize::MAX, |channel| channel + BUILTIN_CHANNELS - 1),
        };
        if channel_index >= BUILTIN_CHANNELS + self.extras.len() {
            return Err(invalid(format!(
                "transfer channel {} does not exist ({} extra channels are configured)",
                self.transfer_channel,
                self.extras.len()
            )));
        }
        let peers = if self.target_peer > 0 {
            let peer = self
                .peer(self.target_peer)
                .ok_or_else(|| invalid(format!("invalid target peer: {}", self.target_peer)))?;
            if !peer.announced {
                return Err(MeshError::Unavailable(format!("peer {} is not connected yet", self.target_peer)));
            }
            vec![peer.id]
        } else {
            // -2147483648 excludes 2147483648, which no peer can be (its negation overflows).
            let excluded = self.target_peer.checked_neg();
            self.peers.iter().filter(|p| p.announced && Some(p.id) != excluded).map(|p| p.id).collect()
        };
        Ok(SendPlan { channel_index, peers })
    }

    /// The largest packet [`send`](Self::send) accepts whatever the target: the smallest of the
    /// ready peers' limits (what their links send), or the mesh's largest packet with none.
    pub fn max_packet_size(&self) -> usize {
        self.peers
            .iter()
            .filter(|peer| peer.ready)
            .map(|peer| peer.max_message_size)
            .min()
            .unwrap_or(self.max_packet_size)
    }

    /// Sets the target of the next sends: 0 all, `id` one peer, `-id` all but one.
    pub fn set_target_peer(&mut self, target: i32) {
        self.target_peer = target;
    }

    /// Sets the transfer mode used on transfer channel 0.
    pub fn set_transfer_mode(&mut self, mode: TransferMode) {
        self.transfer_mode = mode;
    }

    /// The transfer mode.
    pub fn transfer_mode(&self) -> TransferMode {
        self.transfer_mode
    }

    /// Sets the transfer channel: 0 for the built-in channels, i + 1 for extra channel i.
    pub fn set_transfer_channel(&mut self, channel: i32) {
        self.transfer_channel = channel;
    }

    /// The transfer channel.
    pub fn transfer_channel(&self) -> i32 {
        self.transfer_channel
    }
}
