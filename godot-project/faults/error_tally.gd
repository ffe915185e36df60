## Counts the errors and warnings the engine reports (the shared error log, added with
## `OS.add_logger`, counts `total` and `warnings`), sorted by where they come from, and the
## messages pushed between `begin()` and `end()` (one call of a fuzzing script); `record()` files
## a call's messages, and `print_offenders()` lists the calls that pushed more than one. Used by
## fuzz_methods.gd and mutated_descriptions.gd.
##
## Kinds:
##   ours      the addon's own report of a refused call (a Rust file of rust/godot-binding)
##   deferred  the addon reporting later what failed on its runtime: a queued log record of the
##             WebRTC stack or of the transport (flushed on the next frame or poll), or
##             WebRTCPeerConnectionRs.poll reporting a failed step
##   gdext     godot-rust refusing an argument it cannot convert (a godot-core/godot-ffi file)
##   args      the engine refusing a call's arguments ("Error calling method from 'callv'")
##   engine    any other engine message (its own checks, required virtuals, ...)
##   panic     a Rust panic caught by godot-rust: always a defect
##   script    a GDScript error: a defect of the harness itself
extends "res://shared/error_log.gd"

const KINDS := ["ours", "deferred", "gdext", "args", "engine", "panic", "script"]
## Text longer than this counts as an overlong message (the caller's input echoed whole).
const LONG_MESSAGE := 1000
const SAMPLE_LENGTH := 280

var by_kind := {}
## The longest message seen: its length and its first characters.
var longest := 0
var longest_start := ""
## Messages longer than LONG_MESSAGE, by kind.
var overlong := {}
## What record() filed: calls that pushed anything, the most one call pushed (and which).
var calls_with_errors := 0
var max_errors_per_call := 0
var max_errors_label := ""
## "label kind" -> {label, kind, multi, max, sample}: calls that pushed more than one message.
var offenders := {}
## Calls during which a Rust panic was reported.
var panic_calls: Array[String] = []

var _mutex := Mutex.new()
var _in_call := false
var _current: Array = []


func _init() -> void:
	for kind in KINDS:
		by_kind[kind] = 0
		overlong[kind] = 0


func _on_message(function: String, file: String, text: String, _warning: bool) -> void:
	var kind := classify(function, file, text)
	_mutex.lock()
	by_kind[kind] += 1
	if text.length() > longest:
		longest = text.length()
		longest_start = text.left(120).replace("\n", " ")
	if text.length() > LONG_MESSAGE:
		overlong[kind] += 1
	if _in_call:
		_current.append([kind, text.left(300).replace("\n", " ")])
	_mutex.unlock()


## Which kind of message this is (see the top of the file).
static func classify(function: String, file: String, text: String) -> String:
	if text.contains("panicked") or text.contains("[panic"):
		return "panic"
	if file.begins_with("res://"):
		return "script"
	if file.ends_with(".rs"):
		if file.contains("godot-core") or file.contains("godot-ffi") or file.contains("godot-cell"):
			return "gdext"
		if file.ends_with("logging.rs") or text.begins_with("WebRTCPeerConnectionRs.poll:"):
			return "deferred"
		return "ours"
	if text.contains("Error calling method from 'callv'") or function == "callv":
		return "args"
	return "engine"


## Starts collecting the messages of one call.
func begin() -> void:
	_mutex.lock()
	_in_call = true
	_current = []
	_mutex.unlock()


## Ends the call: its messages, as [kind, text] pairs.
func end() -> Array:
	_mutex.lock()
	_in_call = false
	var messages := _current
	_current = []
	_mutex.unlock()
	return messages


## Stops collecting for the call in progress (a call made inside it is counted on its own);
## returns what `resume()` needs.
func suspend() -> Array:
	_mutex.lock()
	var state := [_in_call, _current]
	_in_call = false
	_current = []
	_mutex.unlock()
	return state


## Goes on collecting for the call `suspend()` stopped.
func resume(state: Array) -> void:
	_mutex.lock()
	_in_call = state[0]
	_current = state[1]
	_mutex.unlock()


## "kind n, kind n" for the kinds of `counts` (by_kind unless given) seen.
func kinds_text(counts: Dictionary = by_kind) -> String:
	var parts: Array[String] = []
	for kind in KINDS:
		if counts[kind] > 0:
			parts.append("%s %d" % [kind, counts[kind]])
	return ", ".join(parts) if not parts.is_empty() else "none"


## Files the messages one call (`label`: "Class.method") pushed: calls with errors, the most
## per call, and offenders.
func record(label: String, messages: Array) -> void:
	if messages.is_empty():
		return
	calls_with_errors += 1
	if messages.size() > max_errors_per_call:
		max_errors_per_call = messages.size()
		max_errors_label = label
	var counts := {}
	var texts: Array[String] = []
	var method := label.get_slice(".", 1)
	for message in messages:
		var kind: String = message[0]
		# poll() emits signals, and their handlers (Wire) call other methods: their refusals
		# are theirs, not the poll's.
		if kind == "ours" and method == "poll" and not message[1].contains(".poll:"):
			kind = "nested"
		counts[kind] = counts.get(kind, 0) + 1
		texts.append("%s: %s" % [kind, message[1]])
	if counts.has("panic"):
		panic_calls.append("%s: %s" % [label, " | ".join(texts).left(400)])
	if messages.size() < 2:
		return
	var kind := multi_kind(counts)
	var key := "%s %s" % [label, kind]
	if not offenders.has(key):
		offenders[key] = {
			"label": label, "kind": kind, "multi": 0, "max": 0,
			"sample": " | ".join(texts).left(SAMPLE_LENGTH),
		}
	var entry: Dictionary = offenders[key]
	entry["multi"] += 1
	entry["max"] = maxi(entry["max"], messages.size())


## Why a call pushed several messages, from its messages' kinds: "ours" (several refusals of the
## addon), "ours+args" (the engine refused an argument's type, yet called the addon with it
## converted, which refused it too), "ours+engine" (the engine added its own message to the
## addon's one), "deferred" (earlier failures reported by this call, or refusals of the signal
## handlers it ran), "args" (the engine or godot-rust refusing the arguments) or "engine".
static func multi_kind(counts: Dictionary) -> String:
	var ours: int = counts.get("ours", 0) + counts.get("panic", 0)
	var kind := "engine"
	if ours >= 2:
		kind = "ours"
	elif ours == 1 and counts.has("args"):
		kind = "ours+args"
	elif ours == 1:
		kind = "ours+engine"
	elif counts.has("deferred") or counts.has("nested"):
		kind = "deferred"
	elif counts.has("gdext") or counts.has("args"):
		kind = "args"
	return kind


## One "OFFENDER kind label calls=N max=M e.g. ..." line per method and kind, most frequent
## first, then one "PANIC" line per call that reported a Rust panic.
func print_offenders() -> void:
	var keys := offenders.keys()
	keys.sort_custom(func(a, b): return offenders[a]["multi"] > offenders[b]["multi"])
	for key in keys:
		var entry: Dictionary = offenders[key]
		print("OFFENDER %-12s %-52s calls=%d max=%d e.g. %s" % [
			entry["kind"], entry["label"], entry["multi"], entry["max"], entry["sample"],
		])
	for panic in panic_calls:
		print("PANIC %s" % panic)
