//! Godot 4 classes of the webrtc-mesh addon.
//!
//! This crate only converts between Godot and Rust: the WebRTC work is in
//! `transport`, the mesh rules in `mesh-core`.

use std::time::Duration;

use godot::classes::WebRtcPeerConnection;
use godot::init::{gdextension, ExtensionLibrary, InitStage};

mod config;
mod data_channel;
mod errors;
mod logging;
mod multiplayer_peer;
mod peer_connection;
mod raw_packet;

/// How long unloading the library waits for connections to close.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(500);

struct WebRtcMesh;

#[gdextension]
unsafe impl ExtensionLibrary for WebRtcMesh {
    fn on_stage_init(stage: InitStage) {
        if stage == InitStage::Scene {
            logging::install();
            WebRtcPeerConnection::set_default_extension(peer_connection::CLASS_NAME);
        }
    }

    fn on_stage_deinit(stage: InitStage) {
        if stage == InitStage::Scene {
            transport::runtime::shutdown(SHUTDOWN_TIMEOUT);
            logging::flush();
        }
    }
}
