//! The one tokio runtime shared by every connection, started on first use.

use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::TransportError;

enum Slot {
    NotStarted,
    Running(Runtime),
    ShutDown,
}

static RUNTIME: Mutex<Slot> = Mutex::new(Slot::NotStarted);

/// Environment variable that sets the number of runtime worker threads (default 1: on a
/// game machine the main thread is busy, and one worker measured faster than two, see README).
pub const THREADS_ENV: &str = "WEBRTC_MESH_THREADS";

fn worker_threads() -> usize {
    std::env::var(THREADS_ENV).ok().and_then(|value| value.trim().parse().ok()).filter(|n| *n > 0).unwrap_or(1)
}

/// Returns a handle to the shared runtime, starting it if needed.
///
/// Fails once [`shutdown`] has run: a library being unloaded must not start threads again.
pub fn handle() -> Result<Handle, TransportError> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Slot::NotStarted = *slot {
        let runtime = Builder::new_multi_thread()
            .worker_threads(worker_threads())
            .thread_name("webrtc-mesh")
            .enable_all()
            .build()
            .map_err(|error| TransportError::InvalidConfig(format!("cannot start the runtime: {error}")))?;
        *slot = Slot::Running(runtime);
    }
    match &*slot {
        Slot::Running(runtime) => Ok(runtime.handle().clone()),
        _ => Err(TransportError::RuntimeGone),
    }
}

/// Stops the shared runtime, giving its tasks at most `timeout` to finish.
///
/// Called when the library unloads; later calls to [`handle`] fail.
pub fn shutdown(timeout: Duration) {
    let previous = {
        let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *slot, Slot::ShutDown)
    };
    if let Slot::Running(runtime) = previous {
        runtime.shutdown_timeout(timeout);
    }
}
