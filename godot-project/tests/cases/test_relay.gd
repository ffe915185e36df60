## Relaying through a common member (issue 21) in the real engine: a 3-peer mesh on 127.0.0.1
## where peers 1 and 3 cannot reach each other directly (their connection's signaling carries
## the descriptions but no ICE candidate, as for two players behind symmetric NATs with STUN
## only), and peer 2 is connected to both.
extends "res://tests/test_case.gd"

const CLASS := "WebRTCMultiplayerPeerRs"


func mesh_init(peer, id) -> void:
	check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)


## Connects `a` and `b` with descriptions only: no candidate crosses, so no direct path exists.
func connect_without_path(peers: Dictionary, a: int, b: int) -> Array:
	var one := WebRTCPeerConnection.new()
	var two := WebRTCPeerConnection.new()
	one.initialize({"iceServers": []})
	two.initialize({"iceServers": []})
	one.session_description_created.connect(one.set_local_description)
	one.session_description_created.connect(two.set_remote_description)
	two.session_description_created.connect(two.set_local_description)
	two.session_description_created.connect(one.set_remote_description)
	check_eq(peers[a].add_peer(one, b), OK, "peer %d adds peer %d" % [a, b])
	check_eq(peers[b].add_peer(two, a), OK, "peer %d adds peer %d" % [b, a])
	one.create_offer()
	return [one, two]


## A mesh of 1, 2, 3 where 1<->3 has no direct path; `relay_on_2` is peer 2's relay_enabled.
func relay_mesh(log: Dictionary, relay_on_2: bool) -> Dictionary:
	var peers := make_peers(CLASS, [1, 2, 3], mesh_init, log)
	peers[2].relay_enabled = relay_on_2
	connect_peers(peers, 1, 2)
	connect_peers(peers, 2, 3)
	connect_without_path(peers, 1, 3)
	return peers


func test_defaults_and_properties() -> void:
	var peer: MultiplayerPeer = ClassDB.instantiate(CLASS)
	check_eq(peer.relay_enabled, true, "relay_enabled is on by default")
	check_eq(peer.relay_budget_bytes_per_second, 262144, "the default budget is 256 KiB/s")
	peer.relay_budget_bytes_per_second = -5
	check_eq(peer.relay_budget_bytes_per_second, 0, "a negative budget counts as 0")
	peer.relay_budget_bytes_per_second = 1000
	check_eq(peer.relay_budget_bytes_per_second, 1000, "the budget is set")
	check_eq(peer.get_relay_stats(), {}, "nothing relayed before any peer")


func test_a_pair_without_a_direct_path_connects_through_the_common_member() -> void:
	var log := {}
	var peers := relay_mesh(log, true)
	var started := Time.get_ticks_msec()
	var sees := func(a: int, b: int) -> bool: return log[a].has("peer_connected %d" % b)
	var all := func() -> bool:
		return sees.call(1, 3) and sees.call(3, 1) and sees.call(1, 2) and sees.call(3, 2)
	if not await wait_until(all, peers.values(), 10.0, "1 and 3 see each other connected within 10 s"):
		for peer in peers.values():
			peer.close()
		return
	print("   relayed connection after %d ms" % (Time.get_ticks_msec() - started))
	var stats_1: Dictionary = peers[1].get_peer_stats(3)
	var stats_3: Dictionary = peers[3].get_peer_stats(1)
	check_eq(stats_1.get("path"), "relayed", "peer 1's path to 3 is relayed")
	check_eq(stats_1.get("relay_peer"), 2, "via peer 2")
	check_eq(stats_3.get("path"), "relayed", "peer 3's path to 1 is relayed")
	check_eq(stats_3.get("relay_peer"), 2, "via peer 2")
	check_eq(peers[1].get_peer_stats(2).get("path"), "direct", "peer 1's path to 2 is direct")
	check_eq(peers[1].get_peer_stats(2).get("relay_peer"), 0, "no relay on a direct path")
	# 1000 reliable ordered messages and unreliable ones from 1 to 3, and some back.
	var count := 1000
	peers[1].set_target_peer(3)
	peers[1].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	for i in count:
		peers[1].put_packet(("r%d" % i).to_utf8_buffer())
	peers[1].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_UNRELIABLE)
	for i in 20:
		peers[1].put_packet(("u%d" % i).to_utf8_buffer())
	peers[3].set_target_peer(1)
	peers[3].set_transfer_mode(MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	peers[3].put_packet("back".to_utf8_buffer())
	var inbox := {}
	var reliable := func(id: int) -> Array:
		return inbox.get(id, []).filter(func(p): return p[2] == MultiplayerPeer.TRANSFER_MODE_RELIABLE)
	var arrived := func() -> bool:
		drain(peers, inbox)
		return reliable.call(3).size() >= count and reliable.call(1).size() >= 1
	await wait_until(arrived, peers.values(), 15.0, "1000 reliable messages cross the relay")
	await pump(peers.values(), 0.3)
	drain(peers, inbox)
	var expected := []
	for i in count:
		expected.append("r%d" % i)
	var got: Array = reliable.call(3).map(func(p): return p[3])
	check(got == expected, "every reliable message arrives once and in order (%d)" % got.size())
	check(reliable.call(3).all(func(p): return p[0] == 1),
		"get_packet_peer names peer 1, not the relay")
	var unreliable_mode := MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	var unreliable: Array = inbox[3].filter(func(p): return p[2] == unreliable_mode)
	check(unreliable.size() > 0, "unreliable messages cross (%d of 20)" % unreliable.size())
	check(unreliable.all(func(p): return p[0] == 1 and p[3].begins_with("u")), "from peer 1")
	check_eq(reliable.call(1).map(func(p): return [p[0], p[3]]), [[3, "back"]],
		"and back, from peer 3")
	check_eq(inbox[2].size(), 0, "the relay's game receives nothing of it")
	var carried: Dictionary = peers[2].get_relay_stats()
	check(carried.has(1) and carried.has(3), "the relay's statistics have both sources")
	if carried.has(1) and carried.has(3):
		print("   relay carried: from 1 %s, from 3 %s" % [carried[1], carried[3]])
		check(carried[1]["packets"] > 0 and carried[1]["bytes"] > count * 4,
			"it carried peer 1's traffic")
		check(carried[3]["packets"] > 0, "and peer 3's")
	var stats_after: Dictionary = peers[1].get_peer_stats(3)
	check(stats_after.get("relayed_packets_sent", 0) > 0, "peer 1 counts datagrams sent via the relay")
	print("   peer 1 to 3 round trip over two hops: %s s" % stats_after.get("round_trip_time"))
	check_eq(peers[1].get_relay_stats().get(3, {}).get("packets", -1), 0, "peer 1 relayed nothing")
	for peer in peers.values():
		peer.close()


func test_with_relaying_off_on_the_common_member_the_pair_stays_apart() -> void:
	var log := {}
	var peers := relay_mesh(log, false)
	var others := func() -> bool:
		return log[1].has("peer_connected 2") and log[3].has("peer_connected 2")
	await wait_until(others, peers.values(), 10.0, "1 and 3 connect to 2")
	await pump(peers.values(), 6.0)
	check(not log[1].has("peer_connected 3"), "1 does not see 3 connected")
	check(not log[3].has("peer_connected 1"), "3 does not see 1 connected")
	check_eq(peers[1].get_peer_stats(3).get("path"), "", "no path between 1 and 3")
	check_eq(peers[2].get_relay_stats(), {}, "2 relays nothing and registers nobody")
	for peer in peers.values():
		peer.close()
