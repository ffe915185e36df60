## WebRTCMesh, the addon's helper for scripts that also ship to the web, where the addon is loaded:
## it gives the addon's classes, the engine's on request, and a mesh member on the engine's class
## (what a browser player runs) meets one on ours. tools/check-web-scripts tests the other side:
## the demo's scripts in a project without the addon's library, as in a browser.
extends "res://tests/test_case.gd"


func test_the_addon_class_where_the_library_is_loaded() -> void:
	check(WebRTCMesh.is_extension_loaded(), "is_extension_loaded() with the library")
	var ours := WebRTCMesh.new_multiplayer_peer()
	check(ours is WebRTCMultiplayerPeerRs, "new_multiplayer_peer() is a WebRTCMultiplayerPeerRs")
	check(ours != WebRTCMesh.new_multiplayer_peer(), "each call makes a new peer")
	var engine := WebRTCMesh.new_multiplayer_peer(true)
	check_eq(engine.get_class(), "WebRTCMultiplayerPeer", "new_multiplayer_peer(true)'s class")
	check(not engine.has_method(&"get_peer_stats"), "the engine's class has none of our extras")
	check(ours.has_method(&"get_peer_stats"), "ours has them")
	check_eq(WebRTCMesh.set_default_bind_address("127.0.0.1"), OK, "set_default_bind_address")
	check_eq(WebRTCPeerConnection.new().get_class(), "WebRTCPeerConnectionRs",
		"WebRTCPeerConnection.new() is ours")


## The engine's mesh class over our connection, as a browser player's, and ours meet; packets go
## both ways through the common API, and a leave is seen at once on both sides.
func test_a_browser_style_member_meets_ours() -> void:
	var peers := {1: WebRTCMesh.new_multiplayer_peer(true), 2: WebRTCMesh.new_multiplayer_peer()}
	var log := {1: [], 2: []}
	for id: int in peers:
		check_eq(peers[id].create_mesh(id), OK, "member %d: create_mesh" % id)
		peers[id].peer_connected.connect(func(other: int): log[id].append(other))
	connect_peers(peers, 1, 2)
	var connected := func(): return log[1] == [2] and log[2] == [1]
	if not await wait_until(connected, peers.values(), 15.0, "each sees the other connect"):
		return
	for id: int in peers:
		peers[id].set_target_peer(3 - id)
		check_eq(peers[id].put_packet(("from %d" % id).to_utf8_buffer()), OK, "%d sends" % id)
	var inbox := {}
	var arrived := func():
		drain(peers, inbox)
		return inbox[1].size() == 1 and inbox[2].size() == 1
	if await wait_until(arrived, peers.values(), 10.0, "a packet arrives each way"):
		check_eq(inbox[1][0][3], "from 2", "the engine's class got ours")
		check_eq(inbox[2][0][3], "from 1", "ours got the engine's")
	# The README's portable leave: close the connection, then remove_peer (the engine's
	# remove_peer alone leaves the connection open until ICE gives up).
	var left := {1: [], 2: []}
	for id: int in peers:
		peers[id].peer_disconnected.connect(func(other: int): left[id].append(other))
	peers[1].get_peer(2).connection.close()
	peers[1].remove_peer(2)
	var gone := func(): return left[2] == [1]
	await wait_until(gone, peers.values(), 5.0, "ours sees the engine's member leave")
	check_eq(left[1], [2], "the engine's member reports the leave once")
	for peer: MultiplayerPeer in peers.values():
		peer.close()
