## Hostile-input fuzzing of the addon's classes: every script-callable method of
## WebRTCMultiplayerPeerRs, WebRTCPeerConnectionRs and WebRTCDataChannelRs and of their engine
## parents up to RefCounted (found with ClassDB; names starting with "_" are virtuals and are
## left out), called with seeded hostile arguments (hostile_values.gd) on objects in every state:
## new, initialized, connecting (an offer made), connected (a real in-process pair with open
## channels, and two meshes connected to each other) and closed. The objects are made again
## every REFRESH_EVERY calls, the connected ones whenever the calls broke them, so that every
## state keeps being hit. The connected objects' signals also get handlers that now and then make
## a call of their own from inside the signal (as a game's handler may: re-entrant calls).
##
##   godot --headless --path godot-project --script res://faults/fuzz_methods.gd -- \
##       --seed N --calls N [--max-seconds N]
##
## Prints "CALL n Class.method(arguments) [state]" before each call ("CALL n.h ..." for one made
## by a signal handler during call or poll n; the last line names the culprit if the engine
## dies), then:
##   FUZZ calls=N errors=E calls_with_errors=C max_errors_per_call=M seed=S
##   FUZZ kinds ...       the errors by origin (error_tally.gd), overlong messages
##   FUZZ states ...      calls per object state and from signal handlers, reconnections
##   FUZZ time ...        seconds taken, longest frame, the call that pushed the most errors
##   FUZZ slow calls ...  calls that kept the main thread over SLOW_CALL_USEC
##   OFFENDER ...         one line per method and kind whose calls pushed more than one message
## Exits 0 when done; 1 if a Rust panic or a GDScript error was seen or the time ran out.
## Keeps the main thread turning: calls run in slices of FRAME_BUDGET_USEC, then a frame passes.
extends SceneTree

const FrameClock := preload("res://faults/frame_clock.gd")
const Wire := preload("res://shared/wire.gd")
const ErrorTally := preload("res://faults/error_tally.gd")
const HostileValues := preload("res://faults/hostile_values.gd")
const Options := preload("res://shared/options.gd")

const CLASSES := ["WebRTCMultiplayerPeerRs", "WebRTCPeerConnectionRs", "WebRTCDataChannelRs"]
const STATES := ["new", "initialized", "connecting", "connected", "closed"]
## Static methods that change the whole process: restored after each call.
const PROCESS_SETTINGS := ["set_default_bind_address", "set_log_level", "set_default_extension"]
## Calls made before the main thread is given a frame.
const FRAME_BUDGET_USEC := 8000
## Calls between two rebuilds of the new, initialized, connecting and closed objects.
const REFRESH_EVERY := 200
## Calls after which the connected objects are made again even if they still work.
const RECONNECT_EVERY := 1000
const CONNECT_TIMEOUT_MSEC := 10000
## Channels returned by create_data_channel kept as targets.
const MAX_EXTRA_CHANNELS := 20
## Share of the connected objects' signals whose handler makes a call of its own.
const HANDLER_CALLS := 0.25
## A call that keeps the main thread longer than this is listed as slow.
const SLOW_CALL_USEC := 50000

var _rng := RandomNumberGenerator.new()
var _tally := ErrorTally.new()
var _values: HostileValues
var _seed := 1
var _calls := 3000
var _max_seconds := 300
## Class -> Array of {name, types (Variant.Type of each argument), required (how many have no
## default), ours (declared by one of the addon's classes, so godot-rust converts the arguments)}.
var _methods := {}
## Targets: Arrays of [object, class, state].
var _cheap: Array = []
var _connected: Array = []
var _extra_channels: Array = []
## Objects polled every frame: the connected pair and meshes.
var _live: Array = []
var _last_connect_call := -RECONNECT_EVERY
## Calls made so far, and whether a signal handler's call is running (handlers do not nest).
var _done := 0
var _in_handler := false
var _handler_calls := 0
var _reconnects := 0
var _connect_failures := 0
var _state_calls := {}
## Figures of the run.
var _slowest_usec := 0
var _slowest_label := ""
## Calls over SLOW_CALL_USEC: their count, and the first few as "ms label".
var _slow_calls := 0
var _slow_examples: Array[String] = []
var _frames := FrameClock.new()


func _initialize() -> void:
	OS.add_logger(_tally)
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var options := Options.new()
	_seed = options.integer("seed", _seed)
	_calls = options.integer("calls", _calls)
	_max_seconds = options.integer("max-seconds", _max_seconds)
	_rng.seed = _seed
	_values = HostileValues.new(_rng)
	for state in STATES:
		_state_calls[state] = 0
	_run.call_deferred()


func _process(_delta: float) -> bool:
	_frames.tick()
	return false


func _run() -> void:
	var started := Time.get_ticks_msec()
	var deadline := started + _max_seconds * 1000
	_read_methods()
	var done := 0
	var timed_out := false
	var slice_start := Time.get_ticks_usec()
	while done < _calls:
		if done % REFRESH_EVERY == 0:
			_refresh_cheap()
			if _needs_reconnect(done):
				await _reconnect(done)
			_values.pool = _all_objects()
			slice_start = Time.get_ticks_usec()
		if Time.get_ticks_msec() > deadline:
			timed_out = true
			break
		done += 1
		_done = done
		_call_one(str(done))
		if Time.get_ticks_usec() - slice_start > FRAME_BUDGET_USEC:
			_poll_live()
			await process_frame
			slice_start = Time.get_ticks_usec()
	var seconds := (Time.get_ticks_msec() - started) / 1000.0
	await _release()
	_report(done, seconds, timed_out)
	var failed: bool = timed_out or _tally.by_kind["panic"] > 0 or _tally.by_kind["script"] > 0
	quit(1 if failed else 0)


## The script-callable methods of each class and its engine parents up to RefCounted.
func _read_methods() -> void:
	for cls in CLASSES:
		var methods: Array = []
		var owner: String = cls
		while owner != "RefCounted" and owner != "Object" and owner != "":
			for info in ClassDB.class_get_method_list(owner, true):
				var method_name: String = info["name"]
				if method_name.begins_with("_"):
					continue
				var types: Array[int] = []
				for arg in info["args"]:
					types.append(arg["type"])
				methods.append({
					"name": method_name,
					"types": types,
					"required": types.size() - info["default_args"].size(),
					"ours": owner.ends_with("Rs"),
				})
			owner = ClassDB.get_parent_class(owner)
		_methods[cls] = methods
		print("FUZZ methods %s: %d" % [cls, methods.size()])


func _call_one(number: String) -> void:
	var cls: String = CLASSES[_rng.randi() % CLASSES.size()]
	var target := _pick_target(cls)
	var object: Object = target[0]
	var state: String = target[2]
	var methods: Array = _methods[cls]
	var method: Dictionary = methods[_rng.randi() % methods.size()]
	var types: Array[int] = method["types"]
	var count := types.size()
	if method["required"] < count and _rng.randi() % 4 == 0:
		count = _rng.randi_range(method["required"], types.size() - 1)
	var args: Array = []
	var shown: Array[String] = []
	for i in count:
		var value: Variant = _values.for_arg(method["name"], i, types[i])
		if method["ours"] and value is PackedByteArray and value.size() > (1 << 20) \
				and types[i] != TYPE_PACKED_BYTE_ARRAY:
			# godot-rust writes the whole value it cannot convert into its error: 30 MB of
			# text and seconds of main thread for 10 MB. Seen once, not worth repeating.
			value = _values.bytes_300k
		args.append(value)
		shown.append(HostileValues.summary(value))
	var label := "%s.%s" % [cls, method["name"]]
	print("CALL %s %s(%s) [%s]" % [number, label, ", ".join(shown), state])
	_state_calls[state] += 1
	_tally.begin()
	var before := Time.get_ticks_usec()
	var result: Variant = object.callv(method["name"], args)
	var spent := Time.get_ticks_usec() - before
	var messages := _tally.end()
	if method["name"] in PROCESS_SETTINGS:
		_restore_process_settings()
	if result is WebRTCDataChannel and _extra_channels.size() < MAX_EXTRA_CHANNELS:
		_extra_channels.append([result, "WebRTCDataChannelRs", "connecting"])
	var call_text := "%s(%s) [%s]" % [label, ", ".join(shown), state]
	if spent > _slowest_usec:
		_slowest_usec = spent
		_slowest_label = call_text
	if spent > SLOW_CALL_USEC:
		_slow_calls += 1
		if _slow_examples.size() < 5:
			_slow_examples.append("%d ms %s" % [spent / 1000, call_text.left(100)])
	_tally.record(label, messages)


func _restore_process_settings() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var level := OS.get_environment("WEBRTC_MESH_LOG")
	WebRTCPeerConnectionRs.set_log_level(level if not level.is_empty() else "warn")
	WebRTCPeerConnection.set_default_extension("WebRTCPeerConnectionRs")


## A target of `cls`: a state with objects of that class, then one of them.
func _pick_target(cls: String) -> Array:
	var by_state := {}
	for target in _cheap + _connected + _extra_channels:
		if target[1] == cls:
			if not by_state.has(target[2]):
				by_state[target[2]] = []
			by_state[target[2]].append(target)
	var states := by_state.keys()
	var candidates: Array = by_state[states[_rng.randi() % states.size()]]
	return candidates[_rng.randi() % candidates.size()]


func _all_objects() -> Array:
	var objects := []
	for target in _cheap + _connected:
		objects.append(target[0])
	return objects


## New objects in the states reached without a network: new, initialized, connecting (offer
## made, or channels added to a mesh whose connection made an offer nobody answers) and closed.
func _refresh_cheap() -> void:
	_cheap.clear()
	_extra_channels.clear()
	var conn := "WebRTCPeerConnectionRs"
	var chan := "WebRTCDataChannelRs"
	var mesh := "WebRTCMultiplayerPeerRs"
	_cheap.append([WebRTCPeerConnection.new(), conn, "new"])
	var initialized := _connection()
	_cheap.append([initialized, conn, "initialized"])
	_cheap.append([initialized.create_data_channel("c"), chan, "connecting"])
	var negotiated: WebRTCDataChannel = initialized.create_data_channel(
		"n", {"negotiated": true, "id": 7}
	)
	_cheap.append([negotiated, chan, "connecting"])
	var offering := _connection()
	offering.session_description_created.connect(offering.set_local_description)
	_cheap.append([offering.create_data_channel("o"), chan, "connecting"])
	offering.create_offer()
	offering.poll()
	_cheap.append([offering, conn, "connecting"])
	var closed := _connection()
	var closed_channel: WebRTCDataChannel = closed.create_data_channel("x")
	closed.close()
	_cheap.append([closed, conn, "closed"])
	_cheap.append([closed_channel, chan, "closed"])
	var never_used := WebRTCPeerConnection.new()
	never_used.close()
	_cheap.append([never_used, conn, "closed"])
	var closed_alone: WebRTCDataChannel = _connection().create_data_channel("y")
	closed_alone.close()
	_cheap.append([closed_alone, chan, "closed"])
	_cheap.append([WebRTCDataChannelRs.new(), chan, "new"])
	_cheap.append([WebRTCMultiplayerPeerRs.new(), mesh, "new"])
	var kinds := [
		func(peer): peer.create_mesh(1), func(peer): peer.create_server(),
		func(peer): peer.create_client(2), func(peer): peer.initialize(3, true, [2, 0]),
	]
	for init in kinds:
		var peer := WebRTCMultiplayerPeerRs.new()
		init.call(peer)
		_cheap.append([peer, mesh, "initialized"])
	var waiting := WebRTCMultiplayerPeerRs.new()
	waiting.create_mesh(1)
	var waiting_connection := _connection()
	waiting_connection.session_description_created.connect(
		waiting_connection.set_local_description
	)
	waiting.add_peer(waiting_connection, 2)
	waiting_connection.create_offer()
	waiting.poll()
	_cheap.append([waiting, mesh, "connecting"])
	_cheap.append([waiting_connection, conn, "connecting"])
	var closed_mesh := WebRTCMultiplayerPeerRs.new()
	closed_mesh.create_mesh(1)
	closed_mesh.add_peer(_connection(), 2)
	closed_mesh.close()
	_cheap.append([closed_mesh, mesh, "closed"])


func _connection() -> WebRTCPeerConnection:
	var connection := WebRTCPeerConnection.new()
	connection.initialize({"iceServers": []})
	return connection


## Whether the connected objects must be made again: none yet, RECONNECT_EVERY calls since,
## or the calls closed or broke something of them.
func _needs_reconnect(done: int) -> bool:
	if _connected.is_empty() or done - _last_connect_call >= RECONNECT_EVERY:
		return true
	for target in _connected:
		var object: Object = target[0]
		var broken := false
		if object is WebRTCPeerConnection:
			broken = object.get_connection_state() != WebRTCPeerConnection.STATE_CONNECTED
		elif object is WebRTCDataChannel:
			broken = object.get_ready_state() != WebRTCDataChannel.STATE_OPEN
		elif object is MultiplayerPeer:
			broken = object.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED
		if broken:
			return true
	return false


## Makes a connected pair (a negotiated channel and an in-band one open on both sides) and two
## meshes connected to each other (mesh ids 1 and 2, or server and client), at once; waits at
## most CONNECT_TIMEOUT_MSEC and keeps whatever connected.
func _reconnect(done: int) -> void:
	for target in _connected:
		if target[0] is WebRTCPeerConnection or target[0] is MultiplayerPeer:
			target[0].close()
	_connected.clear()
	_live.clear()
	_last_connect_call = done
	_reconnects += 1
	var p1 := _connection()
	var p2 := _connection()
	_capture_signaling(p1)
	_capture_signaling(p2)
	Wire.link(p1, p2)
	var options := {"negotiated": true, "id": 1}
	var ch1: WebRTCDataChannel = p1.create_data_channel("fuzz", options)
	var ch2: WebRTCDataChannel = p2.create_data_channel("fuzz", options)
	var in_band: WebRTCDataChannel = p1.create_data_channel("in-band")
	var received: Array = []
	p2.data_channel_received.connect(func(channel): received.append(channel))
	p1.create_offer()
	var m1 := WebRTCMultiplayerPeerRs.new()
	var m2 := WebRTCMultiplayerPeerRs.new()
	if _rng.randi() % 2 == 0:
		m1.create_mesh(1)
		m2.create_mesh(2, [2])
	else:
		m1.create_server([2])
		m2.create_client(2, [2])
	var joined_by := Wire.join(m1, 1, m2, 2)
	for object in [p1, p2, m1, m2, joined_by[2], joined_by[3]]:
		_add_hostile_handlers(object)
	var joined := [0]
	m1.peer_connected.connect(func(_id): joined[0] += 1)
	m2.peer_connected.connect(func(_id): joined[0] += 1)
	var open := WebRTCDataChannel.STATE_OPEN
	var pair_ready := func() -> bool:
		return ch1.get_ready_state() == open and ch2.get_ready_state() == open \
			and in_band.get_ready_state() == open and received.size() > 0 \
			and received[0].get_ready_state() == open
	var ready := func() -> bool: return pair_ready.call() and joined[0] >= 2
	_live = [p1, p2, m1, m2]
	var deadline := Time.get_ticks_msec() + CONNECT_TIMEOUT_MSEC
	while not ready.call() and Time.get_ticks_msec() < deadline:
		_poll_live()
		await process_frame
	var conn := "WebRTCPeerConnectionRs"
	var chan := "WebRTCDataChannelRs"
	if pair_ready.call():
		for object in [p1, p2]:
			_connected.append([object, conn, "connected"])
		for object in [ch1, ch2, in_band, received[0]]:
			_connected.append([object, chan, "connected"])
	else:
		_connect_failures += 1
		print("FUZZ note: the pair did not connect within %d ms" % CONNECT_TIMEOUT_MSEC)
	if joined[0] >= 2:
		for peer in [m1, m2]:
			_connected.append([peer, "WebRTCMultiplayerPeerRs", "connected"])
			var other := 2 if peer == m1 else 1
			var entry: Dictionary = peer.get_peer(other)
			_connected.append([entry["connection"], conn, "connected"])
			for channel in entry["channels"]:
				_connected.append([channel, chan, "connected"])
	else:
		_connect_failures += 1
		print("FUZZ note: the meshes did not connect within %d ms" % CONNECT_TIMEOUT_MSEC)


## Connects every signal of `object` to a handler that now and then makes a random call.
func _add_hostile_handlers(object: Object) -> void:
	for info in object.get_signal_list():
		var signal_name: String = info["name"]
		if ClassDB.class_has_signal("RefCounted", signal_name):
			continue
		object.connect(signal_name, func(_a = null, _b = null, _c = null): _handler_call())


func _handler_call() -> void:
	if _in_handler or _done == 0 or _rng.randf() >= HANDLER_CALLS:
		return
	_in_handler = true
	_handler_calls += 1
	# The handler's call is counted as a call of its own, not as part of the one emitting.
	var outer := _tally.suspend()
	_call_one("%d.h" % _done)
	_tally.resume(outer)
	_in_handler = false


## Keeps the pair's real descriptions and candidates as argument material.
func _capture_signaling(connection: WebRTCPeerConnection) -> void:
	if _values.real_strings.size() >= 12:
		return
	connection.session_description_created.connect(
		func(_type: String, sdp: String): _values.real_strings.append(sdp)
	)
	connection.ice_candidate_created.connect(
		func(_mid: String, _index: int, candidate: String): _values.real_strings.append(candidate)
	)


func _poll_live() -> void:
	for object in _live:
		object.poll()


## Closes and drops every object and gives the connections' tasks a few frames to end.
func _release() -> void:
	for target in _cheap + _connected + _extra_channels:
		if target[0] is WebRTCPeerConnection or target[0] is MultiplayerPeer:
			target[0].close()
	_cheap.clear()
	_connected.clear()
	_extra_channels.clear()
	_live.clear()
	_values.pool.clear()
	for i in 3:
		await process_frame


func _report(done: int, seconds: float, timed_out: bool) -> void:
	print("FUZZ calls=%d errors=%d calls_with_errors=%d max_errors_per_call=%d seed=%d" % [
		done, _tally.total, _tally.calls_with_errors, _tally.max_errors_per_call, _seed,
	])
	print("FUZZ kinds: %s; warnings %d; messages over %d chars: %s (longest %d: %s)" % [
		_tally.kinds_text(), _tally.warnings, ErrorTally.LONG_MESSAGE,
		_tally.kinds_text(_tally.overlong), _tally.longest, _tally.longest_start.left(60),
	])
	var states: Array[String] = []
	for state in STATES:
		states.append("%s=%d" % [state, _state_calls[state]])
	print("FUZZ states: %s; calls from signal handlers %d; reconnects %d, failed %d; "
		% [" ".join(states), _handler_calls, _reconnects, _connect_failures]
		+ "slowest call %.1f ms: %s" % [_slowest_usec / 1000.0,
		_slowest_label.left(120),
	])
	print("FUZZ time: %.1f s; longest frame %.1f ms; most errors in one call: %s%s" % [
		seconds, _frames.longest_usec / 1000.0, _tally.max_errors_label,
		" (STOPPED: --max-seconds %d reached)" % _max_seconds if timed_out else "",
	])
	print("FUZZ slow calls (over %d ms): %d%s" % [
		SLOW_CALL_USEC / 1000, _slow_calls,
		"" if _slow_examples.is_empty() else "; " + "; ".join(_slow_examples),
	])
	_tally.print_offenders()
