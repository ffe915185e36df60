## Base of every GDScript test file: checks that count and print, and waiting helpers.
extends RefCounted

var tree: SceneTree
var passed := 0
var failed := 0


func check(condition: bool, what: String) -> bool:
	if condition:
		passed += 1
		print("  ok   %s" % what)
	else:
		failed += 1
		printerr("  FAIL %s" % what)
	return condition


func check_eq(actual, expected, what: String) -> bool:
	var same: bool = typeof(actual) == typeof(expected) and actual == expected
	return check(same, "%s (got %s, expected %s)" % [what, _short(actual), _short(expected)])


func _short(value) -> String:
	var text := str(value)
	return text if text.length() <= 60 else text.left(57) + "..."



## Polls `objects` every frame until `condition` returns true or `timeout` seconds pass.
func wait_until(condition: Callable, objects: Array, timeout: float, what: String) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout * 1000)
	while Time.get_ticks_msec() < deadline:
		for object in objects:
			object.poll()
		if condition.call():
			return check(true, what)
		await tree.process_frame
	return check(false, "%s (timed out after %.1f s)" % [what, timeout])


## Polls `objects` every frame for `seconds`.
func pump(objects: Array, seconds: float) -> void:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000)
	while Time.get_ticks_msec() < deadline:
		for object in objects:
			object.poll()
		await tree.process_frame


## Two connections in one process wired to each other as in Godot's webrtc_minimal demo.
func connected_pair() -> Array:
	var p1 := WebRTCPeerConnection.new()
	var p2 := WebRTCPeerConnection.new()
	p1.initialize({"iceServers": []})
	p2.initialize({"iceServers": []})
	p1.session_description_created.connect(p1.set_local_description)
	p1.session_description_created.connect(p2.set_remote_description)
	p1.ice_candidate_created.connect(p2.add_ice_candidate)
	p2.session_description_created.connect(p2.set_local_description)
	p2.session_description_created.connect(p1.set_remote_description)
	p2.ice_candidate_created.connect(p1.add_ice_candidate)
	return [p1, p2]
