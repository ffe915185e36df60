//! What a connection's handle, its channels' handles and its task share: the core behind one
//! lock, the sockets, the queue of events for the handle, and the task's wake-up.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

use crate::channel::{ChannelShared, Packet};
use crate::core::Core;
use crate::lock::lock;
use crate::peer::PeerEvent;
use crate::udp::UdpPort;

/// One connection's shared state.
pub(crate) struct Link {
    core: Mutex<Core>,
    /// The connection's UDP socket.
    pub(crate) port: UdpPort,
    /// The mDNS socket, made when a remote candidate first names a `.local` host (`None` if it
    /// cannot be).
    pub(crate) mdns: OnceLock<Option<UdpPort>>,
    events: Mutex<VecDeque<PeerEvent>>,
    /// Wakes the connection's task: new work, or an earlier deadline.
    pub(crate) wake: Arc<Notify>,
}

impl Link {
    pub(crate) fn new(core: Core, port: UdpPort, wake: Arc<Notify>) -> Arc<Self> {
        Arc::new(Self { core: Mutex::new(core), port, mdns: OnceLock::new(), events: Mutex::default(), wake })
    }

    /// Locks the core, waiting for the pump if it runs (a pump takes microseconds), for a call
    /// that changes it: the next pass of the pump runs in full.
    pub(crate) fn core(&self) -> MutexGuard<'_, Core> {
        let mut core = lock(&self.core);
        core.due_at = None;
        core
    }

    /// Locks the core if nobody else holds it.
    pub(crate) fn try_core(&self) -> Option<MutexGuard<'_, Core>> {
        match self.core.try_lock() {
            Ok(core) => Some(core),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Queues an event for the handle.
    pub(crate) fn push_event(&self, event: PeerEvent) {
        lock(&self.events).push_back(event);
    }

    /// Takes every queued event.
    pub(crate) fn take_events(&self) -> Vec<PeerEvent> {
        lock(&self.events).drain(..).collect()
    }

    /// Pumps the connection from the caller's thread if nobody else is pumping it (then the one
    /// who is picks up what came in).
    pub(crate) fn pump_if_free(self: &Arc<Self>) {
        if let Some(mut core) = self.try_core() {
            core.pump(self, false, Instant::now());
        }
    }

    /// Sends a channel's packet: onto the wire at once if the channel is idle (nothing queued,
    /// nothing unacknowledged) and the core is free, as a lone message wants; else behind the
    /// queued ones, for the task, which sends a burst together off the caller's thread.
    pub(crate) fn send(self: &Arc<Self>, channel: &ChannelShared, packet: Packet) {
        let idle = !channel.has_queued() && channel.unacknowledged() == 0;
        let packet = match self.try_core() {
            Some(mut core) if idle => match core.send_now(self, channel, packet, Instant::now()) {
                Ok(()) => return,
                Err(packet) => packet,
            },
            _ => packet,
        };
        channel.queue(packet);
        self.wake.notify_one();
    }

    /// Starts closing a channel.
    pub(crate) fn close_channel(self: &Arc<Self>, channel: &ChannelShared) {
        let now = Instant::now();
        let mut core = self.core();
        core.close_channel(channel, now);
        core.flush(self, now);
        core.wake_task_if_due_sooner(self);
    }
}
