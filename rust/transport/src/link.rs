//! What a connection's handle, its channels' handles and its task share: the core behind one
//! lock, and the sockets, event queue and task wake-up ([`Io`]) the pump drives it with.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

use crate::channel::{ChannelShared, ChannelSink, Packet};
use crate::core::Core;
use crate::io::Io;
use crate::lock::lock;
use crate::pump::Driver;

/// One connection's shared state.
pub(crate) struct Link {
    core: Mutex<Core>,
    /// The sockets, the handle's events and the task's wake-up.
    pub(crate) io: Io,
    /// This link as its channels hold it.
    sink: Weak<dyn ChannelSink>,
}

impl Link {
    /// The link of `core`, driven through `io`.
    pub(crate) fn new(core: Core, io: Io) -> Arc<Self> {
        Arc::new_cyclic(|weak: &Weak<Self>| {
            let sink: Weak<dyn ChannelSink> = weak.clone();
            Self { core: Mutex::new(core), io, sink }
        })
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

    /// This link as the channels made from now on hold it.
    pub(crate) fn sink(&self) -> &Weak<dyn ChannelSink> {
        &self.sink
    }

    /// One pass of the pump over `core` at `now` (see [`Core::pump`]).
    pub(crate) fn pump(&self, core: &mut Core, driver: Driver, now: Instant) -> Option<Instant> {
        core.pump(&self.io, &self.sink, driver, now)
    }

    /// Pumps the connection from the caller's thread if nobody else is pumping it (then the one
    /// who is picks up what came in).
    pub(crate) fn pump_if_free(&self) {
        if let Some(mut core) = self.try_core() {
            self.pump(&mut core, Driver::Poll, Instant::now());
        }
    }
}

impl ChannelSink for Link {
    /// Sends a channel's packet: onto the wire at once if the channel is idle (nothing queued,
    /// nothing unsent in the core) and the core is free, as a lone message wants; else behind the
    /// queued ones, for the task, which sends a burst together off the caller's thread.
    fn send(&self, channel: &ChannelShared, packet: Packet) {
        let idle = !channel.has_queued() && channel.unsent_in_core() == 0;
        let packet = match self.try_core() {
            Some(mut core) if idle => match core.send_now(&self.io, channel, packet, Instant::now()) {
                Ok(()) => return,
                Err(packet) => packet,
            },
            _ => packet,
        };
        channel.queue(packet);
        self.io.wake.notify_one();
    }

    /// Starts closing a channel.
    fn close_channel(&self, channel: &ChannelShared) {
        let now = Instant::now();
        let mut core = self.core();
        core.close_channel(channel, now);
        core.flush(&self.io, now);
        core.wake_task_if_due_sooner(&self.io);
    }
}
