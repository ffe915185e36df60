## Base of every GDScript test file: checks that count and print, and waiting helpers.
extends RefCounted

const Wire := preload("res://shared/wire.gd")
const ErrorLog := preload("res://shared/error_log.gd")

var tree: SceneTree
var passed := 0
var failed := 0


func check(condition: bool, what: String) -> bool:
	if condition:
		passed += 1
		print("  ok   %s" % what)
	else:
		failed += 1
		printerr("  FAIL %s" % what)
	return condition


func check_eq(actual, expected, what: String) -> bool:
	var same: bool = typeof(actual) == typeof(expected) and actual == expected
	return check(same, "%s (got %s, expected %s)" % [what, _short(actual), _short(expected)])


func _short(value) -> String:
	var text := str(value)
	return text if text.length() <= 60 else text.left(57) + "..."


## Polls `objects` every frame until `condition` returns true or `timeout` seconds pass.
func wait_until(condition: Callable, objects: Array, timeout: float, what: String) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout * 1000)
	while Time.get_ticks_msec() < deadline:
		for object in objects:
			object.poll()
		if condition.call():
			return check(true, what)
		await tree.process_frame
	return check(false, "%s (timed out after %.1f s)" % [what, timeout])


## Polls `objects` every frame for `seconds`.
func pump(objects: Array, seconds: float) -> void:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000)
	while Time.get_ticks_msec() < deadline:
		for object in objects:
			object.poll()
		await tree.process_frame


## Two connections in one process wired to each other as in Godot's webrtc_minimal demo.
func connected_pair() -> Array:
	return Wire.pair({"iceServers": []})


## A connected pair with a negotiated "reliable" channel (id 1) on each side, once both are
## open: {p1, p2, ch1, ch2, pair}, or {} if they did not open.
func open_channel_pair() -> Dictionary:
	var pair := connected_pair()
	var options := {"id": 1, "negotiated": true}
	var ch1: WebRTCDataChannel = pair[0].create_data_channel("reliable", options)
	var ch2: WebRTCDataChannel = pair[1].create_data_channel("reliable", options)
	check_eq(pair[0].create_offer(), OK, "create_offer")
	var open := func():
		return ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
			and ch2.get_ready_state() == WebRTCDataChannel.STATE_OPEN
	if not await wait_until(open, pair, 10.0, "both negotiated channels open"):
		return {}
	return {"p1": pair[0], "p2": pair[1], "ch1": ch1, "ch2": ch2, "pair": pair}


## Creates a multiplayer peer of class `peer_class` per id, initialized by `init` (a Callable
## taking the peer and its id), and records every signal it emits in `log[id]`.
func make_peers(peer_class: String, ids: Array, init: Callable, log: Dictionary) -> Dictionary:
	var peers := {}
	for id in ids:
		var peer: MultiplayerPeer = ClassDB.instantiate(peer_class)
		init.call(peer, id)
		log[id] = []
		peer.peer_connected.connect(func(other): log[id].append("peer_connected %d" % other))
		peer.peer_disconnected.connect(func(other): log[id].append("peer_disconnected %d" % other))
		if peer.has_signal("connection_succeeded"):
			peer.connection_succeeded.connect(func(): log[id].append("connection_succeeded"))
			peer.server_disconnected.connect(func(): log[id].append("server_disconnected"))
		peers[id] = peer
	return peers


## Connects peers `a` and `b` of `peers` with a new pair of connections; the lower id offers.
func connect_peers(peers: Dictionary, a: int, b: int, unreliable_lifetime := 1) -> void:
	var joined := Wire.join(peers[a], a, peers[b], b, unreliable_lifetime)
	check_eq(joined[0], OK, "peer %d adds peer %d" % [a, b])
	check_eq(joined[1], OK, "peer %d adds peer %d" % [b, a])


## Connects every pair of `peers`.
func connect_all(peers: Dictionary) -> void:
	var ids := peers.keys()
	for i in ids.size():
		for j in range(i + 1, ids.size()):
			connect_peers(peers, ids[i], ids[j])


## Reads every available packet of every peer into `inbox[id]` as
## [from, channel, mode, text] entries.
func drain(peers: Dictionary, inbox: Dictionary) -> void:
	for id in peers:
		var peer: MultiplayerPeer = peers[id]
		if not inbox.has(id):
			inbox[id] = []
		while peer.get_available_packet_count() > 0:
			var from := peer.get_packet_peer()
			var channel := peer.get_packet_channel()
			var mode := peer.get_packet_mode()
			inbox[id].append([from, channel, mode, peer.get_packet().get_string_from_utf8()])
