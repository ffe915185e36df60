## Resident memory of a mesh member flooded by a connected peer (issue 19's attack), in one
## process: peer 1 sends 16 KiB messages as fast as its channel takes them (at most 1 MiB
## unacknowledged, so the sender's own memory stays flat) for 8 s; peer 2 polls every frame and
## never reads a packet.
##
##   godot --headless --path godot-project --script res://faults/flood_memory.gd \
##       -- --flood in-band (or negotiated, or unreliable) [--seconds 8]
##
## in-band: peer 1 opens a channel of its own (not negotiated) on its connection to peer 2 and
## floods it; nothing reads it (the mesh does not hand it to the game). negotiated: peer 1 floods
## the mesh's reliable channel (put_packet to peer 2); unreliable: its unreliable channel (which
## keeps the newest packets, so the flood lasts). Prints one FLOOD line: bytes sent, the
## resident memory before, at its highest and at the end, and peer 2's view of peer 1. Exits 1
## when the memory grew more than GROWTH_LIMIT_KB, or an in-band or unreliable flood cost peer 2
## its peer.
extends SceneTree

const Wire := preload("res://shared/wire.gd")
const Options := preload("res://shared/options.gd")

const MESSAGE_SIZE := 16 * 1024
const IN_FLIGHT := 1024 * 1024
## Growth allowed: what the limits let peer 1 make peer 2 hold (the channel's and the mesh's
## queues, 2 x 128 KiB per channel; rtc's 1 MiB SCTP receive buffer), what peer 1 holds to send
## (1 MiB here, 4 MiB at most), and the allocator's slack. Without the limits the flood grew
## the process by ~1 GiB.
const GROWTH_LIMIT_KB := 16 * 1024

var flood := "in-band"
var seconds := 8.0


func _initialize() -> void:
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var options := Options.new()
	flood = options.text("flood", flood)
	seconds = options.number("seconds", seconds)
	_run.call_deferred()


func _run() -> void:
	var peers := {}
	var disconnected := []
	for id in [1, 2]:
		var peer := WebRTCMultiplayerPeerRs.new()
		peer.create_mesh(id)
		peers[id] = peer
	peers[2].peer_disconnected.connect(func(id): disconnected.append(id))
	var one_two: WebRTCPeerConnection = Wire.join(peers[1], 1, peers[2], 2)[2]
	var deadline := Time.get_ticks_msec() + 15000
	while not (peers[1].get_peer(2)["connected"] and peers[2].get_peer(1)["connected"]):
		if Time.get_ticks_msec() > deadline:
			print("FLOOD %s: the peers did not connect" % flood)
			quit(1)
			return
		for peer in peers.values():
			peer.poll()
		await process_frame
	var channel: WebRTCDataChannel
	if flood == "in-band":
		channel = one_two.create_data_channel("flood", {})
	else:
		var unreliable := flood == "unreliable"
		channel = peers[1].get_peer(2)["channels"][2 if unreliable else 0]
		peers[1].set_target_peer(2)
		peers[1].transfer_mode = MultiplayerPeer.TRANSFER_MODE_UNRELIABLE if unreliable \
			else MultiplayerPeer.TRANSFER_MODE_RELIABLE
	var message := PackedByteArray()
	message.resize(MESSAGE_SIZE)
	# Settle, then the baseline.
	for i in 30:
		for peer in peers.values():
			peer.poll()
		await process_frame
	var before := _rss_kb()
	var highest := before
	var sent := 0
	var started := Time.get_ticks_msec()
	while Time.get_ticks_msec() - started < int(seconds * 1000):
		for peer in peers.values():
			peer.poll()
		if channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
			while channel.get_buffered_amount() < IN_FLIGHT:
				var result := OK
				if flood == "in-band":
					result = channel.put_packet(message)
				else:
					result = peers[1].put_packet(message)
				if result != OK:
					break
				sent += MESSAGE_SIZE
		highest = maxi(highest, _rss_kb())
		await process_frame
	var after := _rss_kb()
	var closed := channel.get_ready_state() == WebRTCDataChannel.STATE_CLOSED
	var figures := [flood, sent / 1048576, seconds, before / 1024, (highest - before) / 1024]
	print("FLOOD %s: %d MiB sent in %.0f s; resident memory %d MiB before, +%d MiB at most, " % figures
			+ "+%d MiB after; flooded channel closed: %s; peer 2 dropped peer 1: %s"
			% [(after - before) / 1024, closed, disconnected.has(1)])
	for peer in peers.values():
		peer.close()
	var kept_peer := flood == "negotiated" or not disconnected.has(1)
	quit(0 if highest - before <= GROWTH_LIMIT_KB and kept_peer else 1)


func _rss_kb() -> int:
	var status := FileAccess.open("/proc/self/status", FileAccess.READ)
	var lines := 0
	while status != null and not status.eof_reached() and lines < 100:
		var line := status.get_line()
		lines += 1
		if line.begins_with("VmRSS:"):
			return int(line.trim_prefix("VmRSS:").strip_edges().split(" ")[0])
	return 0
