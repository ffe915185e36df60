## The demo's bot: joins a lobby and plays a scripted session headless (chat, moves, pings),
## then prints what it saw. main.gd adds it when `--bot` is on the command line:
##   godot --headless --path godot-project -- --bot --url ws://127.0.0.1:9080 --room NAME \
##       --moves 20 --expect 3 [--bind 127.0.0.1] [--timeout 60] [--screenshot PATH.png] \
##       [--engine-mesh]
## An empty --room creates a lobby; main.gd prints its name as "LOBBY <name>". The bot prints
## "SUMMARY {json}" when done (tools/demo reads both lines) and exits 0 only if it saw every
## other peer's hello, moves and final position.
extends Node

const Options := preload("res://shared/options.gd")

const PINGS_PER_PEER := 10
const MOVE_INTERVAL := 0.05
const STEP := Vector2(5, 3)

var client: MultiplayerClient
var game: Game

# Options from the command line.
var url := "ws://127.0.0.1:9080"
var room := ""
var moves := 20
var expect := 1
var timeout := 60
var bind := ""
var screenshot := ""

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
	_read_options()
	if bind != "":
		WebRTCMesh.set_default_bind_address(bind)
	game.chat_received.connect(_on_game_chat_received)
	game.pong_received.connect(_on_game_pong_received)
	_started_usec = Time.get_ticks_usec()
	client.start(url, room, true)


func _read_options() -> void:
	var options := Options.new()
	url = options.text("url", url)
	room = options.text("room", room)
	moves = options.integer("moves", moves)
	expect = options.integer("expect", expect)
	timeout = options.integer("timeout", timeout)
	bind = options.text("bind", bind)
	screenshot = options.text("screenshot", screenshot)


func _elapsed_ms() -> int:
	return (Time.get_ticks_usec() - _started_usec) / 1000


func _process(delta: float) -> void:
	if _finished:
		return
	if _elapsed_ms() > timeout * 1000:
		_finish(false)
		return
	if client.rtc_mp.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		return
	var me := multiplayer.get_unique_id()
	if _mesh_ms < 0:
		if multiplayer.get_peers().size() >= expect:
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
	var player := game.own_player()
	_move_timer -= delta
	if player != null and _moves < moves and _move_timer <= 0.0:
		_move_timer = MOVE_INTERVAL
		player.position += STEP
		_moves += 1
		if _moves == moves:
			var x := int(player.position.x)
			var y := int(player.position.y)
			game.chat.rpc("done %d %d %d" % [me, x, y])
			_chat_sent += 1
	for node: Node2D in game.players.get_children():
		if node.name == str(me):
			continue
		if _last_positions.get(node.name) != node.position:
			if _last_positions.has(node.name):
				_position_updates += 1
			_last_positions[node.name] = node.position
	if _complete():
		_finish(true)


func _on_game_chat_received(from: int, text: String) -> void:
	if from == multiplayer.get_unique_id():
		return
	_chat_received += 1
	var words := text.split(" ")
	if words[0] == "hello":
		_hello_from[from] = true
	elif words[0] == "done" and words.size() == 4:
		_done_at[from] = Vector2(int(words[2]), int(words[3]))


func _on_game_pong_received(_from: int, rtt_usec: int) -> void:
	_rtts.append(rtt_usec)


func _complete() -> bool:
	if _moves < moves or _rtts.size() < PINGS_PER_PEER * _others.size():
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
	# No multiplayer peer once the client stopped (the signaling server was never reached).
	var joined := multiplayer.has_multiplayer_peer()
	var summary := {
		"id": multiplayer.get_unique_id() if joined else 0,
		"ok": ok,
		"mesh": client.rtc_mp.get_class(),
		"peers": multiplayer.get_peers().size() if joined else 0,
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
	if screenshot != "" and DisplayServer.get_name() != "headless":
		await RenderingServer.frame_post_draw
		get_viewport().get_texture().get_image().save_png(screenshot)
	# Stay a moment so the others receive what they still wait for, then leave.
	await get_tree().create_timer(1.5).timeout
	client.stop()
	get_tree().quit(0 if ok else 1)
