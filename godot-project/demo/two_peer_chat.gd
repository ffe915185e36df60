## Two peers in one process chat over the addon's WebRTC transport, headless:
##   godot --headless --path godot-project --script res://demo/two_peer_chat.gd
## The last line is "two_peer_chat: ok ..." (exit code 0) once each side has received the
## other's lines, or "two_peer_chat: FAILED ..." (exit code 1) after 15 s without.
## tools/check-two-peer-chat runs it and checks that output.
extends SceneTree

const Wire := preload("res://shared/wire.gd")

const NAMES := ["alice", "bob"]
const LINES := ["Hello from Alice", "Hi Alice, Bob here", "WebRTC without a C++ plugin!", "Bye"]
const TIMEOUT_MSEC := 15000

var peers: Array[WebRTCPeerConnection] = []
var channels: Array[WebRTCDataChannel] = []
## The lines each side received: received[0] is alice's, received[1] bob's.
var received := [[], []]
var sent := 0
var started := 0
var finished := false


func _initialize() -> void:
	# Keep the demo's traffic on this machine.
	WebRTCMesh.set_default_bind_address("127.0.0.1")
	var alice := WebRTCPeerConnection.new()
	var bob := WebRTCPeerConnection.new()
	print("WebRTCPeerConnection.new() is a %s" % alice.get_class())
	alice.initialize({"iceServers": []})
	bob.initialize({"iceServers": []})
	# Signaling, wired directly: each side's descriptions and candidates go to the other.
	Wire.link(alice, bob)
	channels.append(alice.create_data_channel("chat", {"id": 1, "negotiated": true}))
	channels.append(bob.create_data_channel("chat", {"id": 1, "negotiated": true}))
	for channel in channels:
		channel.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	peers.append(alice)
	peers.append(bob)
	started = Time.get_ticks_msec()
	alice.create_offer()


func _process(_delta: float) -> bool:
	if finished:
		return false
	for peer in peers:
		peer.poll()
	for i in 2:
		while channels[i].get_available_packet_count() > 0:
			var text := channels[i].get_packet().get_string_from_utf8()
			received[i].append(text)
			print("%s <- %s" % [NAMES[i], text])
	var open := true
	for channel in channels:
		if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
			open = false
	if open and sent < LINES.size():
		if sent == 0:
			print("channel open after %d ms" % (Time.get_ticks_msec() - started))
		# Alice says the even lines, Bob the odd ones.
		var speaker := sent % 2
		print("%s -> %s" % [NAMES[speaker], LINES[sent]])
		channels[speaker].put_packet(LINES[sent].to_utf8_buffer())
		sent += 1
	var for_alice := [LINES[1], LINES[3]]
	var for_bob := [LINES[0], LINES[2]]
	if received[0] == for_alice and received[1] == for_bob:
		_finish(true)
	elif Time.get_ticks_msec() - started > TIMEOUT_MSEC:
		_finish(false)
	return false


func _finish(ok: bool) -> void:
	finished = true
	var counts := "%d sent, alice received %d, bob received %d" % [
		sent, received[0].size(), received[1].size()
	]
	var elapsed := Time.get_ticks_msec() - started
	for peer in peers:
		peer.close()
	if ok:
		print("two_peer_chat: ok, %s in %d ms" % [counts, elapsed])
		quit(0)
	else:
		printerr("two_peer_chat: FAILED after %d ms: %s" % [elapsed, counts])
		quit(1)
