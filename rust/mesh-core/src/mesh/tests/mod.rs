use super::*;
use crate::link_state::{ChannelState, ConnectionState};
use MeshEvent::*;

/// A link as the tests drive it: its observed health, packets waiting per channel, and what was
/// sent on it.
#[derive(Debug, Default)]
struct FakeLink {
    health: Option<PeerHealth>,
    inbox: Vec<Vec<&'static str>>,
    sent: Vec<(usize, Vec<u8>)>,
    refuses: bool,
    /// The largest packet the link sends, if it tells.
    max_message_size: Option<usize>,
}

impl FakeLink {
    fn state(&self) -> LinkState {
        let (connection, channel) = match self.health {
            None | Some(PeerHealth::Connecting) => (ConnectionState::Connecting, ChannelState::Connecting),
            Some(PeerHealth::Ready) => (ConnectionState::Connected, ChannelState::Open),
            Some(PeerHealth::Dead) => (ConnectionState::Closed, ChannelState::Closed),
        };
        LinkState { connection, channels: vec![channel; 3], max_message_size: self.max_message_size }
    }
}

type TestMesh = Mesh<FakeLink, &'static str>;

const MAX: usize = 100;
const NEW: Option<ConnectionState> = Some(ConnectionState::New);

fn new_mesh() -> TestMesh {
    TestMesh::new(MAX)
}

fn mesh(mode: Mode, id: i64) -> TestMesh {
    let mut mesh = new_mesh();
    mesh.initialize(id, mode, &[]).unwrap();
    mesh
}

const MESH: Mode = Mode::Mesh { server_compatibility: false };
const COMPAT: Mode = Mode::Mesh { server_compatibility: true };

fn add(mesh: &mut TestMesh, id: i32) {
    let admission = mesh.check_add_peer(i64::from(id), 1, || NEW).unwrap();
    mesh.insert_peer(admission, FakeLink::default());
}

/// Sets the health of some peers and runs an update; returns the removed ids.
fn observe(mesh: &mut TestMesh, observed: &[(i32, PeerHealth)]) -> Vec<i32> {
    for (id, health) in observed {
        mesh.link_mut(*id).unwrap().health = Some(*health);
    }
    mesh.update(FakeLink::state).into_iter().map(|(id, _)| id).collect()
}

fn ready(mesh: &mut TestMesh, ids: &[i32]) -> Vec<MeshEvent> {
    let observed: Vec<_> = ids.iter().map(|id| (*id, PeerHealth::Ready)).collect();
    observe(mesh, &observed);
    mesh.take_events()
}

/// Queues `packet` on the peer's channel and runs a receive.
fn push(mesh: &mut TestMesh, id: i32, channel: usize, packet: &'static str) {
    let link = mesh.link_mut(id).unwrap();
    link.inbox.resize(channel.max(link.inbox.len()) + 1, Vec::new());
    link.inbox[channel].push(packet);
    let removed = mesh.receive(|link, channel, _| link.inbox.get_mut(channel).map(std::mem::take).unwrap_or_default());
    assert!(removed.is_empty(), "no queue overflows");
}

/// What the tests' links refuse with.
struct Refusal(&'static str);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl LinkSendError for Refusal {
    fn is_full(&self) -> bool {
        self.0 == "full"
    }
}

fn peer_ids(mesh: &TestMesh) -> Vec<i32> {
    mesh.links().map(|(id, _)| id).collect()
}

#[test]
fn initialize_checks_the_id_range_and_channels_config() {
    let mut mesh = new_mesh();
    for bad in [0, -1, 2_147_483_648] {
        assert!(matches!(mesh.initialize(bad, MESH, &[]), Err(MeshError::InvalidParameter(_))), "{bad}");
    }
    assert!(mesh.initialize(2_147_483_647, MESH, &[]).is_ok());
    assert!(mesh.initialize(1, MESH, &[]).is_ok());
    assert!(matches!(mesh.initialize(2, MESH, &[2, 3]), Err(MeshError::InvalidParameter(_))));
    assert!(mesh.initialize(2, MESH, &[0, 1, 2]).is_ok());
    let most = vec![0; crate::MAX_EXTRA_CHANNELS];
    assert!(mesh.initialize(2, MESH, &most).is_ok());
    let last = channel_layout(1, &mesh.extras).last().map(|spec| spec.id);
    assert_eq!(last, Some(65533), "the last extra takes the highest stream id below the relay channel's");
    let one_more = vec![0; crate::MAX_EXTRA_CHANNELS + 1];
    assert!(matches!(mesh.initialize(2, MESH, &one_more), Err(MeshError::InvalidParameter(_))), "ids would wrap");
}

#[test]
fn status_after_initialize_depends_on_the_mode() {
    assert_eq!(mesh(MESH, 5).status(), ConnectionStatus::Connected);
    assert_eq!(mesh(COMPAT, 5).status(), ConnectionStatus::Connecting);
    assert_eq!(mesh(Mode::Client, 5).status(), ConnectionStatus::Connecting);
    let server = mesh(Mode::Server, 0);
    assert_eq!((server.status(), server.unique_id(), server.is_server()), (ConnectionStatus::Connected, 1, true));
    assert_eq!(new_mesh().status(), ConnectionStatus::Disconnected);
}

#[test]
fn a_client_cannot_be_id_1() {
    let mut mesh = new_mesh();
    assert!(matches!(mesh.initialize(1, Mode::Client, &[]), Err(MeshError::InvalidParameter(_))));
}

#[test]
fn add_peer_checks_follow_the_engine_order() {
    let unconfigured = new_mesh();
    assert!(matches!(unconfigured.check_add_peer(2, 1, || NEW), Err(MeshError::Unconfigured(_))));

    let client = mesh(Mode::Client, 3);
    assert!(matches!(client.check_add_peer(2, 1, || NEW), Err(MeshError::InvalidParameter(_))));
    assert!(client.check_add_peer(1, 1, || NEW).is_ok());
    let server = mesh(Mode::Server, 1);
    assert!(matches!(server.check_add_peer(1, 1, || NEW), Err(MeshError::InvalidParameter(_))));

    let mut mesh = mesh(MESH, 1);
    assert!(matches!(mesh.check_add_peer(0, 1, || NEW), Err(MeshError::InvalidParameter(_))));
    assert!(matches!(mesh.check_add_peer(-4, 1, || NEW), Err(MeshError::InvalidParameter(_))));
    assert!(matches!(mesh.check_add_peer(2, -1, || NEW), Err(MeshError::InvalidParameter(_))));
    assert!(matches!(mesh.check_add_peer(1, 1, || NEW), Err(MeshError::InvalidParameter(_))), "own id");
    mesh.set_refuse_new_connections(true);
    assert!(matches!(mesh.check_add_peer(2, 1, || NEW), Err(MeshError::Unauthorized(_))));
    mesh.set_refuse_new_connections(false);
    assert!(matches!(mesh.check_add_peer(2, 1, || None), Err(MeshError::InvalidParameter(_))), "a null connection");
    let used = Some(ConnectionState::Connecting);
    assert!(matches!(mesh.check_add_peer(2, 1, || used), Err(MeshError::InvalidParameter(_))), "a used connection");
    add(&mut mesh, 2);
    assert!(matches!(mesh.check_add_peer(2, 1, || NEW), Err(MeshError::AlreadyExists(_))));
}

#[test]
fn add_peer_reads_the_connection_state_once_and_only_after_the_other_checks() {
    let reads = std::cell::Cell::new(0);
    let read = || {
        reads.set(reads.get() + 1);
        NEW
    };
    let mut mesh = mesh(MESH, 1);
    mesh.set_refuse_new_connections(true);
    assert!(mesh.check_add_peer(0, 1, read).is_err());
    assert!(mesh.check_add_peer(2, -1, read).is_err());
    assert!(mesh.check_add_peer(2, 1, read).is_err());
    assert_eq!(reads.get(), 0, "a call refused for its arguments or the mesh's state reads no connection");
    mesh.set_refuse_new_connections(false);
    assert!(mesh.check_add_peer(2, 1, read).is_ok());
    assert_eq!(reads.get(), 1);
}

#[test]
fn add_peer_returns_the_engine_channel_layout() {
    let mut mesh = new_mesh();
    mesh.initialize(1, MESH, &[2, 0]).unwrap();
    let admission = mesh.check_add_peer(2, 9, || NEW).unwrap();
    let labels: Vec<_> = admission.channels().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["reliable", "ordered", "unreliable", "4", "5"]);
    assert_eq!(admission.channels()[1].max_packet_life_time, Some(9));
    assert_eq!(admission.peer_id(), 2);
}

#[test]
fn a_mesh_announces_each_peer_when_its_channels_open() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    add(&mut mesh, 3);
    assert!(mesh.has_peer(2) && !mesh.is_peer_ready(2));
    assert_eq!(observe(&mut mesh, &[(2, PeerHealth::Connecting), (3, PeerHealth::Connecting)]), Vec::<i32>::new());
    assert_eq!(mesh.take_events(), []);
    assert_eq!(ready(&mut mesh, &[3]), [PeerConnected(3)]);
    assert_eq!(ready(&mut mesh, &[2, 3]), [PeerConnected(2)], "announced once only");
    assert!(mesh.is_peer_ready(2));
}

#[test]
fn removals_come_before_new_connections_within_one_poll() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    add(&mut mesh, 3);
    ready(&mut mesh, &[2]);
    let removed = observe(&mut mesh, &[(2, PeerHealth::Dead), (3, PeerHealth::Ready)]);
    assert_eq!(removed, [2]);
    assert_eq!(mesh.take_events(), [PeerDisconnected(2), PeerConnected(3)]);
    assert!(!mesh.has_peer(2));
}

#[test]
fn removing_a_peer_that_never_connected_is_silent() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    assert!(mesh.remove_peer(2).is_some());
    assert_eq!(mesh.take_events(), []);
    assert!(mesh.remove_peer(2).is_none());
}

#[test]
fn server_compatibility_holds_peers_back_until_the_server_connects() {
    let mut mesh = mesh(COMPAT, 3);
    for id in [2, 4, 1] {
        add(&mut mesh, id);
    }
    assert_eq!(ready(&mut mesh, &[2, 4]), []);
    assert_eq!(mesh.status(), ConnectionStatus::Connecting);
    assert_eq!(ready(&mut mesh, &[1]), [PeerConnected(1), ConnectionSucceeded, PeerConnected(2), PeerConnected(4)]);
    assert_eq!(mesh.status(), ConnectionStatus::Connected);
    add(&mut mesh, 5);
    assert_eq!(ready(&mut mesh, &[5]), [PeerConnected(5)]);
    mesh.remove_peer(1);
    assert_eq!(mesh.take_events(), [PeerDisconnected(1), ServerDisconnected]);
    assert_eq!(mesh.status(), ConnectionStatus::Disconnected);
}

#[test]
fn without_server_compatibility_the_server_is_an_ordinary_peer() {
    let mut mesh = mesh(MESH, 3);
    add(&mut mesh, 1);
    assert_eq!(ready(&mut mesh, &[1]), [PeerConnected(1)]);
    mesh.remove_peer(1);
    assert_eq!(mesh.take_events(), [PeerDisconnected(1)]);
    assert_eq!(mesh.status(), ConnectionStatus::Connected);
}

#[test]
fn a_client_connects_and_disconnects_with_the_server() {
    let mut mesh = mesh(Mode::Client, 3);
    add(&mut mesh, 1);
    assert_eq!(ready(&mut mesh, &[1]), [PeerConnected(1)]);
    assert_eq!(mesh.status(), ConnectionStatus::Connected);
    observe(&mut mesh, &[(1, PeerHealth::Dead)]);
    assert_eq!(mesh.take_events(), [PeerDisconnected(1)]);
    assert_eq!(mesh.status(), ConnectionStatus::Disconnected);
}

#[test]
fn disconnect_peer_forced_is_silent_and_unforced_waits_for_the_poll() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    add(&mut mesh, 3);
    ready(&mut mesh, &[2, 3]);
    assert!(mesh.disconnect_peer(9, false).is_err());
    assert!(mesh.disconnect_peer(2, true).unwrap().is_some(), "the forced peer's link is handed back");
    assert!(!mesh.has_peer(2));
    assert_eq!(mesh.take_events(), []);
    assert!(mesh.disconnect_peer(3, false).unwrap().is_none());
    assert!(mesh.has_peer(3));
    observe(&mut mesh, &[(3, PeerHealth::Dead)]);
    assert_eq!(mesh.take_events(), [PeerDisconnected(3)]);
}

#[test]
fn close_forgets_everything_without_signals() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    ready(&mut mesh, &[2]);
    push(&mut mesh, 2, 0, "lost");
    assert_eq!(mesh.close().len(), 1, "close hands back every link");
    assert_eq!(mesh.take_events(), []);
    assert_eq!(
        (mesh.status(), mesh.unique_id(), peer_ids(&mesh).len(), mesh.available_packets()),
        (ConnectionStatus::Disconnected, 0, 0, 0)
    );
    assert!(matches!(mesh.check_add_peer(2, 1, || NEW), Err(MeshError::Unconfigured(_))));
    assert!(matches!(mesh.send_plan(), Err(MeshError::Unconfigured(_))));
}

#[test]
fn packets_wait_until_their_peer_is_announced() {
    let mut mesh = mesh(COMPAT, 3);
    add(&mut mesh, 2);
    add(&mut mesh, 1);
    ready(&mut mesh, &[2]);
    push(&mut mesh, 2, 0, "early");
    assert_eq!((mesh.available_packets(), mesh.next_packet()), (0, None));
    assert!(mesh.pop_packet().is_none());
    ready(&mut mesh, &[1]);
    assert_eq!(mesh.available_packets(), 1);
    assert_eq!(mesh.pop_packet().map(|(info, packet)| (info.peer, packet)), Some((2, "early")));
}

#[test]
fn packets_are_read_round_robin_and_lowest_channel_first() {
    let mut mesh = new_mesh();
    mesh.initialize(1, MESH, &[0]).unwrap();
    for id in [2, 3, 4] {
        add(&mut mesh, id);
    }
    ready(&mut mesh, &[2, 3, 4]);
    push(&mut mesh, 2, 2, "2-unreliable");
    push(&mut mesh, 2, 0, "2-reliable");
    push(&mut mesh, 3, 3, "3-extra");
    push(&mut mesh, 2, 1, "2-ordered");
    push(&mut mesh, 4, 1, "4-ordered");
    observe(&mut mesh, &[]);
    let mut order = Vec::new();
    while let Some(info) = mesh.next_packet() {
        let (popped, packet) = mesh.pop_packet().unwrap();
        assert_eq!(info, popped, "next_packet describes what pop_packet returns");
        order.push((packet, info.transfer_channel, info.mode));
    }
    assert_eq!(
        order,
        [
            ("2-reliable", 0, TransferMode::Reliable),
            ("3-extra", 1, TransferMode::Unreliable),
            ("4-ordered", 0, TransferMode::UnreliableOrdered),
            ("2-ordered", 0, TransferMode::UnreliableOrdered),
            ("2-unreliable", 0, TransferMode::Unreliable),
        ]
    );
}

#[test]
fn send_plans_follow_target_mode_and_channel() {
    let mut mesh = new_mesh();
    mesh.initialize(1, MESH, &[2]).unwrap();
    for id in [2, 3, 4] {
        add(&mut mesh, id);
    }
    ready(&mut mesh, &[2, 3]);
    let plan = |mesh: &TestMesh| mesh.send_plan().map(|plan| (plan.channel_index, plan.peers));
    assert_eq!(plan(&mesh), Ok((0, vec![2, 3])), "broadcast reaches connected peers");
    mesh.set_target_peer(-2);
    mesh.set_transfer_mode(TransferMode::Unreliable);
    assert_eq!(plan(&mesh), Ok((2, vec![3])));
    mesh.set_target_peer(3);
    mesh.set_transfer_mode(TransferMode::UnreliableOrdered);
    assert_eq!(plan(&mesh), Ok((1, vec![3])));
    mesh.set_transfer_channel(1);
    assert_eq!(plan(&mesh), Ok((3, vec![3])), "channel 1 is the first extra; the mode is ignored");
    mesh.set_transfer_channel(2);
    assert!(matches!(mesh.send_plan(), Err(MeshError::InvalidParameter(_))));
    mesh.set_transfer_channel(-1);
    assert!(matches!(mesh.send_plan(), Err(MeshError::InvalidParameter(_))));
    mesh.set_transfer_channel(0);
    mesh.set_target_peer(9);
    assert!(matches!(mesh.send_plan(), Err(MeshError::InvalidParameter(_))), "unknown peer");
    mesh.set_target_peer(4);
    assert!(matches!(mesh.send_plan(), Err(MeshError::Unavailable(_))), "peer not connected yet");
    mesh.set_target_peer(i32::MIN);
    assert_eq!(plan(&mesh), Ok((1, vec![2, 3])), "all but 2^31, which no peer is: everyone");
}

#[test]
fn relay_is_offered_in_server_and_client_mode() {
    assert!(mesh(Mode::Server, 1).is_server_relay_supported());
    assert!(mesh(Mode::Client, 2).is_server_relay_supported());
    assert!(!mesh(MESH, 1).is_server_relay_supported());
    assert!(mesh(MESH, 1).is_server());
    assert!(!mesh(MESH, 2).is_server());
}

#[test]
fn the_available_count_follows_pushes_pops_announcements_and_removals() {
    let mut mesh = new_mesh();
    mesh.initialize(1, MESH, &[]).unwrap();
    for id in [2, 3, 4] {
        add(&mut mesh, id);
    }
    ready(&mut mesh, &[2, 3]);
    push(&mut mesh, 2, 0, "a");
    push(&mut mesh, 2, 1, "b");
    push(&mut mesh, 3, 2, "c");
    push(&mut mesh, 4, 0, "waiting");
    assert_eq!(mesh.available_packets(), 3, "peer 4 is not announced yet");
    mesh.remove_peer(2);
    assert_eq!(mesh.available_packets(), 1);
    ready(&mut mesh, &[4]);
    assert_eq!(mesh.available_packets(), 2, "announcing peer 4 reports its waiting packet");
    mesh.pop_packet();
    mesh.disconnect_peer(4, true).unwrap();
    assert_eq!(mesh.available_packets(), 0);
    assert_eq!(mesh.next_packet(), None);
}

#[test]
fn peers_are_polled_and_signalled_in_insertion_order() {
    let mut mesh = mesh(MESH, 1);
    for id in [9, 3, 7, 5] {
        add(&mut mesh, id);
    }
    assert_eq!(peer_ids(&mesh), [9, 3, 7, 5]);
    let mut observed = Vec::new();
    mesh.update(|link| {
        observed.push(link as *const FakeLink as usize);
        LinkState {
            connection: ConnectionState::Connected,
            channels: vec![ChannelState::Open; 3],
            max_message_size: None,
        }
    });
    assert_eq!(observed.len(), 4);
    assert_eq!(mesh.take_events(), [PeerConnected(9), PeerConnected(3), PeerConnected(7), PeerConnected(5)]);
    let removed: Vec<i32> = mesh
        .update(|_| LinkState {
            connection: ConnectionState::Failed,
            channels: vec![ChannelState::Open; 3],
            max_message_size: None,
        })
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(removed, [9, 3, 7, 5]);
    assert_eq!(
        mesh.take_events(),
        [PeerDisconnected(9), PeerDisconnected(3), PeerDisconnected(7), PeerDisconnected(5)]
    );
}

#[test]
fn send_applies_the_size_limit_and_the_failure_rule() {
    let mut mesh = mesh(MESH, 1);
    for id in [2, 3, 4] {
        add(&mut mesh, id);
    }
    ready(&mut mesh, &[2, 3, 4]);
    mesh.link_mut(3).unwrap().refuses = true;
    let send = |link: &mut FakeLink, channel: usize, data: &[u8]| {
        if link.refuses {
            return Err(Refusal("closed"));
        }
        link.sent.push((channel, data.to_vec()));
        Ok(())
    };
    assert!(matches!(mesh.send(&[0; MAX + 1], send), Err(MeshError::InvalidParameter(_))), "over the limit");
    assert!(mesh.link(2).unwrap().sent.is_empty(), "nothing is sent when the packet is refused");
    let failures = mesh.send(b"all", send).unwrap();
    assert_eq!(failures.len(), 1, "a broadcast reports each failed peer");
    assert!(matches!(&failures[0], MeshError::Unavailable(text) if text.contains("peer 3")));
    assert_eq!(mesh.link(2).unwrap().sent, [(0, b"all".to_vec())]);
    assert_eq!(mesh.link(4).unwrap().sent, [(0, b"all".to_vec())], "and goes on past it");
    mesh.set_target_peer(3);
    assert!(
        matches!(mesh.send(b"one", send), Err(MeshError::Unavailable(_))),
        "a single target's failure is the call's"
    );
    mesh.set_target_peer(4);
    mesh.set_transfer_mode(TransferMode::Unreliable);
    assert_eq!(mesh.send(b"one", send), Ok(vec![]));
    assert_eq!(mesh.link(4).unwrap().sent.last(), Some(&(2, b"one".to_vec())));
}

#[test]
fn the_size_limit_is_the_smallest_of_the_ready_links() {
    const LARGEST: usize = 8000;
    let mut mesh = TestMesh::new(LARGEST);
    mesh.initialize(1, MESH, &[]).unwrap();
    assert_eq!(mesh.max_packet_size(), LARGEST, "the default with no peer");
    for id in [2, 3, 4, 5] {
        add(&mut mesh, id);
    }
    mesh.link_mut(2).unwrap().max_message_size = Some(LARGEST * 2);
    mesh.link_mut(3).unwrap().max_message_size = Some(3000);
    mesh.link_mut(4).unwrap().max_message_size = Some(2000);
    mesh.link_mut(5).unwrap().max_message_size = Some(10);
    ready(&mut mesh, &[2, 3]);
    assert_eq!(mesh.max_packet_size(), 3000, "peers 4 and 5 are not ready: their limits do not count yet");
    let send = |link: &mut FakeLink, _: usize, data: &[u8]| {
        link.sent.push((0, data.to_vec()));
        Ok::<(), Refusal>(())
    };
    let refused = mesh.send(&[0; 3001], send);
    assert!(
        matches!(&refused, Err(MeshError::InvalidParameter(text)) if text.contains("3000 bytes") && text.contains("peer 3")),
        "a broadcast between the limits fails as a whole: {refused:?}"
    );
    assert!(mesh.link(2).unwrap().sent.is_empty(), "and reaches no peer, not even those that take it");
    assert_eq!(mesh.send(&[0; 3000], send), Ok(vec![]), "the smallest limit passes");
    mesh.set_target_peer(2);
    assert_eq!(mesh.send(&[0; LARGEST], send), Ok(vec![]), "one target is held to its own limit");
    assert!(
        matches!(mesh.send(&[0; LARGEST + 1], send), Err(MeshError::InvalidParameter(_))),
        "a link never raises the mesh's own largest packet"
    );
    mesh.set_target_peer(0);
    ready(&mut mesh, &[4]);
    assert_eq!(mesh.max_packet_size(), 2000);
    ready(&mut mesh, &[5]);
    assert_eq!(mesh.max_packet_size(), MIN_LINK_MESSAGE_SIZE, "a link announcing less lowers it only this far");
    assert!(mesh.remove_peer(5).is_some() && mesh.remove_peer(4).is_some());
    assert_eq!(mesh.max_packet_size(), 3000, "peers that left no longer count");
}

/// 30-byte packets, which count for 30 + PACKET_OVERHEAD bytes each.
const PACKET: &str = "abcdefghijklmnopqrstuvwxyz0123";

/// Queues `count` packets on `channel` of peer `id` and runs a receive whose links hand over
/// everything, whatever their budget; returns the removed peers with their errors.
fn flood(mesh: &mut TestMesh, id: i32, channel: usize, count: usize) -> Vec<(i32, MeshError)> {
    let link = mesh.link_mut(id).unwrap();
    link.inbox.resize(channel.max(link.inbox.len()) + 1, Vec::new());
    link.inbox[channel].extend(std::iter::repeat_n(PACKET, count));
    let removed = mesh.receive(|link, channel, _| link.inbox.get_mut(channel).map(std::mem::take).unwrap_or_default());
    removed.into_iter().map(|(id, _, error)| (id, error)).collect()
}

/// Runs a receive whose links hand over what fits their budget and keep the rest, as ours do;
/// returns how many packets each channel of peer `id` kept.
fn receive_within_budgets(mesh: &mut TestMesh, id: i32) -> Vec<usize> {
    let removed = mesh.receive(|link, channel, budget| {
        let Some(inbox) = link.inbox.get_mut(channel) else { return Vec::new() };
        let fits = match budget {
            Some(bytes) => inbox.len().min(bytes / (PACKET.len() + PACKET_OVERHEAD)),
            None => inbox.len(),
        };
        inbox.drain(..fits).collect()
    });
    assert!(removed.is_empty(), "a link within its budget never costs the peer");
    mesh.link(id).unwrap().inbox.iter().map(Vec::len).collect()
}

#[test]
fn a_reliable_channel_takes_what_its_queue_has_room_for_and_leaves_the_rest_in_the_link() {
    let mut mesh = mesh(MESH, 1);
    mesh.set_receive_limit(10 * (PACKET.len() + PACKET_OVERHEAD));
    add(&mut mesh, 2);
    ready(&mut mesh, &[2]);
    let link = mesh.link_mut(2).unwrap();
    link.inbox.resize(3, Vec::new());
    link.inbox[0].extend(std::iter::repeat_n(PACKET, 15));
    link.inbox[2].extend(std::iter::repeat_n(PACKET, 5000));
    assert_eq!(receive_within_budgets(&mut mesh, 2), [5, 0, 0], "the unreliable channel takes all, trimming");
    assert!(mesh.has_peer(2));
    assert_eq!(receive_within_budgets(&mut mesh, 2), [5, 0, 0], "nothing read, nothing taken");
    for _ in 0..5 {
        assert_eq!(mesh.pop_packet().map(|(info, _)| info.mode), Some(TransferMode::Reliable));
    }
    assert_eq!(receive_within_budgets(&mut mesh, 2), [0, 0, 0], "read five, took five");
}

#[test]
fn the_receive_limit_is_never_below_the_largest_packet_and_survives_close() {
    let mut mesh = mesh(MESH, 1);
    assert_eq!(mesh.receive_limit(), MAX);
    mesh.set_receive_limit(10);
    assert_eq!(mesh.receive_limit(), MAX);
    mesh.set_receive_limit(1000);
    mesh.close();
    assert_eq!(mesh.receive_limit(), 1000);
}

#[test]
fn an_unread_unreliable_channel_keeps_its_newest_packets_within_the_limit() {
    let mut mesh = mesh(MESH, 1);
    mesh.set_receive_limit(10 * (PACKET.len() + PACKET_OVERHEAD));
    add(&mut mesh, 2);
    ready(&mut mesh, &[2]);
    let unreliable = TransferMode::Unreliable.builtin_index();
    assert_eq!(flood(&mut mesh, 2, unreliable, 25), []);
    assert_eq!(mesh.available_packets(), 10);
    assert_eq!(mesh.dropped_packets(), 15);
    push(&mut mesh, 2, unreliable, "newest");
    assert_eq!(mesh.available_packets(), 10, "one more in, the oldest out");
    let mut read = Vec::new();
    while let Some((info, packet)) = mesh.pop_packet() {
        assert_eq!(info.mode, TransferMode::Unreliable);
        read.push(packet);
    }
    assert_eq!(read.len(), 10);
    assert_eq!(read.last(), Some(&"newest"));
    assert_eq!(mesh.available_packets(), 0);
    assert!(mesh.has_peer(2), "an unreliable channel never costs the peer");
}

#[test]
fn a_peer_whose_link_hands_over_more_than_its_reliable_budget_is_dropped_with_one_error() {
    let mut mesh = mesh(MESH, 1);
    mesh.set_receive_limit(10 * (PACKET.len() + PACKET_OVERHEAD));
    add(&mut mesh, 2);
    add(&mut mesh, 3);
    ready(&mut mesh, &[2, 3]);
    push(&mut mesh, 3, 0, "from 3");
    assert_eq!(flood(&mut mesh, 2, 0, 10), [], "up to the limit is kept");
    assert_eq!(mesh.available_packets(), 11);
    // Past the limit and one packet of the largest size (which a link that learns sizes only
    // once it took a packet may overshoot by).
    let removed = flood(&mut mesh, 2, 0, 3);
    assert_eq!(removed.len(), 1);
    let (id, error) = &removed[0];
    assert_eq!(*id, 2);
    assert!(
        matches!(error, MeshError::QueueFull(text) if text.contains("peer 2") && text.contains("'reliable'")),
        "{error}"
    );
    assert_eq!(mesh.take_events(), [PeerDisconnected(2)]);
    assert!(!mesh.has_peer(2));
    assert_eq!(mesh.available_packets(), 1, "the dropped peer's packets go with it");
    assert_eq!(mesh.pop_packet().map(|(info, packet)| (info.peer, packet)), Some((3, "from 3")));
}

#[test]
fn an_unannounced_peer_is_bounded_too() {
    let mut mesh = mesh(COMPAT, 5);
    mesh.set_receive_limit(10 * (PACKET.len() + PACKET_OVERHEAD));
    add(&mut mesh, 2);
    ready(&mut mesh, &[2]);
    assert_eq!(flood(&mut mesh, 2, 2, 30), [], "unreliable: trimmed");
    assert_eq!(mesh.available_packets(), 0, "not announced yet");
    let removed = flood(&mut mesh, 2, 0, 13);
    assert_eq!(removed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [2]);
    assert_eq!(mesh.take_events(), [], "never announced, so no signal");
}

#[test]
fn a_full_send_buffer_is_its_own_failure() {
    let mut mesh = mesh(MESH, 1);
    add(&mut mesh, 2);
    ready(&mut mesh, &[2]);
    let full = |_: &mut FakeLink, _: usize, _: &[u8]| Err(Refusal("full"));
    mesh.set_target_peer(2);
    assert!(matches!(mesh.send(b"x", full), Err(MeshError::QueueFull(text)) if text.contains("peer 2")));
    mesh.set_target_peer(0);
    assert!(matches!(mesh.send(b"x", full).unwrap().as_slice(), [MeshError::QueueFull(_)]));
}
