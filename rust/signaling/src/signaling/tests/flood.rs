//! The flood rule: text messages beyond the rate limit close the client.

use super::*;

/// A message that is always allowed once joined: the host sealing its own lobby.
fn seal() -> Message {
    Message::new(Kind::Seal, 0, "")
}

#[test]
fn a_burst_of_twice_the_rate_passes_and_one_more_is_flooding() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    // The JOIN was the first of the 20 messages a client may send at once at 10 per second.
    for sent in 2..=20 {
        assert_eq!(closed(&test.send(host, seal()), host), None, "message {sent}");
    }
    assert_eq!(test.send(host, seal()), [Output::Close { client: host, reason: SignalingError::Flooding }]);
}

#[test]
fn sending_at_the_rate_forever_is_allowed_and_the_budget_refills() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    for sent in 0..1000 {
        test.now += Duration::from_millis(100);
        assert_eq!(closed(&test.send(host, seal()), host), None, "message {sent}");
    }
    // Two seconds of silence refill the whole burst, and no more.
    test.now += Duration::from_secs(60);
    for sent in 0..20 {
        assert_eq!(closed(&test.send(host, seal()), host), None, "message {sent} of the burst");
    }
    assert_eq!(closed(&test.send(host, seal()), host), Some(SignalingError::Flooding));
}

#[test]
fn pings_and_pongs_cost_nothing() {
    let mut test = Harness::new();
    let (host, _) = test.host(true);
    for _ in 0..1000 {
        test.server.receive_control(host, test.now);
    }
    assert_eq!(test.outputs(), []);
    assert_eq!(closed(&test.send(host, seal()), host), None);
}
