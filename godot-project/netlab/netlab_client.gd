## The demo's MultiplayerClient as the netlab needs it: every connection gets the whole
## initialize() dictionary (the ICE servers, the signaling server's TURN server if it gave one,
## plus `extra_config`, e.g. iceTransportPolicy), and the mesh outlives the signaling
## connection. Each connection is announced with `connection_created` (MultiplayerClient's), so
## its states can be read even after the mesh drops it.
extends MultiplayerClient

## initialize() keys besides iceServers.
var extra_config := {}


func connection_config() -> Dictionary:
	var config := extra_config.duplicate()
	config.merge(super())
	return config


func _on_disconnected() -> void:
	# The lobby is sealed once everyone joined; the mesh goes on without the server.
	pass
