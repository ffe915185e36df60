## One process of the peer-loss fault test (tools/faults.d/peer_loss.sh): three engine processes
## meet in one lobby of the signaling server with WebRTCMultiplayerPeerRs meshes.
##
##   --role survivor   creates the lobby; receives the stream; reports when the mesh emits
##                     peer_disconnected for the streamer; then answers the third process.
##   --role streamer   joins and streams reliable 1 KiB messages to the survivor until it is
##                     killed (SIGKILL, by the runner), or for --stop-after-ms and then calls
##                     close() on its mesh (--stop close) or quits the engine (--stop quit).
##   --role third      joins after the loss and exchanges a message with the survivor.
##
## Options: --url URL --room LOBBY --timeout SECONDS --stop-after-ms MS --stop close|quit.
## The survivor ignores the signaling server's news that a peer left, so what it reports rests
## on the connection alone (ICE consent checks, DTLS close_notify, SCTP ABORT). Lines printed,
## with Unix times in ms: LOBBY name; STREAMING received; LOST id unix_ms received;
## SIGNALING_LEFT id unix_ms; STOPPING unix_ms; THIRD_OK unix_ms; DONE longest_frame_ms.
## Exits 0 when its role completed.
extends SceneTree

## The survivor's client: the mesh keeps a peer the signaling server says left.
class KeepingClient:
	extends MultiplayerClient

	signal signaling_left(id: int)

	func _on_peer_disconnected(id: int) -> void:
		signaling_left.emit(id)

	func _on_disconnected() -> void:
		pass


const FrameClock := preload("res://faults/frame_clock.gd")
const Options := preload("res://shared/options.gd")
const MESSAGE_SIZE := 1024
## Messages handed to the mesh per frame while streaming.
const MESSAGES_PER_FRAME := 32
## Messages the survivor receives before it reports the stream running.
const STREAMING_AFTER := 500

var role := ""
var url := ""
var room := ""
var timeout := 60.0
var stop_after_ms := -1
var stop := "close"
var _client: KeepingClient
var _api: SceneMultiplayer
var _streaming_to := 0
var _stream_started_ms := 0
var _received := 0
var _reported_streaming := false
var _lost := false
var _done := false
var _frames := FrameClock.new()


func _initialize() -> void:
	var options := Options.new()
	role = options.text("role", role)
	url = options.text("url", url)
	room = options.text("room", room)
	timeout = options.number("timeout", timeout)
	stop_after_ms = options.integer("stop-after-ms", stop_after_ms)
	stop = options.text("stop", stop)
	if role not in ["survivor", "streamer", "third"] or url == "":
		printerr("usage: --role survivor|streamer|third --url URL [--room LOBBY]")
		quit(2)
		return
	Engine.max_fps = 120
	_api = get_multiplayer() as SceneMultiplayer
	_api.peer_connected.connect(_on_peer_connected)
	_api.peer_disconnected.connect(_on_peer_disconnected)
	_api.peer_packet.connect(_on_peer_packet)
	_client = KeepingClient.new()
	_client.lobby_joined.connect(func(lobby: String): print("LOBBY %s" % lobby))
	_client.signaling_left.connect(
		func(id: int): print("SIGNALING_LEFT %d %d" % [id, _unix_ms()]))
	root.add_child(_client)
	_client.start.call_deferred(url, room, true)


func _process(_delta: float) -> bool:
	_frames.tick()
	if _done:
		return false
	if Time.get_ticks_msec() > timeout * 1000:
		printerr("%s: timed out" % role)
		_finish(1)
		return false
	if _streaming_to != 0:
		_stream()
	return false


func _stream() -> void:
	if stop_after_ms >= 0 and Time.get_ticks_msec() - _stream_started_ms >= stop_after_ms:
		_streaming_to = 0
		print("STOPPING %d" % _unix_ms())
		if stop == "quit":
			# As a player closing the game: nothing is closed by hand.
			quit(0)
			return
		_client.rtc_mp.close()
		create_timer(1.0).timeout.connect(_finish.bind(0))
		return
	var message := PackedByteArray()
	message.resize(MESSAGE_SIZE)
	for i in MESSAGES_PER_FRAME:
		_api.send_bytes(message, _streaming_to)


func _on_peer_connected(id: int) -> void:
	match role:
		"streamer":
			if id == 1:
				_streaming_to = id
				_stream_started_ms = Time.get_ticks_msec()
		"third":
			if id == 1:
				_api.send_bytes("hello".to_utf8_buffer(), id)


func _on_peer_disconnected(id: int) -> void:
	if role == "survivor" and not _lost:
		_lost = true
		print("LOST %d %d %d" % [id, _unix_ms(), _received])


func _on_peer_packet(id: int, packet: PackedByteArray) -> void:
	match role:
		"survivor":
			if packet.size() == MESSAGE_SIZE:
				_received += 1
				if _received >= STREAMING_AFTER and not _reported_streaming:
					_reported_streaming = true
					print("STREAMING %d" % _received)
			elif packet.get_string_from_utf8() == "hello":
				_api.send_bytes("welcome".to_utf8_buffer(), id)
				print("THIRD_OK %d" % _unix_ms())
				create_timer(0.5).timeout.connect(_finish.bind(0 if _lost else 1))
		"third":
			if packet.get_string_from_utf8() == "welcome":
				_finish(0)


func _finish(code: int) -> void:
	if _done:
		return
	_done = true
	print("DONE %.1f" % (_frames.longest_usec / 1000.0))
	_client.stop()
	quit(code)


static func _unix_ms() -> int:
	return int(Time.get_unix_time_from_system() * 1000.0)
