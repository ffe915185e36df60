## Signaling for two connections in one process: what one side creates goes to the other.
## Used by the tests, the benchmarks and the minimal demo.
extends RefCounted


static func link(a: WebRTCPeerConnection, b: WebRTCPeerConnection) -> void:
	a.session_description_created.connect(a.set_local_description)
	a.session_description_created.connect(b.set_remote_description)
	a.ice_candidate_created.connect(b.add_ice_candidate)
	b.session_description_created.connect(b.set_local_description)
	b.session_description_created.connect(a.set_remote_description)
	b.ice_candidate_created.connect(a.add_ice_candidate)
