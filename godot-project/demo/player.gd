## A player: moved by its owner (arrow keys, or the bot), replicated to everyone else by its
## MultiplayerSynchronizer.
extends Node2D

const SPEED := 200.0


func _ready() -> void:
	$Name.text = name
	$Body.color = Color.from_hsv(float(name.hash() % 360) / 360.0, 0.6, 0.9)


func _process(delta: float) -> void:
	# After Stop there is no multiplayer peer, and so no authority to ask about.
	if not multiplayer.has_multiplayer_peer() or DisplayServer.get_name() == "headless":
		return
	if not is_multiplayer_authority():
		return
	var direction := Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down")
	position += direction * SPEED * delta
