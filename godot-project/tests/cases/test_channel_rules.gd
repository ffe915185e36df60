## create_data_channel follows the W3C steps, and Godot's webrtc_minimal demo pattern works:
## its minimal.gd creates negotiated channel 1 a second time on the same connection.
extends "res://tests/test_case.gd"


func test_minimal_demo_pattern_refuses_the_second_channel_and_keeps_the_first() -> void:
	# As in the engine's demo: no initialize(), one channel per side, then the same id again.
	var p1 := WebRTCPeerConnection.new()
	var p2 := WebRTCPeerConnection.new()
	var ch1 := p1.create_data_channel("chat", {"id": 1, "negotiated": true})
	var ch2 := p2.create_data_channel("chat", {"id": 1, "negotiated": true})
	var again := p1.create_data_channel("chat", {"id": 1, "negotiated": true})
	check(again == null, "a second channel with id 1 on the same connection is refused (null)")
	Wire.link(p1, p2)
	p1.create_offer()
	var pair := [p1, p2]
	var open := func():
		return ch1.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
			and ch2.get_ready_state() == WebRTCDataChannel.STATE_OPEN
	if not await wait_until(open, pair, 10.0, "the first channels open"):
		return
	ch1.put_packet("Hi from P1".to_utf8_buffer())
	if await wait_until(func(): return ch2.get_available_packet_count() > 0, pair, 5.0, "P2 receives"):
		check_eq(ch2.get_packet().get_string_from_utf8(), "Hi from P1", "P2 received: Hi from P1")
	ch2.put_packet("Hi from P2".to_utf8_buffer())
	if await wait_until(func(): return ch1.get_available_packet_count() > 0, pair, 5.0, "P1 receives"):
		check_eq(ch1.get_packet().get_string_from_utf8(), "Hi from P2", "P1 received: Hi from P2")
	p1.close()
	p2.close()


func test_a_closed_channel_frees_its_id() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	check(o.p1.create_data_channel("again", {"id": 1, "negotiated": true}) == null,
		"id 1 is taken while open")
	check(o.p1.create_data_channel("other", {"id": 6, "negotiated": true}) != null, "id 6 is free")
	o.ch1.close()
	var closed := func(): return o.ch1.get_ready_state() == WebRTCDataChannel.STATE_CLOSED
	if await wait_until(closed, o.pair, 5.0, "the channel closes"):
		check(o.p1.create_data_channel("again", {"id": 1, "negotiated": true}) != null,
			"then id 1 is free again")
	o.p1.close()
	o.p2.close()


func test_the_w3c_type_checks() -> void:
	var peer := WebRTCPeerConnection.new()
	peer.initialize({})
	check(peer.create_data_channel("x", {"id": 65535, "negotiated": true}) == null,
		"id 65535 is reserved")
	check(peer.create_data_channel("x", {"id": 70000, "negotiated": true}) == null,
		"an id above 65535 is refused")
	check(peer.create_data_channel("x", {"id": -1, "negotiated": true}) == null,
		"a negative id is refused")
	check(peer.create_data_channel("x", {"id": 65534, "negotiated": true}) != null,
		"65534 is the largest id")
	check(peer.create_data_channel("x", {"negotiated": true}) == null,
		"a negotiated channel needs an id")
	var both := {"maxPacketLifeTime": 100, "maxRetransmits": 3}
	check(peer.create_data_channel("x", both) == null,
		"maxPacketLifeTime and maxRetransmits together are refused")
	var long_label := "l".repeat(65536)
	check(peer.create_data_channel(long_label, {}) == null, "a label over 65535 bytes is refused")
	check(peer.create_data_channel("l".repeat(65535), {}) != null,
		"a label of 65535 bytes is accepted")
	var long_protocol := {"protocol": "p".repeat(65536)}
	check(peer.create_data_channel("x", long_protocol) == null,
		"a protocol over 65535 bytes is refused")
	# UTF-8 bytes count, not characters: 21846 three-byte characters are 65538 bytes.
	check(peer.create_data_channel("€".repeat(21846), {}) == null,
		"the label limit counts UTF-8 bytes")
	peer.close()
