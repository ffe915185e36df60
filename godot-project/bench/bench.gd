## One benchmark run in the engine, headless, on 127.0.0.1, for
##   (a) WebRTCMultiplayerPeerRs, (b) the engine's WebRTCMultiplayerPeer over our transport,
##   (c) ENetMultiplayerPeer.
## Prints one line "BENCH {json}" with every figure. tools/bench runs it several times and
## reports medians. Run: godot --headless --path godot-project --script res://bench/bench.gd
## Options after "--": --only KINDS (e.g. "a"), --bytes N, --mesh-only (only the mesh connect
## figures, each mesh size MESH_RUNS times: the quick look at connecting).
extends SceneTree

const Wire := preload("res://shared/wire.gd")

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
## Meshes of each size connected per kind with --mesh-only.
const MESH_RUNS := 5

## Bytes moved by the 1 KiB and largest-packet throughput figures (64-byte packets move 1/16 of
## it); overridable with --bytes.
var total_bytes := 100 * 1000 * 1000
var next_port := 24000
var results := {}


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	ProjectSettings.set_setting("network/limits/webrtc/max_channel_in_buffer_kb", CHANNEL_IN_BUFFER_KB)
	var args := OS.get_cmdline_user_args()
	var only := ""
	var mesh_only := args.has("--mesh-only")
	for i in args.size():
		if args[i] == "--bytes" and i + 1 < args.size():
			total_bytes = int(args[i + 1])
		if args[i] == "--only" and i + 1 < args.size():
			only = args[i + 1]
	for kind in KINDS:
		results[kind] = {}
		if only != "" and not only.contains(kind):
			continue
		if mesh_only:
			if kind != "c":
				await mesh_figures(kind)
			continue
		# First, before the transfers: memory they free would be reused and hide the growth.
		results[kind]["memory_per_connection_kb"] = await memory_per_connection(kind)
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
		var pair := await make_pair(kind)
		if not pair.is_empty():
			var rtt := round_trips(pair)
			results[kind]["rtt"] = rtt
			print("%s rtt p50 %.1f us p99 %.1f us" % [kind, rtt.p50_us, rtt.p99_us])
			close_pair(pair)
		results[kind]["idle_cpu_percent_16"] = await idle_cpu(kind)
		print("%s memory/connection %.0f KiB, idle CPU of 16 connections %.2f%%" % [
			kind, results[kind].memory_per_connection_kb, results[kind].idle_cpu_percent_16])
		if kind != "c":
			for n in [2, 4, 8, 16]:
				var ms := await mesh_connect_ms(kind, n)
				results[kind]["mesh_connect_ms_%d" % n] = ms
				print("%s mesh of %d connected in %.0f ms" % [kind, n, ms])
	print("BENCH " + JSON.stringify(results))
	quit(0)


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
			var ij := WebRTCPeerConnection.new()
			var ji := WebRTCPeerConnection.new()
			ij.initialize({})
			ji.initialize({})
			Wire.link(ij, ji)
			peers[i].add_peer(ij, j + 1)
			peers[j].add_peer(ji, i + 1)
			ij.create_offer()


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


func process_cpu_ms() -> float:
	return cpu_ms("/proc/self/stat")


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


## Process CPU (% of one core) while 16 connections sit open, polled at 60 frames per second.
func idle_cpu(kind: String) -> float:
	var pairs := []
	for i in 8:
		var pair := await make_pair(kind)
		if not pair.is_empty():
			pairs.append(pair)
	var started := Time.get_ticks_usec()
	var cpu_started := process_cpu_ms()
	while Time.get_ticks_usec() - started < 3000000:
		for pair in pairs:
			pair.sender.poll()
			pair.receiver.poll()
		OS.delay_usec(16000)
	var cpu := process_cpu_ms() - cpu_started
	var wall_ms := (Time.get_ticks_usec() - started) / 1000.0
	for pair in pairs:
		close_pair(pair)
	return 100.0 * cpu / wall_ms


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
