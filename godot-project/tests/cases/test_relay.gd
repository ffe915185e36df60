## Relaying through a common member (issue 21) in the real engine: three WebRTCMultiplayerPeerRs
## meshes where peers 2 and 4 have no direct path (neither is told the other's candidates) and
## peer 3 reaches both.
extends "res://tests/test_case.gd"

const CLASS := "WebRTCMultiplayerPeerRs"


func mesh_init(peer, id) -> void:
	check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)


## Adds to `a` and `b` of `peers` a new pair of connections whose descriptions cross but whose
## candidates go nowhere yet: [a's connection (it will offer), b's].
func described_pair(peers: Dictionary, a: int, b: int) -> Array[WebRTCPeerConnection]:
	var pair: Array[WebRTCPeerConnection] = [WebRTCPeerConnection.new(), WebRTCPeerConnection.new()]
	for connection in pair:
		connection.initialize({})
	Wire.link_descriptions(pair[0], pair[1])
	check_eq(peers[a].add_peer(pair[0], b), OK, "add_peer(%d) on %d" % [b, a])
	check_eq(peers[b].add_peer(pair[1], a), OK, "add_peer(%d) on %d" % [a, b])
	return pair


## Connects `a` (offering) and `b` of `peers` over a new pair whose candidates never cross: no
## direct path.
func connect_without_path(peers: Dictionary, a: int, b: int) -> void:
	described_pair(peers, a, b)[0].create_offer()


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


## A UDP forwarder the direct path of two connections runs through: each side is told the
## other's host candidate as one of the forwarder's ports. [member cut] drops everything, as a
## network that changed or a NAT that forgot the mapping would. Polled with the peers.
class Forwarder:
	## Cut: nothing is forwarded.
	var cut := false
	## Receives from the answering side, sends to the offering side.
	var from_second := PacketPeerUDP.new()
	## Receives from the offering side, sends to the answering side.
	var from_first := PacketPeerUDP.new()
	## The two sides' real addresses, from their candidates: [host, port].
	var first := ["", 0]
	var second := ["", 0]
	## The offering and the answering connection.
	var connections := []

	func _init() -> void:
		from_second.bind(0, "127.0.0.1")
		from_first.bind(0, "127.0.0.1")

	## Hands each side's candidates to the other through the forwarder (the signals call this
	## object's methods, which hold no reference to it: no cycle keeps anything alive).
	func attach(offering: WebRTCPeerConnection, answering: WebRTCPeerConnection) -> void:
		connections = [offering, answering]
		offering.ice_candidate_created.connect(_offering_candidate)
		answering.ice_candidate_created.connect(_answering_candidate)

	func _offering_candidate(mid: String, index: int, candidate: String) -> void:
		_relay_candidate(mid, index, candidate, true, connections[1])

	func _answering_candidate(mid: String, index: int, candidate: String) -> void:
		_relay_candidate(mid, index, candidate, false, connections[0])

	## Hands `candidate` of the offering (`of_first`) or answering side to `to`, rewritten to
	## the forwarder's port for that side; other candidates are dropped.
	func _relay_candidate(mid: String, index: int, candidate: String, of_first: bool, to) -> void:
		var fields := candidate.split(" ")
		if fields.size() < 8 or fields[4] != "127.0.0.1" or fields[7] != "host":
			return
		var port := from_second.get_local_port() if of_first else from_first.get_local_port()
		if of_first:
			first = [fields[4], int(fields[5])]
		else:
			second = [fields[4], int(fields[5])]
		fields[5] = str(port)
		to.add_ice_candidate(mid, index, " ".join(fields))

	func poll() -> void:
		_move(from_first, from_second, second)
		_move(from_second, from_first, first)

	func _move(source: PacketPeerUDP, out: PacketPeerUDP, to: Array) -> void:
		for i in 256:
			if source.get_available_packet_count() == 0:
				return
			var packet := source.get_packet()
			if not cut and to[1] != 0:
				out.set_dest_address(to[0], to[1])
				out.put_packet(packet)


## Connects `a` (offering) and `b` of `peers` over a new pair whose direct path runs through
## `forwarder`.
func connect_through(peers: Dictionary, a: int, b: int, forwarder: Forwarder) -> void:
	var pair := described_pair(peers, a, b)
	forwarder.attach(pair[0], pair[1])
	pair[0].create_offer()


func test_a_cut_direct_path_falls_back_to_the_relay_and_an_in_band_restart_brings_it_back() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2, 3], mesh_init, log)
	var forwarder := Forwarder.new()
	connect_peers(peers, 1, 2)
	connect_peers(peers, 2, 3)
	connect_through(peers, 1, 3, forwarder)
	var polled: Array = peers.values() + [forwarder]
	var all_up := func() -> bool:
		return log[1].has("peer_connected 3") and log[3].has("peer_connected 1") \
			and log[2].has("peer_connected 1") and log[2].has("peer_connected 3")
	if not await wait_until(all_up, polled, 10.0, "1 and 3 connect directly through the forwarder"):
		for peer in peers.values():
			peer.close()
		return
	var path := func() -> String: return peers[1].get_peer_stats(3).get("path", "")
	check(await wait_until(func(): return path.call() == "direct", polled, 5.0, "1's path to 3"),
		"the pair starts direct")
	# 1 sends 3 a reliable message every frame from here on; 3 reads them.
	var inbox := {}
	var sent := [0]
	var send_and_read := func() -> void:
		peers[1].set_target_peer(3)
		peers[1].transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
		peers[1].put_packet(("s%d" % sent[0]).to_utf8_buffer())
		sent[0] += 1
		drain(peers, inbox)
	var cut_at := [0]
	var relayed := func() -> bool:
		send_and_read.call()
		return path.call() == "relayed"
	# A relay is offered 3 s after the descriptions (RELAY_AFTER): the path breaks mid-game.
	var playing_since := Time.get_ticks_msec()
	var flowing := func() -> bool:
		send_and_read.call()
		return Time.get_ticks_msec() - playing_since > 3500
	await wait_until(flowing, polled, 5.0, "traffic flows on the direct path for 3.5 s")
	forwarder.cut = true
	cut_at[0] = Time.get_ticks_msec()
	if await wait_until(relayed, polled, 3.0, "the cut pair moves to the relay within 3 s"):
		print("   figure: on the relay %d ms after the cut" % (Time.get_ticks_msec() - cut_at[0]))
		check_eq(peers[1].get_peer_stats(3).get("relay_peer"), 2, "through 2")
	var direct_again := func() -> bool:
		send_and_read.call()
		return path.call() == "direct" and peers[1].get_peer_stats(3).get("ice_restarts", 0) > 0
	var restarted := "an ICE restart through the relay brings the pair back direct"
	if await wait_until(direct_again, polled, 20.0, restarted):
		print("   figure: direct again %d ms after the cut" % (Time.get_ticks_msec() - cut_at[0]))
	var total: int = sent[0]
	var all_arrived := func() -> bool:
		drain(peers, inbox)
		return inbox.get(3, []).size() >= total
	await wait_until(all_arrived, polled, 10.0, "every message 1 sent arrives")
	var expected := []
	for i in total:
		expected.append("s%d" % i)
	check(inbox.get(3, []).map(func(p): return p[3]) == expected,
		"once and in order across both switches (%d of %d)" % [inbox.get(3, []).size(), total])
	for id in [1, 3]:
		check(not log[id].any(func(line): return line.begins_with("peer_disconnected")),
			"%d never sees the other disconnect" % id)
	for peer in peers.values():
		peer.close()
