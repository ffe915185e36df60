## Connections and meshes dropped without close() are freed with their sockets, when their
## signals are wired with bound methods (the pattern the README shows).
extends "res://tests/test_case.gd"

const ROUNDS := 10


func _open_descriptors() -> int:
	return DirAccess.get_files_at("/proc/self/fd").size()


## Waits until the process holds at most `limit` descriptors.
func _settle(limit: int, seconds: float) -> int:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000)
	var count := _open_descriptors()
	while count > limit and Time.get_ticks_msec() < deadline:
		await tree.process_frame
		count = _open_descriptors()
	return count


func test_dropped_connections_are_freed_with_their_sockets() -> void:
	if not DirAccess.dir_exists_absolute("/proc/self/fd"):
		check(true, "no /proc/self/fd here: skipped")
		return
	# One round first so that the runtime's own threads and descriptors exist.
	var o := await open_channel_pair()
	o.clear()
	await _settle(0, 1.5)
	var before := _open_descriptors()
	var refs: Array[WeakRef] = []
	for i in ROUNDS:
		refs.append_array(await _connect_and_drop(i))
	# A coroutine's locals are released once it has finished: give it a frame.
	await tree.process_frame
	# Every pair went out of scope without close().
	check_eq(refs.size(), 2 * ROUNDS, "every round connected")
	check(refs.all(func(ref): return ref.get_ref() == null),
		"every dropped connection object was freed")
	var after := await _settle(before + 2, 5.0)
	check(after <= before + 2,
		"descriptors return to the baseline (%d before, %d after %d pairs)" % [before, after, ROUNDS])


## Connects a pair, sends on it and drops it without close(); returns weak references to both.
func _connect_and_drop(round_index: int) -> Array[WeakRef]:
	var pair := await open_channel_pair()
	if pair.is_empty():
		return []
	check_eq(pair.ch1.put_packet("bye".to_utf8_buffer()), OK, "round %d sends" % round_index)
	return [weakref(pair.p1), weakref(pair.p2)]


func test_a_dropped_mesh_frees_its_connections() -> void:
	var refs := await _connect_mesh_and_drop()
	await tree.process_frame
	check_eq(refs.size(), 9, "three meshes and six connections")
	check(refs.all(func(ref): return ref.get_ref() == null),
		"dropping the meshes without close() frees them and every connection")


## Connects a 3-peer mesh and drops it without close(); returns weak references to the meshes
## and their connections.
func _connect_mesh_and_drop() -> Array[WeakRef]:
	var refs: Array[WeakRef] = []
	var log := {}
	var init := func(peer, id): peer.create_mesh(id)
	var peers := make_peers("WebRTCMultiplayerPeerRs", [1, 2, 3], init, log)
	connect_all(peers)
	var all_in := func(): return log.values().all(func(events): return events.size() == 2)
	await wait_until(all_in, peers.values(), 10.0, "a 3-peer mesh connects")
	for id in peers:
		refs.append(weakref(peers[id]))
		for other in peers[id].get_peers():
			refs.append(weakref(peers[id].get_peer(other).connection))
	return refs
