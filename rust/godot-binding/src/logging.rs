//! Rust `log` records, shown in Godot's output on the main thread.
//!
//! Records come from runtime threads; they are queued and printed on the next frame (or the next
//! `poll`), so Godot is only ever called from the main thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use godot::builtin::Callable;
use godot::classes::{Engine, SceneTree};
use godot::global::{godot_error, godot_print, godot_warn};
use godot::obj::Singleton;
use log::{Level, LevelFilter, Log, Metadata, Record};

/// Environment variable that sets the level: off, error, warn, info, debug or trace.
pub(crate) const LEVEL_ENV: &str = "WEBRTC_MESH_LOG";
/// Records kept while nobody flushes; newer ones are dropped once it is full.
const QUEUE_LIMIT: usize = 1000;

static QUEUE: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());
/// When the first debug record was logged: debug records show the seconds since.
static LOG_START: OnceLock<Instant> = OnceLock::new();

/// Whether a record of `level` from `target` passes: our own records at the chosen level; the
/// WebRTC stack's warnings are mostly about its internals (and frequent on loopback), so they
/// pass only at debug level and above; its errors always pass.
fn passes(target: &str, level: Level) -> bool {
    let max = log::max_level();
    let ours = target.starts_with("webrtc_mesh");
    let limit = if ours || max >= LevelFilter::Debug { max } else { max.min(LevelFilter::Error) };
    level <= limit
}

struct QueueLogger;

impl Log for QueueLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        passes(metadata.target(), metadata.level())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        let level = record.level();
        let mut queue = QUEUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if queue.len() < QUEUE_LIMIT {
            let line = if level >= Level::Debug {
                // Debug output is read to find where time goes: each record carries its time.
                let since = LOG_START.get_or_init(Instant::now).elapsed();
                format!("{:.3} [{}] {text}", since.as_secs_f64(), record.target())
            } else {
                format!("[{}] {text}", record.target())
            };
            queue.push((level, line));
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

/// Prints every queued record, and from then on once a frame too. Main thread only.
pub(crate) fn flush() {
    flush_every_frame();
    let records = std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for (level, text) in records {
        match level {
            Level::Error => godot_error!("{text}"),
            Level::Warn => godot_warn!("{text}"),
            _ => godot_print!("{text}"),
        }
    }
}

/// Connects [`flush`] to the scene tree's `process_frame` signal, once there is a scene tree, so
/// records are printed every frame even when nothing polls.
///
/// The engine's own per-frame callback for extensions (GDExtension main-loop callbacks) exists
/// from Godot 4.5 only, and gdext offers it only when built against that API; the library is
/// built against 4.3 to load in 4.3 and later, so it uses the signal, which every version has.
/// No scene tree yet (the library loads before the main loop exists) or a custom main loop: the
/// next `flush` tries again, and records are printed by each `poll` in the meantime.
fn flush_every_frame() {
    static CONNECTED: AtomicBool = AtomicBool::new(false);
    if CONNECTED.load(Ordering::Relaxed) {
        return;
    }
    let Some(Ok(mut tree)) = Engine::singleton().get_main_loop().map(|main_loop| main_loop.try_cast::<SceneTree>())
    else {
        return;
    };
    CONNECTED.store(true, Ordering::Relaxed);
    tree.connect("process_frame", &Callable::from_fn("webrtc_mesh_flush_log", |_| flush()));
}
