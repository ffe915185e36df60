## The interop suite's Godot side (run by tools/interop through tools/interop.d/harness.mjs):
## meets one foreign peer (Chromium, libdatachannel, aiortc) that the harness relays to over a
## TCP socket on 127.0.0.1, as JSON lines: signaling, commands for the foreign peer, its events.
## Three scenarios, each on a fresh connection with Godot's three negotiated channels:
##   1. WebRTCPeerConnection.new(), we offer: connect time, a greeting and an echo on every channel
##      each way, 16 KiB and the largest allowed message echoed, 1000 ordered messages each way
##      (--bursts rounds of them),
##      then our close() as the foreign peer sees it.
##   2. WebRTCPeerConnection.new(), they offer: connect time, then their close() as we see it
##      (the time until our channels and our connection are CLOSED).
##   3. WebRTCMultiplayerPeerRs, we offer: peer_connected, every transfer mode each way, then
##      their close() as peer_disconnected.
## Sends {"t": "result", "result": {...}} to the harness, prints "RESULT {json}" and exits 0 when
## every check held, else 1.
##   godot --headless --path godot-project --script res://interop/agent.gd -- \
##       --port PORT --stack NAME --version "Chromium 148" [--bursts N]
extends SceneTree

const Options := preload("res://shared/options.gd")

## Godot's negotiated channels: id 1 reliable, id 2 ordered unreliable, id 3 unordered unreliable.
const CHANNELS := [
	["reliable", {"negotiated": true, "id": 1}],
	["ordered", {"negotiated": true, "id": 2, "maxPacketLifeTime": 1}],
	["unreliable", {"negotiated": true, "id": 3, "ordered": false, "maxPacketLifeTime": 1}],
]
## The negotiated channel each transfer mode travels on.
const MODE_CHANNEL := {
	MultiplayerPeer.TRANSFER_MODE_RELIABLE: 1,
	MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED: 2,
	MultiplayerPeer.TRANSFER_MODE_UNRELIABLE: 3,
}
## Our transport's largest message (the smaller of this and the remote's announcement is allowed).
const OUR_MAX_MESSAGE := 65536
const BURST := 1000
const BURST_SIZE := 100
## A gap this long between two messages of a burst on loopback is a stall worth reporting.
const STALL_MS := 500.0
const CONNECT_TIMEOUT := 15.0
const CLOSE_TIMEOUT := 8.0
const MESH_PEER := 2

var port := 0
var stack := ""
var version := ""
var bursts := 1

var _tcp := StreamPeerTCP.new()
var _line_buffer := PackedByteArray()
var _events: Array[Dictionary] = []
var _pc: WebRTCPeerConnection
var _channels: Array[WebRTCDataChannel] = []
## Packets received per channel (index 0..2 for ids 1..3), with their arrival times.
var _received: Array = [[], [], []]
var _arrivals: Array = [[], [], []]
var _mesh: WebRTCMultiplayerPeerRs
var _mesh_packets: Array[Dictionary] = []
var _mesh_events: Array[Dictionary] = []
var _checks := 0
var _failures: Array[String] = []
var _notes: Array[String] = []
var _figures := {}


func _initialize() -> void:
	Engine.max_fps = 1000
	var options := Options.new()
	port = options.integer("port", port)
	stack = options.text("stack", stack)
	version = options.text("version", version)
	bursts = maxi(1, options.integer("bursts", bursts))
	_run()


func _run() -> void:
	if port <= 0 or _tcp.connect_to_host("127.0.0.1", port) != OK:
		printerr("interop agent: no harness port")
		quit(2)
		return
	if not await _wait(func(): return _tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED, 5.0):
		printerr("interop agent: cannot reach the harness")
		quit(2)
		return
	await _scenario_we_offer()
	await _scenario_they_offer()
	await _scenario_mesh()
	var result := {
		"stack": stack, "version": version, "ok": _failures.is_empty(), "checks": _checks,
		"failures": _failures, "notes": _notes, "figures": _figures,
	}
	_send({"t": "result", "result": result})
	print("RESULT ", JSON.stringify(result))
	await _wait(func(): return false, 0.2)
	_tcp.disconnect_from_host()
	quit(0 if _failures.is_empty() else 1)


# --- Scenarios ------------------------------------------------------------------------------------


func _scenario_we_offer() -> void:
	_send({"t": "start", "role": "answer"})
	var started := _now_ms()
	_new_connection()
	_pc.create_offer()
	if not await _connected("we offer", started, "connect_we_offer_ms"):
		return
	await _greetings_and_echoes()
	await _echo_large(16384, "16 KiB")
	var their_max: int = _event("open").get("maxMessageSize", 0)
	var largest := OUR_MAX_MESSAGE if their_max <= 0 else mini(OUR_MAX_MESSAGE, their_max)
	_figures["largest_message"] = largest
	await _echo_large(largest, "the largest allowed message (%d B)" % largest)
	await _bursts(69, "burst_round_trip")
	await _bursts(66, "burst_to_us")
	await _our_close_seen_by_them()


func _scenario_they_offer() -> void:
	_new_connection()
	_send({"t": "start", "role": "offer"})
	var offered := func(): return _event("desc") != {}
	if not _check(await _wait(offered, CONNECT_TIMEOUT), "they offer: their offer arrives"):
		return
	# Timed from their createOffer() call, as "we offer" is from ours.
	if not await _connected("they offer", _event("desc").at, "connect_they_offer_ms"):
		return
	var greeted := func(): return range(3).all(func(i): return _has(_received[i], "H%d" % (i + 1)))
	_check(await _wait(greeted, 5.0), "they offer: a greeting arrives on every channel")
	await _their_close_seen_by_us()


func _scenario_mesh() -> void:
	_events.clear()
	_mesh = WebRTCMultiplayerPeerRs.new()
	_mesh.peer_connected.connect(
		func(id): _mesh_events.append({"t": "connected", "id": id, "at": _now_ms()})
	)
	_mesh.peer_disconnected.connect(
		func(id): _mesh_events.append({"t": "disconnected", "id": id, "at": _now_ms()})
	)
	_check(_mesh.create_mesh(1) == OK, "mesh: create_mesh(1)")
	_pc = WebRTCPeerConnection.new()
	_pc.initialize({})
	_wire_signaling(_pc)
	_check(_mesh.add_peer(_pc, MESH_PEER) == OK, "mesh: add_peer")
	_send({"t": "start", "role": "answer"})
	var started := _now_ms()
	_pc.create_offer()
	var connected := func(): return _mesh_event("connected") != {}
	if not _check(await _wait(connected, CONNECT_TIMEOUT), "mesh: peer_connected"):
		_mesh.close()
		return
	_figures["connect_mesh_ms"] = _mesh_event("connected").at - started
	var modes := [
		MultiplayerPeer.TRANSFER_MODE_RELIABLE,
		MultiplayerPeer.TRANSFER_MODE_UNRELIABLE_ORDERED,
		MultiplayerPeer.TRANSFER_MODE_UNRELIABLE,
	]
	for attempt in 5:
		for mode in modes:
			if not _mesh_has("E%d" % mode, mode):
				_mesh.transfer_mode = mode
				_mesh.set_target_peer(MESH_PEER)
				_mesh.put_packet(("E%d" % mode).to_utf8_buffer())
		var all_echoed := func(): return modes.all(func(m): return _mesh_has("E%d" % m, m))
		if await _wait(all_echoed, 0.5):
			break
	for mode in modes:
		_check(_mesh_has("E%d" % mode, mode), "mesh: transfer mode %d is echoed back in that mode" % mode)
		var channel_id: int = MODE_CHANNEL[mode]
		_check(
			_mesh_has("H%d" % channel_id, mode),
			"mesh: their greeting on channel %d arrives in transfer mode %d" % [channel_id, mode]
		)
	var closed_at := await _close_them()
	var gone := func(): return _mesh_event("disconnected") != {}
	if _check(await _wait(gone, CLOSE_TIMEOUT), "mesh: their close() emits peer_disconnected"):
		_figures["mesh_remote_close_ms"] = _mesh_event("disconnected").at - closed_at
	_check(not _mesh.has_peer(MESH_PEER), "mesh: the peer is gone from the mesh")
	_mesh.close()


# --- Steps ----------------------------------------------------------------------------------------


func _new_connection() -> void:
	_events.clear()
	_received = [[], [], []]
	_arrivals = [[], [], []]
	_pc = WebRTCPeerConnection.new()
	_pc.initialize({})
	_wire_signaling(_pc)
	_channels.clear()
	for spec in CHANNELS:
		_channels.append(_pc.create_data_channel(spec[0], spec[1]))


func _wire_signaling(pc: WebRTCPeerConnection) -> void:
	pc.session_description_created.connect(_on_description)
	pc.ice_candidate_created.connect(_on_candidate)


func _on_description(type: String, sdp: String) -> void:
	_pc.set_local_description(type, sdp)
	_send({"t": "desc", "type": type, "sdp": sdp})


func _on_candidate(media: String, index: int, candidate: String) -> void:
	_send({"t": "cand", "candidate": candidate, "sdpMid": media, "sdpMLineIndex": index})


func _connected(what: String, started: float, figure: String) -> bool:
	var open := func():
		return _event("open") != {} and _channels.all(
			func(c): return c.get_ready_state() == WebRTCDataChannel.STATE_OPEN
		)
	if not _check(await _wait(open, CONNECT_TIMEOUT), "%s: every channel opens on both sides" % what):
		var state := _pc.get_connection_state()
		_notes.append("%s: connection state %d, their events %s" % [what, state, _events])
		_pc.close()
		return false
	var now := _now_ms()
	_figures[figure] = maxf(now, _event("open").at) - started
	var steps := _events.filter(func(e): return e.t == "state").map(
		func(e): return "their %s@%d" % [e.state, e.at - started]
	)
	steps.append("their channels open@%d" % (_event("open").at - started))
	steps.append("our channels open@%d" % (now - started))
	_figures[figure.replace("_ms", "_steps")] = steps
	return true


func _greetings_and_echoes() -> void:
	for attempt in 5:
		for i in 3:
			if not _has(_received[i], "E%d" % (i + 1)):
				_channels[i].put_packet(("E%d" % (i + 1)).to_utf8_buffer())
		var echoed := func(): return range(3).all(func(i): return _has(_received[i], "E%d" % (i + 1)))
		if await _wait(echoed, 0.5):
			break
	for i in 3:
		_check(_has(_received[i], "H%d" % (i + 1)), "their greeting arrives on channel %d" % (i + 1))
		_check(_has(_received[i], "E%d" % (i + 1)), "our message on channel %d is echoed back" % (i + 1))


func _echo_large(size: int, what: String) -> void:
	var message := PackedByteArray()
	message.resize(size)
	for i in size:
		message[i] = (i * 7 + size) % 251
	message[0] = 69  # "E"
	_received[0].clear()
	_check(_channels[0].put_packet(message) == OK, "%s is accepted for sending" % what)
	var back := func(): return _received[0].any(func(p): return p == message)
	_check(await _wait(back, 10.0), "%s comes back intact" % what)


## Runs `bursts` rounds of BURST ordered reliable messages: ours echoed back (kind "E") or theirs
## (kind "B"). Each round is checked (all arrive, in order); the figures are every round's time
## and largest gap between two arrivals, and how many rounds had a gap over STALL_MS.
func _bursts(kind: int, figure: String) -> void:
	var times := []
	var gaps := []
	for round_index in bursts:
		_received[0].clear()
		_arrivals[0].clear()
		var started := _now_ms()
		if kind == 69:
			for i in BURST:
				_channels[0].put_packet(_numbered(kind, i))
		else:
			_send({"t": "burst", "id": 1, "count": BURST, "size": BURST_SIZE})
		var done := func(): return _received[0].size() >= BURST
		var what := "%s: %d ordered messages, round %d" % [figure, BURST, round_index + 1]
		if not _check(await _wait(done, 30.0), "%s: all arrive (%d did)" % [what, _received[0].size()]):
			return
		_check(_in_order(_received[0], kind), "%s: in order" % what)
		times.append(roundi(_arrivals[0][BURST - 1] - started))
		gaps.append(roundi(_max_gap(_arrivals[0], started)))
	_figures[figure + "_ms"] = times
	_figures[figure + "_max_gap_ms"] = gaps
	_figures[figure + "_stalls"] = gaps.filter(func(gap): return gap > STALL_MS).size()


func _our_close_seen_by_them() -> void:
	var closed_at := _now_ms()
	_pc.close()
	var closes := func(): return _events.filter(func(e): return e.t == "channel_closed")
	var all_closed := func(): return closes.call().size() >= 3
	if _check(await _wait(all_closed, CLOSE_TIMEOUT), "our close(): they see every channel close"):
		var last: float = closes.call().map(func(e): return e.at).max()
		_figures["local_close_seen_ms"] = last - closed_at
	await _wait(func(): return false, 0.3)
	var states := _events.filter(func(e): return e.t == "state").map(
		func(e): return "%s@%d" % [e.state, e.at - closed_at]
	)
	_figures["their_states_after_our_close"] = states


func _their_close_seen_by_us() -> void:
	var closed_at := await _close_them()
	var channels_closed := func():
		return _channels.all(func(c): return c.get_ready_state() == WebRTCDataChannel.STATE_CLOSED)
	var what := "their close(): our channels become CLOSED"
	if _check(await _wait(channels_closed, CLOSE_TIMEOUT), what):
		_figures["remote_close_channels_ms"] = _now_ms() - closed_at
	var state_closed := func(): return _pc.get_connection_state() == WebRTCPeerConnection.STATE_CLOSED
	var reached := await _wait(state_closed, CLOSE_TIMEOUT)
	_figures["state_after_remote_close"] = _state_name(_pc.get_connection_state())
	if _check(reached, "their close(): our connection becomes STATE_CLOSED"):
		_figures["remote_close_to_closed_ms"] = _now_ms() - closed_at
	_pc.close()


## Tells the foreign peer to close and returns the time it did.
func _close_them() -> float:
	_send({"t": "close"})
	var said := func(): return _event("closed_locally") != {}
	if await _wait(said, 5.0):
		return _event("closed_locally").at
	return _now_ms()


# --- Plumbing -------------------------------------------------------------------------------------


func _wait(condition: Callable, seconds: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000.0)
	while true:
		_pump()
		if condition.call():
			return true
		if Time.get_ticks_msec() > deadline:
			return false
		await process_frame
	return false


func _pump() -> void:
	_tcp.poll()
	_read_lines()
	if _mesh != null:
		_mesh.poll()
		while _mesh.get_available_packet_count() > 0:
			var mode := _mesh.get_packet_mode()
			var peer := _mesh.get_packet_peer()
			_mesh_packets.append({"mode": mode, "peer": peer, "data": _mesh.get_packet()})
	elif _pc != null:
		_pc.poll()
		var now := _now_ms()
		for i in _channels.size():
			while _channels[i].get_available_packet_count() > 0:
				_received[i].append(_channels[i].get_packet())
				_arrivals[i].append(now)


func _read_lines() -> void:
	var available := _tcp.get_available_bytes()
	if available <= 0:
		return
	var chunk: Array = _tcp.get_data(available)
	if chunk[0] != OK:
		return
	_line_buffer.append_array(chunk[1])
	var newline := _line_buffer.find(10)
	while newline >= 0:
		var line := _line_buffer.slice(0, newline).get_string_from_utf8()
		_line_buffer = _line_buffer.slice(newline + 1)
		var event = JSON.parse_string(line)
		if event is Dictionary:
			_on_event(event)
		newline = _line_buffer.find(10)


func _on_event(event: Dictionary) -> void:
	match event.get("t", ""):
		"desc":
			_pc.set_remote_description(event.type, event.sdp)
		"cand":
			_pc.add_ice_candidate(event.sdpMid, int(event.sdpMLineIndex), event.candidate)
		"error":
			_failures.append("%s reported: %s" % [stack, event.error])
	_events.append(event)


func _send(message: Dictionary) -> void:
	_tcp.put_data((JSON.stringify(message) + "\n").to_utf8_buffer())


func _event(kind: String) -> Dictionary:
	for event in _events:
		if event.t == kind:
			return event
	return {}


func _mesh_event(kind: String) -> Dictionary:
	for event in _mesh_events:
		if event.t == kind:
			return event
	return {}


func _mesh_has(text: String, mode: int) -> bool:
	for packet in _mesh_packets:
		var data: PackedByteArray = packet.data
		if packet.mode == mode and packet.peer == MESH_PEER and data.get_string_from_utf8() == text:
			return true
	return false


func _check(condition: bool, what: String) -> bool:
	_checks += 1
	if not condition:
		_failures.append(what)
	return condition


static func _has(packets: Array, text: String) -> bool:
	return packets.any(func(p): return p.get_string_from_utf8() == text)


## A burst message: a type byte, a big-endian index, padding up to BURST_SIZE bytes.
static func _numbered(kind: int, index: int) -> PackedByteArray:
	var message := PackedByteArray()
	message.resize(BURST_SIZE)
	message[0] = kind
	message[1] = (index >> 24) & 255
	message[2] = (index >> 16) & 255
	message[3] = (index >> 8) & 255
	message[4] = index & 255
	return message


static func _in_order(packets: Array, kind: int) -> bool:
	for i in packets.size():
		var p: PackedByteArray = packets[i]
		if p.size() < 5 or p[0] != kind:
			return false
		if ((p[1] << 24) | (p[2] << 16) | (p[3] << 8) | p[4]) != i:
			return false
	return true


static func _max_gap(arrivals: Array, started: float) -> float:
	var gap := 0.0
	var previous := started
	for at in arrivals:
		gap = maxf(gap, at - previous)
		previous = at
	return gap


static func _state_name(state: int) -> String:
	return ["NEW", "CONNECTING", "CONNECTED", "DISCONNECTED", "FAILED", "CLOSED"][state]


static func _now_ms() -> float:
	return Time.get_unix_time_from_system() * 1000.0
