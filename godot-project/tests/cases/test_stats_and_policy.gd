## iceTransportPolicy and the ICE server URLs initialize() refuses, and connection statistics:
## WebRTCPeerConnectionRs.get_stats() and WebRTCMultiplayerPeerRs.get_peer_stats().
extends "res://tests/test_case.gd"

## Every key of get_stats(), with the value it has before anything is known.
const DEFAULTS := {
	"round_trip_time": -1.0,
	"bytes_sent": 0,
	"bytes_received": 0,
	"packets_sent": 0,
	"packets_received": 0,
	"retransmissions": -1,
	"messages_abandoned": -1,
	"messages_expired": -1,
	"ice_restarts": 0,
	"local_candidate_type": "",
	"local_address": "",
	"local_port": 0,
	"remote_candidate_type": "",
	"remote_address": "",
	"remote_port": 0,
	"protocol": "",
	"path": "",
	"relay_peer": 0,
	"relayed_packets_sent": 0,
	"relayed_packets_received": 0,
}

const TURN_UDP := {
	"urls": ["turn:127.0.0.1:3478?transport=udp"], "username": "u", "credential": "c"
}


## Calls `action` and returns [its result, the errors it pushed].
func _with_errors(action: Callable) -> Array:
	var log := ErrorLog.new()
	OS.add_logger(log)
	var result = action.call()
	OS.remove_logger(log)
	return [result, log.take()]


## Checks that initialize(config) returns ERR_INVALID_PARAMETER with one error naming `reason`.
func _check_refused(config: Dictionary, reason: String, what: String) -> void:
	var peer := WebRTCPeerConnection.new()
	var outcome := _with_errors(func(): return peer.initialize(config))
	check_eq(outcome[0], ERR_INVALID_PARAMETER, "%s is refused" % what)
	var errors: Array = outcome[1]
	check_eq(errors.size(), 1, "with one error")
	if errors.size() == 1:
		var text: String = errors[0]
		check(text.contains("WebRTCPeerConnectionRs.initialize: ") and text.contains(reason),
			"which says '%s' (%s)" % [reason, text])
	peer.close()


func _check_keys(stats: Dictionary, what: String) -> void:
	var keys := stats.keys()
	keys.sort()
	var expected := DEFAULTS.keys()
	expected.sort()
	check_eq(keys, expected, "%s has every key" % what)
	for key in DEFAULTS:
		check_eq(typeof(stats.get(key)), typeof(DEFAULTS[key]), "%s: %s has its type" % [what, key])


func test_initialize_refuses_what_the_transport_cannot_use() -> void:
	_check_refused({"iceTransportPolicy": "none"}, "unknown iceTransportPolicy 'none'",
		"an unknown iceTransportPolicy")
	_check_refused({"iceTransportPolicy": "Relay"}, "unknown iceTransportPolicy",
		"a policy in capitals")
	_check_refused({"iceTransportPolicy": 1}, "'iceTransportPolicy' has the wrong type",
		"an iceTransportPolicy that is no String")
	_check_refused({"iceTransportPolicy": "relay"}, "needs a TURN server",
		"relay without a TURN server")
	_check_refused({"iceTransportPolicy": "relay", "iceServers": [{"urls": "stun:127.0.0.1"}]},
		"needs a TURN server", "relay with only a STUN server")
	var tcp := {"urls": "turn:127.0.0.1:3478?transport=tcp", "username": "u", "credential": "c"}
	var tls := {"urls": ["turns:127.0.0.1:5349"], "username": "u", "credential": "c"}
	for server in [tcp, tls]:
		var accepting := WebRTCPeerConnection.new()
		check_eq(accepting.initialize({"iceServers": [server]}), OK, "%s is accepted" % server.urls)
		accepting.close()
	_check_refused({"iceServers": [{"urls": "turns:127.0.0.1:5349"}]}, "credential",
		"turns: without credentials")
	_check_refused({"iceServers": [{"urls": "stuns:127.0.0.1"}]},
		"STUN over TLS ('stuns:') is not supported", "stuns:")
	_check_refused({"iceServers": [{"urls": "stuns:127.0.0.1"}]}, "supported are STUN over UDP",
		"a refusal names what is supported")
	_check_refused({"iceServers": [{"urls": "stun:127.0.0.1?transport=udp"}]}, "takes no query",
		"a stun: URL with a query")
	_check_refused({"iceServers": [{"urls": "stun:[::1]:3478"}], "bindAddress": "127.0.0.1"},
		"is an IPv6 address", "an IPv6 server for an IPv4 socket")
	var peer := WebRTCPeerConnection.new()
	check_eq(peer.initialize({"iceTransportPolicy": "all"}), OK, "iceTransportPolicy all")
	check_eq(peer.initialize({"iceTransportPolicy": "relay", "iceServers": [TURN_UDP]}), OK,
		"iceTransportPolicy relay with a TURN server over UDP")
	check_eq(peer.initialize({"iceServers": [{"urls": ["stun:127.0.0.1:3478"]}, TURN_UDP]}), OK,
		"a STUN and a TURN server over UDP")
	peer.close()


func test_get_stats_before_any_snapshot_has_every_key_with_nothing_known() -> void:
	var peer := WebRTCPeerConnection.new()
	var stats: Dictionary = peer.get_stats()
	_check_keys(stats, "get_stats() of a connection never started")
	check_eq(stats, DEFAULTS, "zeros, -1 and empty strings")
	peer.close()
	check_eq(peer.get_stats(), DEFAULTS, "and so after close()")


func test_get_stats_counts_the_traffic_of_a_connected_pair() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	for i in 100:
		o.ch1.put_packet(_payload(i, 100))
	var received := [0]
	var arrived := func():
		while o.ch2.get_available_packet_count() > 0:
			o.ch2.get_packet()
			received[0] += 1
		return received[0] == 100
	if not await wait_until(arrived, o.pair, 5.0, "100 messages arrive"):
		return
	_check_keys(o.p1.get_stats(), "get_stats()")
	var known := func():
		return o.pair.all(func(peer): return _selected(peer.get_stats()))
	if not await wait_until(known, o.pair, 5.0, "both sides report a selected pair and traffic"):
		return
	var sender: Dictionary = o.p1.get_stats()
	var receiver: Dictionary = o.p2.get_stats()
	for side in ["p1", "p2"]:
		var stats: Dictionary = sender if side == "p1" else receiver
		_check_keys(stats, side)
		check(stats.round_trip_time >= 0.0 and stats.round_trip_time < 1.0,
			"%s: a round-trip time in seconds (%f)" % [side, stats.round_trip_time])
		check(stats.packets_sent > 0 and stats.packets_received > 0, "%s: packets both ways" % side)
		check(stats.bytes_sent > 0 and stats.bytes_received > 0, "%s: bytes both ways" % side)
		check(stats.retransmissions >= 0 and stats.retransmissions <= 5,
			"%s: SCTP retransmissions are counted, few on loopback (%d)" % [side, stats.retransmissions])
		check_eq([stats.local_candidate_type, stats.remote_candidate_type], ["host", "host"],
			"%s: a host/host pair" % side)
		check_eq([stats.local_address, stats.remote_address], ["127.0.0.1", "127.0.0.1"],
			"%s: on 127.0.0.1" % side)
		check(stats.local_port > 0 and stats.remote_port > 0, "%s: with ports" % side)
		check_eq(stats.protocol, "udp", "%s: over UDP" % side)
	check_eq(sender.local_port, receiver.remote_port, "p1's local port is p2's remote port")
	check(sender.bytes_sent >= 100 * 100,
		"p1 sent at least the 10 kB of payload (%d)" % sender.bytes_sent)
	check(receiver.bytes_received >= 100 * 100,
		"p2 received at least the 10 kB of payload (%d)" % receiver.bytes_received)
	for i in 10:
		o.ch1.put_packet(_payload(i, 10000))
	var before: int = sender.bytes_sent
	var counted := func(): return o.p1.get_stats().bytes_sent >= before + 100000
	await wait_until(counted, o.pair, 5.0,
		"later snapshots follow the traffic without being asked again")
	o.p1.close()
	o.p2.close()


func test_get_peer_stats_of_a_two_peer_mesh() -> void:
	var log := {}
	var init := func(peer, id): check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)
	var peers := make_peers("WebRTCMultiplayerPeerRs", [1, 2], init, log)
	connect_all(peers)
	var connected := func(): return log[1].has("peer_connected 2") and log[2].has("peer_connected 1")
	if not await wait_until(connected, peers.values(), 15.0, "the two peers connect"):
		return
	_check_keys(peers[1].get_peer_stats(2), "get_peer_stats(2)")
	var known := func():
		return _selected(peers[1].get_peer_stats(2)) and _selected(peers[2].get_peer_stats(1))
	if await wait_until(known, peers.values(), 5.0, "both report the connection's statistics"):
		var stats: Dictionary = peers[1].get_peer_stats(2)
		_check_keys(stats, "get_peer_stats(2)")
		check_eq([stats.local_candidate_type, stats.remote_address], ["host", "127.0.0.1"],
			"a host candidate pair on 127.0.0.1")
		var connection: WebRTCPeerConnection = peers[1].get_peer(2).connection
		check_eq(connection.get_stats().local_port, stats.local_port,
			"the same statistics as the connection's get_stats()")
	var outcome := _with_errors(func(): return peers[1].get_peer_stats(9))
	check_eq(outcome[0], {}, "get_peer_stats of an unknown id is empty")
	var errors: Array = outcome[1]
	check(errors.size() == 1 and errors[0].contains("WebRTCMultiplayerPeerRs.get_peer_stats: "),
		"with one error (%s)" % [errors])
	for peer in peers.values():
		peer.close()


## A pair is selected and traffic went both ways.
func _selected(stats: Dictionary) -> bool:
	return stats.local_candidate_type != "" and stats.round_trip_time >= 0.0 \
		and stats.bytes_sent > 0 and stats.bytes_received > 0


func _payload(seed: int, size: int) -> PackedByteArray:
	var bytes := PackedByteArray()
	bytes.resize(size)
	bytes.fill(seed % 256)
	return bytes
