## Signaling for connections in one process: what one side creates goes to the other. Used by
## the tests, the benchmarks, the fault suite and the minimal demo.
extends RefCounted


## Wires `a` and `b` to each other: each one's descriptions and candidates go to the other.
static func link(a: WebRTCPeerConnection, b: WebRTCPeerConnection) -> void:
	link_descriptions(a, b)
	a.ice_candidate_created.connect(b.add_ice_candidate)
	b.ice_candidate_created.connect(a.add_ice_candidate)


## Wires the descriptions of `a` and `b` only: their candidates go nowhere (the caller passes
## them on its own way, or not at all).
static func link_descriptions(a: WebRTCPeerConnection, b: WebRTCPeerConnection) -> void:
	a.session_description_created.connect(a.set_local_description)
	a.session_description_created.connect(b.set_remote_description)
	b.session_description_created.connect(b.set_local_description)
	b.session_description_created.connect(a.set_remote_description)


## Two new connections, initialized with `config` and wired to each other.
static func pair(config := {}) -> Array[WebRTCPeerConnection]:
	var a := WebRTCPeerConnection.new()
	var b := WebRTCPeerConnection.new()
	a.initialize(config)
	b.initialize(config)
	link(a, b)
	return [a, b]


## Connects two multiplayer peers (WebRTCMultiplayerPeer or WebRTCMultiplayerPeerRs) over a new
## wired pair of connections: `a` adds the peer `b_id` on one, `b` adds `a_id` on the other, and
## `a`'s connection offers. Returns the two add_peer results and the two connections:
## [a's result, b's result, a's connection, b's connection].
static func join(a: Object, a_id: int, b: Object, b_id: int, unreliable_lifetime := 1) -> Array:
	var connections := pair()
	var added_a: Error = a.add_peer(connections[0], b_id, unreliable_lifetime)
	var added_b: Error = b.add_peer(connections[1], a_id, unreliable_lifetime)
	connections[0].create_offer()
	return [added_a, added_b, connections[0], connections[1]]
