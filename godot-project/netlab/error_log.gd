## Keeps the errors and warnings the engine reports (push_error, the addon's failures, the WebRTC
## stack's warnings when WEBRTC_MESH_LOG is "debug") so that a netlab peer can print them in its
## result: each text once, the first MAX_KEPT of them. They may be reported from any thread.
extends Logger

const MAX_KEPT := 50

var _mutex := Mutex.new()
var _texts: Array[String] = []
var _seen := {}


func _log_error(
	_function: String,
	_file: String,
	_line: int,
	code: String,
	rationale: String,
	_editor_notify: bool,
	error_type: int,
	_script_backtraces: Array[ScriptBacktrace]
) -> void:
	var text := code if rationale.is_empty() else "%s (%s)" % [rationale, code]
	if error_type == ERROR_TYPE_WARNING:
		text = "warning: " + text
	_mutex.lock()
	if not _seen.has(text) and _texts.size() < MAX_KEPT:
		_seen[text] = true
		_texts.append(text)
	_mutex.unlock()


## The errors kept so far, in the order first seen.
func unique() -> Array[String]:
	_mutex.lock()
	var texts := _texts.duplicate()
	_mutex.unlock()
	return texts
