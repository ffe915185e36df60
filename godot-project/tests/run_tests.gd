## Runs every test file in res://tests/cases/ (or those named in TEST_FILTER) headless, prints
## each check and a closing "N passed, N failed" line, and exits non-zero if any check failed.
##   godot --headless --path godot-project --script res://tests/run_tests.gd
extends SceneTree

const CASES := "res://tests/cases/"


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	# Tests send traffic to 127.0.0.1 only.
	WebRTCPeerConnectionRs.set_default_bind_address("127.0.0.1")
	var filter := OS.get_environment("TEST_FILTER")
	var passed := 0
	var failed := 0
	var files := Array(DirAccess.get_files_at(CASES))
	files.sort()
	for file: String in files:
		if not file.ends_with(".gd") or (filter != "" and not file.contains(filter)):
			continue
		var case = load(CASES + file).new()
		case.tree = self
		for method in case.get_method_list():
			var name: String = method["name"]
			if not name.begins_with("test_"):
				continue
			print("== %s %s" % [file.get_basename(), name])
			var started := Time.get_ticks_msec()
			await case.call(name)
			print("   (%d ms)" % (Time.get_ticks_msec() - started))
		passed += case.passed
		failed += case.failed
	print("gdscript: %d passed, %d failed" % [passed, failed])
	quit(1 if failed > 0 or passed == 0 else 0)
