## The demo's MultiplayerClient and TURN credentials, driven through its SignalingClient signals
## (no server): connections wait for the answer to the TURN credentials request, what their
## peers send meanwhile is handed on, and each connection is initialized with the TURN server
## the answer gave.
extends "res://tests/test_case.gd"

const TURN := {"urls": ["turn:127.0.0.1:9?transport=udp"], "username": "1800000000:7",
	"credential": "c2VjcmV0"}


## A real offer from a connection of its own, for the client to receive.
func _offer() -> String:
	var offerer := WebRTCPeerConnection.new()
	offerer.initialize({})
	offerer.create_data_channel("probe", {"id": 1, "negotiated": true})
	var offers := []
	offerer.session_description_created.connect(func(_type, sdp): offers.append(sdp))
	offerer.create_offer()
	await wait_until(func(): return not offers.is_empty(), [offerer], 5.0, "an offer is made")
	offerer.close()
	return "" if offers.is_empty() else offers[0]


func _client(ask_for_turn: bool) -> MultiplayerClient:
	var client := MultiplayerClient.new()
	client.ask_for_turn = ask_for_turn
	tree.root.add_child(client)
	client.set_process(false)
	return client


func _end(client: MultiplayerClient) -> void:
	client.stop()
	client.free()


func test_connections_wait_for_the_turn_answer_and_get_its_server() -> void:
	var offer := await _offer()
	var client := _client(true)
	var created := []
	var descriptions := []
	var record := func(type, _sdp): descriptions.append(type)
	client.connection_created.connect(func(id, connection: WebRTCPeerConnection):
		created.append(id)
		connection.session_description_created.connect(record))
	client.connected.emit(7, true)
	# Peer 12 has the larger id, so it offers (and we answer).
	client.peer_connected.emit(12)
	client.peer_connected.emit(9)
	client.offer_received.emit(12, offer)
	client.candidate_received.emit(12, "0", 0, "candidate:1 1 udp 1 127.0.0.1 9 typ host")
	check(not client.rtc_mp.has_peer(12) and created.is_empty(),
		"no connection is made before the TURN answer")
	client.peer_disconnected.emit(9)
	client.turn_server_received.emit(TURN)
	check_eq(created, [12], "the answer makes the waiting peer's connection (not the one that left)")
	check_eq(client.connection_config(), {"iceServers": [TURN]},
		"connections are initialized with the TURN server the answer gave")
	check(client.rtc_mp.has_peer(12), "the mesh has the peer")
	if client.rtc_mp.has_peer(12):
		var connection: WebRTCPeerConnection = client.rtc_mp.get_peer(12).connection
		await wait_until(func(): return descriptions.has("answer"), [connection], 5.0,
			"the offer received while waiting was handed to the connection, which answers it")
	_end(client)


func test_an_empty_answer_keeps_only_the_configured_servers() -> void:
	var client := _client(true)
	var stun := {"urls": ["stun:127.0.0.1:9"]}
	client.ice_servers = [stun]
	client.connected.emit(7, true)
	client.peer_connected.emit(3)
	check(not client.rtc_mp.has_peer(3), "the connection waits for the answer")
	client.turn_server_received.emit({})
	check(client.rtc_mp.has_peer(3), "an empty answer makes the connection")
	check_eq(client.connection_config(), {"iceServers": [stun]}, "with the configured servers only")
	_end(client)


func test_without_asking_connections_are_made_at_once() -> void:
	var client := _client(false)
	client.connected.emit(7, true)
	client.peer_connected.emit(3)
	check(client.rtc_mp.has_peer(3), "the connection is made when the peer is announced")
	check_eq(client.connection_config(), {"iceServers": []}, "with no ICE server")
	_end(client)
