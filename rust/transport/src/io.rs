//! What the pump touches besides the core: the connection's sockets, the queue of events for the
//! handle, and the wake-up and pace of the connection's task.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;

use crate::events::PeerEvent;
use crate::lock::lock;
use crate::pace::Pace;
use crate::states::ConnectionState;
use crate::udp::UdpPort;

/// One connection's sockets, event queue and task wake-up.
pub(crate) struct Io {
    /// The connection's UDP socket.
    pub(crate) port: UdpPort,
    /// The mDNS socket, made when a remote candidate first names a `.local` host (`None` if it
    /// cannot be).
    pub(crate) mdns: OnceLock<Option<UdpPort>>,
    events: Mutex<VecDeque<PeerEvent>>,
    /// The connection state of the latest `ConnectionStateChanged` queued (read before the
    /// handle polls it, as channel states are).
    latest_state: Mutex<Option<ConnectionState>>,
    /// Wakes the connection's task: new work, or an earlier deadline.
    pub(crate) wake: Arc<Notify>,
    /// Who reads the socket, and when the task wakes next.
    pub(crate) pace: Pace,
}

impl Io {
    /// The connection's socket and task wake-up.
    pub(crate) fn new(port: UdpPort, wake: Arc<Notify>) -> Self {
        Self {
            port,
            mdns: OnceLock::new(),
            events: Mutex::default(),
            latest_state: Mutex::default(),
            wake,
            pace: Pace::new(Instant::now()),
        }
    }

    /// Queues an event for the handle.
    pub(crate) fn push_event(&self, event: PeerEvent) {
        if let PeerEvent::ConnectionStateChanged(state) = &event {
            *lock(&self.latest_state) = Some(*state);
        }
        lock(&self.events).push_back(event);
    }

    /// The state of the latest `ConnectionStateChanged` queued, polled or not.
    pub(crate) fn latest_state(&self) -> Option<ConnectionState> {
        *lock(&self.latest_state)
    }

    /// Takes every queued event.
    pub(crate) fn take_events(&self) -> Vec<PeerEvent> {
        lock(&self.events).drain(..).collect()
    }

    /// The mDNS socket, made on first use (`None` where the system refuses one).
    pub(crate) fn mdns_port(&self) -> Option<&UdpPort> {
        let made = self.mdns.get_or_init(|| {
            let port = rtc_mdns::MulticastSocket::new().into_std().and_then(UdpPort::wrap);
            if port.is_ok() {
                // The task waits on it from its next pass on.
                self.wake.notify_one();
            }
            port.map_err(|error| log::info!("no mDNS socket, so .local candidates stay unresolved: {error}")).ok()
        });
        made.as_ref()
    }
}
