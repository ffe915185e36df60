//! What the relay hub and one registered connection share outside the connection's core lock:
//! two bounded queues and the wake-up of the connection's task. Another connection's pump puts
//! an envelope or a datagram here and wakes this connection's task, which hands it to its own
//! core; no pump ever locks a second core.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::lock::lock;

/// Most bytes of envelopes waiting for a connection's relay channel: about 40 full datagrams, a
/// few milliseconds of a fast path. Past it the relay channel is congested and what comes is
/// dropped (the relayed connections' SCTP recovers it), never queued without bound.
pub const MAX_RELAY_OUTBOX_BYTES: usize = 64 * 1024;

/// Most bytes of relayed datagrams waiting for a connection's core (as many as the outbox).
pub const MAX_RELAY_INBOX_BYTES: usize = 64 * 1024;

/// A bounded queue of byte strings.
#[derive(Default)]
struct Queue {
    items: VecDeque<Bytes>,
    bytes: usize,
}

/// One registered connection's side of the hub.
pub(crate) struct RelayPort {
    /// Envelopes to send on the connection's relay channel.
    outbox: Mutex<Queue>,
    /// Datagrams of the connection's peer that came via a relay, for its core.
    inbox: Mutex<Queue>,
    /// Wakes the connection's task.
    wake: Arc<Notify>,
    /// The hub asked for a pass of the pump (a REACH to send) since the last one.
    poked: AtomicBool,
}

impl RelayPort {
    /// The port of a connection whose task `wake` wakes.
    pub(crate) fn new(wake: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self { outbox: Mutex::default(), inbox: Mutex::default(), wake, poked: AtomicBool::new(false) })
    }

    /// Queues an envelope for the relay channel and wakes the task; `false` (dropped) when the
    /// outbox is full.
    pub(crate) fn send(&self, envelope: Bytes) -> bool {
        self.push(&self.outbox, MAX_RELAY_OUTBOX_BYTES, envelope)
    }

    /// Queues a relayed datagram for the core and wakes the task; `false` (dropped) when the
    /// inbox is full.
    pub(crate) fn receive(&self, datagram: Bytes) -> bool {
        self.push(&self.inbox, MAX_RELAY_INBOX_BYTES, datagram)
    }

    fn push(&self, queue: &Mutex<Queue>, most: usize, item: Bytes) -> bool {
        {
            let mut queue = lock(queue);
            if queue.bytes + item.len() > most {
                return false;
            }
            queue.bytes += item.len();
            queue.items.push_back(item);
        }
        self.wake.notify_one();
        true
    }

    /// Takes every envelope waiting for the relay channel.
    pub(crate) fn take_outbox(&self) -> Vec<Bytes> {
        take(&self.outbox)
    }

    /// Takes every relayed datagram waiting for the core.
    pub(crate) fn take_inbox(&self) -> Vec<Bytes> {
        take(&self.inbox)
    }

    /// Whether anything waits in either queue, or the hub asked for a pass.
    pub(crate) fn has_waiting(&self) -> bool {
        // One lock at a time.
        if self.poked.load(Ordering::Acquire) || !lock(&self.outbox).items.is_empty() {
            return true;
        }
        !lock(&self.inbox).items.is_empty()
    }

    /// Asks for a pass of the connection's pump (a REACH to send) and wakes its task.
    pub(crate) fn poke(&self) {
        self.poked.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Clears the request for a pass (the pump is making one).
    pub(crate) fn clear_poke(&self) {
        self.poked.store(false, Ordering::Release);
    }
}

fn take(queue: &Mutex<Queue>) -> Vec<Bytes> {
    let mut queue = lock(queue);
    queue.bytes = 0;
    queue.items.drain(..).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_bounded_and_drained_in_order() {
        let port = RelayPort::new(Arc::new(Notify::new()));
        let piece = Bytes::from(vec![23u8; 1000]);
        let fit = MAX_RELAY_OUTBOX_BYTES / 1000;
        assert!((0..fit).all(|_| port.send(piece.clone())));
        assert!(!port.send(piece.clone()), "full: dropped");
        assert!(port.has_waiting());
        assert_eq!(port.take_outbox().len(), fit);
        assert!(!port.has_waiting());
        assert!(port.send(piece.clone()), "room again");
        assert!(port.receive(Bytes::from_static(&[1])) && port.receive(Bytes::from_static(&[2])));
        assert_eq!(port.take_inbox(), vec![Bytes::from_static(&[1]), Bytes::from_static(&[2])]);
    }
}
