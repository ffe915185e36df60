## The command line after `--` (OS.get_cmdline_user_args()) as options: `--name value` and bare
## `--flag`s (a flag is an option not followed by a value; a value never begins with "--").
## Read with text(), integer(), number() and has(); unknown() lists what a script does not read.
## Used by every script run from the command line (bench, demo bots, netlab, faults, interop).
extends RefCounted

## Option name (without "--") -> its value, "" for a flag.
var _values := {}
## Arguments that are no option (no leading "--").
var _stray: Array[String] = []


func _init(args: PackedStringArray = OS.get_cmdline_user_args()) -> void:
	var i := 0
	while i < args.size():
		var arg := args[i]
		if not arg.begins_with("--"):
			_stray.append(arg)
			i += 1
			continue
		var has_value := i + 1 < args.size() and not args[i + 1].begins_with("--")
		_values[arg.trim_prefix("--")] = args[i + 1] if has_value else ""
		i += 2 if has_value else 1


## Whether `--name` was given (with or without a value).
func has(name: String) -> bool:
	return _values.has(name)


## The value of `--name`, or `default` without it.
func text(name: String, default := "") -> String:
	return _values.get(name, default)


## The value of `--name` as an integer, or `default` without it.
func integer(name: String, default := 0) -> int:
	return int(_values[name]) if _values.has(name) else default


## The value of `--name` as a float, or `default` without it.
func number(name: String, default := 0.0) -> float:
	return float(_values[name]) if _values.has(name) else default


## What was given besides the options named in `known`: "--name" for each unknown option, and
## each argument that is no option.
func unknown(known: Array) -> Array[String]:
	var extra: Array[String] = []
	for name: String in _values:
		if not known.has(name):
			extra.append("--" + name)
	extra.append_array(_stray)
	return extra
