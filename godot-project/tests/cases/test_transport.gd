## The pure-Rust transport as a GDScript user sees it through WebRTCPeerConnection.
extends "res://tests/test_case.gd"


func test_default_extension_is_ours() -> void:
	var peer := WebRTCPeerConnection.new()
	check_eq(peer.get_class(), "WebRTCPeerConnectionRs",
		"WebRTCPeerConnection.new() creates our class")
	check_eq(peer.initialize({}), OK, "initialize({}) succeeds")
	check_eq(peer.get_connection_state(), WebRTCPeerConnection.STATE_NEW,
		"a new connection is STATE_NEW")
	check_eq(peer.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE,
		"and signaling is stable")
	peer.close()
	check_eq(peer.get_connection_state(), WebRTCPeerConnection.STATE_CLOSED,
		"close() makes it STATE_CLOSED")


func test_minimal_demo_exchanges_text_and_binary_both_ways() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	check_eq(o.p1.get_connection_state(), WebRTCPeerConnection.STATE_CONNECTED, "p1 is connected")
	check_eq(o.p2.get_connection_state(), WebRTCPeerConnection.STATE_CONNECTED, "p2 is connected")
	o.ch1.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	check_eq(o.ch1.put_packet("Hi from P1".to_utf8_buffer()), OK, "p1 sends text")
	check_eq(o.ch2.put_packet(PackedByteArray([0, 1, 2, 255])), OK, "p2 sends binary")
	var p2_has_packet := func(): return o.ch2.get_available_packet_count() > 0
	if await wait_until(p2_has_packet, o.pair, 5.0, "p2 receives"):
		check_eq(o.ch2.get_packet().get_string_from_utf8(), "Hi from P1", "the text arrives")
		check(o.ch2.was_string_packet(), "and is flagged as text")
	var p1_has_packet := func(): return o.ch1.get_available_packet_count() > 0
	if await wait_until(p1_has_packet, o.pair, 5.0, "p1 receives"):
		check_eq(o.ch1.get_packet(), PackedByteArray([0, 1, 2, 255]), "the bytes arrive")
		check(not o.ch1.was_string_packet(), "and are flagged as binary")
	o.p1.close()
	o.p2.close()


func test_in_band_channel_arrives_through_data_channel_received() -> void:
	var pair := connected_pair()
	var p1: WebRTCPeerConnection = pair[0]
	var p2: WebRTCPeerConnection = pair[1]
	var received: Array = []
	p2.data_channel_received.connect(func(channel): received.append(channel))
	var ch1 := p1.create_data_channel("lobby", {"ordered": false, "protocol": "game"})
	p1.create_offer()
	var one_received := func(): return received.size() == 1
	if not await wait_until(one_received, pair, 10.0, "data_channel_received fires once"):
		return
	var ch2: WebRTCDataChannel = received[0]
	check_eq(ch2.get_label(), "lobby", "with the label")
	check_eq(ch2.get_protocol(), "game", "and the protocol")
	check(not ch2.is_ordered(), "and unordered delivery")
	check(not ch2.is_negotiated(), "and not negotiated")
	var open := func():
		return ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
			and ch2.get_ready_state() == WebRTCDataChannel.STATE_OPEN
	if await wait_until(open, pair, 10.0, "both ends open"):
		ch2.put_packet("pong".to_utf8_buffer())
		var replied := func(): return ch1.get_available_packet_count() == 1
		if await wait_until(replied, pair, 5.0, "the reply arrives"):
			check_eq(ch1.get_packet().get_string_from_utf8(), "pong", "intact")
	p1.close()
	p2.close()


func test_channel_getters_report_the_options_given() -> void:
	var peer := WebRTCPeerConnection.new()
	peer.initialize({})
	var options := {"negotiated": true, "id": 7, "protocol": "p"}
	var reliable := peer.create_data_channel("reliable", options)
	check_eq(reliable.get_label(), "reliable", "label")
	check_eq(reliable.get_id(), 7, "id")
	check(reliable.is_negotiated(), "negotiated")
	check(reliable.is_ordered(), "ordered by default")
	check_eq(reliable.get_protocol(), "p", "protocol")
	check_eq(reliable.get_max_packet_life_time(), -1, "no lifetime")
	check_eq(reliable.get_max_retransmits(), -1, "no retransmit limit")
	check_eq(reliable.get_ready_state(), WebRTCDataChannel.STATE_CONNECTING,
		"connecting before the connection is up")
	check_eq(reliable.write_mode, WebRTCDataChannel.WRITE_MODE_BINARY, "binary write mode by default")
	var timed := peer.create_data_channel("a", {"ordered": false, "maxPacketLifeTime": 500})
	check_eq(timed.get_max_packet_life_time(), 500, "maxPacketLifeTime")
	check(not timed.is_ordered(), "unordered")
	var engine_spelling := peer.create_data_channel("b", {"maxPacketLifetime": 1})
	check_eq(engine_spelling.get_max_packet_life_time(), 1,
		"maxPacketLifetime (the engine's spelling)")
	var counted := peer.create_data_channel("c", {"maxRetransmits": 3})
	check_eq(counted.get_max_retransmits(), 3, "maxRetransmits")
	check_eq(counted.get_id(), -1, "an in-band channel has no id before it opens")
	peer.close()


func test_bad_input_returns_errors() -> void:
	var peer := WebRTCPeerConnection.new()
	check_eq(peer.initialize({"iceServers": "stun:x"}), ERR_INVALID_PARAMETER,
		"iceServers that is not an Array")
	check_eq(peer.initialize({"iceServers": [{"urls": "http://nope"}]}), ERR_INVALID_PARAMETER,
		"an ICE server URL that is not stun/turn")
	check_eq(peer.initialize({"iceServers": [{"urls": ["turn:example.org"]}]}), ERR_INVALID_PARAMETER,
		"TURN without credentials")
	check_eq(peer.initialize({"iceServers": [{"nourls": 1}]}), ERR_INVALID_PARAMETER,
		"an ICE server without urls")
	check_eq(peer.initialize({"bindAddress": "not-an-ip"}), ERR_INVALID_PARAMETER,
		"a bind address that is not an IP")
	check_eq(peer.initialize({"iceServers": [{"urls": ["stun:stun.example.org:3478"]}]}), OK,
		"a valid STUN server")
	check(peer.create_data_channel("x", {"maxPacketLifeTime": 1, "maxRetransmits": 1}) == null,
		"lifetime and retransmits together")
	check(peer.create_data_channel("x", {"negotiated": true}) == null, "negotiated without an id")
	check(peer.create_data_channel("x", {"negotiated": true, "id": 70000}) == null,
		"an id out of range")
	check(peer.create_data_channel("x", {"ordered": "yes"}) == null, "ordered of the wrong type")
	check_eq(peer.set_remote_description("offer", "garbage"), ERR_INVALID_PARAMETER, "malformed SDP")
	check_eq(peer.set_remote_description("bogus", "v=0"), ERR_INVALID_PARAMETER,
		"unknown description type")
	check_eq(peer.set_local_description("offer", ""), ERR_INVALID_PARAMETER, "empty local SDP")
	check_eq(peer.add_ice_candidate("0", 0, "candidate:garbage"), ERR_INVALID_PARAMETER,
		"malformed candidate")
	check_eq(peer.add_ice_candidate("0", -1, "candidate:1 1 udp 1 127.0.0.1 9 typ host"),
		ERR_INVALID_PARAMETER, "negative media index")
	var channel := peer.create_data_channel("x", {"negotiated": true, "id": 1})
	check_eq(channel.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED,
		"sending before the channel opens")
	peer.close()
	check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED,
		"closing the connection closes its channels")
	check_eq(channel.put_packet(PackedByteArray([1])), ERR_UNCONFIGURED, "sending on a closed channel")
	check(peer.create_data_channel("late", {}) == null, "creating a channel on a closed connection")
	check(peer.create_offer() != OK, "create_offer on a closed connection")
	check_eq(channel.get_packet().size(), 0, "get_packet with nothing queued returns nothing")


func test_oversized_packet_is_refused_and_the_largest_arrives() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	# WebRTCDataChannel does not expose get_max_packet_size() to scripts; between two of our
	# connections it is the SCTP default of 64 KiB.
	var largest := PackedByteArray()
	largest.resize(65536)
	largest.fill(42)
	var too_big := largest.duplicate()
	too_big.append(1)
	check_eq(o.ch1.put_packet(too_big), ERR_INVALID_PARAMETER,
		"a packet over the maximum size is refused")
	check_eq(o.ch1.put_packet(largest), OK, "the largest packet is accepted")
	var arrived := func(): return o.ch2.get_available_packet_count() == 1
	if await wait_until(arrived, o.pair, 5.0, "and arrives"):
		check_eq(o.ch2.get_packet().size(), largest.size(), "whole")
	o.p1.close()
	o.p2.close()


func test_thousand_ordered_messages_and_remote_close() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	var started := Time.get_ticks_usec()
	for i in 1000:
		o.ch1.put_packet(var_to_bytes(i))
	var got: Array = []
	var collect := func():
		while o.ch2.get_available_packet_count() > 0:
			got.append(bytes_to_var(o.ch2.get_packet()))
		return got.size() >= 1000
	if await wait_until(collect, o.pair, 10.0, "1000 messages arrive"):
		var seconds := (Time.get_ticks_usec() - started) / 1e6
		print("   1000 reliable messages in %.3f s (%.0f msg/s)" % [seconds, 1000 / seconds])
		check_eq(got, range(1000), "complete and in order")
	o.p1.close()
	var noticed := func():
		return o.ch2.get_ready_state() == WebRTCDataChannel.STATE_CLOSED \
			or o.p2.get_connection_state() != WebRTCPeerConnection.STATE_CONNECTED
	await wait_until(noticed, [o.p2], 10.0, "the other side notices the close")
	o.p2.close()
