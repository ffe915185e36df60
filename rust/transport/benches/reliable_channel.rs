//! The transport alone, outside the engine: 10,000 messages of 1 KiB over one reliable data
//! channel between two connections on 127.0.0.1, sent as fast as the channel takes them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use transport::{
    ChannelOptions, ChannelState, DataChannel, PeerConnection, PeerEvent, SdpKind, TransportConfig, TransportError,
};

const MESSAGES: u64 = 10_000;
const SIZE: usize = 1024;

fn forward(from: &mut PeerConnection, to: &PeerConnection) {
    for event in from.poll() {
        match event {
            PeerEvent::SessionDescriptionCreated { kind, sdp } => {
                if kind == SdpKind::Offer {
                    let _ = from.set_local_description(kind, sdp.clone());
                }
                let _ = to.set_remote_description(kind, sdp);
            }
            PeerEvent::IceCandidateCreated { mid, index, candidate } => {
                let _ = to.add_ice_candidate(&mid, index, &candidate);
            }
            _ => {}
        }
    }
}

fn open_pair() -> Result<(PeerConnection, PeerConnection, DataChannel, DataChannel), TransportError> {
    // Up to 1 MiB in flight may arrive between two reads: the receiver holds that much unread
    // (a full reliable channel would hold the connection, and the bench measure that limit).
    let config = TransportConfig {
        bind_address: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        channel_receive_limit: 2 * 1024 * 1024,
        ..Default::default()
    };
    let mut a = PeerConnection::new(config.clone())?;
    let mut b = PeerConnection::new(config)?;
    let options = ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let sender = a.create_data_channel("reliable", options.clone())?;
    let receiver = b.create_data_channel("reliable", options)?;
    a.create_offer()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while sender.ready_state() != ChannelState::Open || receiver.ready_state() != ChannelState::Open {
        if Instant::now() > deadline {
            return Err(TransportError::WrongState("the channel did not open in 20 s".into()));
        }
        forward(&mut a, &b);
        forward(&mut b, &a);
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok((a, b, sender, receiver))
}

/// Sends `MESSAGES` messages keeping at most 1 MiB in flight, until all have arrived.
fn transfer(sender: &DataChannel, receiver: &DataChannel) -> Result<(), TransportError> {
    let payload = vec![7u8; SIZE];
    let (mut sent, mut received) = (0u64, 0u64);
    while received < MESSAGES {
        while sent < MESSAGES && (sent - received) * (SIZE as u64) < 1024 * 1024 {
            sender.send(&payload, false)?;
            sent += 1;
        }
        let before = received;
        while receiver.recv().is_some() {
            received += 1;
        }
        if received == before {
            std::thread::yield_now();
        }
    }
    Ok(())
}

fn bench(c: &mut Criterion) {
    let (_a, _b, sender, receiver) = match open_pair() {
        Ok(pair) => pair,
        Err(error) => {
            eprintln!("transport bench skipped: {error}");
            return;
        }
    };
    let mut group = c.benchmark_group("transport");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("reliable_10k_x_1KiB", |bench| {
        bench.iter(|| {
            if let Err(error) = transfer(&sender, &receiver) {
                eprintln!("transfer failed: {error}");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
