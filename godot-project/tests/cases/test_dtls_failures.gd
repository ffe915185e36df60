## A DTLS handshake that fails says so, as a GDScript user sees it through WebRTCPeerConnection
## and WebRTCMultiplayerPeerRs: a certificate fingerprint changed on the signaling path fails both
## sides, one error each.
extends "res://tests/test_case.gd"


## `sdp` with the last digit of its certificate fingerprint changed (what someone on the
## signaling path does to sit in the middle of DTLS).
static func swap_fingerprint(sdp: String) -> String:
	var lines := sdp.split("\n")
	for i in lines.size():
		var line := lines[i].strip_edges(false, true)
		if line.begins_with("a=fingerprint:"):
			var last := "1" if line.ends_with("0") else "0"
			lines[i] = line.left(line.length() - 1) + last + "\r"
	return "\n".join(lines)


func test_a_fingerprint_changed_in_the_offer_fails_both_sides_with_one_error_each() -> void:
	await _both_fail_with_one_error_each("offer")


func test_a_fingerprint_changed_in_the_answer_fails_both_sides_with_one_error_each() -> void:
	await _both_fail_with_one_error_each("answer")


func test_in_a_mesh_a_changed_fingerprint_drops_the_peer_with_one_error_each() -> void:
	var log := ErrorLog.new()
	OS.add_logger(log)
	var signals := {}
	var mesh := func(peer, id): peer.create_mesh(id)
	var peers := make_peers("WebRTCMultiplayerPeerRs", [1, 2], mesh, signals)
	var connections := _swapping_pair("offer")
	check_eq(peers[1].add_peer(connections[0], 2), OK, "peer 1 adds peer 2")
	check_eq(peers[2].add_peer(connections[1], 1), OK, "peer 2 adds peer 1")
	connections[0].create_offer()
	var started := Time.get_ticks_msec()
	check(peers.values().all(func(peer): return peer.get_peers().size() == 1),
		"each mesh lists the other while it connects")
	var dropped := func():
		return peers.values().all(func(peer): return peer.get_peers().is_empty())
	await wait_until(dropped, peers.values(), 15.0, "both meshes drop the peer")
	print("   dropped after %d ms" % (Time.get_ticks_msec() - started))
	await pump(peers.values(), 0.5)
	OS.remove_logger(log)
	check_eq(signals, {1: [], 2: []}, "no peer_connected, nothing to disconnect")
	_check_one_error_each(log.take())
	for peer in peers.values():
		peer.close()
	_unlink(connections)


## Connects two connections whose descriptions of type `swapped` get a changed fingerprint on
## their way; both must read STATE_FAILED, with one error each naming the cause.
func _both_fail_with_one_error_each(swapped: String) -> void:
	var log := ErrorLog.new()
	OS.add_logger(log)
	var pair := _swapping_pair(swapped)
	var a: WebRTCPeerConnection = pair[0]
	var b: WebRTCPeerConnection = pair[1]
	a.create_data_channel("data", {"negotiated": true, "id": 1})
	b.create_data_channel("data", {"negotiated": true, "id": 1})
	a.create_offer()
	var started := Time.get_ticks_msec()
	var both_failed := func():
		return a.get_connection_state() == WebRTCPeerConnection.STATE_FAILED \
			and b.get_connection_state() == WebRTCPeerConnection.STATE_FAILED
	await wait_until(both_failed, pair, 15.0, "both sides read STATE_FAILED")
	print("   both failed after %d ms" % (Time.get_ticks_msec() - started))
	# Nothing more comes later.
	await pump(pair, 0.5)
	OS.remove_logger(log)
	_check_one_error_each(log.take())
	for peer: WebRTCPeerConnection in pair:
		peer.close()
	_unlink(pair)


## Checks that `errors` are two: one naming the fingerprint, one the refusal.
func _check_one_error_each(errors: Array[String]) -> void:
	check_eq(errors.size(), 2, "two errors in all (%s)" % [errors])
	var mismatch := errors.filter(
		func(text: String): return text.contains(
			"the remote certificate does not match the fingerprint in its description"))
	var refusal := errors.filter(
		func(text: String): return text.contains(
			"the remote side refused the DTLS handshake (alert: bad_certificate)"))
	check_eq(mismatch.size(), 1, "one side names the fingerprint")
	check_eq(refusal.size(), 1, "the other names the refusal")


## Two initialized connections wired to each other as in Godot's webrtc_minimal demo, but the
## descriptions of type `swapped` get a changed fingerprint on their way.
func _swapping_pair(swapped: String) -> Array:
	var a := WebRTCPeerConnection.new()
	var b := WebRTCPeerConnection.new()
	a.initialize({"iceServers": []})
	b.initialize({"iceServers": []})
	for ends in [[a, b], [b, a]]:
		var from: WebRTCPeerConnection = ends[0]
		var to: WebRTCPeerConnection = ends[1]
		from.session_description_created.connect(from.set_local_description)
		from.session_description_created.connect(
			func(type: String, sdp: String):
				to.set_remote_description(type, swap_fingerprint(sdp) if type == swapped else sdp)
		)
		from.ice_candidate_created.connect(to.add_ice_candidate)
	return [a, b]


## Lets go of the forwarding lambdas, which hold the other side: or the pair never frees.
func _unlink(pair: Array) -> void:
	for peer: WebRTCPeerConnection in pair:
		for connection in peer.session_description_created.get_connections():
			peer.session_description_created.disconnect(connection.callable)
