## One game script for native platforms and web exports. A script that names a class the build
## lacks does not parse, and a web export has no library of this addon: there, only the engine's
## [WebRTCMultiplayerPeer] exists, running on the browser's WebRTC. So a script that ships to the
## web never names [code]WebRTCMultiplayerPeerRs[/code] or [code]WebRTCPeerConnectionRs[/code]; it
## gets its mesh peer here and types it [MultiplayerPeer]:
## [codeblock]
## var mesh: MultiplayerPeer = WebRTCMesh.new_multiplayer_peer()
## mesh.create_mesh(my_id)        # or create_server() / create_client(my_id)
## var connection := WebRTCPeerConnection.new()   # ours natively, the browser's on the web
## mesh.add_peer(connection, id)
## [/codeblock]
## Only the API both classes share is called on it (create_mesh, create_server, create_client,
## add_peer, remove_peer, has_peer, get_peer, get_peers and MultiplayerPeer's own); this addon's
## extras are feature-tested first: [code]if mesh.has_method(&"get_peer_stats")[/code].
class_name WebRTCMesh
extends RefCounted

## The addon's mesh class, registered only where its library is loaded.
const ADDON_PEER := &"WebRTCMultiplayerPeerRs"
## The addon's connection class (the default WebRTCPeerConnection where the library is loaded).
const ADDON_CONNECTION := &"WebRTCPeerConnectionRs"


## True where the addon's library is loaded (desktop and Android builds); false in a web export
## or wherever the library is missing.
static func is_extension_loaded() -> bool:
	return ClassDB.class_exists(ADDON_PEER)


## A new, unconfigured mesh peer: a [code]WebRTCMultiplayerPeerRs[/code] where the addon is
## loaded, else the engine's [WebRTCMultiplayerPeer] (in a browser, on the browser's WebRTC).
## [param engine_class] true always gives the engine's class, which is what a browser runs: to try
## a game's web code path on a desktop (natively it then runs over this addon's connections).
static func new_multiplayer_peer(engine_class := false) -> MultiplayerPeer:
	if engine_class or not is_extension_loaded():
		return WebRTCMultiplayerPeer.new()
	return ClassDB.instantiate(ADDON_PEER)


## Sets the local IP address the addon's connections bind when their configuration names none
## ([code]WebRTCPeerConnectionRs.set_default_bind_address[/code]; "" for every interface).
## Returns its result, or [constant ERR_UNAVAILABLE] without the addon (a browser chooses its own
## addresses), which callers may ignore.
static func set_default_bind_address(address: String) -> Error:
	if not ClassDB.class_exists(ADDON_CONNECTION):
		return ERR_UNAVAILABLE
	# A static method answers through an instance too (ClassDB.class_call_static is Godot 4.4+,
	# the addon loads in 4.3); an unused connection holds no socket.
	return ClassDB.instantiate(ADDON_CONNECTION).call(&"set_default_bind_address", address)
