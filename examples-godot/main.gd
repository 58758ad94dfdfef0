extends Control
# The libacscalling demo scene: sign in, call a user or the echo bot, join a group call,
# mute, hang up; the roster on the left, the remote camera on a Sprite.
#
# Everything runs on the game loop: _process pumps the library's events (the client is in
# ACS_DISPATCH_MANUAL mode, so its callbacks run inside pump(), on this thread), feeds the
# engine's audio to the call, plays the call's audio through an AudioStreamGenerator,
# pushes the game's picture (the viewport, which game_view.gd draws) as outgoing video, and
# copies the newest remote frame into an ImageTexture.
#
# Configuration comes from the environment (a game would take it from its own UI/backend):
#   ACS_SERVICE_URL, ACS_TOKEN   the service and an access token (required)
#   ACS_DISPLAY_NAME             the name others see (default "Godot")
#   ACS_CALLEE                   raw id to call ("8:acs:…" or "8:echo123"), or
#   ACS_GROUP_ID                 a group call to join
#   ACS_RESULT_FILE              set: run unattended (call, measure, mute, hang up, quit)
#                                and write what was measured there as JSON (the test)
#   ACS_ANSWER=1                 unattended: place no call, answer the first incoming one
#   ACS_CALL_SECONDS             unattended: how long to stay connected (default 6)
#   ACS_SEND_HZ / ACS_EXPECT_HZ  the tone this side sends / expects to hear (440 / 660)

const AcsCalling = preload("res://bin/acs_calling.gdns")
const TestPattern = preload("res://test_pattern.gd")

const MIX_RATE = 48000
const VIDEO_FPS = 15
const VIDEO_SIZE = Vector2(320, 180)  # the picture drawn when there are no viewport pixels
const VIDEO_WIDTH = 320  # the viewport's picture is shrunk to this width (aspect kept)
const POWER_WINDOW_FRAMES = 19200  # 0.4 s: one tone-power measurement
const RUN_TIMEOUT_MSEC = 45000

# Call states (ACS numbering, as acscalling.h defines them).
const CALL_CONNECTED = 5
const CALL_DISCONNECTED = 8
const AGENT_CONNECTED = 1

var acs
var texture := ImageTexture.new()
var remote_image := Image.new()
var playback: AudioStreamGeneratorPlayback
var send_hz := 440.0
var expect_hz := 660.0

var audio_clock_start := -1
var audio_frames_made := 0
var phase := 0.0
var video_next_msec := 0
var video_frame := 0
var game_image := Image.new()
var stamp := Image.new()

var unattended := false
var result := {}
var heard := PoolVector2Array()
var call_started_msec := -1
var stage := "signing in"
var muted := false
var viewport_has_pixels := OS.get_name() != "Server"
var incoming := false  # an incoming call rings: the Call button answers it


func _ready():
	Engine.target_fps = 60
	send_hz = float(env("ACS_SEND_HZ", "440"))
	expect_hz = float(env("ACS_EXPECT_HZ", "660"))
	unattended = env("ACS_RESULT_FILE", "") != ""
	result = {
		"powers": [], "counters": [], "counter_mismatches": 0, "unreadable_frames": 0,
		"generator_frames": 0, "audio_frames_pushed": 0, "events": [], "errors": [],
		"roster_seen": [], "mute_event": false, "stage": stage,
		"video_source": "", "viewport_frames": 0, "drawn_frames": 0, "viewport_size": [],
		"viewport_read_us": 0, "viewport_convert_us": 0,
		"video_driver": OS.get_video_driver_name(OS.get_current_video_driver()),
	}
	$RemoteVideo.texture = texture

	# The call's audio goes to the engine through an AudioStreamGenerator.
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = MIX_RATE
	generator.buffer_length = 0.5
	$Player.stream = generator
	$Player.play()
	playback = $Player.get_stream_playback()

	game_image.create(int(VIDEO_SIZE.x), int(VIDEO_SIZE.y), false, Image.FORMAT_RGBA8)
	stamp.create(40, 40, false, Image.FORMAT_RGBA8)
	stamp.fill(Color(1, 1, 1))

	for b in [$Buttons/Call, $Buttons/Join, $Buttons/Mute, $Buttons/HangUp]:
		b.disabled = true
	$Buttons/Call.connect("pressed", self, "_on_call")
	$Buttons/Join.connect("pressed", self, "_on_join")
	$Buttons/Mute.connect("pressed", self, "_on_mute")
	$Buttons/HangUp.connect("pressed", self, "_on_hang_up")
	$Buttons/Callee.text = env("ACS_CALLEE", "8:echo123")

	acs = AcsCalling.new()
	var url := env("ACS_SERVICE_URL", "")
	var token := env("ACS_TOKEN", "")
	if url == "" or token == "":
		show_status("Set ACS_SERVICE_URL and ACS_TOKEN (see README.md)")
		finish("no service configured")
		return
	var st = acs.start(url, token, env("ACS_DISPLAY_NAME", "Godot"))
	if st != 0:
		finish("start: " + acs.last_error())
		return
	show_status("libacscalling %s: signing in" % acs.version())


func env(name: String, default: String) -> String:
	return OS.get_environment(name) if OS.has_environment(name) else default


func _process(_delta):
	if acs == null:
		return
	for ev in acs.pump():
		if acs != null:  # an event may have ended the run
			on_event(ev)
	if acs == null:
		return
	feed_microphone()
	play_call_audio()
	push_game_video()
	show_remote_video()
	$Roster.text = roster_text()
	if unattended:
		drive_unattended()


# ---------------------------------------------------------------- events --------------

func on_event(ev: Dictionary):
	if unattended:
		result["events"].append(ev["name"] + ":" + str(ev["state"]))
	match ev["name"]:
		"agent_connection_state_changed":
			if ev["state"] == AGENT_CONNECTED:
				stage = "signed in"
				show_status("Signed in")
				for b in [$Buttons/Call, $Buttons/Join]:
					b.disabled = false
				if unattended:
					start_unattended_call()
			elif ev["code"] != 0:
				finish("sign-in failed: %d/%d %s" % [ev["code"], ev["subcode"], ev["message"]])
		"incoming_call":
			if ev.get("kept", false):
				incoming = true
				show_status("Incoming call: press Answer")
				$Buttons/Call.text = "Answer"
				$Buttons/Call.disabled = false
				if unattended and env("ACS_ANSWER", "") == "1":
					_on_call()
		"call_state_changed":
			show_status("Call state %d" % ev["state"])
			$Buttons/Mute.disabled = ev["state"] != CALL_CONNECTED
			$Buttons/HangUp.disabled = ev["state"] == CALL_DISCONNECTED
			if ev["state"] == CALL_CONNECTED and call_started_msec < 0:
				call_started_msec = OS.get_ticks_msec()
				stage = "connected"
			elif ev["state"] == CALL_DISCONNECTED:
				result["end_code"] = [ev["code"], ev["subcode"]]
				stage = "disconnected"
				if unattended:
					end_unattended_run()
		"call_mute_changed":
			muted = ev["flag"]
			$Buttons/Mute.text = "Unmute" if muted else "Mute"
			if muted:
				result["mute_event"] = true
		"remote_video_availability_changed":
			if ev.has("render_status") and ev["render_status"] != 0:
				result["errors"].append("render: " + acs.last_error())


func roster_text() -> String:
	var lines := ["Roster:"]
	for p in acs.roster():
		lines.append("%s  %s  state %d%s%s" % [p["name"], p["id"], p.get("state", -1),
				"  muted" if p.get("muted", false) else "", "  speaking" if p.get("speaking", false) else ""])
		if unattended and not (p["id"] in result["roster_seen"]):
			result["roster_seen"].append(p["id"])
	return PoolStringArray(lines).join("\n")


func show_status(text: String):
	$Status.text = text


# ---------------------------------------------------------------- buttons -------------

func _on_call():
	if incoming:
		incoming = false
		$Buttons/Call.text = "Call"
		check(acs.accept(), "accept")
	else:
		check(acs.call_user($Buttons/Callee.text), "call")


func _on_join():
	check(acs.join_group($Buttons/Callee.text), "join")


func _on_mute():
	check(acs.set_muted(not muted), "mute")


func _on_hang_up():
	check(acs.hang_up(), "hang up")


func check(status: int, what: String) -> bool:
	if status != 0:
		var msg: String = what + ": " + acs.last_error()
		show_status(msg)
		result["errors"].append(msg)
		return false
	return true


# ---------------------------------------------------------------- audio ---------------

# The engine's audio to the call: here generated (a sine at send_hz), kept in step with the
# wall clock so the call gets 48000 frames a second whatever the frame rate. A game would
# push what an AudioEffectCapture (Godot 3.3+) or its own mixer gives.
func feed_microphone():
	var now := OS.get_ticks_usec()
	if audio_clock_start < 0:
		audio_clock_start = now
	var due := int((now - audio_clock_start) * MIX_RATE / 1000000) - audio_frames_made
	if due <= 0:
		return
	due = min(due, MIX_RATE / 5)  # after a long stall, don't flood the call
	var frames := PoolVector2Array()
	frames.resize(due)
	var step := TAU * send_hz / MIX_RATE
	for i in range(due):
		var s := 0.3 * sin(phase)
		frames[i] = Vector2(s, s)
		phase = fmod(phase + step, TAU)
	audio_frames_made += due
	var accepted = acs.push_audio(frames)
	if accepted < 0:
		result["errors"].append("push_audio: " + acs.last_error())
	else:
		result["audio_frames_pushed"] += accepted


# The call's audio to the engine: pulled from the library's speaker into the generator.
func play_call_audio():
	var frames: PoolVector2Array = acs.pull_audio(MIX_RATE / 5)
	if frames.size() == 0:
		return
	if playback != null and playback.can_push_buffer(frames.size()):
		playback.push_buffer(frames)
		result["generator_frames"] += frames.size()
	if unattended and call_started_msec >= 0:
		heard.append_array(frames)
		if heard.size() >= POWER_WINDOW_FRAMES:
			result["powers"].append(acs.tone_power(heard, expect_hz))
			heard = PoolVector2Array()


# ---------------------------------------------------------------- video ---------------

# The game's picture as the call's video, VIDEO_FPS times a second: the viewport's picture
# (game_view.gd draws it) when the engine renders one; a drawn picture on the headless server
# (its dummy renderer has no viewport pixels). The viewport is read back from the GPU
# (bottom-up, RGB8 on GLES2, half floats on GLES3), shrunk to VIDEO_WIDTH first (so the flip
# and the conversion to RGBA8 touch a tenth of the pixels), flipped and converted.
func push_game_video():
	var now := OS.get_ticks_msec()
	if now < video_next_msec:
		return
	video_next_msec = now + 1000 / VIDEO_FPS
	video_frame += 1
	var img: Image = null
	if viewport_has_pixels:
		var t0 := OS.get_ticks_usec()
		img = get_viewport().get_texture().get_data()
		# The headless server's dummy renderer has none (and says so in an error each time).
		viewport_has_pixels = img != null and not img.is_empty()
		if viewport_has_pixels:
			var w := img.get_width()
			var h := img.get_height()
			var t1 := OS.get_ticks_usec()
			if w > VIDEO_WIDTH:
				img.resize(VIDEO_WIDTH, int(round(VIDEO_WIDTH * h / float(w) / 2.0)) * 2, Image.INTERPOLATE_BILINEAR)
			img.flip_y()  # GL reads the viewport bottom-up
			if img.get_format() != Image.FORMAT_RGBA8:
				img.convert(Image.FORMAT_RGBA8)
			var t2 := OS.get_ticks_usec()
			result["viewport_frames"] += 1
			result["viewport_size"] = [w, h]
			result["viewport_read_us"] += t1 - t0
			result["viewport_convert_us"] += t2 - t1
	if not viewport_has_pixels:
		img = game_image
		img.fill(Color(0.2, 0.6, 0.9))
		var x := (video_frame * 4) % int(VIDEO_SIZE.x - stamp.get_width())
		img.blit_rect(stamp, Rect2(Vector2.ZERO, stamp.get_size()), Vector2(x, 70))
		result["drawn_frames"] += 1
	result["video_source"] = "viewport" if viewport_has_pixels else "drawn"
	var st = acs.push_video(img.get_data(), img.get_width(), img.get_height())
	if st != 0:
		result["errors"].append("push_video: " + acs.last_error())


# The newest remote frame (if a new one came) into the ImageTexture on the Sprite. The
# library's pixels are copied once, into the PoolByteArray; the Image shares that array and
# the texture takes the Image.
func show_remote_video():
	var data: PoolByteArray = acs.take_remote_frame()
	if data.size() == 0:
		return
	var info: Dictionary = acs.frame_info()
	remote_image.create_from_data(info["width"], info["height"], false, Image.FORMAT_RGBA8, data)
	if texture.get_width() != info["width"] or texture.get_height() != info["height"]:
		texture.create_from_image(remote_image, 0)
	else:
		texture.set_data(remote_image)
	if unattended:
		# Proof that the frames reached the texture: the counter the sender's test pattern
		# draws, read back out of the texture's own pixels.
		var pixels: Image = texture.get_data()
		var counter := TestPattern.read_counter(pixels)
		pixels.lock()
		var c := pixels.get_pixel(4, 4)
		pixels.unlock()
		result["texture_pixel"] = [c.r8, c.g8, c.b8]
		if counter < 0:
			result["unreadable_frames"] += 1
		else:
			result["counters"].append(counter)
			if info["library_counter"] >= 0 and info["library_counter"] != counter:
				result["counter_mismatches"] += 1


# ---------------------------------------------------------------- unattended run ------

func start_unattended_call():
	var group := env("ACS_GROUP_ID", "")
	if env("ACS_ANSWER", "") == "1":
		stage = "waiting for a call"  # answered from the incoming_call event
	elif group != "":
		stage = "joining"
		if not check(acs.join_group(group), "join_group"):
			finish("join_group failed")
	else:
		stage = "calling"
		if not check(acs.call_user(env("ACS_CALLEE", "8:echo123")), "call_user"):
			finish("call_user failed")


func drive_unattended():
	if OS.get_ticks_msec() > RUN_TIMEOUT_MSEC:
		finish("timed out while " + stage)
		return
	if call_started_msec < 0:
		return
	var seconds := float(env("ACS_CALL_SECONDS", "6"))
	var elapsed := (OS.get_ticks_msec() - call_started_msec) / 1000.0
	if stage == "connected" and elapsed >= seconds:
		stage = "muting"
		check(acs.set_muted(true), "set_muted")
	elif stage == "muting" and elapsed >= seconds + 1.0:
		# A second after muting (the mute event has arrived by then): hang up.
		result["stats_in_call"] = acs.stats()
		result["frame_info"] = acs.frame_info()
		stage = "hanging up"
		if not check(acs.hang_up(), "hang_up"):
			finish("hang_up failed")


func end_unattended_run():
	finish("")


# Releases everything, checks the library has no live handle left, writes the result (in
# unattended mode) and quits: exit code 0 only when the run completed without an error.
func finish(error: String):
	if acs == null:
		return
	if error != "":
		result["errors"].append(error)
		show_status(error)
	var stats: Dictionary = acs.stats()
	result["callbacks"] = stats["callbacks"]
	result["off_thread_callbacks"] = stats["off_thread_callbacks"]
	result["video_frames_pushed"] = stats["video_frames_pushed"]
	result["frames_drawn"] = Engine.get_frames_drawn()
	result["live_handles_after_shutdown"] = acs.shutdown()
	result["stage"] = stage
	acs = null
	if not unattended:
		return
	var f := File.new()
	if f.open(env("ACS_RESULT_FILE", ""), File.WRITE) == OK:
		f.store_string(to_json(result))
		f.close()
	var ok: bool = result["errors"].empty() and result["live_handles_after_shutdown"] == 0
	get_tree().quit(0 if ok else 1)


func _exit_tree():
	# Closing the window mid-call: release the library's handles (the call ends).
	if acs != null:
		acs.shutdown()
		acs = null
