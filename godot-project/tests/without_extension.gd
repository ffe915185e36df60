## The demo without the addon's library, as in a web export: run by tools/check-web-scripts in a
## copy of the project that holds every script a web export ships (demo/, shared/, the addon's
## scripts) but no .gdextension. Checks that every such script parses, that WebRTCMesh gives the
## engine's WebRTCMultiplayerPeer and that its factories work, and that the demo's main scene
## runs: joined (a signaling "connected" event), it plays alone on the engine's class (its player
## spawned, the peer panel, a chat RPC). Prints one line per check and "WITHOUT_EXTENSION ok" or
## "WITHOUT_EXTENSION FAILED"; exits 0 only on success. Connections cannot be tried natively
## without a WebRTC library (the engine has none of its own outside browsers).
##   godot --headless --path COPY --script res://tests/without_extension.gd
extends SceneTree

## The folders whose scripts a web export of the demo ships.
const SHIPPED := ["res://demo/", "res://shared/", "res://addons/"]
## The id the emulated signaling server gives this peer.
const MY_ID := 7

var _failed := 0


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	_check(not ClassDB.class_exists(&"WebRTCMultiplayerPeerRs"), "the addon's classes are absent")
	for path in _scripts_under(SHIPPED):
		var script: Script = load(path)
		_check(script != null and script.can_instantiate(), "%s parses" % path)
	_check_helper()
	await _check_main_scene()
	print("WITHOUT_EXTENSION %s" % ("ok" if _failed == 0 else "FAILED"))
	quit(0 if _failed == 0 else 1)


func _check_helper() -> void:
	_check(not WebRTCMesh.is_extension_loaded(), "WebRTCMesh.is_extension_loaded() is false")
	var mesh := WebRTCMesh.new_multiplayer_peer()
	_check_eq(mesh.get_class(), "WebRTCMultiplayerPeer", "new_multiplayer_peer() class")
	_check_eq(mesh.create_mesh(3), OK, "create_mesh(3)")
	_check_eq(mesh.get_unique_id(), 3, "its unique id")
	_check_eq(mesh.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTED, "mesh status")
	var server := WebRTCMesh.new_multiplayer_peer()
	_check_eq(server.create_server(), OK, "create_server()")
	_check_eq(server.get_unique_id(), 1, "the server's id")
	var client := WebRTCMesh.new_multiplayer_peer()
	_check_eq(client.create_client(5), OK, "create_client(5)")
	_check_eq(client.get_connection_status(), MultiplayerPeer.CONNECTION_CONNECTING,
		"a client connects until the server does")
	_check(not mesh.has_method(&"get_peer_stats"), "no extras to feature-test")
	_check_eq(WebRTCMesh.set_default_bind_address("127.0.0.1"), ERR_UNAVAILABLE,
		"set_default_bind_address is unavailable")
	for peer: MultiplayerPeer in [mesh, server, client]:
		peer.close()


func _check_main_scene() -> void:
	var main: Node = load("res://demo/main.tscn").instantiate()
	root.add_child(main)
	await process_frame
	var client: MultiplayerClient = main.get_node("Client")
	var game: Game = main.get_node("Game")
	_check_eq(client.rtc_mp.get_class(), "WebRTCMultiplayerPeer", "the demo's mesh class")
	_check(game.mesh == client.rtc_mp, "the game's peer panel reads that mesh")
	# What SignalingClient emits when the server gives us an id in a mesh lobby.
	client.ask_for_turn = false
	client.connected.emit(MY_ID, true)
	for i in 5:
		await process_frame
	_check_eq(client.multiplayer.get_unique_id(), MY_ID, "the scene's multiplayer id")
	_check(game.own_player() != null, "the demo spawned its player")
	_check(game.peers_label.text.begins_with("I am peer %d" % MY_ID), "the peer panel shows")
	game.chat.rpc("hello")
	_check(game.chat_log.text.contains("%d: hello" % MY_ID), "a chat RPC runs")
	client.stop()
	main.queue_free()
	await process_frame


## Every .gd file under `folders`, recursively.
func _scripts_under(folders: Array) -> Array[String]:
	var found: Array[String] = []
	var pending := folders.duplicate()
	while not pending.is_empty():
		var folder: String = pending.pop_back()
		for sub in DirAccess.get_directories_at(folder):
			pending.append(folder + sub + "/")
		for file in DirAccess.get_files_at(folder):
			if file.ends_with(".gd"):
				found.append(folder + file)
	found.sort()
	return found


func _check(condition: bool, what: String) -> void:
	if condition:
		print("  ok   %s" % what)
	else:
		_failed += 1
		printerr("  FAIL %s" % what)


func _check_eq(actual, expected, what: String) -> void:
	_check(typeof(actual) == typeof(expected) and actual == expected,
		"%s (got %s, expected %s)" % [what, actual, expected])
