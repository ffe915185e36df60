//! A connection's task on the shared runtime: pumps the connection whenever a datagram arrives,
//! a timer is due or the handle asks, so that it lives on while the game does not poll. While the
//! caller polls fast and keeps up ([`crate::pace`]), the task stops watching the socket (datagrams
//! then wake no thread but the caller's) and only checks back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::link::Link;
use crate::pump::Driver;
use crate::udp::SocketWatch;

/// How long the task sleeps when the core has no timer at all (it is woken for anything new).
const IDLE_SLEEP: Duration = Duration::from_secs(60);
/// How often the task reads the socket when the runtime cannot watch it (the system refused a
/// duplicate of its handle).
const UNWATCHED_POLL: Duration = Duration::from_millis(10);

/// What the task watches besides its wake-up: the connection's socket (while the caller does not
/// read it) and its mDNS socket (once there is one).
#[derive(Default)]
struct Watches {
    port: Option<SocketWatch>,
    mdns: Option<SocketWatch>,
}

/// Runs until the connection is closed.
pub(crate) async fn run(link: Arc<Link>) {
    let mut watches = Watches::default();
    loop {
        let now = Instant::now();
        let wake_at = {
            let mut core = link.core();
            if core.closed {
                break;
            }
            let next = link.pump(&mut core, Driver::Task, now).unwrap_or(now + IDLE_SLEEP);
            if core.closed {
                break;
            }
            next
        };
        wait(&link, wake_at, &mut watches).await;
    }
}

/// Waits until the connection needs a pass of the pump: the handle wakes the task, a datagram
/// arrives, or `wake_at` comes. While the caller polls fast and keeps up, the socket is left to
/// it: the task only checks back once the caller may have stopped.
async fn wait(link: &Link, wake_at: Instant, watches: &mut Watches) {
    let pace = &link.io.pace;
    if watches.mdns.is_none() {
        if let Some(Some(port)) = link.io.mdns.get() {
            watches.mdns = port.watch().map_err(|error| log::debug!("cannot watch the mDNS socket: {error}")).ok();
        }
    }
    loop {
        // The caller's polls run the timers meanwhile, `wake_at`'s among them.
        let check_back = pace.caller_keeps_up(Instant::now());
        if check_back.is_some() {
            watches.port = None;
        } else if watches.port.is_none() {
            watches.port = link.io.port.watch().map_err(|error| log::debug!("cannot watch a socket: {error}")).ok();
        }
        let sleep_until = match (check_back, &watches.port) {
            (Some(at), _) => at,
            (None, Some(_)) => wake_at,
            (None, None) => wake_at.min(Instant::now() + UNWATCHED_POLL),
        };
        if check_back.is_some() {
            pace.leave_to_caller();
        } else {
            pace.set_task_wakes_at(sleep_until);
        }
        let port = readable(watches.port.as_ref());
        let mdns = readable(watches.mdns.as_ref());
        tokio::select! {
            biased;
            _ = link.io.wake.notified() => return,
            _ = port => return,
            _ = mdns => return,
            _ = tokio::time::sleep_until(sleep_until.into()) => {
                // Due, or checking back: a caller that stopped polling may have left work (what
                // its last pass held for its next call, timers its passes ran) for a pass now.
                if check_back.is_none() || pace.caller_keeps_up(Instant::now()).is_none() {
                    return;
                }
            }
        }
    }
}

/// Waits until a watched socket may have datagrams (never if it is not watched).
async fn readable(watch: Option<&SocketWatch>) {
    let Some(watch) = watch else { return std::future::pending().await };
    if let Err(error) = watch.readable().await {
        log::debug!("socket failed: {error}");
        tokio::time::sleep(UNWATCHED_POLL).await;
    }
}
