//! A connection's task on the shared runtime: pumps the connection whenever a datagram arrives,
//! a timer is due or the handle asks, so that it lives on while the game does not poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::link::Link;

/// How long the task sleeps when the core has no timer at all (it is woken for anything new).
const IDLE_SLEEP: Duration = Duration::from_secs(60);

/// Runs until the connection is closed.
pub(crate) async fn run(link: Arc<Link>) {
    loop {
        let now = Instant::now();
        let wake_at = {
            let mut core = link.core();
            if core.closed {
                break;
            }
            let next = link.pump(&mut core, true, now).unwrap_or(now + IDLE_SLEEP);
            if core.closed {
                break;
            }
            core.task_wakes_at = Some(next);
            next
        };
        let mdns = async {
            match link.io.mdns.get() {
                Some(Some(port)) => port.readable().await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = link.io.wake.notified() => {}
            result = link.io.port.readable() => {
                if let Err(error) = result {
                    log::debug!("socket failed: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            _ = mdns => {}
            _ = tokio::time::sleep_until(wake_at.into()) => {}
        }
    }
}
