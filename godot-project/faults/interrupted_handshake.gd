## One trial of the interrupted-handshake fault test (tools/faults.d/interrupted.sh): two
## WebRTCMultiplayerPeerRs meshes in this process start connecting through a signaling relay that
## delays every message by 0-400 ms (so the handshake spans offer/answer, ICE, DTLS and SCTP over
## a few hundred ms), and at a seeded moment of 0-800 ms one side's mesh is closed, freed, has the
## peer removed, has its connection closed, or the engine quits.
##
##   godot --headless --path godot-project \
##     --script res://faults/interrupted_handshake.gd -- --seed N
##
## Prints "TRIAL seed action at_ms phase" when it acts (phase: what the handshake had reached),
## then polls what is left for a second and prints "QUIT_AT unix_ms" just before quit(): the
## runner checks that the process is gone within 2 s of it.
extends SceneTree

const Options := preload("res://shared/options.gd")

const ACTIONS := ["close", "free", "remove_peer", "close_connection", "quit"]
const MAX_AT_MS := 800
const MAX_RELAY_DELAY_MS := 400
## Seconds what is left is polled after the interruption.
const AFTER := 1.0

var _random := RandomNumberGenerator.new()
var _meshes: Array = []
var _connections: Array = []


func _initialize() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var seed_value := Options.new().integer("seed", 1)
	_random.seed = seed_value
	_run.call_deferred(seed_value)


func _run(seed_value: int) -> void:
	var action: String = ACTIONS[_random.randi_range(0, ACTIONS.size() - 1)]
	var at_ms := _random.randi_range(0, MAX_AT_MS - 1)
	var side := _random.randi_range(0, 1)
	_start()
	var deadline := Time.get_ticks_msec() + at_ms
	while Time.get_ticks_msec() < deadline:
		_poll()
		await process_frame
	print("TRIAL %d %s %d %s" % [seed_value, action, at_ms, _phase()])
	match action:
		"close":
			_meshes[side].close()
		"free":
			_meshes[side] = null
			_connections[side] = null
		"remove_peer":
			_meshes[side].remove_peer(2 - side)
		"close_connection":
			_connections[side].close()
		"quit":
			_quit()
			return
	var after := Time.get_ticks_msec() + int(AFTER * 1000)
	while Time.get_ticks_msec() < after:
		_poll()
		await process_frame
	_quit()


## Mesh 1 and mesh 2, each with a connection to the other; the relay delays what they signal.
func _start() -> void:
	for id in [1, 2]:
		var mesh := WebRTCMultiplayerPeerRs.new()
		mesh.create_mesh(id)
		_meshes.append(mesh)
		var connection := WebRTCPeerConnection.new()
		connection.initialize({})
		_connections.append(connection)
	_relay(_connections[0], _connections[1])
	_relay(_connections[1], _connections[0])
	_meshes[0].add_peer(_connections[0], 2)
	_meshes[1].add_peer(_connections[1], 1)
	_connections[0].create_offer()


## What `from` signals reaches `to` after a random delay; weak references, so that a pending
## message keeps nothing alive.
func _relay(from: WebRTCPeerConnection, to: WebRTCPeerConnection) -> void:
	from.session_description_created.connect(from.set_local_description)
	var target: WeakRef = weakref(to)
	from.session_description_created.connect(func(type: String, sdp: String):
		_later(func():
			var peer: WebRTCPeerConnection = target.get_ref()
			if peer != null:
				peer.set_remote_description(type, sdp)))
	from.ice_candidate_created.connect(func(mid: String, index: int, sdp: String):
		_later(func():
			var peer: WebRTCPeerConnection = target.get_ref()
			if peer != null:
				peer.add_ice_candidate(mid, index, sdp)))


func _later(call: Callable) -> void:
	create_timer(_random.randi_range(0, MAX_RELAY_DELAY_MS) / 1000.0).timeout.connect(call)


func _poll() -> void:
	for mesh in _meshes:
		if mesh != null:
			mesh.poll()


## How far the offerer's handshake got: signaling (no answer yet), ice-dtls (connecting),
## sctp (connected, the mesh's channels not all open), open.
func _phase() -> String:
	var connection: WebRTCPeerConnection = _connections[0]
	if connection.get_signaling_state() != WebRTCPeerConnection.SIGNALING_STATE_STABLE:
		return "signaling"
	if connection.get_connection_state() != WebRTCPeerConnection.STATE_CONNECTED:
		return "ice-dtls"
	if not _meshes[0].get_peer(2).get("connected", false):
		return "sctp"
	return "open"


func _quit() -> void:
	print("QUIT_AT %d" % int(Time.get_unix_time_from_system() * 1000.0))
	quit(0)
