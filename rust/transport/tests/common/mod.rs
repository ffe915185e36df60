//! What the transport's integration tests share: a loopback configuration and the signaling
//! wire between two connections of one process.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

pub(crate) mod relay;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use transport::{DataChannel, PeerConnection, PeerEvent, SdpKind, TransportConfig};

/// 127.0.0.1, where every test connection binds.
pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A configuration binding 127.0.0.1.
pub(crate) fn loopback_config() -> TransportConfig {
    TransportConfig { bind_address: Some(LOOPBACK), ..Default::default() }
}

/// Forwards one side's signaling to the other, as Godot's webrtc_minimal demo does (an offer is
/// applied locally first); returns the channels it received in-band. Panics on a transport error.
pub(crate) fn forward(from: &mut PeerConnection, to: &PeerConnection) -> Vec<DataChannel> {
    let events = from.poll();
    hand_over(events, from, to)
}

/// Hands `events` that `from` reported to `to`, as [`forward`] does; returns the channels `from`
/// received in-band. Panics on a transport error.
pub(crate) fn hand_over(events: Vec<PeerEvent>, from: &PeerConnection, to: &PeerConnection) -> Vec<DataChannel> {
    let mut received = Vec::new();
    for event in events {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    from.set_local_description(kind, sdp.clone()).expect("local offer");
                }
                to.set_remote_description(kind, sdp).expect("remote description");
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                to.add_ice_candidate(&mid, index, &candidate).expect("candidate");
            }
            PeerEvent::DataChannelReceived(channel) => received.push(channel),
            PeerEvent::Error(text) => panic!("transport error: {text}"),
            _ => {}
        }
    }
    received
}

/// Median round trip of 200 small messages echoed on `(there, back)`, read in a busy loop (the
/// connections' tasks carry everything, nobody polls); panics when an echo takes `deadline`.
pub(crate) fn median_round_trip(there: &DataChannel, back: &DataChannel, deadline: Duration) -> Duration {
    let mut samples = Vec::new();
    for i in 0..200u32 {
        let sent = Instant::now();
        there.send(&i.to_le_bytes(), false).expect("send");
        loop {
            assert!(sent.elapsed() < deadline, "no echo");
            if let Some(packet) = back.recv() {
                back.send(&packet.data, false).expect("echo");
            }
            if there.recv().is_some() {
                break;
            }
            std::thread::yield_now();
        }
        samples.push(sent.elapsed());
    }
    samples.sort();
    samples[samples.len() / 2]
}
