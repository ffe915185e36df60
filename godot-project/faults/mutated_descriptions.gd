## Mutated descriptions and candidates: a real offer, a real answer and real ICE candidates are
## taken from an in-process pair, then N seeded mutations of them (sdp_mutator.gd) are fed to
## fresh WebRTCPeerConnection objects (WebRTCPeerConnectionRs, the default) in both roles: the
## answering one (set_remote_description("offer", mutated offer)) and the offering one (its own
## offer applied, then set_remote_description("answer", mutated answer)); now and then with the
## other type, and each time followed by mutated candidates (add_ice_candidate). The last few
## connections that took a description live on, polled, while ICE and DTLS meet the mutations;
## the real pair lives on too, and as the mutations carry its credentials and addresses, they
## reach it with ICE checks and DTLS records of their own. Then a fresh pair must connect and
## carry a message (and whether the real pair still carries one is reported).
##
##   godot --headless --path godot-project --script res://faults/mutated_descriptions.gd -- \
##       --seed N [--count N] [--max-seconds N]
##
## Prints "CALL n set_remote_description(type, mutations) [role]" before each description and
## "CALL n.i add_ice_candidate(mutations) [role]" before each candidate (the last one names the
## culprit if the engine dies), then:
##   MUTATED count=N accepted=A refused=R errors=E seed=S
##   MUTATED candidates ...   candidates accepted and refused, errors by origin, overlong ones
##   MUTATED roles ...        descriptions accepted and refused in each role; the real pair
##   MUTATED kept ...         the states the kept connections reached
##   MUTATED time ...         seconds taken, the slowest call
##   OFFENDER ...             calls that pushed more than one message (see error_tally.gd)
##   AFTER ok                 (or AFTER failed) the fresh pair connected and carried a message
## Exits 0 when done and AFTER is ok; 1 otherwise (or on a Rust panic or a GDScript error).
extends SceneTree

const Wire := preload("res://shared/wire.gd")
const ErrorTally := preload("res://faults/error_tally.gd")
const SdpMutator := preload("res://faults/sdp_mutator.gd")
const Options := preload("res://shared/options.gd")

const CONNECT_TIMEOUT_MSEC := 10000
## Connections that took a mutated description and are kept polled.
const KEPT := 8
## Work done before the main thread is given a frame.
const FRAME_BUDGET_USEC := 8000
## Time given to each description on average, so that the kept connections and the real pair
## have a while (KEPT times this) to run ICE and DTLS against what they were fed.
const PACE_MSEC := 10
## Share of descriptions given with the other type (an answer as an offer and the reverse).
const CROSS_TYPE := 0.1

var _rng := RandomNumberGenerator.new()
var _tally := ErrorTally.new()
var _mutator: SdpMutator
var _seed := 1
var _count := 500
var _max_seconds := 300
var _offer := ""
var _answer := ""
## [mid, index, candidate] of both sides of the real pair.
var _candidates: Array = []
var _kept: Array = []
## The real pair [p1, p2] and the negotiated channel of each side.
var _pair: Array = []
var _pair_channels: Array = []
var _accepted := 0
var _refused := 0
## Role -> [accepted, refused].
var _by_role := {"answering": [0, 0], "offering": [0, 0]}
## The states the kept connections had reached when they were closed: state name -> count.
var _reached := {}
var _candidates_accepted := 0
var _candidates_refused := 0
var _slowest_usec := 0
var _slowest_label := ""


func _initialize() -> void:
	OS.add_logger(_tally)
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var options := Options.new()
	_seed = options.integer("seed", _seed)
	_count = options.integer("count", _count)
	_max_seconds = options.integer("max-seconds", _max_seconds)
	_rng.seed = _seed
	_mutator = SdpMutator.new(_rng)
	_run.call_deferred()


func _run() -> void:
	var started := Time.get_ticks_msec()
	var deadline := started + _max_seconds * 1000
	var connection_class := WebRTCPeerConnection.new().get_class()
	if connection_class != "WebRTCPeerConnectionRs":
		print("MUTATED FAIL WebRTCPeerConnection.new() makes a %s" % connection_class)
		quit(1)
		return
	if not await _capture():
		print("MUTATED FAIL the real pair gave no offer, answer and candidates")
		quit(1)
		return
	var errors_before := _tally.total
	var done := 0
	var feeding_started := Time.get_ticks_msec()
	var slice_start := Time.get_ticks_usec()
	while done < _count and Time.get_ticks_msec() < deadline:
		done += 1
		_feed_one(done)
		while Time.get_ticks_usec() - slice_start > FRAME_BUDGET_USEC \
				or Time.get_ticks_msec() < feeding_started + done * PACE_MSEC:
			_poll_kept()
			await process_frame
			slice_start = Time.get_ticks_usec()
	var timed_out := done < _count
	# What the kept connections report on their own: polled for a while, then closed.
	var settle := Time.get_ticks_msec() + 500
	while Time.get_ticks_msec() < settle:
		_poll_kept()
		await process_frame
	for connection in _kept:
		_close_kept(connection)
	_kept.clear()
	var pair_state := await _pair_still_works()
	var errors := _tally.total - errors_before
	print("MUTATED count=%d accepted=%d refused=%d errors=%d seed=%d" % [
		done, _accepted, _refused, errors, _seed,
	])
	print("MUTATED candidates accepted=%d refused=%d; errors by origin: %s; most in one call %d;"
		% [_candidates_accepted, _candidates_refused, _tally.kinds_text(),
		_tally.max_errors_per_call]
		+ " messages over %d chars: %s" % [ErrorTally.LONG_MESSAGE,
		_tally.kinds_text(_tally.overlong)])
	print("MUTATED roles: answering accepted %d refused %d, offering accepted %d refused %d; %s"
		% [_by_role["answering"][0], _by_role["answering"][1], _by_role["offering"][0],
		_by_role["offering"][1], pair_state])
	print("MUTATED kept connections reached: %s" % _reached)
	print("MUTATED time: %.1f s; slowest call %.1f ms: %s%s" % [
		(Time.get_ticks_msec() - started) / 1000.0, _slowest_usec / 1000.0, _slowest_label,
		" (STOPPED: --max-seconds %d reached)" % _max_seconds if timed_out else "",
	])
	_tally.print_offenders()
	var after := await _fresh_pair_works()
	print("AFTER %s" % ("ok" if after else "failed"))
	var failed: bool = timed_out or not after or _tally.by_kind["panic"] > 0 \
		or _tally.by_kind["script"] > 0
	quit(1 if failed else 0)


## Connects a real pair and keeps its offer, answer and candidates.
func _capture() -> bool:
	var p1 := _connection()
	var p2 := _connection()
	p1.session_description_created.connect(func(type: String, sdp: String):
		if type == "offer":
			_offer = sdp)
	p2.session_description_created.connect(func(type: String, sdp: String):
		if type == "answer":
			_answer = sdp)
	for connection in [p1, p2]:
		connection.ice_candidate_created.connect(func(mid: String, index: int, candidate: String):
			_candidates.append([mid, index, candidate]))
	Wire.link(p1, p2)
	p1.create_data_channel("in-band")
	for connection in [p1, p2]:
		_pair_channels.append(
			connection.create_data_channel("negotiated", {"negotiated": true, "id": 3})
		)
	p1.create_offer()
	var deadline := Time.get_ticks_msec() + CONNECT_TIMEOUT_MSEC
	while Time.get_ticks_msec() < deadline:
		p1.poll()
		p2.poll()
		if p1.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED \
				and p2.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED:
			break
		await process_frame
	_pair = [p1, p2]
	return not _offer.is_empty() and not _answer.is_empty() and not _candidates.is_empty()


## One mutated description, then up to three mutated candidates, on a fresh connection.
func _feed_one(number: int) -> void:
	var role := "answering" if _rng.randi() % 2 == 0 else "offering"
	var type := "offer" if role == "answering" else "answer"
	var base := _offer if role == "answering" else _answer
	if _rng.randf() < CROSS_TYPE:
		base = _answer if role == "answering" else _offer
	var applied: Array[String] = []
	var sdp := _mutator.mutate_sdp(base, applied)
	var connection := _connection()
	if role == "offering":
		connection.create_data_channel("data")
		connection.session_description_created.connect(connection.set_local_description)
		connection.create_offer()
		connection.poll()
	var label := "set_remote_description(%s, %s)" % [type, "+".join(applied)]
	print("CALL %d %s [%s]" % [number, label, role])
	var result := _timed(label, func(): return connection.set_remote_description(type, sdp))
	if result == OK:
		_accepted += 1
	else:
		_refused += 1
	_by_role[role][0 if result == OK else 1] += 1
	for i in _rng.randi_range(0, 3):
		var real: Array = _candidates[_rng.randi() % _candidates.size()]
		var candidate_ops: Array[String] = []
		var candidate: String = _mutator.mutate_candidate(real[2], candidate_ops)
		var mid: String = real[0] if _rng.randi() % 4 > 0 else ["", "1", "x", "0 "][_rng.randi() % 4]
		var index: int = real[1] if _rng.randi() % 4 > 0 else [-1, 1, 65535, 65536][_rng.randi() % 4]
		label = "add_ice_candidate(%s)" % "+".join(candidate_ops)
		print("CALL %d.%d %s [%s]" % [number, i + 1, label, role])
		var added := _timed(label, func(): return connection.add_ice_candidate(mid, index, candidate))
		if added == OK:
			_candidates_accepted += 1
		else:
			_candidates_refused += 1
	if result == OK:
		_kept.append(connection)
		if _kept.size() > KEPT:
			_close_kept(_kept.pop_front())
	else:
		connection.close()


## Runs `call` (returning an Error) as one counted call: its messages and its time.
func _timed(label: String, call: Callable) -> int:
	_tally.begin()
	var before := Time.get_ticks_usec()
	var result: int = call.call()
	var spent := Time.get_ticks_usec() - before
	_tally.record("WebRTCPeerConnectionRs.%s" % label.get_slice("(", 0), _tally.end())
	if spent > _slowest_usec:
		_slowest_usec = spent
		_slowest_label = label.left(100)
	return result


func _close_kept(connection: WebRTCPeerConnection) -> void:
	var state: String = ["new", "connecting", "connected", "disconnected", "failed", "closed"][
		connection.get_connection_state()
	]
	_reached[state] = _reached.get(state, 0) + 1
	connection.close()


func _poll_kept() -> void:
	for connection in _kept + _pair:
		connection.poll()


## Whether the real pair, which the mutations' ICE checks and DTLS records reached, still carries
## a message; closes it.
func _pair_still_works() -> String:
	var ch1: WebRTCDataChannel = _pair_channels[0]
	var ch2: WebRTCDataChannel = _pair_channels[1]
	var text := "the real pair is %s" % [
		"connected" if _pair[0].get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED
		else "not connected",
	]
	var arrived := false
	if ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
		ch1.put_packet("pair".to_utf8_buffer())
		var deadline := Time.get_ticks_msec() + 3000
		while not arrived and Time.get_ticks_msec() < deadline:
			_poll_kept()
			while ch2.get_available_packet_count() > 0:
				arrived = ch2.get_packet().get_string_from_utf8() == "pair" or arrived
			await process_frame
	for connection in _pair:
		connection.close()
	_pair.clear()
	return text + (" and carried a message" if arrived else " and carried no message")


## A fresh pair connects, and a message crosses its negotiated channel.
func _fresh_pair_works() -> bool:
	var pair := Wire.pair({"iceServers": []})
	var p1: WebRTCPeerConnection = pair[0]
	var p2: WebRTCPeerConnection = pair[1]
	var ch1: WebRTCDataChannel = p1.create_data_channel("after", {"negotiated": true, "id": 1})
	var ch2: WebRTCDataChannel = p2.create_data_channel("after", {"negotiated": true, "id": 1})
	p1.create_offer()
	var sent := false
	var arrived := false
	var deadline := Time.get_ticks_msec() + CONNECT_TIMEOUT_MSEC
	while not arrived and Time.get_ticks_msec() < deadline:
		p1.poll()
		p2.poll()
		if not sent and ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
			sent = ch1.put_packet("still works".to_utf8_buffer()) == OK
		while ch2.get_available_packet_count() > 0:
			arrived = ch2.get_packet().get_string_from_utf8() == "still works"
		await process_frame
	p1.close()
	p2.close()
	return arrived


func _connection() -> WebRTCPeerConnection:
	var connection := WebRTCPeerConnection.new()
	connection.initialize({"iceServers": []})
	return connection
