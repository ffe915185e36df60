## Joins a signaling lobby and builds a WebRTCMultiplayerPeerRs mesh from it: one
## WebRTCPeerConnection per peer the server announces, offers and candidates relayed through it.
class_name MultiplayerClient
extends SignalingClient

## The mesh, set as this node's multiplayer peer once the server gives us an id.
var rtc_mp := WebRTCMultiplayerPeerRs.new()
## STUN/TURN servers; none means host candidates only (same machine or LAN).
var ice_servers: Array = []
var sealed := false


func _init() -> void:
	connected.connect(_on_connected)
	disconnected.connect(_on_disconnected)
	offer_received.connect(_on_offer_received)
	answer_received.connect(_on_answer_received)
	candidate_received.connect(_on_candidate_received)
	lobby_sealed.connect(_on_lobby_sealed)
	peer_connected.connect(_on_peer_connected)
	peer_disconnected.connect(_on_peer_disconnected)


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


func _on_connected(id: int, use_mesh: bool) -> void:
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


func _on_peer_connected(id: int) -> void:
	var peer := WebRTCPeerConnection.new()
	peer.initialize({"iceServers": ice_servers})
	peer.session_description_created.connect(_on_description_created.bind(id))
	peer.ice_candidate_created.connect(_on_candidate_created.bind(id))
	rtc_mp.add_peer(peer, id)
	# The newer peer offers, so the lobby's host never has to.
	if id < rtc_mp.get_unique_id():
		peer.create_offer()


func _on_peer_disconnected(id: int) -> void:
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
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.set_remote_description("offer", offer)


func _on_answer_received(id: int, answer: String) -> void:
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.set_remote_description("answer", answer)


func _on_candidate_received(id: int, mid: String, index: int, sdp: String) -> void:
	if rtc_mp.has_peer(id):
		rtc_mp.get_peer(id).connection.add_ice_candidate(mid, index, sdp)
