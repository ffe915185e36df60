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

/// Returns a handle to the shared runtime, starting it if needed.
///
/// Fails once [`shutdown`] has run: a library being unloaded must not start threads again.
pub fn handle() -> Result<Handle, TransportError> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Slot::NotStarted = *slot {
        let runtime = Builder::new_multi_thread()
            .worker_threads(2)
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
