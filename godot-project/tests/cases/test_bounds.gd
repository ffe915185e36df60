## What a remote peer may make us hold: channels it opens in-band on a mesh's connection,
## received packets nobody reads (the project setting
## network/limits/webrtc/max_channel_in_buffer_kb), and a mesh's queues.
extends "res://tests/test_case.gd"

const CLASS := "WebRTCMultiplayerPeerRs"
const SETTING := "network/limits/webrtc/max_channel_in_buffer_kb"
const FLOOD_MESSAGE := 16 * 1024
## What each received packet counts for besides its payload.
const PACKET_OVERHEAD := 32


func mesh_init(peer, id) -> void:
	check_eq(peer.create_mesh(id), OK, "create_mesh(%d)" % id)


func connected_mesh_pair(log: Dictionary) -> Dictionary:
	var peers := make_peers(CLASS, [1, 2], mesh_init, log)
	connect_all(peers)
	var connected := func():
		return log[1].has("peer_connected 2") and log[2].has("peer_connected 1")
	if not await wait_until(connected, peers.values(), 15.0, "the two mesh peers connect"):
		return {}
	return peers


func test_a_mesh_closes_an_in_band_channel_at_once_and_stays_connected() -> void:
	var log := {}
	var peers := await connected_mesh_pair(log)
	if peers.is_empty():
		return
	# Peer 1's side of the connection opens a channel of its own and floods it.
	var connection: WebRTCPeerConnection = peers[1].get_peer(2)["connection"]
	var flood := connection.create_data_channel("flood", {})
	var message := PackedByteArray()
	message.resize(FLOOD_MESSAGE)
	var sent := 0
	var deadline := Time.get_ticks_msec() + 3000
	while Time.get_ticks_msec() < deadline:
		for peer in peers.values():
			peer.poll()
		if flood.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
			while flood.get_buffered_amount() < 1024 * 1024:
				if flood.put_packet(message) != OK:
					break
				sent += 1
		elif flood.get_ready_state() == WebRTCDataChannel.STATE_CLOSED:
			break
		await tree.process_frame
	print("   %d flood messages of 16 KiB sent before the channel closed" % sent)
	check_eq(flood.get_ready_state(), WebRTCDataChannel.STATE_CLOSED,
		"the mesh member closed the in-band channel")
	check(sent * FLOOD_MESSAGE < 1024 * 1024 + FLOOD_MESSAGE,
		"little was sent before it closed (%d messages)" % sent)
	check_eq(log[2], ["peer_connected 1"], "peer 2 still has peer 1")
	check_eq(peers[2].get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED,
		"peer 2 connected")
	peers[1].set_target_peer(2)
	peers[1].put_packet("still here".to_utf8_buffer())
	var inbox := {}
	var arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= 1
	if await wait_until(arrived, peers.values(), 5.0, "the mesh still carries packets"):
		check_eq(inbox[2][0][3], "still here", "the packet")
	for peer in peers.values():
		peer.close()


func test_a_mesh_drops_a_peer_that_floods_its_unread_reliable_queue() -> void:
	var log := {}
	var peers := await connected_mesh_pair(log)
	if peers.is_empty():
		return
	# Peer 2 polls every frame but never reads; peer 1 sends 4 KiB packets, reliable, as fast as
	# its channel takes them. Peer 2's queues fill, its channel holds the connection (peer 1's
	# sends wait), and after the hold limit (5 s) the channel is closed and the peer dropped.
	var message := PackedByteArray()
	message.resize(4096)
	peers[1].set_target_peer(2)
	var reliable: WebRTCDataChannel = peers[1].get_peer(2)["channels"][0]
	var dropped := func():
		for i in 8:
			if reliable.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
					and reliable.get_buffered_amount() < 1024 * 1024:
				peers[1].put_packet(message)
		return log[2].has("peer_disconnected 1")
	await wait_until(dropped, peers.values(), 15.0, "peer 2 drops peer 1 once its queue stays full")
	check(peers[2].get_available_packet_count() == 0, "peer 1's packets went with it")
	check_eq(peers[2].get_peers().size(), 0, "peer 2 has no peer left")
	for peer in peers.values():
		peer.close()


func test_the_project_setting_bounds_what_a_channel_holds_unread() -> void:
	var before = ProjectSettings.get_setting(SETTING, 64)
	ProjectSettings.set_setting(SETTING, 256)
	var pair := await open_channel_pair()
	ProjectSettings.set_setting(SETTING, before)
	if pair.is_empty():
		return
	var sender: WebRTCDataChannel = pair["ch1"]
	var receiver: WebRTCDataChannel = pair["ch2"]
	var message := PackedByteArray()
	message.resize(FLOOD_MESSAGE)
	var most_held := 0
	var deadline := Time.get_ticks_msec() + 10000
	while Time.get_ticks_msec() < deadline:
		for connection in pair["pair"]:
			connection.poll()
		most_held = maxi(most_held, receiver.get_available_packet_count())
		if receiver.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
			break
		while sender.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and sender.get_buffered_amount() < 512 * 1024:
			if sender.put_packet(message) != OK:
				break
		await tree.process_frame
	var fits := 256 * 1024 / (FLOOD_MESSAGE + PACKET_OVERHEAD)
	print("   the receiver held at most %d packets of 16 KiB (room for %d)" % [most_held, fits])
	check(most_held > 64 * 1024 / (FLOOD_MESSAGE + PACKET_OVERHEAD),
		"more than the default 64 KiB was held (%d packets)" % most_held)
	check(most_held <= fits, "no more than the 256 KiB the setting allows (%d packets)" % most_held)
	check_eq(receiver.get_ready_state(), WebRTCDataChannel.STATE_CLOSED,
		"the unread reliable channel was closed past the limit")
	check_eq(pair["p2"].get_connection_state(), WebRTCPeerConnection.STATE_CONNECTED,
		"the connection lives on")
	for connection in pair["pair"]:
		connection.close()


func test_a_burst_far_over_the_limit_arrives_whole_when_the_game_reads_every_frame() -> void:
	var log := {}
	var peers := await connected_mesh_pair(log)
	if peers.is_empty():
		return
	# 1000 small packets and 64 of 16 KiB (over 1 MiB) sent at once on the reliable channel, with
	# the default 64 KiB limit: the channel holds the connection while it is full, nothing is lost.
	peers[1].set_target_peer(2)
	var expected := 1000 + 64
	for i in 1000:
		peers[1].put_packet(("small %d" % i).to_utf8_buffer())
	for i in 64:
		var big := ("big %d " % i).to_utf8_buffer()
		big.resize(FLOOD_MESSAGE)
		peers[1].put_packet(big)
	var inbox := {}
	var arrived := func():
		drain(peers, inbox)
		return inbox[2].size() >= expected
	await wait_until(arrived, peers.values(), 20.0, "every packet of the burst arrives")
	var in_order: bool = inbox[2].size() == expected
	for i in mini(inbox[2].size(), expected):
		var text: String = inbox[2][i][3]
		var want := ("small %d" % i) if i < 1000 else ("big %d " % (i - 1000))
		if not text.begins_with(want):
			in_order = false
			break
	check(in_order, "all %d packets, in order (got %d)" % [expected, inbox[2].size()])
	check_eq(log[2], ["peer_connected 1"], "peer 2 still has peer 1")
	for peer in peers.values():
		peer.close()
