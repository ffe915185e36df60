## A connection takes at most 64 remote ICE candidates (trickled ones and those in remote
## descriptions together); past that, add_ice_candidate refuses with ERR_INVALID_PARAMETER (and
## one push_error), and the connection still works.
extends "res://tests/test_case.gd"

## The transport's cap (transport::MAX_REMOTE_CANDIDATES).
const MAX_REMOTE_CANDIDATES := 64


func test_candidates_past_the_cap_are_refused_with_an_error_code() -> void:
	var peer := WebRTCPeerConnection.new()
	check_eq(peer.initialize({"bindAddress": "127.0.0.1"}), OK, "initialize")
	var taken := 0
	for n in MAX_REMOTE_CANDIDATES:
		var line := "candidate:%d 1 udp %d 127.0.0.1 %d typ host" % [n, 2000000000 - n, 20000 + n]
		if peer.add_ice_candidate("0", 0, line) == OK:
			taken += 1
	check_eq(taken, MAX_REMOTE_CANDIDATES, "candidates up to the cap are taken")
	check_eq(peer.add_ice_candidate("0", 0, "candidate:999 1 udp 1 127.0.0.1 29999 typ host"),
		ERR_INVALID_PARAMETER, "the next one is refused")
	peer.close()


func test_a_pair_still_connects_after_the_cap_was_reached() -> void:
	var o := await open_channel_pair()
	if o.is_empty():
		return
	var line := "candidate:999 1 udp 1 127.0.0.1 29999 typ host"
	var refused := false
	for n in MAX_REMOTE_CANDIDATES + 1:
		if o.p1.add_ice_candidate("0", 0, line.replace("29999", str(30000 + n))) == ERR_INVALID_PARAMETER:
			refused = true
			break
	check(refused, "a connected pair refuses candidates past the cap too")
	check_eq(o.ch2.put_packet(PackedByteArray([7])), OK, "p2 sends")
	var p1_has_packet := func(): return o.ch1.get_available_packet_count() > 0
	if await wait_until(p1_has_packet, o.pair, 5.0, "p1 receives after the refusals"):
		check_eq(o.ch1.get_packet(), PackedByteArray([7]), "the byte arrives")
	o.p1.close()
	o.p2.close()
