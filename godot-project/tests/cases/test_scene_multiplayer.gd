## WebRTCMultiplayerPeerRs under SceneMultiplayer: RPCs, a MultiplayerSpawner and a
## MultiplayerSynchronizer, three games in one process (one SceneMultiplayer per subtree).
extends "res://tests/test_case.gd"

const IDS := [1, 2, 3]
const PLAYER := "res://tests/fixtures/player.tscn"
const RpcTarget := preload("res://tests/fixtures/rpc_target.gd")


func build_game(id: int, peer: MultiplayerPeer) -> Node:
	var root := Node.new()
	root.name = "Game%d" % id
	var game := RpcTarget.new()
	game.name = "Game"
	root.add_child(game)
	var players := Node.new()
	players.name = "Players"
	game.add_child(players)
	var spawner := MultiplayerSpawner.new()
	spawner.name = "Spawner"
	game.add_child(spawner)
	spawner.spawn_path = NodePath("../Players")
	spawner.add_spawnable_scene(PLAYER)
	tree.root.add_child(root)
	var api := SceneMultiplayer.new()
	tree.set_multiplayer(api, root.get_path())
	api.multiplayer_peer = peer
	return root


## The Players node of peer `id`'s game.
func players_of(roots: Dictionary, id: int) -> Node:
	return roots[id].get_node("Game/Players")


func test_rpcs_spawner_and_synchronizer_over_the_mesh() -> void:
	var log := {}
	var peers := make_peers("WebRTCMultiplayerPeerRs", IDS, func(peer, id): peer.create_mesh(id), log)
	var roots := {}
	for id in IDS:
		roots[id] = build_game(id, peers[id])
	var connected := {}
	for id in IDS:
		connected[id] = []
		roots[id].multiplayer.peer_connected.connect(func(other): connected[id].append(other))
	connect_all(peers)
	var everyone := func(): return IDS.all(func(id): return connected[id].size() == 2)
	var what := "SceneMultiplayer reports peer_connected for every pair"
	if not await wait_until(everyone, [], 15.0, what):
		return
	for id in IDS:
		check_eq(roots[id].multiplayer.get_unique_id(), id, "peer %d's multiplayer has its id" % id)

	var game: Dictionary = {}
	for id in IDS:
		game[id] = roots[id].get_node("Game")
	game[2].rpc("hello", "from 2 to all")
	game[3].rpc_id(1, "hello", "from 3 to 1")
	var arrived := func(): return game[1].received.size() == 2 and game[3].received.size() == 1
	if await wait_until(arrived, [], 5.0, "the RPCs arrive"):
		var at_1: Array = game[1].received.duplicate()
		at_1.sort()
		check_eq(at_1, [[2, "from 2 to all"], [3, "from 3 to 1"]],
			"peer 1 got both, with get_remote_sender_id()")
		check_eq(game[3].received, [[2, "from 2 to all"]], "peer 3 got the broadcast only")
		check_eq(game[2].received, [], "the caller got nothing (no call_local)")

	var player: Node2D = load(PLAYER).instantiate()
	player.position = Vector2(1, 2)
	roots[1].get_node("Game/Players").add_child(player, true)
	var spawned := func():
		return IDS.all(func(id): return players_of(roots, id).get_child_count() == 1)
	if await wait_until(spawned, [], 5.0, "the spawner replicates the player to every peer"):
		player.position = Vector2(10, 20)
		var synced := func():
			return IDS.all(func(id): return players_of(roots, id).get_child(0).position == Vector2(10, 20))
		await wait_until(synced, [], 5.0, "the synchronizer replicates its position")

	for id in IDS:
		roots[id].queue_free()
		roots[id].multiplayer.multiplayer_peer = null
		peers[id].close()
	await tree.process_frame
