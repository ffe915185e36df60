//! Locking a mutex that a panicking thread may have poisoned: the data it guards stays usable
//! (queues and counters), so the lock is taken anyway rather than spreading the panic.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
