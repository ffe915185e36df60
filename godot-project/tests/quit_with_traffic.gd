## Quits the engine while two connections are open and a transfer is in flight.
## Prints "QUIT_AT <unix ms>" just before quitting; tools/test checks the process is gone
## within 2 s of that and exits with code 0.
extends SceneTree

const Wire := preload("res://shared/wire.gd")

var pair: Array
var channels: Array
var started_traffic := 0


func _initialize() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	pair = Wire.pair()
	var p1: WebRTCPeerConnection = pair[0]
	var p2: WebRTCPeerConnection = pair[1]
	channels = [p1.create_data_channel("bulk", {"id": 1, "negotiated": true}),
		p2.create_data_channel("bulk", {"id": 1, "negotiated": true})]
	p1.create_offer()


func _process(_delta: float) -> bool:
	for peer in pair:
		peer.poll()
	var open: bool = channels.all(func(c): return c.get_ready_state() == WebRTCDataChannel.STATE_OPEN)
	if not open:
		return false
	if started_traffic == 0:
		started_traffic = Time.get_ticks_msec()
	var chunk := PackedByteArray()
	chunk.resize(16384)
	for i in 64:
		channels[0].put_packet(chunk)
		channels[1].put_packet(chunk)
	if Time.get_ticks_msec() - started_traffic > 1000:
		print("QUIT_AT %d" % int(Time.get_unix_time_from_system() * 1000))
		quit(0)
	return false
