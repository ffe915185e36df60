## The game: every peer spawns its own player through a MultiplayerSpawner it has authority
## over (one spawner per peer, so a player's spawn and its MultiplayerSynchronizer come from the
## same peer and nobody receives positions of a node it does not have yet), moves it, and the
## synchronizer replicates its position; chat by RPC; a panel with every peer's connection state,
## path (candidate types) and round-trip time.
class_name Game
extends Node2D

signal chat_received(from: int, text: String)
signal pong_received(from: int, rtt_usec: int)

const PLAYER := preload("res://demo/player.tscn")
## Chat lines the log keeps.
const CHAT_LINES := 6

## The mesh, for the peer panel (WebRTCMultiplayerPeerRs or the engine's WebRTCMultiplayerPeer:
## only their common API, and the addon's extras after has_method).
var mesh: MultiplayerPeer

var _panel_timer := 0.0

@onready var players: Node2D = $Players
@onready var peers_label: Label = $UI/Peers
@onready var chat_log: Label = $UI/Chat
@onready var chat_input: LineEdit = $UI/ChatInput


func _ready() -> void:
	multiplayer.peer_connected.connect(_on_peer_connected)
	multiplayer.peer_disconnected.connect(_on_peer_disconnected)


## Called once this peer has its id: spawns its own player.
func start() -> void:
	var me := multiplayer.get_unique_id()
	_add_spawner(me).spawn(me)


func own_player() -> Node2D:
	return players.get_node_or_null(str(multiplayer.get_unique_id()))


func _on_chat_input_text_submitted(text: String) -> void:
	if text != "":
		chat.rpc(text)
		chat_input.clear()


func _on_peer_connected(id: int) -> void:
	_add_spawner(id)


func _on_peer_disconnected(id: int) -> void:
	for path in ["Spawner%d" % id, "Players/%d" % id]:
		if has_node(path):
			get_node(path).queue_free()


## The spawner through which peer `id` spawns its player, the same path on every peer.
func _add_spawner(id: int) -> MultiplayerSpawner:
	var spawner := MultiplayerSpawner.new()
	spawner.name = "Spawner%d" % id
	spawner.spawn_function = _spawn_player
	spawner.set_multiplayer_authority(id)
	add_child(spawner)
	spawner.spawn_path = spawner.get_path_to(players)
	return spawner


func _spawn_player(id: int) -> Node:
	var player := PLAYER.instantiate()
	player.name = str(id)
	player.position = Vector2(80 + (id % 6) * 80, 200 + (id % 3) * 60)
	player.set_multiplayer_authority(id)
	return player


@rpc("any_peer", "call_local", "reliable")
func chat(text: String) -> void:
	var from := multiplayer.get_remote_sender_id()
	var lines := Array(chat_log.text.split("\n", false))
	lines.push_front("%d: %s" % [from, text])
	chat_log.text = "\n".join(lines.slice(0, CHAT_LINES))
	chat_received.emit(from, text)


@rpc("any_peer", "reliable")
func ping(sent_usec: int) -> void:
	pong.rpc_id(multiplayer.get_remote_sender_id(), sent_usec)


@rpc("any_peer", "reliable")
func pong(sent_usec: int) -> void:
	pong_received.emit(multiplayer.get_remote_sender_id(), Time.get_ticks_usec() - sent_usec)


func _process(delta: float) -> void:
	_panel_timer -= delta
	if _panel_timer > 0.0 or mesh == null:
		return
	if mesh.get_connection_status() != MultiplayerPeer.CONNECTION_CONNECTED:
		return
	_panel_timer = 0.5
	var states := ["new", "connecting", "connected", "disconnected", "failed", "closed"]
	var lines := ["I am peer %d" % multiplayer.get_unique_id()]
	var peers: Dictionary = mesh.get_peers()
	for id in peers:
		var connection: WebRTCPeerConnection = peers[id].connection
		var state: String = states[connection.get_connection_state()]
		var opening := "" if peers[id].connected else " (channels opening)"
		lines.append("peer %d: %s%s%s" % [id, state, opening, _path_of(id)])
	peers_label.text = "\n".join(lines)


## ", host to srflx, RTT 12 ms" (or ", relayed through peer 3, RTT 20 ms") for a peer, from its
## connection statistics ("" before any, and with the engine's class, which has none).
func _path_of(id: int) -> String:
	if not mesh.has_method(&"get_peer_stats"):
		return ""
	var stats: Dictionary = mesh.get_peer_stats(id)
	var rtt: float = stats.get("round_trip_time", -1.0)
	var rtt_text := "" if rtt < 0.0 else ", RTT %.1f ms" % (rtt * 1000.0)
	if stats.get("path", "") == "relayed":
		return ", relayed through peer %d%s" % [stats.relay_peer, rtt_text]
	if stats.get("remote_candidate_type", "") == "":
		return ""
	return ", %s to %s%s" % [stats.local_candidate_type, stats.remote_candidate_type, rtt_text]
