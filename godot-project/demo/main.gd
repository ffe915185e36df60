## The demo's entry: a lobby (server URL, room, mesh or client/server, host/join/seal) and the
## game. With `-- --bot` it plays a scripted session headless and prints what it saw:
##   godot --headless --path godot-project -- --bot --url ws://127.0.0.1:9080 --room NAME \
##       --moves 20 --expect 3 [--bind 127.0.0.1] [--timeout 60] [--screenshot PATH.png]
## An empty --room creates a lobby; its name is printed as "LOBBY <name>".
extends Control

const GAME := preload("res://demo/game.tscn")
const CLIENT := preload("res://demo/multiplayer_client.gd")
const PINGS_PER_PEER := 10
const MOVE_INTERVAL := 0.05
const STEP := Vector2(5, 3)

var client: Node
var game: Node2D
var options := {"url": "ws://127.0.0.1:9080", "room": "", "moves": "20", "expect": "1", "timeout": "60", "bind": "", "screenshot": ""}
var bot := false

# Bot bookkeeping.
var _started_usec := 0
var _mesh_ms := -1
var _others: Array = []
var _hello_from := {}
var _done_at := {}
var _chat_sent := 0
var _chat_received := 0
var _moves := 0
var _move_timer := 0.0
var _ping_timer := 0.0
var _pings_sent := 0
var _rtts: Array = []
var _last_positions := {}
var _position_updates := 0
var _finished := false


func _ready() -> void:
	var args := OS.get_cmdline_user_args()
	var i := 0
	while i < args.size():
		var key: String = args[i].trim_prefix("--")
		if key == "bot":
			bot = true
		elif options.has(key) and i + 1 < args.size():
			options[key] = args[i + 1]
			i += 1
		i += 1
	if options.bind != "":
		WebRTCPeerConnectionRs.set_default_bind_address(options.bind)
	client = Node.new()
	client.set_script(CLIENT)
	client.name = "Client"
	add_child(client)
	game = GAME.instantiate()
	game.mesh = client.rtc_mp
	add_child(game)
	client.connected.connect(func(_id, _mesh): game.start.call_deferred())
	client.lobby_joined.connect(_on_lobby_joined)
	if bot:
		game.chat_received.connect(_on_chat)
		game.pong_received.connect(func(_from, rtt): _rtts.append(rtt))
		_started_usec = Time.get_ticks_usec()
		client.start(options.url, options.room, true)
	else:
		_build_lobby_ui()


func _on_lobby_joined(lobby: String) -> void:
	print("LOBBY %s" % lobby)
	if has_node("Lobby"):
		$Lobby/Room.text = lobby
		$Lobby/Status.text = "In lobby %s (share its name)" % lobby


func _build_lobby_ui() -> void:
	var box := VBoxContainer.new()
	box.name = "Lobby"
	box.position = Vector2(620, 10)
	box.custom_minimum_size = Vector2(320, 0)
	add_child(box)
	var url := LineEdit.new()
	url.name = "Url"
	url.text = options.url
	box.add_child(url)
	var room := LineEdit.new()
	room.name = "Room"
	room.placeholder_text = "Room (empty: host a new one)"
	box.add_child(room)
	var mesh := CheckBox.new()
	mesh.text = "Mesh (unchecked: client/server)"
	mesh.button_pressed = true
	box.add_child(mesh)
	var buttons := HBoxContainer.new()
	box.add_child(buttons)
	for label in ["Host", "Join", "Seal", "Stop"]:
		var button := Button.new()
		button.text = label
		buttons.add_child(button)
		match label:
			"Host": button.pressed.connect(func(): client.start(url.text, "", mesh.button_pressed))
			"Join": button.pressed.connect(func(): client.start(url.text, room.text, mesh.button_pressed))
			"Seal": button.pressed.connect(func(): client.seal_lobby())
			"Stop": button.pressed.connect(func(): client.stop())
	var status := Label.new()
	status.name = "Status"
	status.text = "Host a lobby, or paste a room name and join."
	box.add_child(status)


func _elapsed_ms() -> int:
	return (Time.get_ticks_usec() - _started_usec) / 1000


func _process(delta: float) -> void:
	if not bot or _finished:
		return
	if _elapsed_ms() > int(options.timeout) * 1000:
		_finish(false)
		return
	if client.rtc_mp.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		return
	var me := multiplayer.get_unique_id()
	if _mesh_ms < 0:
		if multiplayer.get_peers().size() >= int(options.expect):
			_mesh_ms = _elapsed_ms()
			_others = Array(multiplayer.get_peers())
			print("peer %d: full mesh with %s after %d ms" % [me, str(_others), _mesh_ms])
			if me == 1:
				client.seal_lobby()
			game.chat.rpc("hello from %d" % me)
			_chat_sent += 1
		return
	_ping_timer -= delta
	if _ping_timer <= 0.0 and _pings_sent < PINGS_PER_PEER * _others.size():
		_ping_timer = 0.02
		var target: int = _others[_pings_sent % _others.size()]
		game.ping.rpc_id(target, Time.get_ticks_usec())
		_pings_sent += 1
	var player: Node2D = game.own_player()
	_move_timer -= delta
	if player != null and _moves < int(options.moves) and _move_timer <= 0.0:
		_move_timer = MOVE_INTERVAL
		player.position += STEP
		_moves += 1
		if _moves == int(options.moves):
			game.chat.rpc("done %d %d %d" % [me, int(player.position.x), int(player.position.y)])
			_chat_sent += 1
	for node in game.players.get_children():
		if node.name == str(me):
			continue
		if _last_positions.get(node.name) != node.position:
			if _last_positions.has(node.name):
				_position_updates += 1
			_last_positions[node.name] = node.position
	if _complete():
		_finish(true)


func _on_chat(from: int, text: String) -> void:
	if from == multiplayer.get_unique_id():
		return
	_chat_received += 1
	var words := text.split(" ")
	if words[0] == "hello":
		_hello_from[from] = true
	elif words[0] == "done" and words.size() == 4:
		_done_at[from] = Vector2(int(words[2]), int(words[3]))


func _complete() -> bool:
	if _moves < int(options.moves) or _rtts.size() < PINGS_PER_PEER * _others.size():
		return false
	for id in _others:
		if not _hello_from.has(id) or not _done_at.has(id):
			return false
		var node: Node2D = game.players.get_node_or_null(str(id))
		if node == null or node.position != _done_at[id]:
			return false
	return true


func _finish(ok: bool) -> void:
	_finished = true
	var rtts := _rtts.duplicate()
	rtts.sort()
	var summary := {
		"id": multiplayer.get_unique_id(),
		"ok": ok,
		"peers": multiplayer.get_peers().size(),
		"mesh_ms": _mesh_ms,
		"chat_sent": _chat_sent,
		"chat_received": _chat_received,
		"hello_from": _hello_from.size(),
		"moves_sent": _moves,
		"position_updates_received": _position_updates,
		"pings": rtts.size(),
		"rtt_p50_ms": (rtts[rtts.size() / 2] / 1000.0) if rtts.size() > 0 else -1.0,
	}
	print("SUMMARY %s" % JSON.stringify(summary))
	if options.screenshot != "" and DisplayServer.get_name() != "headless":
		await RenderingServer.frame_post_draw
		get_viewport().get_texture().get_image().save_png(options.screenshot)
	# Stay a moment so the others receive what they still wait for, then leave.
	await get_tree().create_timer(1.5).timeout
	client.stop()
	get_tree().quit(0 if ok else 1)
