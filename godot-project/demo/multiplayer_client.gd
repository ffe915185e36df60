## Joins a signaling lobby and builds a mesh from it: one WebRTCPeerConnection per peer the
## server announces, offers and candidates relayed through it. The mesh comes from WebRTCMesh
## (the addon's class natively, the engine's in a web export), so this script runs in both.
## With `ask_for_turn` (the default) the connections wait for the server's answer about TURN
## credentials, and each is initialized with `ice_servers` plus the TURN server it gave, if any;
## what the lobby's peers send meanwhile is kept (MAX_EARLY_MESSAGES per peer) and handed on.
class_name MultiplayerClient
extends SignalingClient

## A connection is made for a peer.
signal connection_created(id: int, connection: WebRTCPeerConnection)

## Offers and candidates kept per peer while the TURN answer is awaited; more are dropped (an
## honest peer sends one offer and a few candidates in that time, one round trip).
const MAX_EARLY_MESSAGES := 64

## The mesh, set as this node's multiplayer peer once the server gives us an id. Replace it
## before start() to choose another (main.gd's --engine-mesh takes the engine's class).
var rtc_mp: MultiplayerPeer = WebRTCMesh.new_multiplayer_peer()
## STUN/TURN servers configured here; none (and no TURN server from the signaling server)
## means host candidates only (same machine or LAN).
var ice_servers: Array = []
## The TURN server (an iceServers entry) the signaling server gave us; empty if none.
var turn_server := {}
var sealed := false

## True while the answer to our TURN credentials request is awaited.
var _awaiting_turn := false
## Peers announced while the TURN answer is awaited: id -> [[kind, args...], ...] of what they
## sent meanwhile.
var _waiting := {}


func _init() -> void:
	connected.connect(_on_connected)
	disconnected.connect(_on_disconnected)
	offer_received.connect(_on_offer_received)
	answer_received.connect(_on_answer_received)
	candidate_received.connect(_on_candidate_received)
	lobby_sealed.connect(_on_lobby_sealed)
	peer_connected.connect(_on_peer_connected)
	peer_disconnected.connect(_on_peer_disconnected)
	turn_server_received.connect(_on_turn_server_received)


func start(url: String, lobby_name := "", use_mesh := true) -> void:
	stop()
	sealed = false
	mesh = use_mesh
	lobby = lobby_name
	connect_to_url(url)


func stop() -> void:
	multiplayer.multiplayer_peer = null
	rtc_mp.close()
	close()
	turn_server = {}
	_awaiting_turn = false
	_waiting.clear()


## The initialize() dictionary of a new connection: `ice_servers` plus the TURN server the
## signaling server gave us.
func connection_config() -> Dictionary:
	var servers := ice_servers.duplicate()
	if not turn_server.is_empty():
		servers.append(turn_server)
	return {"iceServers": servers}


func _on_connected(id: int, use_mesh: bool) -> void:
	_awaiting_turn = ask_for_turn
	if use_mesh:
		rtc_mp.create_mesh(id)
	elif id == 1:
		rtc_mp.create_server()
	else:
		rtc_mp.create_client(id)
	multiplayer.multiplayer_peer = rtc_mp


func _on_disconnected() -> void:
	# A sealed lobby is closed by the server later; the mesh goes on without it.
	if not sealed:
		stop()


func _on_lobby_sealed() -> void:
	sealed = true


func _on_turn_server_received(server: Dictionary) -> void:
	turn_server = server
	if not _awaiting_turn:
		return
	_awaiting_turn = false
	var waiting := _waiting
	_waiting = {}
	for id: int in waiting:
		_add_connection(id)
		for early: Array in waiting[id]:
			match early[0]:
				"offer":
					_on_offer_received(id, early[1])
				"candidate":
					_on_candidate_received(id, early[1], early[2], early[3])


func _on_peer_connected(id: int) -> void:
	if _awaiting_turn:
		_waiting[id] = []
	else:
		_add_connection(id)


func _add_connection(id: int) -> void:
	var peer := WebRTCPeerConnection.new()
	peer.initialize(connection_config())
	peer.session_description_created.connect(_on_description_created.bind(id))
	peer.ice_candidate_created.connect(_on_candidate_created.bind(id))
	connection_created.emit(id, peer)
	rtc_mp.add_peer(peer, id)
	# The peer with the larger id offers, so the lobby's host never has to.
	if id < rtc_mp.get_unique_id():
		peer.create_offer()


## Keeps what peer `id` sent while its connection waits for the TURN answer; false when there
## is no such wait.
func _keep_early(id: int, message: Array) -> bool:
	if not _waiting.has(id):
		return false
	if _waiting[id].size() < MAX_EARLY_MESSAGES:
		_waiting[id].append(message)
	return true


func _on_peer_disconnected(id: int) -> void:
	_waiting.erase(id)
	if rtc_mp.has_peer(id):
		rtc_mp.remove_peer(id)


func _on_description_created(type: String, sdp: String, id: int) -> void:
	if not rtc_mp.has_peer(id):
		return
	rtc_mp.get_peer(id).connection.set_local_description(type, sdp)
	if type == "offer":
		send_offer(id, sdp)
	else:
		send_answer(id, sdp)


func _on_candidate_created(mid: String, index: int, sdp: String, id: int) -> void:
	send_candidate(id, mid, index, sdp)


func _on_offer_received(id: int, offer: String) -> void:
	if _keep_early(id, ["offer", offer]):
		return
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.set_remote_description("offer", offer)


func _on_answer_received(id: int, answer: String) -> void:
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.set_remote_description("answer", answer)


func _on_candidate_received(id: int, mid: String, index: int, sdp: String) -> void:
	if _keep_early(id, ["candidate", mid, index, sdp]):
		return
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.add_ice_candidate(mid, index, sdp)
