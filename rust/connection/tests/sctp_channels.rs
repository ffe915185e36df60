//! Data channels (DCEP) over two associations on netsim: what the connection will do, end to
//! end. Opening in-band, the other side's channel keeping the reliability its opener asked for,
//! messages both ways, and a close that resets the stream in both directions.

use std::time::{Duration, Instant};

use bytes::Bytes;
use connection::channels::{
    ChannelEvent, ChannelId, ChannelLimits, ChannelOptions, DataChannels, DtlsRole, SctpCommand,
};
use connection::sctp::{Association, Reliability, Role, SctpConfig};
use netsim::{Endpoint, LinkConfig, Network, Pair};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// One side: its association and its channel table, wired as the connection wires them.
struct Side {
    assoc: Association,
    channels: DataChannels,
    events: Vec<ChannelEvent>,
}

impl Side {
    fn new(role: Role, seed: u64, now: Instant) -> Side {
        let dtls = if role == Role::Client { DtlsRole::Client } else { DtlsRole::Server };
        Side {
            assoc: Association::new(SctpConfig::default(), role, &mut StdRng::seed_from_u64(seed), now),
            channels: DataChannels::new(dtls, ChannelLimits::default()),
            events: Vec::new(),
        }
    }

    fn pump(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(event) = self.assoc.poll_event() {
                self.channels.handle_sctp_event(event);
                moved = true;
            }
            while let Some(command) = self.channels.poll_command() {
                match command {
                    SctpCommand::Send { stream, ppid, data, options } => {
                        self.assoc.send(now, stream, ppid, data, options).expect("send");
                    }
                    SctpCommand::ResetStreams(streams) => self.assoc.reset_streams(now, &streams),
                }
                moved = true;
            }
            while let Some(event) = self.channels.poll_event() {
                self.events.push(event);
            }
            if !moved {
                return;
            }
        }
    }

    fn messages(&self, id: ChannelId) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|event| match event {
                ChannelEvent::Message { id: on, data, .. } if *on == id => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    fn count(&self, what: impl Fn(&ChannelEvent) -> bool) -> usize {
        self.events.iter().filter(|event| what(event)).count()
    }
}

impl Endpoint for Side {
    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        self.assoc.handle_packet(now, datagram);
        self.pump(now);
    }

    fn timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
        self.pump(now);
    }

    fn transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.pump(now);
        self.assoc.poll_transmit(now)
    }

    fn deadline(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
}

#[test]
fn channels_open_carry_messages_and_close_over_a_lossy_link() {
    for seed in 0..5 {
        let start = Instant::now();
        let link = LinkConfig::home(Duration::from_millis(15)).with_loss(0.1);
        let mut pair = Pair::new(
            Side::new(Role::Client, seed * 2 + 1, start),
            Side::new(Role::Server, seed * 2 + 2, start),
            Network::new(seed, link, link),
            start,
        );
        // Opened before the association is up: the openings wait for it.
        let state = ChannelOptions { label: "state".into(), ..ChannelOptions::default() };
        let reliable = pair.a.channels.open(state).unwrap();
        let inputs = ChannelOptions {
            label: "inputs".into(),
            ordered: false,
            reliability: Reliability::MaxRetransmits(0),
            ..ChannelOptions::default()
        };
        let unreliable = pair.a.channels.open(inputs).unwrap();
        assert!(pair.run_until(Duration::from_secs(30), |a, b| {
            a.count(|e| matches!(e, ChannelEvent::Opened(_))) == 2
                && b.count(|e| matches!(e, ChannelEvent::RemoteOpened { .. })) == 2
        }));
        // The remotely opened channel keeps the reliability its opener asked for.
        let remote_options = pair.b.events.iter().find_map(|event| match event {
            ChannelEvent::RemoteOpened { id, options } if *id == unreliable => Some(options.clone()),
            _ => None,
        });
        let remote_options = remote_options.expect("b saw the unreliable channel");
        assert!(!remote_options.ordered);
        assert_eq!(remote_options.reliability, Reliability::MaxRetransmits(0));
        assert_eq!(remote_options.label, "inputs");

        for i in 0..20u8 {
            pair.a.channels.send(reliable, Bytes::from(vec![i; 3000]), true).unwrap();
            pair.b.channels.send(reliable, Bytes::from(vec![i; 10]), false).unwrap();
        }
        pair.b.channels.send(reliable, Bytes::new(), true).unwrap();
        pair.a.pump(pair.now);
        pair.b.pump(pair.now);
        assert!(pair.run_until(Duration::from_secs(30), |a, b| {
            a.messages(reliable).len() == 21 && b.messages(reliable).len() == 20
        }));
        assert_eq!(pair.b.messages(reliable), (0..20u8).map(|i| Bytes::from(vec![i; 3000])).collect::<Vec<_>>());
        assert_eq!(pair.a.messages(reliable).last(), Some(&Bytes::new()));

        pair.a.channels.close(reliable).unwrap();
        pair.a.pump(pair.now);
        assert!(
            pair.run_until(Duration::from_secs(30), |a, b| {
                a.events.contains(&ChannelEvent::Closed(reliable)) && b.events.contains(&ChannelEvent::Closed(reliable))
            }),
            "seed {seed}"
        );
        // The other channel still works.
        for _ in 0..20 {
            pair.b.channels.send(unreliable, Bytes::from_static(b"still here"), false).unwrap();
        }
        pair.b.pump(pair.now);
        pair.run_for(Duration::from_secs(1));
        let got = pair.a.messages(unreliable).len();
        assert!((10..=20).contains(&got), "seed {seed}: {got}");
    }
}
