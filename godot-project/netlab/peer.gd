## A netlab peer, headless: joins a signaling lobby with a WebRTCMultiplayerPeerRs mesh (or runs
## an ENet server or client instead), sends --messages numbered reliable messages to every other
## peer, then END; answers each peer's END with FIN, and once every peer has answered (or failed,
## or left) prints one "NETLAB {json}" line with what it saw of each: connection states and their
## times, connect time, the selected path, messages received, in order and missing, one-way
## latencies, errors.
## Exits 0 when every expected peer connected and delivered all its messages in order, else 1.
## tools/netlab runs it inside network namespaces:
##   godot --headless --path godot-project --script res://netlab/peer.gd -- \
##       --url ws://198.18.0.1:9080 --room NAME --ice '[{"urls": ["stun:198.18.0.1:3478"]}]' \
##       --expect 1 --messages 1000 [--size 64] [--rate 0] [--timeout 40] [--policy relay] \
##       [--mode unreliable] [--linger 30] [--quit-file PATH]
##   godot ... -- --enet-server 7777 | --enet-client 198.18.0.12:7777 [--messages ...]
## An empty --room creates the lobby and prints "LOBBY <name>"; an ENet server prints "ENET
## listening on port N" once it listens; "CONNECTED <id>" follows each peer_connected. --rate
## paces the messages to each peer (per second; 0 sends them all at once). --mode unreliable sends
## the numbered messages with TRANSFER_MODE_UNRELIABLE (END and FIN stay reliable): a link is then
## complete once END came, and stays open LATE_MS after it for stragglers. The host seals the
## lobby once --expect peers joined, so the mesh no longer needs the server. The connections
## bind WEBRTC_MESH_BIND_ADDRESS if set. The signaling server's answer about TURN credentials is
## printed as "TURN <username> <urls>, N ms after our id" or "TURN none, ..."; its TURN server
## joins the --ice ones. --linger keeps the peer in the mesh that many seconds after its result
## (at least DRAIN_MS), polling: a member that relays for others (issue 21) stays for them.
## "ID <n>" tells our mesh id once the signaling server gave it; "PATH <peer> <direct|relayed>
## <relaying member or 0> <unix ms>" each time a link's statistics name another path (read every
## 250 ms). --quit-file: once that file holds our id (looked at every QUIT_CHECK_MS), the peer
## prints "QUIT <unix ms>" and its result, leaves the mesh at once (closes it) however far it got,
## and exits DRAIN_MS later.
extends SceneTree

const NetlabClient := preload("res://netlab/netlab_client.gd")
const ErrorLog := preload("res://shared/error_log.gd")
const Link := preload("res://netlab/link.gd")
const Options := preload("res://shared/options.gd")

## Message types: a numbered message, "that was all" (after the last one), "got your END".
const DATA := 0
const END := 1
const FIN := 2
const HEADER_SIZE := 16
## After the result is printed, how long to keep polling so our last FIN leaves.
const DRAIN_MS := 500
## In unreliable mode, how long after the other peer's END a link still takes late messages.
const LATE_MS := 1500
## How often the --quit-file is looked at.
const QUIT_CHECK_MS := 50

var url := ""
var room := ""
var ice_servers: Array = []
var policy := ""
var expect := 1
var messages := 1000
var size := 64
var rate := 0.0
var timeout := 40
var fps := 1000
var enet_server := 0
var enet_client := ""
## The transfer mode of the numbered messages ("reliable" or "unreliable").
var mode := "reliable"
## Seconds to stay in the mesh after the result is printed (--linger).
var linger := 0.0
## Leave at once when this file holds our id (--quit-file; "" never).
var quit_file := ""

var _api: SceneMultiplayer
var _client: NetlabClient
var _enet: ENetMultiplayerPeer
var _errors := ErrorLog.new()
var _started_usec := 0
var _links := {}
var _joined := 0
var _finished_ms := -1
## When the signaling server gave us our id (_elapsed_ms()).
var _id_ms := -1
var _ok := false
var _quit_checked_ms := 0
## When a peer told to quit (--quit-file) exits (-1: not told).
var _quit_at_ms := -1


func _initialize() -> void:
	OS.add_logger(_errors)
	if not _read_options():
		quit(2)
		return
	Engine.max_fps = fps
	_started_usec = Time.get_ticks_usec()
	_api = get_multiplayer() as SceneMultiplayer
	_api.peer_connected.connect(_on_api_peer_connected)
	_api.peer_disconnected.connect(_on_api_peer_disconnected)
	_api.peer_packet.connect(_on_api_peer_packet)
	if enet_server > 0 or enet_client != "":
		_start_enet()
	else:
		_start_webrtc()


func _read_options() -> bool:
	var options := Options.new()
	var known := [
		"url", "room", "ice", "policy", "expect", "messages", "size", "rate", "timeout", "fps",
		"enet-server", "enet-client", "mode", "linger", "quit-file",
	]
	var unknown := options.unknown(known)
	if not unknown.is_empty():
		printerr("unknown option %s" % unknown[0])
		return false
	url = options.text("url", url)
	room = options.text("room", room)
	if options.has("ice"):
		var parsed = JSON.parse_string(options.text("ice"))
		if typeof(parsed) != TYPE_ARRAY:
			printerr("--ice must be a JSON array of ICE servers")
			return false
		ice_servers = parsed
	policy = options.text("policy", policy)
	expect = options.integer("expect", expect)
	messages = options.integer("messages", messages)
	size = maxi(HEADER_SIZE, options.integer("size", size))
	rate = options.number("rate", rate)
	timeout = options.integer("timeout", timeout)
	fps = options.integer("fps", fps)
	enet_server = options.integer("enet-server", enet_server)
	enet_client = options.text("enet-client", enet_client)
	mode = options.text("mode", mode)
	linger = options.number("linger", linger)
	quit_file = options.text("quit-file", quit_file)
	if mode not in ["reliable", "unreliable"]:
		printerr("--mode must be reliable or unreliable")
		return false
	return true


func _start_webrtc() -> void:
	_client = NetlabClient.new()
	_client.ice_servers = ice_servers
	if policy != "":
		_client.extra_config["iceTransportPolicy"] = policy
	_client.lobby_joined.connect(_on_client_lobby_joined)
	_client.connected.connect(_on_client_connected)
	_client.turn_server_received.connect(_on_client_turn_server_received)
	_client.peer_connected.connect(_on_client_peer_connected)
	_client.connection_created.connect(_on_client_connection_created)
	_client.candidate_received.connect(_on_client_candidate_received)
	_client.peer_disconnected.connect(_on_client_peer_disconnected)
	root.add_child(_client)
	# The root enters the tree after _initialize(); the client needs its multiplayer API.
	_client.start.call_deferred(url, room, true)


func _start_enet() -> void:
	_enet = ENetMultiplayerPeer.new()
	var error := OK
	if enet_server > 0:
		error = _enet.create_server(enet_server, 4)
	else:
		var parts := enet_client.rsplit(":", true, 1)
		error = _enet.create_client(parts[0], int(parts[1]))
		_link(1)
	if error != OK:
		push_error("ENet could not start: %s" % error_string(error))
	elif enet_server > 0:
		print("ENET listening on port %d" % enet_server)
	_api.multiplayer_peer = _enet


func _elapsed_ms() -> int:
	return (Time.get_ticks_usec() - _started_usec) / 1000


func _link(id: int) -> Link:
	if not _links.has(id):
		var link := Link.new()
		link.peer_id = id
		link.created_ms = _elapsed_ms()
		_links[id] = link
	return _links[id]


func _process(_delta: float) -> bool:
	var now := _elapsed_ms()
	if _quit_at_ms >= 0:
		if now >= _quit_at_ms:
			quit(1)
		return false
	if _quit_requested(now):
		print("QUIT %d" % int(Time.get_unix_time_from_system() * 1000.0))
		if _finished_ms < 0:
			_finish(false)
		_close()
		# The closing messages leave from the connections' tasks: give them DRAIN_MS.
		_quit_at_ms = now + DRAIN_MS
		return false
	if _finished_ms >= 0:
		if now - _finished_ms >= maxi(DRAIN_MS, int(linger * 1000)):
			_leave()
		return false
	for link: Link in _links.values():
		link.track_state(now)
	_send_due()
	if now > timeout * 1000:
		_finish(false)
	elif _all_resolved():
		_finish(_all_complete())
	return false


## True when the --quit-file holds our id (looked at at most every QUIT_CHECK_MS).
func _quit_requested(now: int) -> bool:
	if quit_file == "" or now - _quit_checked_ms < QUIT_CHECK_MS:
		return false
	_quit_checked_ms = now
	if not FileAccess.file_exists(quit_file):
		return false
	return FileAccess.get_file_as_string(quit_file).strip_edges() == str(_api.get_unique_id())


## Sends each connected peer the messages due by now (all at once when --rate is 0).
func _send_due() -> void:
	var now_usec := Time.get_ticks_usec()
	for id: int in _links:
		var link: Link = _links[id]
		if link.connect_ms < 0 or link.left or link.sent >= messages:
			continue
		var due := messages
		if rate > 0.0:
			var elapsed := (now_usec - link.send_started_usec) / 1000000.0
			due = mini(messages, int(elapsed * rate) + 1)
		var transfer_mode := MultiplayerPeer.TRANSFER_MODE_RELIABLE
		if mode == "unreliable":
			transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE
		while link.sent < due:
			var error := _api.send_bytes(_packet(DATA, link.sent), id, transfer_mode)
			if error != OK:
				push_error("send_bytes to %d: %s" % [id, error_string(error)])
				break
			link.sent += 1
			if link.sent == messages:
				_api.send_bytes(_packet(END, messages), id)


func _packet(type: int, seq: int) -> PackedByteArray:
	var packet := PackedByteArray()
	packet.resize(size if type == DATA else HEADER_SIZE)
	packet[0] = type
	packet.encode_u32(4, seq)
	packet.encode_double(8, Time.get_unix_time_from_system())
	return packet


## True when every expected peer delivered all its messages, in order (in unreliable mode: sent
## them all, END came).
func _all_complete() -> bool:
	if _links.size() < expect:
		return false
	for link: Link in _links.values():
		if mode == "unreliable":
			if not link.end:
				return false
		elif link.received != messages or link.in_order != messages:
			return false
	return true


## True when nothing more can happen: on every link both sides sent everything (END) and heard
## the other's END (FIN), or its connection failed or closed, or its peer left; and every live
## link's statistics have named its path (get_stats' first snapshot comes a moment after the first
## call, and a fast transfer can be over before it).
func _all_resolved() -> bool:
	if _links.size() < expect:
		return false
	var now := _elapsed_ms()
	for link: Link in _links.values():
		if not (link.end and link.fin) and not link.dead and not link.left:
			return false
		var live := not link.dead and not link.left
		if mode == "unreliable" and link.end and now - link.end_ms < LATE_MS and live:
			return false
		var has_stats := link.connection != null and link.connection.has_method("get_stats")
		if has_stats and not link.dead and not link.left and link.stats.is_empty():
			return false
	return true


func _finish(ok: bool) -> void:
	_ok = ok
	_finished_ms = _elapsed_ms()
	var links := {}
	for id: int in _links:
		links[str(id)] = _links[id].describe()
	var result := {
		"id": _api.get_unique_id(),
		"ok": ok,
		"mode": "webrtc" if _client != null else "enet",
		"elapsed_ms": _finished_ms,
		"timed_out": _finished_ms > timeout * 1000,
		"links": links,
		"errors": _errors.unique().slice(0, 8),
	}
	print("NETLAB %s" % JSON.stringify(result))


func _leave() -> void:
	_close()
	quit(0 if _ok else 1)


## Leaves the mesh (or closes the ENet peer).
func _close() -> void:
	if _client != null:
		_client.stop()
	elif _enet != null:
		_enet.close()


func _on_client_lobby_joined(lobby_name: String) -> void:
	print("LOBBY %s" % lobby_name)


func _on_client_connected(id: int, _use_mesh: bool) -> void:
	_id_ms = _elapsed_ms()
	print("ID %d" % id)


func _on_client_turn_server_received(server: Dictionary) -> void:
	var after := "%d ms after our id" % (_elapsed_ms() - _id_ms)
	if server.is_empty():
		print("TURN none, %s" % after)
	else:
		print("TURN %s %s, %s" % [server.username, ",".join(server.urls), after])


func _on_client_peer_connected(_id: int) -> void:
	_joined += 1
	if _joined >= expect and _client.rtc_mp.get_unique_id() == 1:
		_client.seal_lobby()


func _on_client_connection_created(id: int, connection: WebRTCPeerConnection) -> void:
	var link := _link(id)
	link.connection = connection
	connection.ice_candidate_created.connect(_on_connection_candidate_created.bind(id))


func _on_connection_candidate_created(_mid: String, _index: int, sdp: String, id: int) -> void:
	Link.count_candidate(_link(id).local_candidates, sdp)


func _on_client_peer_disconnected(id: int) -> void:
	if _links.has(id):
		_links[id].announced_gone = true


func _on_client_candidate_received(id: int, _mid: String, _index: int, sdp: String) -> void:
	Link.count_candidate(_link(id).remote_candidates, sdp)


func _on_api_peer_connected(id: int) -> void:
	var link := _link(id)
	link.connect_ms = _elapsed_ms() - link.created_ms
	link.send_started_usec = Time.get_ticks_usec()
	print("CONNECTED %d" % id)


func _on_api_peer_disconnected(id: int) -> void:
	if _links.has(id):
		_links[id].left = true
		_links[id].left_unix_ms = int(Time.get_unix_time_from_system() * 1000.0)


func _on_api_peer_packet(id: int, packet: PackedByteArray) -> void:
	if packet.size() < HEADER_SIZE:
		return
	var link := _link(id)
	match packet[0]:
		DATA:
			var now := Time.get_unix_time_from_system()
			link.take(packet.decode_u32(4), packet.decode_double(8), now)
		END:
			link.end = true
			link.end_ms = _elapsed_ms()
			_api.send_bytes(_packet(FIN, 0), id)
		FIN:
			link.fin = true
