//! Rust `log` records, shown in Godot's output on the main thread.
//!
//! Records come from runtime threads; they are queued and printed on the next frame (or the next
//! `poll`), so Godot is only ever called from the main thread.

use std::sync::Mutex;

use godot::global::{godot_error, godot_print, godot_warn};
use log::{Level, LevelFilter, Log, Metadata, Record};

/// Environment variable that sets the level: off, error, warn, info, debug or trace.
pub(crate) const LEVEL_ENV: &str = "WEBRTC_MESH_LOG";
/// Records kept while nobody flushes; newer ones are dropped once it is full.
const QUEUE_LIMIT: usize = 1000;

static QUEUE: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct QueueLogger;

impl Log for QueueLogger {
    /// Our own records pass at the chosen level. The WebRTC stack's warnings are mostly about
    /// its internals (and frequent on loopback), so they pass only at debug level and above;
    /// its errors always pass.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let max = log::max_level();
        let ours = metadata.target().starts_with("webrtc_mesh");
        let limit = if ours || max >= LevelFilter::Debug { max } else { max.min(LevelFilter::Error) };
        metadata.level() <= limit
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut queue = QUEUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if queue.len() < QUEUE_LIMIT {
            queue.push((record.level(), format!("[{}] {}", record.target(), record.args())));
        }
    }

    fn flush(&self) {}
}

/// Installs the logger with the level from `WEBRTC_MESH_LOG` (default: warn).
pub(crate) fn install() {
    static LOGGER: QueueLogger = QueueLogger;
    if log::set_logger(&LOGGER).is_ok() {
        let level = std::env::var(LEVEL_ENV).ok().and_then(|name| parse_level(&name)).unwrap_or(LevelFilter::Warn);
        log::set_max_level(level);
    }
}

/// Parses a level name; `None` if it is not one.
pub(crate) fn parse_level(name: &str) -> Option<LevelFilter> {
    name.trim().parse().ok()
}

/// Prints every queued record. Main thread only.
pub(crate) fn flush() {
    let records = std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for (level, text) in records {
        match level {
            Level::Error => godot_error!("{text}"),
            Level::Warn => godot_warn!("{text}"),
            _ => godot_print!("{text}"),
        }
    }
}
