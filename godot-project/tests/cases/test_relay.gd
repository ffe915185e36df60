## Relaying through a common member (issue 21) in the real engine: three WebRTCMultiplayerPeerRs
## meshes where peers 2 and 4 have no direct path (neither is told the other's candidates) and
## peer 3 reaches both.
extends "res://tests/test_case.gd"

const CLASS := "WebRTCMultiplayerPeerRs"


func mesh_init(peer, id) -> void:
	check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)


## Connects `a` (offering) and `b` of `peers` over a new pair whose candidates never cross: no
## direct path.
func connect_without_path(peers: Dictionary, a: int, b: int) -> void:
	var first := WebRTCPeerConnection.new()
	var second := WebRTCPeerConnection.new()
	first.initialize({})
	second.initialize({})
	first.session_description_created.connect(first.set_local_description)
	first.session_description_created.connect(second.set_remote_description)
	second.session_description_created.connect(second.set_local_description)
	second.session_description_created.connect(first.set_remote_description)
	check_eq(peers[a].add_peer(first, b), OK, "add_peer(%d) on %d" % [b, a])
	check_eq(peers[b].add_peer(second, a), OK, "add_peer(%d) on %d" % [a, b])
	first.create_offer()


func test_a_pair_without_a_path_connects_through_the_member_both_reach() -> void:
	var log := {}
	var peers := make_peers(CLASS, [2, 3, 4], mesh_init, log)
	check(peers[2].relay_enabled, "relaying is on by default")
	connect_peers(peers, 2, 3)
	connect_peers(peers, 3, 4)
	connect_without_path(peers, 2, 4)
	var started := Time.get_ticks_msec()
	var all_up := func():
		return log[2].has("peer_connected 4") and log[4].has("peer_connected 2") \
			and log[3].has("peer_connected 2") and log[3].has("peer_connected 4")
	if not await wait_until(all_up, peers.values(), 15.0, "2 and 4 see each other through 3"):
		return
	print("   figure: 2 and 4 connected through 3 after %d ms" % (Time.get_ticks_msec() - started))
	var stats: Dictionary = peers[2].get_peer_stats(4)
	check_eq(stats["path"], "relayed", "2's path to 4 is relayed")
	check_eq(stats["relay_peer"], 3, "through 3")
	check_eq(peers[2].get_peer_stats(3)["path"], "direct", "2's path to 3 is direct")
	# 200 reliable messages from 2 to 4, in order, from 2.
	peers[2].set_target_peer(4)
	peers[2].transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	for i in 200:
		peers[2].put_packet(("m%d" % i).to_utf8_buffer())
	var inbox := {}
	var arrived := func():
		drain(peers, inbox)
		return inbox[4].size() >= 200
	await wait_until(arrived, peers.values(), 10.0, "200 relayed messages arrive")
	var expected := []
	for i in 200:
		expected.append("m%d" % i)
	check_eq(inbox[4].map(func(p): return p[3]), expected, "in order")
	check(inbox[4].all(func(p): return p[0] == 2), "get_packet_peer names 2, the true sender")
	check_eq(inbox[3].size(), 0, "the relay's game receives nothing of it")
	var carried: Dictionary = peers[3].get_relay_stats()
	check(carried.has(2) and carried[2]["packets"] > 0,
		"3's relay statistics show what it carried from 2")
	check(carried.has(4) and carried[4]["packets"] > 0, "and from 4")
	for peer in peers.values():
		peer.close()


func test_a_member_with_relaying_off_carries_nothing() -> void:
	var log := {}
	var peers := make_peers(CLASS, [2, 3, 4], mesh_init, log)
	peers[3].relay_enabled = false
	peers[3].relay_budget_bytes_per_second = -5
	check_eq(peers[3].relay_budget_bytes_per_second, 0, "a negative budget counts as 0")
	connect_peers(peers, 2, 3)
	connect_peers(peers, 3, 4)
	connect_without_path(peers, 2, 4)
	var direct_up := func(): return log[3].has("peer_connected 2") and log[3].has("peer_connected 4")
	if not await wait_until(direct_up, peers.values(), 10.0, "3 connects to 2 and 4"):
		return
	await pump(peers.values(), 5.0)
	check(not log[2].has("peer_connected 4"), "2 and 4 stay apart")
	check_eq(peers[3].get_relay_stats(), {}, "3 relayed for nobody")
	for peer in peers.values():
		peer.close()


func test_every_mode_crosses_the_relay_both_ways_from_the_true_sender() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2, 3], mesh_init, log)
	check_eq(peers[1].relay_budget_bytes_per_second, 512 * 1024, "the default budget")
	connect_peers(peers, 1, 2)
	connect_peers(peers, 2, 3)
	connect_without_path(peers, 1, 3)
	var started := Time.get_ticks_msec()
	var all_up := func() -> bool:
		return log[1].has("peer_connected 3") and log[3].has("peer_connected 1")
	if not await wait_until(all_up, peers.values(), 10.0, "1 and 3 connected within 10 s"):
		for peer in peers.values():
			peer.close()
		return
	print("   figure: relayed connection after %d ms" % (Time.get_ticks_msec() - started))
	for pair in [[1, 3], [3, 1]]:
		var stats: Dictionary = peers[pair[0]].get_peer_stats(pair[1])
		check_eq([stats.get("path"), stats.get("relay_peer")], ["relayed", 2],
			"%d's path to %d is relayed via 2" % pair)
	check_eq(peers[1].get_peer_stats(2).get("relay_peer"), 0, "no relay on a direct path")
	var count := 1000
	peers[1].set_target_peer(3)
	peers[1].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	for i in count:
		peers[1].put_packet(("r%d" % i).to_utf8_buffer())
	peers[1].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_UNRELIABLE)
	for i in 20:
		peers[1].put_packet(("u%d" % i).to_utf8_buffer())
	peers[3].set_target_peer(1)
	peers[3].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED)
	peers[3].put_packet("back".to_utf8_buffer())
	var inbox := {}
	var reliable_mode := MultiplayerPeer.TRANSFER_MODE_RELIABLE
	var reliable := func() -> Array:
		return inbox.get(3, []).filter(func(p): return p[2] == reliable_mode)
	var arrived := func() -> bool:
		drain(peers, inbox)
		return reliable.call().size() >= count and inbox.get(1, []).size() >= 1
	await wait_until(arrived, peers.values(), 15.0, "1000 reliable messages cross the relay")
	await pump(peers.values(), 0.3)
	drain(peers, inbox)
	var expected := []
	for i in count:
		expected.append("r%d" % i)
	var got: Array = reliable.call().map(func(p): return p[3])
	check(got == expected, "each reliable message arrives once and in order (%d)" % got.size())
	check(reliable.call().all(func(p): return p[0] == 1), "get_packet_peer names 1, not the relay")
	var unreliable_mode := MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	var unreliable: Array = inbox[3].filter(func(p): return p[2] == unreliable_mode)
	check(unreliable.size() > 0 and unreliable.all(func(p): return p[0] == 1),
		"unreliable messages cross from 1 (%d of 20)" % unreliable.size())
	check_eq(inbox[1].map(func(p): return [p[0], p[2], p[3]]),
		[[3, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, "back"]], "and back from 3")
	check_eq(inbox[2].size(), 0, "the relay's game receives nothing of it")
	var sent: Dictionary = peers[1].get_peer_stats(3)
	check(sent.get("relayed_packets_sent", 0) > 0, "1 counts datagrams sent via the relay")
	check(peers[3].get_peer_stats(1).get("relayed_packets_received", 0) > 0,
		"3 counts datagrams received via the relay")
	print("   figure: round trip 1 to 3 over two hops %s s, relay carried from 1: %s" % [
		sent.get("round_trip_time"), peers[2].get_relay_stats().get(1)])
	for peer in peers.values():
		peer.close()
