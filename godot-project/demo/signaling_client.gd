## WebSocket client of the signaling protocol shared with Godot's webrtc_signaling demo:
## JSON text frames {type, id, data}. Emits one signal per server message.
## Once given an id in a lobby it asks the server for TURN credentials (TURN_CREDENTIALS, not in
## Godot's demo: set `ask_for_turn` false for a server that does not know it), and asks again
## when half their lifetime is spent, so connections made later get fresh ones.
class_name SignalingClient
extends Node

signal lobby_joined(lobby: String)
signal connected(id: int, use_mesh: bool)
signal disconnected()
signal peer_connected(id: int)
signal peer_disconnected(id: int)
signal offer_received(id: int, offer: String)
signal answer_received(id: int, answer: String)
signal candidate_received(id: int, mid: String, index: int, sdp: String)
signal lobby_sealed()
## The server's answer to a TURN credentials request: an iceServers entry ({urls, username,
## credential}), empty when the server has none to give.
signal turn_server_received(server: Dictionary)

enum Message {
	JOIN, ID, PEER_CONNECT, PEER_DISCONNECT, OFFER, ANSWER, CANDIDATE, SEAL, TURN_CREDENTIALS,
}

## Shortest wait before asking for TURN credentials again, in seconds (the server's shortest
## lifetime is 60 s, so half of it).
const TURN_REFRESH_MIN_S := 30.0

## Create or join a mesh lobby (true) or a client/server one (false).
var mesh := true
## The lobby to join once connected ("" creates one).
var lobby := ""
var close_code := 1000
var close_reason := ""
## Ask for TURN credentials once in a lobby.
var ask_for_turn := true

var _ws := WebSocketPeer.new()
var _old_state := WebSocketPeer.STATE_CLOSED
## When to ask for TURN credentials again (Time.get_ticks_msec()), -1 for never.
var _turn_refresh_msec := -1


func connect_to_url(url: String) -> Error:
	close()
	close_code = 1000
	close_reason = ""
	_turn_refresh_msec = -1
	return _ws.connect_to_url(url)


func close() -> void:
	_ws.close()


func _process(_delta: float) -> void:
	_ws.poll()
	var state := _ws.get_ready_state()
	if state != _old_state and state == WebSocketPeer.STATE_OPEN:
		join_lobby(lobby)
	while state == WebSocketPeer.STATE_OPEN and _ws.get_available_packet_count() > 0:
		if not _parse_message():
			print("signaling: ignored a malformed message")
	if state == WebSocketPeer.STATE_OPEN and _turn_refresh_msec >= 0 \
			and Time.get_ticks_msec() >= _turn_refresh_msec:
		_turn_refresh_msec = -1
		request_turn_credentials()
	if state != _old_state and state == WebSocketPeer.STATE_CLOSED:
		close_code = _ws.get_close_code()
		close_reason = _ws.get_close_reason()
		disconnected.emit()
	_old_state = state


func _parse_message() -> bool:
	var parsed = JSON.parse_string(_ws.get_packet().get_string_from_utf8())
	if typeof(parsed) != TYPE_DICTIONARY or not parsed.has("type") or not parsed.has("id") \
			or typeof(parsed.get("data")) != TYPE_STRING:
		return false
	var id := int(parsed.id)
	var data: String = parsed.data
	match int(parsed.type):
		Message.ID:
			connected.emit(id, data == "true")
			if ask_for_turn:
				request_turn_credentials()
		Message.TURN_CREDENTIALS:
			return _take_turn_credentials(data)
		Message.JOIN:
			lobby_joined.emit(data)
		Message.SEAL:
			lobby_sealed.emit()
		Message.PEER_CONNECT:
			peer_connected.emit(id)
		Message.PEER_DISCONNECT:
			peer_disconnected.emit(id)
		Message.OFFER:
			offer_received.emit(id, data)
		Message.ANSWER:
			answer_received.emit(id, data)
		Message.CANDIDATE:
			var parts := data.split("\n", false)
			if parts.size() != 3 or not parts[1].is_valid_int():
				return false
			candidate_received.emit(id, parts[0], int(parts[1]), parts[2])
		_:
			return false
	return true


## Reads the answer to a TURN credentials request; emits turn_server_received even when it is
## empty or malformed (then with {}), so that nothing waits for it for ever.
func _take_turn_credentials(data: String) -> bool:
	if data == "":
		turn_server_received.emit({})
		return true
	var parsed = JSON.parse_string(data)
	var valid := typeof(parsed) == TYPE_DICTIONARY and typeof(parsed.get("urls")) == TYPE_ARRAY \
			and typeof(parsed.get("username")) == TYPE_STRING \
			and typeof(parsed.get("credential")) == TYPE_STRING
	if not valid:
		turn_server_received.emit({})
		return false
	var ttl := float(parsed.get("ttl", 0.0))
	if ttl > 0.0:
		_turn_refresh_msec = Time.get_ticks_msec() + int(maxf(TURN_REFRESH_MIN_S, ttl / 2.0) * 1000.0)
	turn_server_received.emit(
		{"urls": parsed.urls, "username": parsed.username, "credential": parsed.credential}
	)
	return true


func join_lobby(name: String) -> Error:
	return _send(Message.JOIN, 0 if mesh else 1, name)


## Asks the server for TURN credentials (answered by turn_server_received); only a lobby member
## may ask.
func request_turn_credentials() -> Error:
	return _send(Message.TURN_CREDENTIALS, 0)


func seal_lobby() -> Error:
	return _send(Message.SEAL, 0)


func send_candidate(id: int, mid: String, index: int, sdp: String) -> Error:
	return _send(Message.CANDIDATE, id, "\n%s\n%d\n%s" % [mid, index, sdp])


func send_offer(id: int, offer: String) -> Error:
	return _send(Message.OFFER, id, offer)


func send_answer(id: int, answer: String) -> Error:
	return _send(Message.ANSWER, id, answer)


## Sends one message; ERR_UNCONFIGURED, quietly, when the socket is not open (a mesh goes on
## making candidates after a sealed lobby's server closed the socket).
func _send(type: int, id: int, data := "") -> Error:
	if _ws.get_ready_state() != WebSocketPeer.STATE_OPEN:
		return ERR_UNCONFIGURED
	return _ws.send_text(JSON.stringify({"type": type, "id": id, "data": data}))
