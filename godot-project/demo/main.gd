## The demo's entry: the lobby (server URL, room, mesh or client/server, Host / Join / Seal /
## Stop) and the game. With `-- --bot` on the command line the lobby is hidden and a bot
## (demo/bot.gd) plays a scripted session instead; bot.gd lists its options. With `--engine-mesh`
## the mesh is the engine's WebRTCMultiplayerPeer, as in a web export (over the addon's
## connections natively): the browser's code path of every game script, tried on a desktop.
extends Control

const Bot := preload("res://demo/bot.gd")
const Options := preload("res://shared/options.gd")

@onready var client: MultiplayerClient = $Client
@onready var game: Game = $Game
@onready var lobby: Control = $Lobby
@onready var url: LineEdit = $Lobby/Url
@onready var room: LineEdit = $Lobby/Room
@onready var mesh: CheckBox = $Lobby/Mesh
@onready var status: Label = $Lobby/Status


func _ready() -> void:
	var options := Options.new()
	if options.has("engine-mesh"):
		client.rtc_mp = WebRTCMesh.new_multiplayer_peer(true)
	game.mesh = client.rtc_mp
	client.connected.connect(_on_client_connected)
	client.lobby_joined.connect(_on_client_lobby_joined)
	if options.has("bot"):
		lobby.hide()
		var bot := Bot.new()
		bot.name = "Bot"
		bot.client = client
		bot.game = game
		add_child(bot)


func _on_client_connected(_id: int, _use_mesh: bool) -> void:
	game.start.call_deferred()


func _on_client_lobby_joined(lobby_name: String) -> void:
	print("LOBBY %s" % lobby_name)
	room.text = lobby_name
	status.text = "In lobby %s (share its name)" % lobby_name


func _on_host_pressed() -> void:
	client.start(url.text, "", mesh.button_pressed)


func _on_join_pressed() -> void:
	client.start(url.text, room.text, mesh.button_pressed)


func _on_seal_pressed() -> void:
	client.seal_lobby()


func _on_stop_pressed() -> void:
	client.stop()
