## Soak in the engine: connection pairs and 4-peer WebRTCMultiplayerPeerRs meshes made and ended
## over and over in one process, sampling its resident memory, open file descriptors and threads.
## Each cycle ends one of three ways, in turn: close() on everything; every reference dropped
## without close(); or every reference dropped while the handshake is still running.
##
##   godot --headless --path godot-project --script res://faults/soak.gd -- --pairs N --meshes N
##
## Prints one SOAK line per kind with its figures and exits 0 when, after the warm-up, the file
## descriptors and threads came back to their level and resident memory grew less than the bound.
extends SceneTree

## How a cycle ends.
enum Ending { CLOSED, DROPPED, DROPPED_MID_HANDSHAKE }

const FrameClock := preload("res://faults/frame_clock.gd")
const Wire := preload("res://shared/wire.gd")
const Options := preload("res://shared/options.gd")

## Cycles run before the baseline is taken: the runtime, its threads and the process's
## certificate are made once, and the allocator's pools fill up.
const WARM_UP_SHARE := 0.1
const MIN_WARM_UP := 10
## Resident memory the measured cycles may add. Freed memory stays in the allocator for reuse,
## so the level wanders by a few MiB; a leaked connection costs ~70 KiB (its socket, core and
## buffers), so leaking one every few cycles would pass 16 MiB within a few hundred cycles.
const RSS_GROWTH_LIMIT_KB := 16384
## Seconds a cycle may take to connect and exchange its messages.
const CYCLE_DEADLINE := 10.0
## Seconds the file descriptors and threads get to come back after the last cycle (connection
## tasks end a moment after their connections).
const SETTLE_DEADLINE := 5.0
## Seconds the warm-up's last connections get to end before the baseline is taken.
const SETTLE_PAUSE := 0.5
const MESH_IDS := [1, 2, 3, 4]

var pairs := 1000
var meshes := 200
var _failures: Array[String] = []
var _frames := FrameClock.new()


func _initialize() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var options := Options.new()
	pairs = options.integer("pairs", pairs)
	meshes = options.integer("meshes", meshes)
	_run.call_deferred()


func _process(_delta: float) -> bool:
	_frames.tick()
	return false


func _run() -> void:
	await _soak("pairs", pairs, _pair_cycle)
	await _soak("meshes", meshes, _mesh_cycle)
	if _failures.is_empty():
		print("SOAK ok")
		quit(0)
	else:
		for failure in _failures:
			printerr("SOAK FAIL %s" % failure)
		quit(1)


## Runs `cycles` cycles of `cycle` (a coroutine taking the ending, returning false on failure),
## samples the process along the way and checks that it levels off after the warm-up.
func _soak(kind: String, cycles: int, cycle: Callable) -> void:
	if cycles <= 0:
		return
	var warm_up := maxi(MIN_WARM_UP, int(cycles * WARM_UP_SHARE))
	for i in warm_up:
		if not await cycle.call(i % 3):
			_failures.append("%s: warm-up cycle %d did not complete" % [kind, i])
			return
	# Connections dropped by the last warm-up cycles end a moment later.
	await create_timer(SETTLE_PAUSE).timeout
	var baseline := _sample()
	var samples: Array[String] = []
	var every := maxi(1, cycles / 10)
	var started := Time.get_ticks_msec()
	_frames.reset()
	var failed_cycles := 0
	for i in cycles:
		if not await cycle.call(i % 3):
			failed_cycles += 1
		if (i + 1) % every == 0:
			var now := _sample()
			samples.append("%d:%d/%d/%d" % [i + 1, now.rss_kb / 1024, now.fds, now.threads])
	var took := Time.get_ticks_msec() - started
	var after := await _settle(baseline.fds, baseline.threads)
	var grown: int = after.rss_kb - baseline.rss_kb
	print("SOAK %s: %d cycles in %.1f s (%.1f ms each, after %d warm-up cycles); file descriptors"
			% [kind, cycles, took / 1000.0, float(took) / cycles, warm_up]
			+ " %d -> %d, threads %d -> %d, resident memory %d -> %d KiB (%+d KiB, bound %d);"
			% [baseline.fds, after.fds, baseline.threads, after.threads, baseline.rss_kb,
				after.rss_kb, grown, RSS_GROWTH_LIMIT_KB]
			+ " longest frame %.1f ms; cycles that failed %d" % [_frames.longest_usec / 1000.0,
				failed_cycles])
	print("SOAK %s samples (cycle:MiB/fds/threads): %s" % [kind, " ".join(samples)])
	if failed_cycles > 0:
		_failures.append("%s: %d cycles did not complete" % [kind, failed_cycles])
	if after.fds > baseline.fds:
		_failures.append("%s: file descriptors %d -> %d" % [kind, baseline.fds, after.fds])
	if after.threads > baseline.threads:
		_failures.append("%s: threads %d -> %d" % [kind, baseline.threads, after.threads])
	if grown > RSS_GROWTH_LIMIT_KB:
		_failures.append("%s: resident memory grew %d KiB" % [kind, grown])


## Two connections with a negotiated channel each: connect, one message each way, then end.
func _pair_cycle(ending: Ending) -> bool:
	var polled := Wire.pair()
	var p1: WebRTCPeerConnection = polled[0]
	var p2: WebRTCPeerConnection = polled[1]
	var options := {"id": 1, "negotiated": true}
	var ch1 := p1.create_data_channel("soak", options)
	var ch2 := p2.create_data_channel("soak", options)
	p1.create_offer()
	if ending == Ending.DROPPED_MID_HANDSHAKE:
		await _pump(polled, 0.002 * (Time.get_ticks_usec() % 10))
		return true
	var open := func() -> bool:
		return ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
			and ch2.get_ready_state() == WebRTCDataChannel.STATE_OPEN
	if not await _wait(open, polled):
		return false
	ch1.put_packet("ping".to_utf8_buffer())
	ch2.put_packet("pong".to_utf8_buffer())
	var received := func() -> bool:
		return ch1.get_available_packet_count() > 0 and ch2.get_available_packet_count() > 0
	if not await _wait(received, polled):
		return false
	if ending == Ending.CLOSED:
		p1.close()
		p2.close()
	return true


## A full mesh of four peers: every peer connected to the three others, one broadcast each,
## then end.
func _mesh_cycle(ending: Ending) -> bool:
	var peers := {}
	for id: int in MESH_IDS:
		var peer := WebRTCMultiplayerPeerRs.new()
		peer.create_mesh(id)
		peers[id] = peer
	for i in MESH_IDS.size():
		for j in range(i + 1, MESH_IDS.size()):
			var a: int = MESH_IDS[i]
			var b: int = MESH_IDS[j]
			Wire.join(peers[a], a, peers[b], b)
	var polled := peers.values()
	if ending == Ending.DROPPED_MID_HANDSHAKE:
		await _pump(polled, 0.002 * (Time.get_ticks_usec() % 10))
		return true
	var meshed := func() -> bool:
		for peer: WebRTCMultiplayerPeerRs in polled:
			for other: int in MESH_IDS:
				if other != peer.get_unique_id() and not peer.get_peer(other).get("connected", false):
					return false
		return true
	if not await _wait(meshed, polled):
		return false
	for peer: WebRTCMultiplayerPeerRs in polled:
		peer.set_target_peer(MultiplayerPeer.TARGET_PEER_BROADCAST)
		peer.put_packet("hello".to_utf8_buffer())
	var counts := {}
	var received := func() -> bool:
		for peer: WebRTCMultiplayerPeerRs in polled:
			while peer.get_available_packet_count() > 0:
				peer.get_packet()
				counts[peer] = counts.get(peer, 0) + 1
		return polled.all(func(peer): return counts.get(peer, 0) == MESH_IDS.size() - 1)
	if not await _wait(received, polled):
		return false
	if ending == Ending.CLOSED:
		for peer: WebRTCMultiplayerPeerRs in polled:
			peer.close()
	return true


## Polls `objects` every frame until `condition` holds or the cycle's deadline passes.
func _wait(condition: Callable, objects: Array) -> bool:
	var deadline := Time.get_ticks_msec() + int(CYCLE_DEADLINE * 1000)
	while Time.get_ticks_msec() < deadline:
		for object in objects:
			object.poll()
		if condition.call():
			return true
		await process_frame
	return false


## Polls `objects` every frame for `seconds`.
func _pump(objects: Array, seconds: float) -> void:
	var deadline := Time.get_ticks_usec() + int(seconds * 1000000)
	while Time.get_ticks_usec() < deadline:
		for object in objects:
			object.poll()
		await process_frame


## Waits until the file descriptors and threads are back to `fds` and `threads`, or the settle
## deadline passes, and returns the last sample.
func _settle(fds: int, threads: int) -> Dictionary:
	var deadline := Time.get_ticks_msec() + int(SETTLE_DEADLINE * 1000)
	var now := _sample()
	while (now.fds > fds or now.threads > threads) and Time.get_ticks_msec() < deadline:
		await process_frame
		now = _sample()
	return now


## The process's resident memory (KiB), open file descriptors and threads, from /proc.
static func _sample() -> Dictionary:
	var result := {"rss_kb": 0, "threads": 0,
		"fds": DirAccess.get_files_at("/proc/self/fd").size()}
	var status := FileAccess.open("/proc/self/status", FileAccess.READ)
	var lines := 0
	while status != null and not status.eof_reached() and lines < 100:
		var words := status.get_line().split("\t", false)
		lines += 1
		if words.size() < 2:
			continue
		match words[0]:
			"VmRSS:":
				result.rss_kb = int(words[1].strip_edges().split(" ")[0])
			"Threads:":
				result.threads = int(words[1])
	return result
