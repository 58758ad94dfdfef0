extends SceneTree
# Bad input from scripts: every AcsCalling method called with missing, wrong-typed and
# out-of-range arguments, before start(), after a refused start() and after shutdown().
# Each must answer with an error (a negative status, an empty result or -1), never crash.
#   godot3-server --path examples-godot -s badinput.gd
# Exit code 0 when every check held; the failures are written to $ACS_RESULT_FILE (JSON).

const AcsCalling = preload("res://bin/acs_calling.gdns")

var failures := []
var checks := 0


func expect(ok: bool, what: String):
	checks += 1
	if not ok:
		failures.append(what)


func refused(value, what: String):
	expect(typeof(value) == TYPE_INT and value < 0, what + " -> " + str(value))


# A token the library accepts locally (it only reads the claims; no service checks it here).
func well_formed_token() -> String:
	var claims := {"sub": "8:acs:0b4e1c1e-2f6d-4b7a-9f0e-3c2d1a0b9c8d", "exp": OS.get_unix_time() + 3600,
			"iat": OS.get_unix_time() - 10, "scope": "voip", "jti": "badinput"}
	return b64url(to_json({"alg": "HS256", "typ": "JWT"})) + "." + b64url(to_json(claims)) + "." + b64url("signature")


func b64url(text: String) -> String:
	return Marshalls.utf8_to_base64(text).replace("+", "-").replace("/", "_").replace("=", "")


func _init():
	var acs = AcsCalling.new()
	var big := 1 << 40
	# Before start(): nothing to act on.
	refused(acs.call_user("8:echo123"), "call_user before start")
	refused(acs.join_group("0b4e1c1e-2f6d-4b7a-9f0e-3c2d1a0b9c8d"), "join_group before start")
	refused(acs.set_muted(true), "set_muted without a call")
	refused(acs.hang_up(), "hang_up without a call")
	refused(acs.accept(), "accept without an incoming call")
	refused(acs.reject(), "reject without an incoming call")
	refused(acs.push_audio(PoolVector2Array([Vector2(0.1, 0.1)])), "push_audio before start")
	refused(acs.push_video(PoolByteArray([0, 0, 0, 0]), 1, 1), "push_video before start")
	expect(acs.pull_audio(480).size() == 0, "pull_audio before start")
	expect(acs.take_remote_frame().size() == 0, "take_remote_frame without video")
	expect(acs.pump().size() == 0, "pump before start")
	expect(acs.roster().size() == 0, "roster without a call")
	expect(acs.call_state() == 0, "call_state without a call")
	# Missing and wrong-typed arguments.
	refused(acs.start(), "start()")
	refused(acs.start(1, 2, 3), "start(1, 2, 3)")
	refused(acs.start("ws://127.0.0.1:9", null), "start(url, null)")
	refused(acs.call_user(), "call_user()")
	refused(acs.call_user(42), "call_user(42)")
	refused(acs.join_group([]), "join_group([])")
	refused(acs.set_muted("yes"), "set_muted(\"yes\")")
	refused(acs.push_audio("noise"), "push_audio(String)")
	refused(acs.push_audio(), "push_audio()")
	refused(acs.push_video(), "push_video()")
	refused(acs.push_video("pixels", 1, 1), "push_video(String, ...)")
	refused(acs.set_remote_view_size("a", "b"), "set_remote_view_size(String, String)")
	refused(acs.set_remote_view_size(0, 10), "set_remote_view_size(0, 10)")
	refused(acs.set_remote_view_size(big, 10), "set_remote_view_size(2^40, 10)")
	refused(acs.set_remote_view_size(-1, -1), "set_remote_view_size(-1, -1)")
	expect(acs.pull_audio("x").size() == 0, "pull_audio(String)")
	expect(acs.pull_audio(-5).size() == 0, "pull_audio(-5)")
	expect(acs.pull_audio(big).size() == 0, "pull_audio(2^40)")
	expect(acs.tone_power() == -1.0, "tone_power()")
	expect(acs.tone_power(PoolVector2Array([Vector2(0.5, 0.5)]), 0.0) == -1.0, "tone_power at 0 Hz")
	expect(acs.tone_power(PoolVector2Array(), 440.0) == 0.0, "tone_power of nothing")
	# A refused start (malformed token, bad URL) leaves nothing behind and can be retried.
	refused(acs.start("ws://127.0.0.1:9", "not-a-token", "Godot"), "start with a malformed token")
	refused(acs.start("not a url", "not-a-token", "Godot"), "start with a bad url")
	expect(acs.last_error() != "", "last_error explains")
	expect(acs.version() != "", "version")
	# Started against a port where nothing listens (the agent retries in the background):
	# out-of-range media is refused by the plugin or the library.
	expect(acs.start("ws://127.0.0.1:9", well_formed_token(), "Godot") == 0, "start: " + acs.last_error())
	refused(acs.start("ws://127.0.0.1:9", well_formed_token(), "Godot"), "start twice")
	refused(acs.push_video(PoolByteArray([0, 0, 0, 0]), big, big), "push_video(2^40 x 2^40)")
	refused(acs.push_video(PoolByteArray([0, 0, 0, 0]), 2, 2), "push_video with too few bytes")
	refused(acs.push_video(PoolByteArray([0, 0, 0, 0]), 0, 1), "push_video 0 wide")
	expect(acs.push_video(PoolByteArray([1, 2, 3, 4]), 1, 1) == 0, "push_video 1x1: " + acs.last_error())
	var huge := PoolVector2Array()
	huge.resize(200000)
	expect(acs.push_audio(huge) >= 0, "push_audio of 4 s is cut, not refused")
	refused(acs.set_muted(true), "set_muted without a call, started")
	refused(acs.accept(), "accept without an incoming call, started")
	refused(acs.join_group("not-a-uuid"), "join_group(not a uuid)")
	refused(acs.call_user("not an id"), "call_user(not an id)")
	expect(typeof(acs.pump()) == TYPE_ARRAY, "pump while connecting")
	# After shutdown everything is refused again and nothing is left.
	expect(acs.shutdown() == 0, "no live handles after shutdown")
	refused(acs.call_user("8:echo123"), "call_user after shutdown")
	refused(acs.push_audio(huge), "push_audio after shutdown")
	expect(typeof(acs.stats()) == TYPE_DICTIONARY and typeof(acs.frame_info()) == TYPE_DICTIONARY, "stats, frame_info")
	acs = null
	var path := OS.get_environment("ACS_RESULT_FILE")
	if path != "":
		var f := File.new()
		if f.open(path, File.WRITE) == OK:
			f.store_string(to_json({"checks": checks, "failures": failures}))
			f.close()
	quit(0 if failures.empty() else 1)
