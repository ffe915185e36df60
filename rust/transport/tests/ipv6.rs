//! IPv6 in one process, over ::1: two connections bound to the IPv6 loopback connect and report
//! the IPv6 pair, and a STUN server on ::1 gives a server-reflexive IPv6 candidate.

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::forward;

use transport::{
    CandidateType, ChannelOptions, ChannelState, IceServer, PeerConnection, PeerEvent, SdpKind, TransportConfig,
};

const DEADLINE: Duration = Duration::from_secs(20);
const IPV6_LOOPBACK: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn ipv6_config() -> TransportConfig {
    TransportConfig { bind_address: Some(IPV6_LOOPBACK), ..Default::default() }
}

/// A socket on ::1, or `None` where the system has no IPv6 (the tests then say so and pass).
fn ipv6_socket() -> Option<UdpSocket> {
    match UdpSocket::bind((IPV6_LOOPBACK, 0)) {
        Ok(socket) => Some(socket),
        Err(error) => {
            eprintln!("no IPv6 loopback here ({error}): skipped");
            None
        }
    }
}

#[test]
fn two_connections_on_the_ipv6_loopback_connect_and_name_the_ipv6_pair() {
    if ipv6_socket().is_none() {
        return;
    }
    let mut offerer = PeerConnection::new(ipv6_config()).expect("connection");
    let mut answerer = PeerConnection::new(ipv6_config()).expect("connection");
    let options = || ChannelOptions { negotiated_id: Some(1), ..Default::default() };
    let a = offerer.create_data_channel("data", options()).expect("channel");
    let b = answerer.create_data_channel("data", options()).expect("channel");
    offerer.create_offer().expect("offer");
    let start = Instant::now();
    while a.ready_state() != ChannelState::Open || b.ready_state() != ChannelState::Open {
        assert!(start.elapsed() < DEADLINE, "the channels did not open");
        forward(&mut offerer, &answerer);
        forward(&mut answerer, &offerer);
        std::thread::sleep(Duration::from_millis(2));
    }
    a.send(b"over IPv6", false).expect("send");
    let got = loop {
        assert!(start.elapsed() < DEADLINE, "the message did not arrive");
        forward(&mut offerer, &answerer);
        forward(&mut answerer, &offerer);
        if let Some(message) = b.recv() {
            break message;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert_eq!(&got.data[..], b"over IPv6");
    for (side, connection) in [("offerer", &offerer), ("answerer", &answerer)] {
        let stats = connection.stats();
        let pair = stats.selected_pair.unwrap_or_else(|| panic!("{side}: no selected pair"));
        for end in [&pair.local, &pair.remote] {
            assert_eq!(end.candidate_type, CandidateType::Host, "{side}: {pair:?}");
            assert_eq!(end.address, "::1", "{side}: {pair:?}");
        }
    }
}

/// A STUN Binding success response to `request` naming `mapped` (XOR-MAPPED-ADDRESS, RFC 8489
/// §14.2, IPv6 form).
fn binding_response(request: &[u8], mapped: SocketAddr) -> Option<Vec<u8>> {
    let SocketAddr::V6(mapped) = mapped else { return None };
    if request.len() < 20 || request[..2] != [0x00, 0x01] {
        return None;
    }
    let cookie_and_transaction = &request[4..20];
    let mut value = vec![0x00, 0x02];
    value.extend_from_slice(&(mapped.port() ^ 0x2112).to_be_bytes());
    value.extend(mapped.ip().octets().iter().zip(cookie_and_transaction).map(|(octet, key)| octet ^ key));
    let mut response = vec![0x01, 0x01];
    response.extend_from_slice(&(4 + value.len() as u16).to_be_bytes());
    response.extend_from_slice(cookie_and_transaction);
    response.extend_from_slice(&[0x00, 0x20]);
    response.extend_from_slice(&(value.len() as u16).to_be_bytes());
    response.extend_from_slice(&value);
    Some(response)
}

#[test]
fn a_stun_server_on_the_ipv6_loopback_gives_an_ipv6_server_reflexive_candidate() {
    let Some(server) = ipv6_socket() else { return };
    server.set_read_timeout(Some(Duration::from_millis(50))).expect("a timeout");
    let server_at = server.local_addr().expect("its address");
    let mapped: SocketAddr = "[2001:db8::7]:4242".parse().expect("an address");
    let answering = std::thread::spawn(move || {
        let mut buffer = [0; 1500];
        let start = Instant::now();
        let mut asked_from = None;
        while start.elapsed() < DEADLINE && asked_from.is_none() {
            let Ok((n, from)) = server.recv_from(&mut buffer) else { continue };
            if let Some(response) = binding_response(&buffer[..n], mapped) {
                server.send_to(&response, from).expect("the answer");
                asked_from = Some(from);
            }
        }
        asked_from
    });
    let stun = IceServer { urls: vec![format!("stun:[::1]:{}", server_at.port())], ..Default::default() };
    let mut connection =
        PeerConnection::new(TransportConfig { ice_servers: vec![stun], ..ipv6_config() }).expect("connection");
    let _channel = connection.create_data_channel("data", ChannelOptions::default()).expect("channel");
    connection.create_offer().expect("offer");
    let start = Instant::now();
    let mut candidates = Vec::new();
    while !candidates.iter().any(|line: &String| line.contains("typ srflx")) {
        assert!(start.elapsed() < DEADLINE, "no server-reflexive candidate; candidates: {candidates:?}");
        for event in connection.poll() {
            match event {
                PeerEvent::SessionDescriptionCreated { kind: SdpKind::Offer, sdp } => {
                    connection.set_local_description(SdpKind::Offer, sdp).expect("local offer")
                }
                PeerEvent::IceCandidateCreated { candidate, .. } => candidates.push(candidate),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let srflx = candidates.iter().find(|line| line.contains("typ srflx")).expect("the candidate");
    assert!(srflx.contains("2001:db8::7 4242 typ srflx"), "{srflx}");
    assert!(srflx.contains("raddr ::1"), "its base is the IPv6 host address: {srflx}");
    let asked_from = answering.join().expect("the server thread");
    assert_eq!(asked_from.map(|from| from.ip()), Some(IPV6_LOOPBACK), "asked over IPv6");
}
