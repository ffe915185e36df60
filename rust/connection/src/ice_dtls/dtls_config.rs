//! `dimpl`'s configuration, built once per set of settings and shared by every session.
//!
//! `dimpl` 0.9's `ConfigBuilder::build` always tests its crypto provider (a key exchange and a
//! signature verified), which costs more than the rest of a connection's setup together: a mesh
//! of 16 peers builds 240 of them at once. The settings are the same for every connection of a
//! process, so validated configurations are kept and shared ([`shared_config`]), at most
//! [`MAX_SHARED_CONFIGS`] of them; sessions with a test seed get a configuration of their own.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dimpl::Config;

use super::error::SecurePathError;

/// What a configuration is built from, besides the constants of `dtls.rs`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct DtlsSettings {
    /// The first flight retransmission's wait.
    pub(super) flight_start_rto: Duration,
    /// The handshake's deadline.
    pub(super) handshake_timeout: Duration,
}

/// Configurations kept at most: past it the oldest is dropped (a process uses one set of
/// settings; tests a few).
const MAX_SHARED_CONFIGS: usize = 8;

/// The configurations built without a test seed, with their settings, oldest first.
static SHARED: Mutex<Vec<(DtlsSettings, Arc<Config>)>> = Mutex::new(Vec::new());

/// The configuration for `settings`: the shared one when `seed_for_tests` is `None` (built by
/// `build` the first time these settings are asked for), else a new one with that seed.
pub(super) fn shared_config(
    settings: DtlsSettings,
    seed_for_tests: Option<u64>,
    build: impl Fn(DtlsSettings, Option<u64>) -> Result<Config, SecurePathError>,
) -> Result<Arc<Config>, SecurePathError> {
    if seed_for_tests.is_some() {
        return build(settings, seed_for_tests).map(Arc::new);
    }
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, config)) = shared.iter().find(|(built_for, _)| *built_for == settings) {
        return Ok(Arc::clone(config));
    }
    let config = Arc::new(build(settings, None)?);
    if shared.len() >= MAX_SHARED_CONFIGS {
        shared.remove(0);
    }
    shared.push((settings, Arc::clone(&config)));
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(ms: u64) -> DtlsSettings {
        DtlsSettings { flight_start_rto: Duration::from_millis(ms), handshake_timeout: Duration::from_secs(10) }
    }

    fn build(settings: DtlsSettings, seed: Option<u64>) -> Result<Config, SecurePathError> {
        let mut builder = Config::builder();
        if let Some(seed) = seed {
            builder = builder.dangerously_set_rng_seed(seed);
        }
        builder
            .flight_start_rto(settings.flight_start_rto)
            .handshake_timeout(settings.handshake_timeout)
            .build()
            .map_err(|error| SecurePathError::InvalidConfig(error.to_string()))
    }

    #[test]
    fn one_configuration_serves_the_same_settings_and_seeded_sessions_get_their_own() {
        let first = shared_config(settings(251), None, build).expect("built");
        let again = shared_config(settings(251), None, build).expect("shared");
        assert!(Arc::ptr_eq(&first, &again), "the same settings share one configuration");
        let seeded = shared_config(settings(251), Some(7), build).expect("built");
        assert!(!Arc::ptr_eq(&first, &seeded), "a test seed gets a configuration of its own");
        let other = shared_config(settings(252), None, build).expect("built");
        assert!(!Arc::ptr_eq(&first, &other), "other settings build anew");
        assert_eq!(other.flight_start_rto(), Duration::from_millis(252));
    }
}
