## What a netlab peer saw of one other peer: its connection's states with their times, the ICE
## candidates by type, the messages sent and received, their order and one-way latencies.
extends RefCounted

const STATE_NAMES := ["new", "connecting", "connected", "disconnected", "failed", "closed"]
## How many missing sequence numbers a link lists.
const MISSING_KEPT := 10
## How often a connected link's statistics are read (the addon refreshes them every 250 ms).
const STATS_INTERVAL_MS := 250

## The other peer's id in the mesh (0 for ENet's server before it is known).
var peer_id := 0
## Milliseconds since the peer started when this link began (the signaling server announced it).
var created_ms := 0
## Milliseconds from `created_ms` until the multiplayer peer reported it connected (-1: never).
var connect_ms := -1
## Milliseconds from `created_ms` until the connection reached STATE_FAILED (-1: never).
var failed_ms := -1
## Set when the multiplayer peer reported it gone.
var left := false
## Unix time in ms when the multiplayer peer reported it gone (0: never).
var left_unix_ms := 0
## Set when the signaling server announced it gone (the client then removes it from the
## mesh).
var announced_gone := false
## Set once the connection was seen FAILED or CLOSED: nothing more will come from it.
var dead := false
var states: Array[String] = []
var local_candidates := {}
var remote_candidates := {}
var sent := 0
var send_started_usec := 0
var received := 0
## Messages that came after every message received before them (a duplicate or a late one does not).
var in_order := 0
## Messages never seen although a later one arrived (the first few are kept in `missing`).
var skipped := 0
var missing: Array[int] = []
## Set when the other peer's END arrived: it sent everything, nothing more will come.
var end := false
## When END arrived (milliseconds since the peer started).
var end_ms := -1
## Set when the other peer's FIN arrived: it received our END, so it has all it will get from us.
var fin := false
var first_sent_unix := INF
var last_received_unix := 0.0
var latencies_ms: Array[float] = []
var connection: WebRTCPeerConnection
## The last statistics that named a selected candidate pair (WebRTCPeerConnectionRs.get_stats()).
var stats := {}
## Each path the statistics named, when it first did (read every STATS_INTERVAL_MS):
## {"path": "direct" or "relayed", "relay": the relaying member's id or 0, "unix_ms": int}.
var paths: Array[Dictionary] = []
## The longest time between two messages received in a row (ms; -1 before the second one), and
## the Unix time in ms when the message ending it arrived.
var longest_gap_ms := -1.0
var longest_gap_end_unix_ms := 0

var _last_state := -1
var _next_seq := 0
var _stats_at_ms := -STATS_INTERVAL_MS


## Polls the connection and records its state if it changed. The mesh polls it too, later in
## the frame, and closes it in that same poll once it failed: polling it first is how to see
## STATE_FAILED in most frames. Polling twice is harmless (events are taken once, signals
## emitted once).
func track_state(now_ms: int) -> void:
	if connection == null:
		return
	if not dead:
		connection.poll()
	var state := connection.get_connection_state()
	if state == WebRTCPeerConnection.STATE_CONNECTED:
		_read_stats(now_ms)
	if state == _last_state:
		return
	_last_state = state
	states.append("%s@%d" % [STATE_NAMES[state], now_ms - created_ms])
	if state == WebRTCPeerConnection.STATE_FAILED and failed_ms < 0:
		failed_ms = now_ms - created_ms
	elif (state == WebRTCPeerConnection.STATE_CLOSED and failed_ms < 0 and connect_ms < 0
			and not announced_gone):
		# The connection can fail between our poll and the mesh's (its task pumps it meanwhile),
		# and the mesh closes it in that poll: closed before connecting, by neither this script
		# nor the signaling, it was closed by the mesh for failing.
		failed_ms = now_ms - created_ms
	if state in [WebRTCPeerConnection.STATE_FAILED, WebRTCPeerConnection.STATE_CLOSED]:
		dead = true


func _read_stats(now_ms: int) -> void:
	if now_ms - _stats_at_ms < STATS_INTERVAL_MS or not connection.has_method("get_stats"):
		return
	_stats_at_ms = now_ms
	var snapshot: Dictionary = connection.call("get_stats")
	if snapshot.get("local_candidate_type", "") != "" or snapshot.get("path", "") == "relayed":
		stats = snapshot
	_note_path(snapshot.get("path", ""), snapshot.get("relay_peer", 0))


## Records the path the statistics name when it differs from the last one, and prints it as
## "PATH <peer id> <direct|relayed> <relaying member or 0> <unix ms>" (tools/netlab waits for it).
func _note_path(path: String, relay: int) -> void:
	if path == "":
		return
	if not paths.is_empty() and paths[-1].path == path and paths[-1].relay == relay:
		return
	var unix_ms := int(Time.get_unix_time_from_system() * 1000.0)
	paths.append({"path": path, "relay": relay, "unix_ms": unix_ms})
	print("PATH %d %s %d %d" % [peer_id, path, relay, unix_ms])


## Counts a candidate line ("candidate:... typ host ...") by its type.
static func count_candidate(counts: Dictionary, sdp: String) -> void:
	var words := sdp.split(" ")
	var at := words.find("typ")
	var kind := words[at + 1] if at >= 0 and at + 1 < words.size() else "?"
	counts[kind] = counts.get(kind, 0) + 1


## Takes one received data message.
func take(seq: int, sent_unix: float, now_unix: float) -> void:
	if seq >= _next_seq:
		in_order += 1
		skipped += seq - _next_seq
		for lost in range(_next_seq, mini(seq, _next_seq + MISSING_KEPT)):
			if missing.size() < MISSING_KEPT:
				missing.append(lost)
		_next_seq = seq + 1
	first_sent_unix = minf(first_sent_unix, sent_unix)
	if received > 0 and (now_unix - last_received_unix) * 1000.0 > longest_gap_ms:
		longest_gap_ms = (now_unix - last_received_unix) * 1000.0
		longest_gap_end_unix_ms = int(now_unix * 1000.0)
	received += 1
	last_received_unix = now_unix
	latencies_ms.append((now_unix - sent_unix) * 1000.0)


## The link as a Dictionary for the NETLAB line.
func describe() -> Dictionary:
	var sorted := latencies_ms.duplicate()
	sorted.sort()
	var result := {
		"connect_ms": connect_ms,
		"failed_ms": failed_ms,
		"left": left,
		"left_unix_ms": left_unix_ms,
		"states": states,
		"local_candidates": local_candidates,
		"remote_candidates": remote_candidates,
		"sent": sent,
		"received": received,
		"in_order": in_order,
		"skipped": skipped,
		"missing": missing,
		"end": end,
		"fin": fin,
		"paths": paths,
		"longest_gap_ms": snappedf(longest_gap_ms, 0.1),
		"longest_gap_end_unix_ms": longest_gap_end_unix_ms,
	}
	if not stats.is_empty():
		result["path"] = {
			"local": "%s %s:%d" % [stats.local_candidate_type, stats.local_address, stats.local_port],
			"remote": "%s %s:%d" % [stats.remote_candidate_type, stats.remote_address, stats.remote_port],
			"rtt_ms": snappedf(stats.round_trip_time * 1000.0, 0.01),
			"packets_sent": stats.packets_sent,
			"packets_received": stats.packets_received,
			"via": stats.get("path", ""),
			"relay_peer": stats.get("relay_peer", 0),
			"ice_restarts": stats.get("ice_restarts", 0),
			"messages_expired": stats.get("messages_expired", -1),
			"messages_abandoned": stats.get("messages_abandoned", -1),
		}
	if not sorted.is_empty():
		result["transfer_ms"] = snappedf((last_received_unix - first_sent_unix) * 1000.0, 0.1)
		result["latency_ms"] = {
			"p50": snappedf(_percentile(sorted, 0.5), 0.01),
			"p99": snappedf(_percentile(sorted, 0.99), 0.01),
			"max": snappedf(sorted[-1], 0.01),
		}
	return result


static func _percentile(sorted: Array, fraction: float) -> float:
	return sorted[int(fraction * (sorted.size() - 1))]
