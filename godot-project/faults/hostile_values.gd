## Seeded hostile arguments for fuzz_methods.gd: values of the declared type with extreme or
## malformed contents (ints at every boundary, garbage SDP and candidates, 1 MB strings, a 10 MB
## PackedByteArray, deep nesting, configuration dictionaries with wrong nested types, objects of
## other classes and freed ones), or values of any other type.
##
## Every address in what it makes is a loopback one or not an address at all, so nothing it
## feeds a connection sends traffic off this machine; there are no `.local` names (mDNS).
extends RefCounted

const I64_MAX := 9223372036854775807
const I64_MIN := -9223372036854775807 - 1
const INTS := [
	0, 1, -1, 2, 3, 4, 255, 1024, 65534, 65535, 65536, -65536, 2147483647, 2147483648,
	-2147483648, -2147483649, 4294967295, 4294967296, I64_MAX, I64_MIN,
]
const FLOATS := [NAN, INF, -INF, 0.0, -0.0, 1e308, -1e-308, 0.5, 2147483648.0]
const SDP_TYPES := ["offer", "answer", "pranswer", "rollback", "Offer", " answer", "offer\n", "x"]
const LEVELS := ["off", "error", "warn", "info", "debug", "trace", "WARN", "verbose", " warn "]
const IPS := [
	"127.0.0.1", "::1", "127.0.0.256", "not-an-ip", " 127.0.0.1 ", "::ffff:127.0.0.1",
	"fe80::1%lo", "127.0.0.1:80", "[::1]", "1.2.3", "",
]
const URLS := [
	"stun:127.0.0.1:3478", "stun:127.0.0.1:0", "stun:127.0.0.1:99999", "stun:[::1]:3478",
	"turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp",
	"turns:127.0.0.1:5349", "stuns:127.0.0.1", "stun:", "turn:", "http://127.0.0.1",
	"stun:localhost:3478", "", "stun:127.0.0.1:3478?x=y", "turn:127.0.0.1?transport=sctp",
	"stun:127.0.0.1:-1", "STUN:127.0.0.1", "stun:127.0.0.1:3478:3478", ":", "stun::::",
]
const CLASS_NAMES := [
	"WebRTCPeerConnectionRs", "WebRTCPeerConnectionExtension", "WebRTCDataChannelRs",
	"WebRTCPeerConnection", "Node", "RefCounted", "Nonexistent", "",
]
const CONFIG_KEYS := [
	"iceServers", "iceTransportPolicy", "bindAddress", "id", "negotiated", "ordered",
	"maxPacketLifeTime", "maxPacketLifetime", "maxRetransmits", "protocol", "urls", "username",
	"credential",
]
## Lines garbage SDP is made of: well-formed ones, and ones with extreme or missing values.
const SDP_LINES := [
	"v=0", "v=1", "v=", "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
	"o=- 99999999999999999999999 -1 IN IP9 x", "s=-", "t=0 0", "t=-1 99999999999999999999",
	"a=group:BUNDLE 0", "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9", "a=msid-semantic: WMS",
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 0 UDP/DTLS/SCTP 5000",
	"m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=video 99999999 RTP/AVP 0 1 2 3",
	"m=application -1 TCP/DTLS/SCTP webrtc-datachannel", "m=", "c=IN IP4 0.0.0.0",
	"c=IN IP4 999.999.999.999", "c=IN IP6 ::1", "a=mid:0", "a=mid:", "a=ice-ufrag:abcd",
	"a=ice-ufrag:", "a=ice-pwd:0123456789012345678901", "a=ice-pwd:x", "a=ice-options:trickle",
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77"
	+ ":88:99:AA:BB:CC:DD:EE:FF",
	"a=fingerprint:sha-256 ZZ", "a=fingerprint:md5 00", "a=fingerprint:", "a=setup:actpass",
	"a=setup:active", "a=setup:passive", "a=setup:holdconn", "a=setup:", "a=sctp-port:5000",
	"a=sctp-port:99999999999", "a=sctp-port:-1", "a=max-message-size:262144",
	"a=max-message-size:-1", "a=max-message-size:99999999999999999999", "a=max-message-size:",
	"a=sendrecv", "a=inactive", "a=rtcp-mux", "a=end-of-candidates", "a=", "=", "x", "",
	"a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
	"a=candidate:1 1 udp 99999999999999999999 127.0.0.1 99999 typ host",
	"a=candidate:", "a=extmap:1 urn:x", "a=rtpmap:111 opus/48000/2", "b=AS:-1",
]
const CANDIDATE_FIELDS := [
	"1", "0", "-1", "99999999999999999999", "", "udp", "UDP", "tcp", "sctp", "127.0.0.1",
	"::1", "127.0.0.2", "x", "65536", "2130706431", "host", "relay", "srflx", "prflx", "raddr",
	"rport", "generation", "ufrag", "network-id", "typ", "tcptype", "active", "so",
]
const DEEP := 200

var rng: RandomNumberGenerator
## Shared large values, made once.
var huge_string: String
var label_max: String
var label_over: String
var ten_mb := PackedByteArray()
var bytes_64k := PackedByteArray()
var bytes_64k_plus := PackedByteArray()
var bytes_300k := PackedByteArray()
var deep_dict := {}
var deep_array: Array = []
var many_modes: Array = []
var too_many_modes: Array = []
## A freed object: a dangling reference, as a script can still hold one.
var freed: Object
## Real descriptions and candidates, when the harness has them (Strings).
var real_strings: Array[String] = []
## The harness's live objects, passed as other classes' instances.
var pool: Array = []
## Above 0 while a container is being filled: the 10 MB array is then left out, as godot-rust
## writes a whole value it refuses into its error, which takes seconds for 10 MB (the harness
## passes it alone instead, where the engine or the addon refuses it).
var _nested := 0


func _init(random: RandomNumberGenerator) -> void:
	rng = random
	huge_string = "a=x".repeat(349526).left(1 << 20)
	label_max = "l".repeat(65535)
	label_over = "l".repeat(65536)
	ten_mb.resize(10 << 20)
	bytes_64k.resize(65536)
	bytes_64k_plus.resize(65537)
	bytes_300k.resize(300 << 10)
	var inner := {}
	deep_dict = inner
	for i in DEEP:
		var next := {}
		inner["iceServers"] = [next]
		inner = next
	var inner_array: Array = []
	deep_array = inner_array
	for i in DEEP:
		var next_array: Array = []
		inner_array.append(next_array)
		inner_array = next_array
	for i in 300:
		many_modes.append(i % 3)
	# More extra channels than stream ids exist (65535, less the three built-in channels).
	too_many_modes.resize(65533)
	too_many_modes.fill(2)
	freed = Object.new()
	freed.free()


## A value meant for a parameter of `type` (a Variant.Type; TYPE_NIL: any): most often of that
## type with hostile contents, else anything.
func for_type(type: int) -> Variant:
	if rng.randf() < 0.4:
		return hostile()
	var value: Variant = null
	match type:
		TYPE_INT:
			value = integer()
		TYPE_BOOL:
			value = rng.randi() % 2 == 0
		TYPE_FLOAT:
			value = FLOATS[rng.randi() % FLOATS.size()]
		TYPE_STRING:
			value = text()
		TYPE_STRING_NAME:
			value = StringName(text() if rng.randi() % 2 == 0 else _pick(CLASS_NAMES))
		TYPE_DICTIONARY:
			value = dictionary()
		TYPE_ARRAY:
			value = array()
		TYPE_OBJECT:
			value = object()
		TYPE_PACKED_BYTE_ARRAY:
			value = bytes()
		_:
			value = hostile()
	return value


## A value for argument `index` of `method`, declared of `type`: for the arguments that carry
## descriptions, candidates and configurations, half the time a value made for them (a real or
## garbled description, a mangled candidate, a configuration dictionary), else `for_type`.
func for_arg(method: String, index: int, type: int) -> Variant:
	if rng.randi() % 2 == 0:
		return for_type(type)
	var value: Variant = null
	match [method, index]:
		["set_remote_description", 0], ["set_local_description", 0]:
			value = _pick(SDP_TYPES)
		["set_remote_description", 1], ["set_local_description", 1]:
			value = _real_string() if rng.randi() % 2 == 0 else garbage_sdp()
		["add_ice_candidate", 0]:
			value = ["0", "", "1", "data", "0 ", label_over][rng.randi() % 6]
		["add_ice_candidate", 2]:
			value = _real_string() if rng.randi() % 3 == 0 else garbage_candidate()
		["create_data_channel", 1]:
			value = channel_options()
		["initialize", 0] when type == TYPE_DICTIONARY:
			value = dictionary()
		["add_peer", 0]:
			value = WebRTCPeerConnection.new() if rng.randi() % 2 == 0 else object()
		_:
			value = for_type(type)
	return value


## A value of any type.
func hostile() -> Variant:
	var value: Variant = null
	match rng.randi() % 16:
		0:
			value = null
		1:
			value = integer()
		2:
			value = FLOATS[rng.randi() % FLOATS.size()]
		3:
			value = rng.randi() % 2 == 0
		4:
			value = text()
		5:
			value = huge_string
		6:
			value = ten_mb if _nested == 0 else bytes_300k
		7:
			value = deep_dict
		8:
			value = deep_array
		9:
			value = object()
		10:
			value = dictionary()
		11:
			value = array()
		12:
			value = bytes()
		13:
			value = [Vector2(NAN, INF), Color(-1, 2, NAN), Rect2i(-1, -1, -1, -1)][rng.randi() % 3]
		14:
			value = StringName(text())
		_:
			value = [PackedStringArray(["offer", ""]), PackedInt32Array([-1]), Callable()][
				rng.randi() % 3
			]
	return value


func integer() -> int:
	if rng.randi() % 4 == 0:
		return rng.randi_range(-70000, 70000)
	return INTS[rng.randi() % INTS.size()]


func text() -> String:
	var value := ""
	match rng.randi() % 16:
		0:
			value = ""
		1:
			value = _pick(SDP_TYPES)
		2:
			value = garbage_sdp()
		3:
			value = _real_string()
		4:
			value = garbage_candidate()
		5:
			value = huge_string
		6:
			value = _random_ascii(rng.randi_range(0, 200))
		7:
			value = _random_unicode(rng.randi_range(1, 50))
		8:
			value = _pick(IPS)
		9:
			value = _pick(LEVELS)
		10:
			value = _pick(URLS)
		11:
			value = label_max if rng.randi() % 2 == 0 else label_over
		12:
			value = _pick(CLASS_NAMES)
		13:
			value = "%s %d {0} \\ \" ' \r\n\t"
		14:
			value = "a=ice-ufrag:x\r\n".repeat(rng.randi_range(1, 2000))
		_:
			value = str(integer())
	return value


## 1 to 40 SDP lines, well-formed or not, in any order.
func garbage_sdp() -> String:
	var lines: Array[String] = []
	for i in rng.randi_range(1, 40):
		lines.append(_pick(SDP_LINES))
	if rng.randi() % 2 == 0:
		lines.push_front("v=0")
	return ("\r\n" if rng.randi() % 3 > 0 else "\n").join(lines)


## A candidate line of random fields (addresses only loopback ones).
func garbage_candidate() -> String:
	var fields: Array[String] = []
	for i in rng.randi_range(0, 14):
		fields.append(_pick(CANDIDATE_FIELDS))
	var prefix: String = ["candidate:", "a=candidate:", "", "candidate: "][rng.randi() % 4]
	return prefix + " ".join(fields)


func dictionary() -> Dictionary:
	_nested += 1
	var value := {}
	match rng.randi() % 9:
		0:
			value = {}
		1:
			value = {"iceServers": []}
		2:
			value = channel_options()
		3:
			for key in CONFIG_KEYS:
				if rng.randi() % 3 == 0:
					value[key] = _config_value(key)
		4:
			value = deep_dict
		5:
			value = {1: 2, null: "x", Vector2(1, 2): [], "iceServers": null, "": {}}
		6:
			var servers: Array = []
			for i in rng.randi_range(0, 3):
				servers.append(ice_server())
			value = {"iceServers": servers}
		7:
			value = {"iceServers": hostile(), "iceTransportPolicy": hostile(), "bindAddress": hostile()}
		_:
			value = {"id": integer(), "negotiated": hostile(), "maxRetransmits": hostile()}
	_nested -= 1
	return value


## Channel options with plausible keys and extreme values.
func channel_options() -> Dictionary:
	var options := {}
	if rng.randi() % 2 == 0:
		options["id"] = integer()
	if rng.randi() % 2 == 0:
		options["negotiated"] = [true, false, 1, 0, -1, "true"][rng.randi() % 6]
	if rng.randi() % 2 == 0:
		options["ordered"] = rng.randi() % 2 == 0
	if rng.randi() % 3 == 0:
		options["maxRetransmits"] = integer()
	if rng.randi() % 3 == 0:
		options[["maxPacketLifeTime", "maxPacketLifetime"][rng.randi() % 2]] = integer()
	if rng.randi() % 3 == 0:
		options["protocol"] = text()
	return options


## An iceServers entry with wrong or extreme contents.
func ice_server() -> Variant:
	if rng.randi() % 6 == 0:
		return hostile()
	var server := {}
	match rng.randi() % 7:
		0:
			server["urls"] = _pick(URLS)
		1:
			server["urls"] = [_pick(URLS), _pick(URLS)]
		2:
			server["urls"] = [integer()]
		3:
			server["urls"] = []
		4:
			server["urls"] = hostile()
		5:
			server["urls"] = huge_string
		_:
			pass
	if rng.randi() % 2 == 0:
		server["username"] = ["", "user", 5, null, huge_string][rng.randi() % 5]
	if rng.randi() % 2 == 0:
		server["credential"] = ["", "secret", [], null][rng.randi() % 4]
	return server


func array() -> Array:
	_nested += 1
	var value: Array = []
	match rng.randi() % 9:
		0:
			value = []
		1:
			value = [0, 1, 2]
		2:
			value = [integer()]
		3:
			value = ["x", null]
		4:
			value = deep_array
		5:
			value = too_many_modes
		6:
			value = many_modes
		7:
			for i in rng.randi_range(1, 5):
				value.append(hostile())
		_:
			var typed: Array[int] = [2, 1]
			value = typed
	_nested -= 1
	return value


func object() -> Object:
	var value: Object = null
	match rng.randi() % 10:
		0:
			value = null
		1:
			value = freed
		2:
			value = RefCounted.new()
		3:
			value = Resource.new()
		4:
			value = WebRTCPeerConnection.new()
		5:
			value = ClassDB.instantiate("WebRTCPeerConnectionExtension")
		6:
			value = WebRTCDataChannelRs.new()
		7:
			value = WebRTCMultiplayerPeerRs.new()
		_:
			if not pool.is_empty():
				value = pool[rng.randi() % pool.size()]
	return value


func bytes() -> PackedByteArray:
	var value := PackedByteArray()
	match rng.randi() % 7:
		0:
			value = PackedByteArray()
		1:
			for i in rng.randi_range(1, 64):
				value.append(rng.randi() % 256)
		2:
			value = bytes_64k
		3:
			value = bytes_64k_plus
		4:
			value = ten_mb if _nested == 0 else bytes_300k
		5:
			value = PackedByteArray([0])
		_:
			value = bytes_300k
	return value


## A short description of `value` for a CALL line.
static func summary(value: Variant) -> String:
	var text := ""
	match typeof(value):
		TYPE_NIL:
			text = "null"
		TYPE_STRING, TYPE_STRING_NAME:
			var string := String(value)
			text = '"%s"' % string.c_escape() if string.length() <= 24 else "<str %d>" % string.length()
			if typeof(value) == TYPE_STRING_NAME:
				text = "&" + text
		TYPE_PACKED_BYTE_ARRAY:
			text = "<bytes %d>" % value.size()
		TYPE_DICTIONARY:
			text = "{%d keys}" % value.size()
		TYPE_ARRAY:
			text = "[%d]" % value.size()
		TYPE_OBJECT:
			text = "<%s>" % value.get_class() if is_instance_valid(value) else "<freed>"
		TYPE_INT, TYPE_FLOAT, TYPE_BOOL:
			text = str(value)
		_:
			text = type_string(typeof(value))
	return text


func _config_value(key: String) -> Variant:
	var value: Variant = null
	match key:
		"iceServers":
			value = [ice_server(), ice_server()] if rng.randi() % 2 == 0 else hostile()
		"iceTransportPolicy":
			value = ["all", "relay", "none", "", 1][rng.randi() % 5]
		"bindAddress":
			value = _pick(IPS) if rng.randi() % 2 == 0 else hostile()
		"urls":
			value = _pick(URLS)
		_:
			value = integer() if rng.randi() % 2 == 0 else hostile()
	return value


func _real_string() -> String:
	if real_strings.is_empty():
		return garbage_sdp()
	var real: String = real_strings[rng.randi() % real_strings.size()]
	if rng.randi() % 2 == 0:
		return real.left(rng.randi_range(0, real.length()))
	return real


func _random_ascii(length: int) -> String:
	var chars := PackedByteArray()
	for i in length:
		chars.append(rng.randi_range(32, 126))
	return chars.get_string_from_ascii()


func _random_unicode(length: int) -> String:
	var text_value := ""
	for i in length:
		var code := rng.randi_range(1, 0x10FFFF)
		if code >= 0xD800 and code <= 0xDFFF:
			code = 0xFFFD
		text_value += String.chr(code)
	return text_value


func _pick(values: Array) -> Variant:
	return values[rng.randi() % values.size()]
