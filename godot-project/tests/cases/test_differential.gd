## One scenario run on the engine's WebRTCMultiplayerPeer (over our transport) and on
## WebRTCMultiplayerPeerRs, comparing what every peer observes.
extends "res://tests/test_case.gd"

const IDS := [1, 2, 3]


func run_scenario(peer_class: String) -> Dictionary:
	var log := {}
	var init := func(peer, id): peer.create_mesh(id, [MultiplayerPeer.TRANSFER_MODE_RELIABLE])
	var peers := make_peers(peer_class, IDS, init, log)
	connect_all(peers)
	var connected := func(): return IDS.all(func(id): return log[id].size() >= 2)
	if not await wait_until(connected, peers.values(), 15.0, "%s: the mesh connects" % peer_class):
		return {}
	var seen := {"signals": {}, "packets": {}, "peers": {}}
	for id in IDS:
		var sorted_log: Array = log[id].duplicate()
		sorted_log.sort()
		seen.signals[id] = sorted_log
		var info: Dictionary = peers[id].get_peers()
		var describe_channel := func(c): return [c.get_label(), c.get_id(), c.is_ordered()]
		var describe_peer := func(k):
			return [k, info[k].connected, info[k].channels.map(describe_channel)]
		seen.peers[id] = info.keys().map(describe_peer)
		seen.peers[id].sort()
	var sends := [
		[1, 0, 0, MultiplayerPeer.TRANSFER_MODE_RELIABLE, "a"],
		[1, -2, 0, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, "b"],
		[1, 3, 0, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, "c"],
		[1, 0, 1, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, "d"],
		[2, 1, 0, MultiplayerPeer.TRANSFER_MODE_RELIABLE, "e"],
	]
	# One packet in flight at a time: the engine describes the next packet at poll time, so with
	# several in flight on different channels its get_packet_channel() can describe another
	# packet than get_packet() returns. Ours takes packets in only at poll time and is exact.
	var inbox := {}
	var received := func():
		return IDS.reduce(func(total, id): return total + inbox.get(id, []).size(), 0)
	var expected_total := 0
	for send in sends:
		var peer: MultiplayerPeer = peers[send[0]]
		peer.set_target_peer(send[1])
		peer.transfer_channel = send[2]
		peer.transfer_mode = send[3]
		peer.put_packet(send[4].to_utf8_buffer())
		expected_total += 1 if send[1] > 0 else (2 if send[1] == 0 else 1)
		var arrived := func(): drain(peers, inbox); return received.call() >= expected_total
		await wait_until(arrived, peers.values(), 5.0, "%s: '%s' arrives" % [peer_class, send[4]])
	for id in IDS:
		var packets: Array = inbox[id].duplicate()
		packets.sort_custom(func(x, y): return x[3] < y[3])
		seen.packets[id] = packets
	var before: int = log[1].size()
	peers[1].remove_peer(3)
	seen["remove_peer"] = log[1].slice(before)
	seen["status"] = peers[1].get_connection_status()
	peers[1].close()
	seen["after_close"] = [peers[1].get_connection_status(), peers[1].get_peers().size()]
	for peer in peers.values():
		peer.close()
	return seen


func test_engine_class_and_ours_observe_the_same() -> void:
	var engine := await run_scenario("WebRTCMultiplayerPeer")
	var ours := await run_scenario("WebRTCMultiplayerPeerRs")
	if engine.is_empty() or ours.is_empty():
		check(false, "both scenarios ran")
		return
	for key in ["signals", "peers", "packets", "remove_peer", "status", "after_close"]:
		check_eq(ours[key], engine[key], "same %s" % key)
	# Differences on purpose, not compared here: the engine's remove_peer() and close() leave the
	# connection open, so the removed peer only notices on an ICE timeout (godot issue 110442);
	# ours closes it, which test_mesh checks. The engine reports get_max_packet_size() 1200 and
	# checks no size; ours reports the channel's real limit and refuses larger packets.
