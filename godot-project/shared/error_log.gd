## Counts and keeps the errors and warnings the engine reports while it is installed with
## OS.add_logger(): push_error, the addon's refusals, the WebRTC stack's warnings (when
## WEBRTC_MESH_LOG lets them through). They may be reported from any thread. `total` and
## `warnings` count them; `take()` hands over the texts kept since the last take, `unique()` each
## text kept once, in the order first seen; at most MAX_KEPT texts are kept. A subclass sees each
## message through `_on_message()`. Used by the tests, the lab (netlab) and the fault suite.
extends Logger

const MAX_KEPT := 1000

var total := 0
var warnings := 0

var _lock := Mutex.new()
var _texts: Array[String] = []


func _log_error(
	function: String,
	file: String,
	_line: int,
	code: String,
	rationale: String,
	_editor_notify: bool,
	error_type: int,
	_script_backtraces: Array[ScriptBacktrace]
) -> void:
	var text := code if rationale.is_empty() else "%s (%s)" % [rationale, code]
	var warning := error_type == ERROR_TYPE_WARNING
	_lock.lock()
	total += 1
	if warning:
		warnings += 1
	if _texts.size() < MAX_KEPT:
		_texts.append("warning: " + text if warning else text)
	_lock.unlock()
	_on_message(function, file, text, warning)


## Called for each message once it is counted, on the thread that reported it: what a
## subclass adds.
func _on_message(_function: String, _file: String, _text: String, _warning: bool) -> void:
	pass


## The texts kept since the last take, which forgets them.
func take() -> Array[String]:
	_lock.lock()
	var texts := _texts.duplicate()
	_texts.clear()
	_lock.unlock()
	return texts


## Each text kept (since the last take) once, in the order first seen.
func unique() -> Array[String]:
	_lock.lock()
	var texts: Array[String] = []
	for text in _texts:
		if not texts.has(text):
			texts.append(text)
	_lock.unlock()
	return texts
