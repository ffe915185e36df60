## Two peers in one process chat over the addon's WebRTC transport, headless.
## Run: tools/demo   (or: godot --headless --path godot-project --script res://demo/two_peer_chat.gd)
extends SceneTree

const Wire := preload("res://shared/wire.gd")

const LINES := ["Hello from Alice", "Hi Alice, Bob here", "WebRTC without a C++ plugin!", "Bye"]

var peers: Array
var channels: Array
var sent := 0
var received := 0
var started := 0


func _initialize() -> void:
	# Keep the demo's traffic on this machine.
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var alice := WebRTCPeerConnection.new()
	var bob := WebRTCPeerConnection.new()
	print("WebRTCPeerConnection.new() is a %s" % alice.get_class())
	for peer in [alice, bob]:
		peer.initialize({"iceServers": []})
	# Signaling, wired directly: each side's descriptions and candidates go to the other.
	Wire.link(alice, bob)
	channels = [alice.create_data_channel("chat", {"id": 1, "negotiated": true}),
		bob.create_data_channel("chat", {"id": 1, "negotiated": true})]
	for channel in channels:
		channel.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	peers = [alice, bob]
	started = Time.get_ticks_msec()
	alice.create_offer()


func _process(_delta: float) -> bool:
	for peer in peers:
		peer.poll()
	var names := ["alice", "bob"]
	for i in 2:
		while channels[i].get_available_packet_count() > 0:
			var text: String = channels[i].get_packet().get_string_from_utf8()
			received += 1
			print("%s <- %s" % [names[i], text])
	var open: bool = channels.all(func(c): return c.get_ready_state() == WebRTCDataChannel.STATE_OPEN)
	if open and sent < LINES.size():
		if sent == 0:
			print("channel open after %d ms" % (Time.get_ticks_msec() - started))
		var speaker := sent % 2
		print("%s -> %s" % [names[speaker], LINES[sent]])
		channels[speaker].put_packet(LINES[sent].to_utf8_buffer())
		sent += 1
	if received == LINES.size():
		print("chat done: %d messages sent, %d received" % [sent, received])
		quit(0)
	elif Time.get_ticks_msec() - started > 15000:
		printerr("chat timed out: %d sent, %d received" % [sent, received])
		quit(1)
	return false
