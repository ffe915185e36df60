## The longest time between two frames of the main thread, for the fault runs that check that
## the addon never holds the game's thread: call tick() once a frame (from _process).
extends RefCounted

## The longest gap between two ticks since the last reset, in microseconds.
var longest_usec := 0
var _last_usec := 0


## Notes a frame.
func tick() -> void:
	var now := Time.get_ticks_usec()
	if _last_usec > 0:
		longest_usec = maxi(longest_usec, now - _last_usec)
	_last_usec = now


## Forgets the longest gap so far.
func reset() -> void:
	longest_usec = 0
