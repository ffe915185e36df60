//! The rules about time: the handshake and join timeouts, pings, the idle timeout, and the
//! deadline the state machine reports.

use super::*;

const MILLISECOND: Duration = Duration::from_millis(1);

#[test]
fn a_handshake_that_does_not_finish_within_the_join_timeout_is_dropped() {
    let mut test = Harness::new();
    let client = test.server.accept(test.now, Some(source())).expect("accepted");
    assert_eq!(test.server.poll_timeout(), Some(test.now + limits().join_timeout));
    assert_eq!(test.advance(limits().join_timeout - MILLISECOND), []);
    assert_eq!(test.advance(MILLISECOND), [Output::Close { client, reason: SignalingError::HandshakeTimedOut }]);
    test.server.open(client, test.now, source());
    assert_eq!(test.outputs(), [], "a handshake that ends too late is ignored");
}

#[test]
fn a_client_that_does_not_join_within_the_join_timeout_is_closed() {
    let mut test = Harness::new();
    test.now += Duration::from_secs(5);
    let accepted = test.now;
    let client = test.server.accept(accepted, Some(source())).expect("accepted");
    test.now += Duration::from_secs(5);
    test.server.open(client, test.now, source());
    assert_eq!(
        test.server.poll_timeout(),
        Some(accepted + Duration::from_secs(15)),
        "the clock restarts at the handshake"
    );
    test.server.receive_control(client, test.now);
    assert_eq!(test.advance(limits().join_timeout - MILLISECOND), []);
    assert_eq!(test.advance(MILLISECOND), [Output::Close { client, reason: SignalingError::JoinTimedOut }]);
}

#[test]
fn a_client_that_joined_is_not_held_to_the_join_timeout() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    let outputs = test.advance(limits().join_timeout);
    assert_eq!(closed(&outputs, host), None);
}

#[test]
fn a_silent_client_is_pinged_after_each_third_of_the_idle_timeout_then_closed() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    let third = limits().idle_timeout / 3;
    assert_eq!(test.advance(third - MILLISECOND), []);
    assert_eq!(test.advance(MILLISECOND), [Output::Ping { client: host }]);
    assert_eq!(test.advance(third), [Output::Ping { client: host }]);
    assert_eq!(test.advance(third - MILLISECOND), []);
    assert_eq!(test.advance(MILLISECOND), [Output::Close { client: host, reason: SignalingError::Idle }]);
    assert_eq!(test.server.poll_timeout(), None);
}

#[test]
fn any_frame_proves_the_client_alive() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    let third = limits().idle_timeout / 3;
    test.advance(third);
    test.now += third;
    test.server.receive_control(host, test.now); // the pong
    assert_eq!(test.advance(third - MILLISECOND), [], "the pong put the next ping off");
    assert_eq!(test.advance(MILLISECOND), [Output::Ping { client: host }]);
    test.now += third;
    test.send(host, Message::new(Kind::Seal, 0, "")); // a message counts too
    assert_eq!(test.advance(third - MILLISECOND), []);
    assert_eq!(test.advance(MILLISECOND), [Output::Ping { client: host }]);
    assert_eq!(test.advance(third), [Output::Ping { client: host }]);
    assert_eq!(test.advance(third), [Output::Close { client: host, reason: SignalingError::Idle }]);
}

#[test]
fn the_next_deadline_is_the_earliest_of_every_clients() {
    let mut test = Harness::new();
    assert_eq!(test.server.poll_timeout(), None, "no clients, no deadline");
    let start = test.now;
    let (host, _) = test.host(true);
    let third = limits().idle_timeout / 3;
    assert_eq!(test.server.poll_timeout(), Some(start + third.min(limits().join_timeout)));
    test.now += Duration::from_secs(2);
    test.server.accept(test.now, Some(source())).expect("accepted");
    assert_eq!(test.server.poll_timeout(), Some(start + Duration::from_secs(10)));
    test.server.disconnected(host);
    assert_eq!(test.server.poll_timeout(), Some(start + Duration::from_secs(12)));
}

#[test]
fn clients_due_at_the_same_instant_are_handled_in_the_order_they_came() {
    let mut test = Harness::new();
    let clients: Vec<_> = (0..3).map(|_| test.server.accept(test.now, Some(source())).expect("accepted")).collect();
    let outputs = test.advance(limits().join_timeout);
    let expected: Vec<_> =
        clients.iter().map(|&client| Output::Close { client, reason: SignalingError::HandshakeTimedOut }).collect();
    assert_eq!(outputs, expected);
}

#[test]
fn a_timeout_too_long_to_represent_never_comes() {
    let mut test = Harness::with(Limits { join_timeout: Duration::MAX, idle_timeout: Duration::MAX, ..limits() });
    test.server.accept(test.now, Some(source())).expect("accepted");
    test.connect();
    let much_later = test.now + Duration::from_secs(1_000_000_000);
    assert!(test.server.poll_timeout().is_none_or(|deadline| deadline > much_later));
    test.server.handle_timeout(much_later);
    assert_eq!(test.outputs(), []);
}
