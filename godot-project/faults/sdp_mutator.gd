## Seeded mutations of session descriptions and ICE candidate lines for
## mutated_descriptions.gd: byte flips, lines deleted, duplicated, reordered or inserted,
## truncation, huge numbers, random attribute values, m= sections removed or duplicated,
## fingerprint, credential and role changes, other line endings, mangled candidate fields.
##
## Candidate addresses stay on loopback: a mutation that makes a candidate name another address
## has it replaced with 127.0.0.1 (`loopback_only`), so nothing is sent off this machine, and no
## `.local` name (mDNS) is ever made.
extends RefCounted

const SDP_OPS := [
	"flip", "delete-line", "duplicate-line", "swap-lines", "truncate", "huge-number",
	"attribute-value", "remove-m", "duplicate-m", "fingerprint", "candidate-line", "line-endings",
	"insert-line", "credentials", "setup", "sctp",
]
const CANDIDATE_OPS := [
	"flip", "field", "delete-field", "duplicate-field", "swap-fields", "truncate", "extensions",
	"typ", "protocol", "address", "port", "priority", "prefix",
]
const HUGE := [
	"99999999999999999999", "-1", "4294967296", "18446744073709551616", "0", "65536",
	"2147483648", "-9223372036854775808", "1e9", "0x10", "",
]
const GARBAGE := [
	"", "x", " ", "::", "a=", "\u00e9\u20ac\ud7ff", "%s%n{0}", "-1", "null", "\t", "0.0.0.0",
	"sha-256", "actpass", "UDP/DTLS/SCTP", "webrtc-datachannel",
]
const SDP_LINES := [
	"a=group:BUNDLE 0 1", "a=mid:1", "a=setup:active", "a=ice-ufrag:zzzz",
	"a=ice-pwd:zzzzzzzzzzzzzzzzzzzzzz", "a=fingerprint:sha-1 00:11", "a=sctp-port:0",
	"a=max-message-size:1", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
	"m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 127.0.0.1", "a=end-of-candidates",
	"a=ice-options:ice2", "a=extmap-allow-mixed", "a=inactive", "b=AS:30", "v=0", "s=-", "t=0 0",
]
const FINGERPRINT_ALGORITHMS := ["sha-1", "sha-512", "md5", "", "SHA-256", "sha-257", "x"]
const TYPES := ["host", "srflx", "prflx", "relay", "", "HOST", "x"]
const PROTOCOLS := ["udp", "UDP", "tcp", "sctp", "", "udp4"]
const ADDRESSES := [
	"127.0.0.1", "127.0.0.2", "::1", "0.0.0.0", "999.1.1.1", "127.0.0", "", "[::1]",
	"127.0.0.1.1", "not-an-address", "::",
]

var rng: RandomNumberGenerator


func _init(random: RandomNumberGenerator) -> void:
	rng = random


## `sdp` with 1 to 3 seeded mutations; `applied` gets their names.
func mutate_sdp(sdp: String, applied: Array[String]) -> String:
	var text := sdp
	for i in rng.randi_range(1, 3):
		var op: String = SDP_OPS[rng.randi() % SDP_OPS.size()]
		applied.append(op)
		text = _sdp_op(op, text)
	return loopback_only(text)


## `candidate` with 1 to 3 seeded mutations; `applied` gets their names.
func mutate_candidate(candidate: String, applied: Array[String]) -> String:
	var text := candidate
	for i in rng.randi_range(1, 3):
		var op: String = CANDIDATE_OPS[rng.randi() % CANDIDATE_OPS.size()]
		applied.append(op)
		text = _candidate_op(op, text)
	return loopback_only(text)


## `text` with the address of every candidate line that names an address off this machine
## replaced with 127.0.0.1.
func loopback_only(text: String) -> String:
	if not text.contains("candidate"):
		return text
	var lines := text.split("\n")
	for i in lines.size():
		if not lines[i].contains("candidate"):
			continue
		var fields := lines[i].split(" ")
		for j in fields.size():
			var field := fields[j].strip_edges()
			if field.is_valid_ip_address() and not _is_loopback(field):
				fields[j] = "127.0.0.1"
		lines[i] = " ".join(fields)
	return "\n".join(lines)


func _sdp_op(op: String, text: String) -> String:
	var lines := Array(text.split("\r\n"))
	# Set by the mutations of the whole text; the others change `lines`.
	var whole: Variant = null
	match op:
		"flip":
			whole = _flip(text, rng.randi_range(1, 8))
		"delete-line":
			if not lines.is_empty():
				lines.remove_at(rng.randi() % lines.size())
		"duplicate-line":
			if not lines.is_empty():
				var at := rng.randi() % lines.size()
				lines.insert(at, lines[at])
		"swap-lines":
			if lines.size() > 1:
				var a := rng.randi() % lines.size()
				var b := rng.randi() % lines.size()
				var line: String = lines[a]
				lines[a] = lines[b]
				lines[b] = line
		"truncate":
			whole = text.left(rng.randi_range(0, text.length()))
		"huge-number":
			whole = _replace_number(text)
		"attribute-value":
			var at := _random_line(lines, "a=")
			if at >= 0:
				var line: String = lines[at]
				var colon := line.find(":")
				var head := line.left(colon + 1) if colon >= 0 else line
				lines[at] = head + _garbage()
		"remove-m", "duplicate-m":
			whole = _m_section(op, lines)
		"fingerprint":
			lines = _fingerprint(lines)
		"candidate-line":
			var line := "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"
			var applied: Array[String] = []
			lines.insert(rng.randi_range(0, lines.size()), mutate_candidate(line, applied))
		"line-endings":
			whole = text.replace("\r\n", ["\n", "\r", "\r\r\n", "\n\r", " "][rng.randi() % 5])
		"insert-line":
			lines.insert(rng.randi_range(0, lines.size()), SDP_LINES[rng.randi() % SDP_LINES.size()])
		"credentials":
			var at := _random_line(lines, "a=ice-")
			if at >= 0:
				var line: String = lines[at]
				lines[at] = line.left(line.find(":") + 1) + [
					"", "a", "x".repeat(257), "a b", "\u00e9t\u00e9", _garbage(),
				][rng.randi() % 6]
		"setup":
			var at := _random_line(lines, "a=setup:")
			if at >= 0:
				lines[at] = "a=setup:" + ["active", "passive", "actpass", "holdconn", ""][
					rng.randi() % 5
				]
		"sctp":
			var at := _random_line(lines, "a=sctp-port:" if rng.randi() % 2 == 0 else "a=max-message")
			if at >= 0:
				var line: String = lines[at]
				lines[at] = line.left(line.find(":") + 1) + HUGE[rng.randi() % HUGE.size()]
	return whole if whole != null else "\r\n".join(lines)


## Removes or duplicates a random m= section (up to the next m= line or the end).
func _m_section(op: String, lines: Array) -> String:
	var starts: Array[int] = []
	for i in lines.size():
		if lines[i].begins_with("m="):
			starts.append(i)
	if starts.is_empty():
		return "\r\n".join(lines)
	var pick := rng.randi() % starts.size()
	var from := starts[pick]
	var to: int = starts[pick + 1] if pick + 1 < starts.size() else lines.size()
	var section := lines.slice(from, to)
	if op == "remove-m":
		lines = lines.slice(0, from) + lines.slice(to)
	else:
		lines = lines.slice(0, to) + section + lines.slice(to)
	return "\r\n".join(lines)


## Changes the fingerprint: its algorithm, a hex digit, its length, or removes or doubles it.
func _fingerprint(lines: Array) -> Array:
	var at := _random_line(lines, "a=fingerprint:")
	if at < 0:
		return lines
	var line: String = lines[at]
	var parts := line.trim_prefix("a=fingerprint:").split(" ", true, 1)
	var digest: String = parts[1] if parts.size() > 1 else ""
	match rng.randi() % 5:
		0:
			lines[at] = "a=fingerprint:%s %s" % [
				FINGERPRINT_ALGORITHMS[rng.randi() % FINGERPRINT_ALGORITHMS.size()], digest,
			]
		1:
			lines[at] = _flip(line, 1)
		2:
			lines[at] = line.left(rng.randi_range(14, line.length()))
		3:
			lines.remove_at(at)
		_:
			lines.insert(at, "a=fingerprint:sha-256 " + digest.reverse())
	return lines


func _candidate_op(op: String, text: String) -> String:
	var fields := Array(text.split(" "))
	var at := rng.randi() % fields.size()
	match op:
		"flip":
			return _flip(text, rng.randi_range(1, 4))
		"field":
			fields[at] = [_garbage(), HUGE[rng.randi() % HUGE.size()]][rng.randi() % 2]
		"delete-field":
			fields.remove_at(at)
		"duplicate-field":
			fields.insert(at, fields[at])
		"swap-fields":
			var other := rng.randi() % fields.size()
			var field: String = fields[at]
			fields[at] = fields[other]
			fields[other] = field
		"truncate":
			return text.left(rng.randi_range(0, text.length()))
		"extensions":
			fields.append_array(["generation", HUGE[rng.randi() % HUGE.size()], "ufrag", _garbage(),
				"network-id", "1", "network-cost", "999999999999"])
		"typ":
			var typ := fields.find("typ")
			if typ >= 0 and typ + 1 < fields.size():
				fields[typ + 1] = TYPES[rng.randi() % TYPES.size()]
		"protocol":
			if fields.size() > 2:
				fields[2] = PROTOCOLS[rng.randi() % PROTOCOLS.size()]
		"address":
			if fields.size() > 4:
				fields[4] = ADDRESSES[rng.randi() % ADDRESSES.size()]
		"port":
			if fields.size() > 5:
				fields[5] = ["0", "65535", "65536", "-1", "99999999999", ""][rng.randi() % 6]
		"priority":
			if fields.size() > 3:
				fields[3] = HUGE[rng.randi() % HUGE.size()]
		"prefix":
			return ["", "a=", "candidate:", "a=candidate:candidate:"][rng.randi() % 4] \
				+ text.trim_prefix("candidate:")
	return " ".join(fields)


## `text` with `count` characters replaced by random ones (printable, control or non-ASCII).
func _flip(text: String, count: int) -> String:
	if text.is_empty():
		return text
	var flipped := text
	for i in count:
		var at := rng.randi() % flipped.length()
		var code := rng.randi_range(32, 126)
		match rng.randi() % 4:
			0:
				code = rng.randi_range(1, 31)
			1:
				code = rng.randi_range(0x80, 0x2FF)
		flipped = flipped.left(at) + String.chr(code) + flipped.substr(at + 1)
	return flipped


## `text` with one of its numbers replaced by a huge, negative or empty one.
func _replace_number(text: String) -> String:
	var regex := RegEx.create_from_string("[0-9]+")
	var matches := regex.search_all(text)
	if matches.is_empty():
		return text
	var found: RegExMatch = matches[rng.randi() % matches.size()]
	return text.left(found.get_start()) + HUGE[rng.randi() % HUGE.size()] \
		+ text.substr(found.get_end())


## The index of a random line starting with `prefix`, or -1.
func _random_line(lines: Array, prefix: String) -> int:
	var found: Array[int] = []
	for i in lines.size():
		if lines[i].begins_with(prefix):
			found.append(i)
	return found[rng.randi() % found.size()] if not found.is_empty() else -1


func _garbage() -> String:
	if rng.randi() % 8 == 0:
		return "z".repeat(rng.randi_range(256, 70000))
	return GARBAGE[rng.randi() % GARBAGE.size()]


static func _is_loopback(address: String) -> bool:
	return address.begins_with("127.") or address == "::1" or address == "0.0.0.0"
