## The demo's MultiplayerClient as the netlab needs it: every connection gets the whole
## initialize() dictionary (the ICE servers plus `extra_config`, e.g. iceTransportPolicy), each
## connection is announced with `connection_created` so its states can be read even after the
## mesh drops it, and the mesh outlives the signaling connection.
extends MultiplayerClient

signal connection_created(id: int, connection: WebRTCPeerConnection)

## initialize() keys besides iceServers.
var extra_config := {}


func _on_peer_connected(id: int) -> void:
	var config := extra_config.duplicate()
	config["iceServers"] = ice_servers
	var peer := WebRTCPeerConnection.new()
	peer.initialize(config)
	peer.session_description_created.connect(_on_description_created.bind(id))
	peer.ice_candidate_created.connect(_on_candidate_created.bind(id))
	connection_created.emit(id, peer)
	rtc_mp.add_peer(peer, id)
	# The newer peer offers, as in MultiplayerClient.
	if id < rtc_mp.get_unique_id():
		peer.create_offer()


func _on_disconnected() -> void:
	# The lobby is sealed once everyone joined; the mesh goes on without the server.
	pass
