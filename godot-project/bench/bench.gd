## One benchmark run in the engine, headless, on 127.0.0.1, for
##   (a) WebRTCMultiplayerPeerRs, (b) the engine's WebRTCMultiplayerPeer over our transport,
##   (c) ENetMultiplayerPeer.
## Prints one line "BENCH {json}" with every figure. tools/bench runs it several times and
## reports medians. Run: godot --headless --path godot-project --script res://bench/bench.gd
## [-- --only KINDS (e.g. "ac") --parts memory,throughput,rtt,frame_latency,idle,mesh
##  --idle-seconds S (60) --frame-seconds S (10) --bytes N]
extends SceneTree

const Wire := preload("res://shared/wire.gd")
const Options := preload("res://shared/options.gd")

const KINDS := ["a", "b", "c"]
const CLASSES := {
	"a": "WebRTCMultiplayerPeerRs", "b": "WebRTCMultiplayerPeer", "c": "ENetMultiplayerPeer"
}
const LARGEST := 65536
## Bytes in flight at most (sent, not yet received).
const WINDOW := 1024 * 1024
## Each channel may hold twice the window unread (the project setting
## network/limits/webrtc/max_channel_in_buffer_kb, 64 KiB by default): the whole window can
## arrive between two polls, and a full reliable channel holds its connection until it is read,
## so the bench would measure that limit rather than the transport.
const CHANNEL_IN_BUFFER_KB := 2 * WINDOW / 1024
## What a WebRTC channel holds unsent and unacknowledged at most (put_packet refuses past it with
## ERR_OUT_OF_MEMORY): the sender waits instead (lost unreliable packets leave the window).
const SEND_LIMIT := 4 * 1024 * 1024
const PINGS := 1000
const TIMEOUT_MS := 30000
## What a run measures unless --parts names some.
const PARTS := ["memory", "throughput", "rtt", "frame_latency", "idle", "mesh"]
## A game's frame at 60 fps, in µs.
const FRAME_USEC := 16667
## Meshes of each size connected per kind (the median is the figure).
const MESH_RUNS := 5

## Bytes moved by the 1 KiB and largest-packet throughput figures (64-byte packets move 1/16 of
## it); overridable with --bytes.
var total_bytes := 100 * 1000 * 1000
var next_port := 24000
## How long the idle CPU is measured (the goal asks for at least 60 s); --idle-seconds.
var idle_seconds := 60.0
## How long two games exchange a message per frame for the frame latency; --frame-seconds.
var frame_seconds := 10.0
var results := {}


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	ProjectSettings.set_setting("network/limits/webrtc/max_channel_in_buffer_kb", CHANNEL_IN_BUFFER_KB)
	var options := Options.new()
	total_bytes = options.integer("bytes", total_bytes)
	var only := options.text("only")
	var parts := PARTS
	if options.has("parts"):
		parts = Array(options.text("parts").split(","))
	idle_seconds = options.number("idle-seconds", idle_seconds)
	frame_seconds = options.number("frame-seconds", frame_seconds)
	for kind in KINDS:
		results[kind] = {}
		if only != "" and not only.contains(kind):
			continue
		# First, before the transfers: memory they free would be reused and hide the growth.
		if parts.has("memory"):
			results[kind]["memory_per_connection_kb"] = await memory_per_connection(kind)
			print("%s memory/connection %.0f KiB" % [kind, results[kind].memory_per_connection_kb])
		if parts.has("throughput"):
			await throughputs(kind)
		if parts.has("rtt"):
			var pair := await make_pair(kind)
			if not pair.is_empty():
				var rtt := round_trips(pair)
				results[kind]["rtt"] = rtt
				print("%s rtt p50 %.1f us p99 %.1f us" % [kind, rtt.p50_us, rtt.p99_us])
				close_pair(pair)
		if parts.has("frame_latency"):
			var pair := await make_pair(kind)
			if not pair.is_empty():
				var latency := frame_latency(pair)
				results[kind]["frame_latency"] = latency
				print("%s one-way latency, two games at 60 fps: p50 %.2f ms p99 %.2f ms (%d messages)" % [
					kind, latency.p50_ms, latency.p99_ms, latency.messages])
				close_pair(pair)
		if parts.has("idle"):
			var idle := await idle_cpu(kind)
			if idle.percent >= 0.0:
				results[kind]["idle_cpu_percent_16"] = idle.percent
				results[kind]["idle_main_thread_us_per_frame"] = idle.main_us_per_frame
				var line := "%s idle CPU of 16 connections %.3f%% of one core over %.0f s"
				print((line + " (game thread %.1f us a frame)") % [
					kind, idle.percent, idle_seconds, idle.main_us_per_frame])
			else:
				print("%s idle CPU of 16 connections not measured (no /proc/self/task/*/schedstat)" % kind)
		if parts.has("mesh") and kind != "c":
			await mesh_figures(kind)
	print("BENCH " + JSON.stringify(results))
	quit(0)


func throughputs(kind: String) -> void:
	for mode_name in ["reliable", "unreliable"]:
		for size in [64, 1024, LARGEST]:
			var pair := await make_pair(kind)
			if pair.is_empty():
				continue
			var figure := throughput(pair, mode_name, size)
			results[kind]["%s_%d" % [mode_name, size]] = figure
			print("%s %s %6d B: %9.0f packets/s %8.1f MB/s  loss %.1f%%  main-thread %.1f ms/10k" % [
				kind, mode_name, size, figure.packets_per_s, figure.mb_per_s,
				figure.loss_percent, figure.main_ms_per_10k])
			close_pair(pair)


## Connects meshes of 2, 4, 8 and 16 peers MESH_RUNS times each; prints every time and keeps the
## median in the results.
func mesh_figures(kind: String) -> void:
	for n in [2, 4, 8, 16]:
		var times := []
		for run in MESH_RUNS:
			times.append(await mesh_connect_ms(kind, n))
		var shown := times.map(func(ms): return "%.0f" % ms)
		times.sort()
		var median: float = times[times.size() / 2]
		results[kind]["mesh_connect_ms_%d" % n] = median
		print("%s mesh of %d connected in %.0f ms (median of %d: %s)" % [
			kind, n, median, MESH_RUNS, " ".join(PackedStringArray(shown))])


# --- pairs -----------------------------------------------------------------------------------

## Returns {sender, receiver, sender_id, receiver_id}, connected both ways, or {} on failure.
func make_pair(kind: String) -> Dictionary:
	if kind == "c":
		var server := ENetMultiplayerPeer.new()
		server.set_bind_ip("127.0.0.1")
		next_port += 1
		if server.create_server(next_port, 32) != OK:
			return {}
		var client := ENetMultiplayerPeer.new()
		client.create_client("127.0.0.1", next_port)
		var ready := func(): return client.get_connection_status() == MultiplayerPeer.CONNECTION_CONNECTED
		if not await wait_for(ready, [server, client]):
			return {}
		await settle([server, client])
		return {
			"sender": client, "receiver": server,
			"sender_id": client.get_unique_id(), "receiver_id": 1,
		}
	var peers := []
	for id in [1, 2]:
		var peer: MultiplayerPeer = ClassDB.instantiate(CLASSES[kind])
		peer.create_mesh(id)
		peers.append(peer)
	connect_mesh(peers)
	var connected := func():
		return peers[0].get_peers()[2].connected and peers[1].get_peers()[1].connected
	if not await wait_for(connected, peers):
		return {}
	await settle(peers)
	return {"sender": peers[0], "receiver": peers[1], "sender_id": 1, "receiver_id": 2}


func connect_mesh(peers: Array) -> void:
	for i in peers.size():
		for j in range(i + 1, peers.size()):
			Wire.join(peers[i], i + 1, peers[j], j + 1)


func close_pair(pair: Dictionary) -> void:
	pair.sender.close()
	pair.receiver.close()


func wait_for(condition: Callable, peers: Array) -> bool:
	var deadline := Time.get_ticks_msec() + TIMEOUT_MS
	while Time.get_ticks_msec() < deadline:
		for peer in peers:
			peer.poll()
		if condition.call():
			return true
		await process_frame
	return false


## Lets the connection finish its handshakes (and SceneMultiplayer-free peers emit signals).
func settle(peers: Array) -> void:
	var until := Time.get_ticks_msec() + 100
	while Time.get_ticks_msec() < until:
		for peer in peers:
			peer.poll()
		await process_frame


# --- figures ---------------------------------------------------------------------------------

## procfs files report no size, so they are read line by line.
func proc_lines(path: String) -> PackedStringArray:
	var lines := PackedStringArray()
	var file := FileAccess.open(path, FileAccess.READ)
	if file == null:
		return lines
	while true:
		var line := file.get_line()
		if line == "" and file.eof_reached():
			break
		lines.append(line)
	return lines


## utime + stime of a /proc stat file, in ms (clock ticks of 10 ms).
func cpu_ms(path: String) -> float:
	var lines := proc_lines(path)
	if lines.is_empty():
		return 0.0
	var fields := lines[0].substr(lines[0].rfind(")") + 2).split(" ")
	return (int(fields[11]) + int(fields[12])) * 10.0


func main_thread_cpu_ms() -> float:
	return cpu_ms("/proc/thread-self/stat")


func throughput(pair: Dictionary, mode_name: String, size: int) -> Dictionary:
	var sender: MultiplayerPeer = pair.sender
	var receiver: MultiplayerPeer = pair.receiver
	sender.set_target_peer(pair.receiver_id)
	var reliable := mode_name == "reliable"
	sender.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE if reliable \
		else MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
	var payload := PackedByteArray()
	payload.resize(size)
	var count := maxi(1, (total_bytes / 16 if size < 1024 else total_bytes) / size)
	var sent := 0
	var received := 0
	var written_off := 0
	var started := Time.get_ticks_usec()
	var cpu_started := main_thread_cpu_ms()
	var last_progress := started
	# The WebRTC classes' channel of this mode (ENet has none), to wait rather than overfill it.
	var channel: WebRTCDataChannel = null
	if not sender is ENetMultiplayerPeer:
		channel = sender.get_peer(pair.receiver_id)["channels"][0 if reliable else 2]
	while received + written_off < count:
		while sent < count and (sent - received - written_off) * size < WINDOW:
			if channel != null and channel.get_buffered_amount() + size > SEND_LIMIT:
				break
			sender.put_packet(payload)
			sent += 1
		sender.poll()
		receiver.poll()
		var before := received
		while receiver.get_available_packet_count() > 0:
			receiver.get_packet()
			received += 1
		var now := Time.get_ticks_usec()
		if received != before:
			last_progress = now
		elif now - last_progress > 100000:
			if mode_name == "reliable" or now - started > TIMEOUT_MS * 1000:
				if now - started > TIMEOUT_MS * 1000:
					break
			else:
				# Unreliable packets that have not come in 100 ms are lost.
				written_off = sent - received
				last_progress = now
	var seconds := (Time.get_ticks_usec() - started) / 1e6
	var cpu_ms := main_thread_cpu_ms() - cpu_started
	return {
		"packets_per_s": received / seconds,
		"mb_per_s": received * size / seconds / 1e6,
		"loss_percent": 100.0 * (sent - received) / maxf(sent, 1),
		"main_ms_per_10k": cpu_ms * 10000.0 / maxf(received, 1),
		"seconds": seconds,
	}


## Busy-polls `peers` until `receiver` has a packet; false after 1 s from `started`.
func await_packet(receiver: MultiplayerPeer, peers: Array, started: int) -> bool:
	while receiver.get_available_packet_count() == 0:
		for peer in peers:
			peer.poll()
		if Time.get_ticks_usec() - started > 1000000:
			return false
	return true


func round_trips(pair: Dictionary) -> Dictionary:
	var a: MultiplayerPeer = pair.sender
	var b: MultiplayerPeer = pair.receiver
	a.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	b.transfer_mode = MultiplayerPeer.TRANSFER_MODE_RELIABLE
	a.set_target_peer(pair.receiver_id)
	b.set_target_peer(pair.sender_id)
	var ping := PackedByteArray([1, 2, 3, 4, 5, 6, 7, 8])
	var samples := []
	for i in PINGS:
		var started := Time.get_ticks_usec()
		a.put_packet(ping)
		if not await_packet(b, [a, b], started):
			continue
		b.get_packet()
		b.put_packet(ping)
		if not await_packet(a, [a, b], started):
			continue
		a.get_packet()
		samples.append(Time.get_ticks_usec() - started)
	samples.sort()
	if samples.is_empty():
		return {"p50_us": -1.0, "p99_us": -1.0}
	return {
		"p50_us": float(samples[samples.size() / 2]),
		"p99_us": float(samples[int(samples.size() * 0.99)]),
	}


func resident_kb() -> float:
	for line in proc_lines("/proc/self/status"):
		if line.begins_with("VmRSS:"):
			return float(line.split(":")[1].strip_edges().split(" ")[0])
	return 0.0


## Resident memory added per open connection, over 8 connected pairs (16 connections), after
## one pair was made and closed.
func memory_per_connection(kind: String) -> float:
	# One pair first, so that what is made once per process (threads, buffers) is not counted.
	var warm := await make_pair(kind)
	if not warm.is_empty():
		close_pair(warm)
	var before := resident_kb()
	var pairs := []
	for i in 8:
		var pair := await make_pair(kind)
		if not pair.is_empty():
			pairs.append(pair)
	var after := resident_kb()
	for pair in pairs:
		close_pair(pair)
	return (after - before) / maxf(pairs.size() * 2, 1)


## CPU time of each of this process's threads, in ns, by thread id: the first field of
## /proc/self/task/TID/schedstat (Linux; time on the CPU, at ns precision, where /proc/self/stat
## counts 10 ms ticks). Empty where there is no such file.
func thread_cpu_ns() -> Dictionary:
	var times := {}
	for tid in DirAccess.get_directories_at("/proc/self/task"):
		var lines := proc_lines("/proc/self/task/%s/schedstat" % tid)
		if not lines.is_empty():
			times[tid] = int(lines[0].split(" ")[0])
	return times


## CPU time the process's threads spent between two [method thread_cpu_ns] readings, in ns;
## a thread started in between counts from 0 (one that ended in between is not counted: none
## ends while connections sit idle). -1 when not measured.
func cpu_ns_between(before: Dictionary, after: Dictionary) -> int:
	if before.is_empty() or after.is_empty():
		return -1
	var total := 0
	for tid in after:
		total += after[tid] - before.get(tid, 0)
	return total


## Process CPU (% of one core) while 16 connections sit open, polled at 60 frames per second,
## over [member idle_seconds], from every thread's own CPU time, and the game thread's share of
## it per frame (polling 16 peers, and the frame loop's own small cost):
## {percent, main_us_per_frame}; -1 where it cannot be read.
func idle_cpu(kind: String) -> Dictionary:
	var pairs := []
	for i in 8:
		var pair := await make_pair(kind)
		if not pair.is_empty():
			pairs.append(pair)
	var started := Time.get_ticks_usec()
	var cpu_started := thread_cpu_ns()
	var next_frame := started
	var frames := 0
	while Time.get_ticks_usec() - started < idle_seconds * 1e6:
		for pair in pairs:
			pair.sender.poll()
			pair.receiver.poll()
		frames += 1
		next_frame += FRAME_USEC
		OS.delay_usec(maxi(0, next_frame - Time.get_ticks_usec()))
	var cpu_ended := thread_cpu_ns()
	var cpu_ns := cpu_ns_between(cpu_started, cpu_ended)
	var wall_ns := (Time.get_ticks_usec() - started) * 1000.0
	for pair in pairs:
		close_pair(pair)
	if cpu_ns < 0:
		return {"percent": -1.0, "main_us_per_frame": -1.0}
	# The game's (main) thread has the process's id as its thread id.
	var main := str(OS.get_process_id())
	var main_ns: int = cpu_ended.get(main, 0) - cpu_started.get(main, 0)
	var main_us_per_frame := main_ns / 1000.0 / maxi(frames, 1)
	return {"percent": 100.0 * cpu_ns / wall_ns, "main_us_per_frame": main_us_per_frame}


## One-way latency of a message between two games that each poll at 60 fps, for
## [member frame_seconds]: on each side's frame, poll, read what came (its latency: now minus the
## time stamped in it) and send one unreliable message stamped with the time. The two frame clocks
## differ by 1/600 of a frame, so their phase sweeps all offsets over 10 s: with a transport that
## took no time the latency would spread evenly over 0 to 16.7 ms (p50 8.3 ms, p99 16.5 ms).
func frame_latency(pair: Dictionary) -> Dictionary:
	var sides: Array[MultiplayerPeer] = [pair.sender, pair.receiver]
	var targets := [pair.receiver_id, pair.sender_id]
	var periods := [float(FRAME_USEC), FRAME_USEC * (1.0 + 1.0 / 600.0)]
	for i in 2:
		sides[i].transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
		sides[i].set_target_peer(targets[i])
	var started := Time.get_ticks_usec()
	var next_frames := [float(started), started + FRAME_USEC / 2.0]
	var samples := []
	var stamp := PackedByteArray()
	stamp.resize(8)
	while Time.get_ticks_usec() - started < frame_seconds * 1e6:
		var side := 0 if next_frames[0] <= next_frames[1] else 1
		OS.delay_usec(maxi(0, int(next_frames[side]) - Time.get_ticks_usec()))
		var peer := sides[side]
		peer.poll()
		while peer.get_available_packet_count() > 0:
			var packet := peer.get_packet()
			if packet.size() == 8:
				samples.append(Time.get_ticks_usec() - packet.decode_s64(0))
		stamp.encode_s64(0, Time.get_ticks_usec())
		peer.put_packet(stamp)
		next_frames[side] += periods[side]
	samples.sort()
	if samples.is_empty():
		return {"p50_ms": -1.0, "p99_ms": -1.0, "messages": 0}
	return {
		"p50_ms": samples[samples.size() / 2] / 1000.0,
		"p99_ms": samples[int(samples.size() * 0.99)] / 1000.0,
		"messages": samples.size(),
	}


## Time until every peer of an n-peer mesh reports every other as connected.
func mesh_connect_ms(kind: String, n: int) -> float:
	var peers := []
	for id in range(1, n + 1):
		var peer: MultiplayerPeer = ClassDB.instantiate(CLASSES[kind])
		peer.create_mesh(id)
		peers.append(peer)
	var started := Time.get_ticks_usec()
	connect_mesh(peers)
	var everyone := func():
		for peer in peers:
			var info: Dictionary = peer.get_peers()
			if info.size() != n - 1 or not info.values().all(func(x): return x.connected):
				return false
		return true
	var deadline := Time.get_ticks_msec() + TIMEOUT_MS
	var done := false
	while Time.get_ticks_msec() < deadline and not done:
		for peer in peers:
			peer.poll()
		done = everyone.call()
		if not done:
			OS.delay_usec(1000)
	var ms := (Time.get_ticks_usec() - started) / 1000.0
	for peer in peers:
		peer.close()
	return ms if done else -1.0
