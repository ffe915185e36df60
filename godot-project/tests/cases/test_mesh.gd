## WebRTCMultiplayerPeerRs in the real engine over our transport: the class reference line by line.
extends "res://tests/test_case.gd"

const CLASS := "WebRTCMultiplayerPeerRs"


func mesh_init(peer, id) -> void:
	check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)


func all_connected(peers: Dictionary, log: Dictionary) -> bool:
	for id in peers:
		var connected := 0
		for entry: String in log[id]:
			if entry.begins_with("peer_connected"):
				connected += 1
		if connected < peers.size() - 1:
			return false
	return true


func test_four_peer_mesh_routes_broadcast_exclude_and_single() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2, 3, 4], mesh_init, log)
	check_eq(peers[2].get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED,
		"a mesh peer is connected at once")
	check_eq(peers[2].get_unique_id(), 2, "get_unique_id")
	connect_all(peers)
	var connected := func(): return all_connected(peers, log)
	if not await wait_until(connected, peers.values(), 15.0, "all four peers see the other three"):
		return
	var seen_by_1: Array = log[1].duplicate()
	seen_by_1.sort()
	check_eq(seen_by_1, ["peer_connected 2", "peer_connected 3", "peer_connected 4"],
		"peer 1 got one peer_connected per peer")
	var inbox := {}
	peers[1].set_target_peer(0)
	peers[1].put_packet("all".to_utf8_buffer())
	peers[1].set_target_peer(-3)
	peers[1].put_packet("not 3".to_utf8_buffer())
	peers[1].set_target_peer(2)
	peers[1].put_packet("only 2".to_utf8_buffer())
	var expected := {2: ["all", "not 3", "only 2"], 3: ["all"], 4: ["all", "not 3"]}
	var arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= 3 and inbox[3].size() >= 1 and inbox[4].size() >= 2
	await wait_until(arrived, peers.values(), 5.0, "the packets arrive")
	await pump(peers.values(), 0.2)
	drain(peers, inbox)
	for id in expected:
		check_eq(inbox[id].map(func(p): return p[3]), expected[id],
			"peer %d received what was addressed to it" % id)
		check(inbox[id].all(func(p): return p[0] == 1), "peer %d reports peer 1 as the sender" % id)
	check_eq(inbox[1].size(), 0, "the sender receives nothing")
	for peer in peers.values():
		peer.close()


func test_modes_and_channels_are_reported_to_the_receiver() -> void:
	var log := {}
	var extra_channels := [
		MultiplayerPeer.TRANSFER_MODE_RELIABLE, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	]
	var init := func(peer, id): peer.create_mesh(id, extra_channels)
	var peers := make_peers(CLASS, [1, 2], init, log)
	connect_all(peers)
	var connected := func(): return all_connected(peers, log)
	if not await wait_until(connected, peers.values(), 15.0, "connected"):
		return
	var sends := [
		[0, MultiplayerPeer.TRANSFER_MODE_RELIABLE, "r"],
		[0, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED, "o"],
		[0, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, "u"],
		[1, MultiplayerPeer.TRANSFER_MODE_UNRELIABLE, "extra1"],
		[2, MultiplayerPeer.TRANSFER_MODE_RELIABLE, "extra2"],
	]
	var expected := []
	for send in sends:
		peers[1].transfer_channel = send[0]
		peers[1].transfer_mode = send[1]
		check_eq(peers[1].put_packet(send[2].to_utf8_buffer()), OK, "send '%s'" % send[2])
		var mode: int = send[1]
		if send[0] == 1:
			mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
		elif send[0] == 2:
			mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
		expected.append([1, send[0], mode, send[2]])
	var inbox := {}
	var five_arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= 5
	await wait_until(five_arrived, peers.values(), 5.0, "five packets arrive")
	inbox[2].sort_custom(func(a, b): return a[3] < b[3])
	expected.sort_custom(func(a, b): return a[3] < b[3])
	check_eq(inbox[2], expected, "each packet reports its sender, transfer channel and mode")
	peers[1].transfer_channel = 3
	check_eq(peers[1].put_packet("x".to_utf8_buffer()), ERR_INVALID_PARAMETER,
		"a transfer channel past the extras is refused")
	for peer in peers.values():
		peer.close()


func test_thousand_reliable_messages_arrive_in_order() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2], mesh_init, log)
	connect_all(peers)
	var connected := func(): return all_connected(peers, log)
	if not await wait_until(connected, peers.values(), 15.0, "connected"):
		return
	var started := Time.get_ticks_usec()
	for i in 1000:
		peers[1].put_packet(str(i).to_utf8_buffer())
	var inbox := {}
	var all_arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= 1000
	if await wait_until(all_arrived, peers.values(), 10.0, "1000 messages arrive"):
		var seconds := (Time.get_ticks_usec() - started) / 1e6
		print("   1000 reliable mesh messages in %.3f s (%.0f msg/s)" % [seconds, 1000 / seconds])
		check_eq(inbox[2].map(func(p): return p[3]), range(1000).map(func(i): return str(i)),
			"complete and in order")
	for peer in peers.values():
		peer.close()


func test_remove_peer_and_close_are_seen_by_the_others() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2, 3], mesh_init, log)
	connect_all(peers)
	var connected := func(): return all_connected(peers, log)
	if not await wait_until(connected, peers.values(), 15.0, "connected"):
		return
	peers[1].remove_peer(2)
	check_eq(log[1].back(), "peer_disconnected 2", "remove_peer emits peer_disconnected at once")
	check(not peers[1].has_peer(2), "and forgets the peer")
	var left := func(): return log[2].has("peer_disconnected 1")
	await wait_until(left, peers.values(), 5.0, "peer 2 sees peer 1 leave")
	var before: int = log[3].size()
	peers[3].close()
	check_eq(log[3].size(), before, "close() emits nothing")
	check_eq(peers[3].get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED,
		"close() disconnects")
	check_eq(peers[3].get_peers().size(), 0, "close() forgets every peer")
	var live := [peers[1], peers[2]]
	var closed := func():
		return log[1].has("peer_disconnected 3") and log[2].has("peer_disconnected 3")
	await wait_until(closed, live, 5.0, "peers 1 and 2 see peer 3 close")
	for peer in live:
		peer.close()


func test_server_compatibility_sequence() -> void:
	var log := {}
	var init := func(peer, id): check_eq(peer.initialize(id, true), OK, "initialize(%d, true)" % id)
	var peers := make_peers(CLASS, [1, 2, 3], init, log)
	check_eq(peers[3].get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING,
		"connecting until the server is there")
	connect_peers(peers, 2, 3)
	var connected := func(): return peers[3].get_peer(2).get("connected", false)
	await wait_until(connected, peers.values(), 15.0, "peer 3 connects to peer 2")
	await pump(peers.values(), 0.2)
	check_eq(log[3], [], "peer_connected is held back before the server connects")
	connect_peers(peers, 1, 3)
	var server_connected := func(): return log[3].size() >= 3
	if not await wait_until(server_connected, peers.values(), 15.0, "the server connects"):
		return
	check_eq(log[3], ["peer_connected 1", "connection_succeeded", "peer_connected 2"],
		"server first, then connection_succeeded, then the waiting peer")
	check_eq(peers[3].get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED,
		"connected once the server is")
	log[3].clear()
	peers[3].remove_peer(1)
	check_eq(log[3], ["peer_disconnected 1", "server_disconnected"],
		"losing the server emits server_disconnected")
	check_eq(peers[3].get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED,
		"and disconnects, so SceneMultiplayer reports server_disconnected")
	for peer in peers.values():
		peer.close()


func test_client_and_server_modes() -> void:
	var server: MultiplayerPeer = ClassDB.instantiate(CLASS)
	var client: MultiplayerPeer = ClassDB.instantiate(CLASS)
	check_eq(server.create_server(), OK, "create_server")
	check_eq(client.create_client(5), OK, "create_client(5)")
	check_eq(server.get_unique_id(), 1, "the server is id 1")
	check(server.is_server_relay_supported() and client.is_server_relay_supported(),
		"relay is supported in server/client mode")
	check_eq(client.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING,
		"a client is connecting")
	var sc := WebRTCPeerConnection.new()
	var cs := WebRTCPeerConnection.new()
	Wire.link(sc, cs)
	check_eq(client.add_peer(WebRTCPeerConnection.new(), 2), ERR_INVALID_PARAMETER,
		"a client only adds the server")
	check_eq(server.add_peer(WebRTCPeerConnection.new(), 1), ERR_INVALID_PARAMETER,
		"a server cannot add id 1")
	server.add_peer(sc, 5)
	client.add_peer(cs, 1)
	sc.create_offer()
	var connected := func():
		return client.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED
	await wait_until(connected, [server, client], 15.0, "the client connects")
	client.disconnect_peer(1, true)
	check_eq(client.get_connection_status(), MultiplayerPeer.CONNECTION_DISCONNECTED,
		"a client that drops the server is disconnected")
	server.close()
	client.close()


func test_get_peer_describes_the_peer() -> void:
	var peer: MultiplayerPeer = ClassDB.instantiate(CLASS)
	peer.create_mesh(1, [MultiplayerPeer.TRANSFER_MODE_RELIABLE])
	var connection := WebRTCPeerConnection.new()
	check_eq(peer.add_peer(connection, 2, 50), OK, "add_peer with unreliable_lifetime 50")
	check(peer.has_peer(2), "has_peer while connecting")
	var info: Dictionary = peer.get_peer(2)
	check(info.connection == connection, "connection is the one added")
	check_eq(info.connected, false, "not connected yet")
	var channels: Array = info.channels
	check_eq(channels.map(func(c): return c.get_label()), ["reliable", "ordered", "unreliable", "4"],
		"channel labels")
	check_eq(channels.map(func(c): return c.get_id()), [1, 2, 3, 4], "channel ids")
	check_eq(channels.map(func(c): return c.is_ordered()), [true, true, false, true], "ordering")
	check_eq(channels.map(func(c): return c.get_max_packet_life_time()), [-1, 50, 50, -1],
		"packet lifetimes")
	check(channels.all(func(c): return c.is_negotiated()), "all negotiated")
	check_eq(peer.get_peers().keys(), [2], "get_peers")
	check_eq(peer.get_peer(9), {}, "get_peer of an unknown id is empty")
	peer.close()


func test_bad_input_returns_errors() -> void:
	var peer: MultiplayerPeer = ClassDB.instantiate(CLASS)
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 2), ERR_UNCONFIGURED,
		"add_peer before initialize")
	check_eq(peer.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED, "put_packet before initialize")
	check_eq(peer.initialize(0), ERR_INVALID_PARAMETER, "peer id 0")
	check_eq(peer.initialize(-5), ERR_INVALID_PARAMETER, "negative peer id")
	check_eq(peer.initialize(2147483648), ERR_INVALID_PARAMETER, "peer id past 2147483647")
	check_eq(peer.initialize(2, false, [7]), ERR_INVALID_PARAMETER,
		"a channels_config entry that is no TransferMode")
	check_eq(peer.initialize(2, false, ["x"]), ERR_INVALID_PARAMETER,
		"a channels_config entry that is no int")
	check_eq(peer.create_client(1), ERR_INVALID_PARAMETER, "a client with id 1")
	check_eq(peer.initialize(2147483647), OK, "the largest id")
	check_eq(peer.create_mesh(1), OK, "create_mesh")
	check_eq(peer.add_peer(null, 2), ERR_INVALID_PARAMETER, "a null connection")
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 0), ERR_INVALID_PARAMETER, "peer id 0")
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 1), ERR_INVALID_PARAMETER, "its own id")
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 2, -1), ERR_INVALID_PARAMETER,
		"a negative unreliable_lifetime")
	var closed := WebRTCPeerConnection.new()
	closed.close()
	check_eq(peer.add_peer(closed, 2), ERR_INVALID_PARAMETER, "a connection not in STATE_NEW")
	peer.refuse_new_connections = true
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 2), ERR_UNAUTHORIZED,
		"while refusing new connections")
	peer.refuse_new_connections = false
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 2), OK, "a good peer")
	check_eq(peer.add_peer(WebRTCPeerConnection.new(), 2), ERR_ALREADY_EXISTS, "the same id twice")
	peer.set_target_peer(9)
	check_eq(peer.put_packet(PackedByteArray([1])), ERR_INVALID_PARAMETER,
		"a packet to an unknown peer")
	peer.set_target_peer(2)
	check_eq(peer.put_packet(PackedByteArray([1])), ERR_UNAVAILABLE,
		"a packet to a peer not connected yet")
	peer.set_target_peer(0)
	var huge := PackedByteArray()
	huge.resize(70000)
	check_eq(peer.put_packet(huge), ERR_INVALID_PARAMETER, "an oversized packet")
	check_eq(peer.get_packet().size(), 0, "get_packet with nothing to read")
	peer.disconnect_peer(42)
	check(peer.has_peer(2), "disconnect_peer of an unknown id changes nothing")
	peer.close()


func test_a_packet_larger_than_one_peer_takes_is_refused_whole_with_one_error() -> void:
	var log := {}
	var peers := make_peers(CLASS, [1, 2, 3], mesh_init, log)
	connect_peers(peers, 1, 2)
	# Peer 3's answer tells peer 1 that it takes messages of up to 16 KiB.
	var ab := WebRTCPeerConnection.new()
	var ba := WebRTCPeerConnection.new()
	ab.initialize({})
	ba.initialize({})
	var limit := RegEx.create_from_string("a=max-message-size:\\d+")
	ab.session_description_created.connect(ab.set_local_description)
	ab.session_description_created.connect(ba.set_remote_description)
	ab.ice_candidate_created.connect(ba.add_ice_candidate)
	ba.session_description_created.connect(ba.set_local_description)
	ba.session_description_created.connect(func(type: String, sdp: String):
		ab.set_remote_description(type, limit.sub(sdp, "a=max-message-size:16384")))
	ba.ice_candidate_created.connect(ab.add_ice_candidate)
	check_eq(peers[1].add_peer(ab, 3), OK, "peer 1 adds peer 3")
	check_eq(peers[3].add_peer(ba, 1), OK, "peer 3 adds peer 1")
	ab.create_offer()
	var connected := func():
		return log[1].size() == 2 and log[2].size() == 1 and log[3].size() == 1
	if not await wait_until(connected, peers.values(), 15.0, "peer 1 sees peers 2 and 3"):
		return
	var between := PackedByteArray()
	between.resize(20000)
	var errors := ErrorLog.new()
	OS.add_logger(errors)
	var refused: Error = peers[1].put_packet(between)
	OS.remove_logger(errors)
	check_eq(refused, ERR_INVALID_PARAMETER, "a broadcast between the two limits is refused")
	var texts := errors.take()
	check(texts.size() == 1 and texts[0].contains("peer 3"),
		"with one error, which names peer 3 (%s)" % [texts])
	var fits := PackedByteArray()
	fits.resize(16384)
	check_eq(peers[1].put_packet(fits), OK, "a broadcast of peer 3's limit goes")
	peers[1].set_target_peer(2)
	check_eq(peers[1].put_packet(between), OK, "peer 2 alone is held to its own limit")
	var inbox := {}
	var arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= 2 and inbox[3].size() >= 1
	await wait_until(arrived, peers.values(), 5.0, "the packets that went arrive")
	await pump(peers.values(), 0.2)
	drain(peers, inbox)
	check_eq(inbox[2].size(), 2, "peer 2 got the two packets that went, and not the refused one")
	check_eq(inbox[3].size(), 1, "peer 3 got the one broadcast that went")
	for peer in peers.values():
		peer.close()
