"""Godot 3.2 as a host of libacscalling (issue 20): the demo project examples-godot/ runs in
the headless godot3-server (and once in the windowed godot3 on Xvfb), its GDNative plugin (C,
over include/acscalling.h only) calls a native peer started here (1:1, or by joining a group
call) or answers the peer's call, with every event pumped from the game loop
(ACS_DISPATCH_MANUAL); it also calls 8:echo123.

Checked, from both sides:
 - audio both ways: the peer hears the tone Godot generates and pushes as PCM; Godot hears
   the peer's tone in what it pulls (and feeds to an AudioStreamGenerator);
 - video both ways: the peer's test-pattern counter is read back by GDScript out of the
   pixels of the ImageTexture the frames were copied into (increasing, and equal to the
   library's own reading); the peer renders the picture Godot pushes and sees its colour
   (headless: a picture the script draws, the dummy renderer has no viewport pixels);
 - the windowed engine on a private Xvfb display (Mesa llvmpipe, GLES2) pushes its rendered
   viewport: the peer reads the frame counter game_view.gd draws across the top and finds
   its four coloured tiles in their places;
 - mute reaches the peer; hang-up ends the call with 0/0;
 - every callback ran on the game thread, inside pump();
 - Godot releases everything: the library reports 0 live handles, the engine exits 0.

Skipped only when godot3-server is not installed (`apt-get install godot3-server`); the
viewport test also when godot3 or Xvfb is not (scripts/setup.sh installs them).
"""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

import acscalling
from acscalling import EventKind, LocalVideoStream, PixelFormat, ScalingMode, VideoStreamKind, _ffi
from acscalling.testing import EventRecorder, tone_power
from conftest import REPO, service_binary_or_skip

GODOT = shutil.which("godot3-server")
GODOT_WINDOWED = shutil.which("godot3")
XVFB = shutil.which("Xvfb")
if GODOT is None:
    pytest.skip("godot3-server is not installed (apt-get install godot3-server)", allow_module_level=True)
service_binary_or_skip()

PROJECT = REPO / "examples-godot"
GODOT_HZ, PEER_HZ = 440.0, 660.0
HEARD = 0.01  # tone power: a 0.3-amplitude sine is about 0.04, silence about 0
CALL_SECONDS = 6  # how long Godot stays connected before it mutes and hangs up
GODOT_COLOUR = (51, 153, 230)  # Color(0.2, 0.6, 0.9): the picture Godot draws headless
RUN_TIMEOUT = 50.0
# What examples-godot/game_view.gd draws in the viewport: tile centres as fractions of the
# picture, and their colours (Color(0.9, 0.1, 0.1) is (230, 26, 26), ...).
GAME_TILES = {
    "red": ((0.78, 0.55), (230, 26, 26)),
    "green": ((0.92, 0.55), (26, 204, 26)),
    "blue": ((0.78, 0.77), (26, 26, 230)),
    "yellow": ((0.92, 0.77), (242, 217, 26)),
    "sky": ((0.60, 0.77), GODOT_COLOUR),
}


def engine_env(**extra):
    """The environment Godot runs in. With ACS_GODOT_SANITIZE=1 the plugin is built with
    ASan/UBSan (scripts/godot-build.sh) and the engine runs with the ASan runtime preloaded."""
    env = dict(os.environ, LC_ALL="C.UTF-8", **extra)
    if os.environ.get("ACS_GODOT_SANITIZE") == "1":
        asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
        env.update(LD_PRELOAD=asan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=1")
    return env


@pytest.fixture(scope="module")
def plugin():
    """Builds the GDNative plugin against the library the Python binding loaded."""
    env = dict(os.environ, ACSCALLING_LIB=str(_ffi.library_path()))
    r = subprocess.run([str(REPO / "scripts" / "godot-build.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"plugin build failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout.strip().splitlines()[-1]


class Peer:
    """The native party: a 660 Hz tone microphone, a pull speaker and the virtual camera's
    test pattern; it accepts Godot's call and renders Godot's video (at 64x36, or with
    read_game at 320x180, reading the counter and the tiles game_view.gd draws)."""

    def __init__(self, service, read_game=False):
        self.read_game = read_game
        self.view_size = (320, 180) if read_game else (64, 36)
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        self.user_id, token = service.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone("peer tone", PEER_HZ, 0.5)
        self.speaker = dm.create_pull_speaker("peer speaker", 3000)
        self.agent = self.client.create_call_agent(service.service_url, token, "Native peer", on_event=self.events)
        self.agent.on("incoming_call", lambda ev: ev.call.accept(microphone=self.mic, speaker=self.speaker))
        self.client.wait_for(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, 20.0,
                             what="peer signed in")
        self.camera = LocalVideoStream.virtual(320, 180, 15)
        self.call = None
        self.video_started = False
        self.godot_stream = self.renderer = self.view = None
        self.godot_frames = 0
        self.godot_colours = []
        self.godot_counters = []  # the counter in each of Godot's frames, None if unreadable
        self.godot_tiles = []  # {tile: (r, g, b)} at the GAME_TILES places, per frame
        self.powers = []
        self.saw_godot_muted = False
        self._pcm = []
        self.dial = None  # a raw id to call (again, until it answers)
        self._last_dial = 0.0

    def tick(self, godot_id):
        """One step of the peer's loop while Godot runs."""
        if self.dial is not None and (self.call is None or self.call.state == acscalling.CallState.DISCONNECTED) \
                and not self.video_started and time.monotonic() - self._last_dial > 1.0:
            # Godot may not have signed in yet (the call then ends with 480): dial again.
            self._last_dial = time.monotonic()
            if self.call is not None:
                self.call.close()
            self.call = self.agent.start_call([self.dial], microphone=self.mic, speaker=self.speaker)
        if self.call is None:
            incoming = self.events.find(EventKind.INCOMING_CALL)
            if incoming is not None:
                self.call = incoming.call
        if self.call is None:
            return
        if not self.video_started and self.call.state == acscalling.CallState.CONNECTED:
            self.call.start_video(self.camera)
            self.video_started = True
        godot = next((p for p in self.call.remote_participants if p.identifier == godot_id), None)
        if godot is not None and godot.is_muted:
            self.saw_godot_muted = True
        if self.view is None and godot is not None:
            s = godot.video_stream(VideoStreamKind.VIDEO)
            if s.is_available:
                self.godot_stream, self.renderer = s, s.create_renderer()
                self.view = self.renderer.create_view(*self.view_size, PixelFormat.RGBA, ScalingMode.STRETCH)
        if self.view is not None:
            frame = self.view.take_latest_frame()
            if frame is not None:
                with frame:
                    self.godot_frames += 1
                    self.godot_colours.append(tuple(frame.pixel(4, 4)[:3]))
                    if self.read_game:
                        self.godot_counters.append(frame.read_test_pattern_counter())
                        self.godot_tiles.append({
                            name: tuple(frame.pixel(int(fx * frame.width), int(fy * frame.height))[:3])
                            for name, ((fx, fy), _) in GAME_TILES.items()})
        # Godot's tone, 0.4 s at a time while it is not muted.
        pcm = self.speaker.pull_pcm(48000)
        self._pcm.extend(pcm)
        if len(self._pcm) >= 19200:
            self.powers.append(tone_power(self._pcm, GODOT_HZ))
            self._pcm = []

    def close(self):
        for h in (self.view, self.renderer, self.godot_stream):
            if h is not None:
                h.close()
        if self.call is not None and self.call.state != acscalling.CallState.DISCONNECTED:
            self.call.hang_up()
        errors = list(self.client.callback_errors)
        self.client.close()
        self.camera.close()
        self.events.clear()
        assert not errors, f"peer event handlers raised: {errors!r}"


def engine_complaints(log):
    """The engine's ERROR and leak lines (its locale warning aside: the machine has no locale)."""
    lines = log.splitlines()
    return [l for l in lines if ("ERROR" in l or "leaked" in l.lower()) and "locale" not in l]


def run_godot(service, plugin, tmp_path, godot_env, peer=None, godot_id=None, command=None):
    result_file = tmp_path / "godot-result.json"
    log_file = tmp_path / "godot.log"
    env = engine_env(ACS_SERVICE_URL=service.service_url, ACS_RESULT_FILE=str(result_file),
                     ACS_CALL_SECONDS=str(CALL_SECONDS), ACS_SEND_HZ=str(GODOT_HZ), ACS_EXPECT_HZ=str(PEER_HZ),
                     ACS_DISPLAY_NAME="Godot")
    env.update(godot_env)
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(command or [GODOT, "--path", str(PROJECT)], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + RUN_TIMEOUT
            while proc.poll() is None and time.monotonic() < deadline:
                if peer is not None:
                    peer.tick(godot_id)
                time.sleep(0.02)
            timed_out = proc.poll() is None
        finally:
            if proc.poll() is None:
                proc.kill()  # by pid: the process this test started
            proc.wait(10)
    log_text = log_file.read_text(errors="replace")
    assert not timed_out, f"godot did not finish within {RUN_TIMEOUT} s; log:\n{log_text[-4000:]}"
    assert result_file.exists(), f"godot wrote no result (exit {proc.returncode}); log:\n{log_text[-4000:]}"
    return proc.returncode, json.loads(result_file.read_text()), log_text


@pytest.mark.parametrize("mode", ["call", "group", "answer"])
def test_godot_calls_a_native_peer_with_audio_and_video_both_ways(service, plugin, tmp_path, mode):
    peer = Peer(service)
    try:
        godot_id, godot_token = service.identity.create_user_with_token()
        if mode == "call":
            godot_env = {"ACS_TOKEN": godot_token, "ACS_CALLEE": peer.user_id}
        elif mode == "answer":  # the peer calls, Godot answers from its incoming_call event
            peer.dial = godot_id
            godot_env = {"ACS_TOKEN": godot_token, "ACS_ANSWER": "1"}
        else:
            group = str(uuid.uuid4())
            peer.call = peer.agent.join(group, microphone=peer.mic, speaker=peer.speaker)
            godot_env = {"ACS_TOKEN": godot_token, "ACS_GROUP_ID": group}
        rc, r, log = run_godot(service, plugin, tmp_path, godot_env, peer, godot_id)
        summary = {k: v for k, v in r.items() if k != "events"}
        summary["counters"] = r["counters"][:3] + ["…"] + r["counters"][-3:]
        print(f"godot ({mode}): {summary}")
        print(f"peer: powers of {GODOT_HZ:g} Hz {[round(p, 4) for p in peer.powers]}, "
              f"{peer.godot_frames} frames from Godot, colours {peer.godot_colours[-3:]}")

        assert rc == 0 and r["errors"] == [], f"exit {rc}, errors {r['errors']}; log:\n{log[-3000:]}"
        assert engine_complaints(log) == [], log[-3000:]
        assert r["stage"] == "disconnected" and r["end_code"] == [0, 0], r
        # Every callback ran inside pump() on the game thread.
        assert r["callbacks"] > 0 and r["off_thread_callbacks"] == 0, r
        # Nothing leaked: Godot released every handle before quitting.
        assert r["live_handles_after_shutdown"] == 0, r
        assert peer.user_id in r["roster_seen"], r["roster_seen"]

        # Audio, peer -> Godot: the peer's tone in what Godot pulled (and played).
        assert max(r["powers"], default=0) > HEARD, r["powers"]
        assert r["generator_frames"] > 48000, "the call's audio reached the AudioStreamGenerator"
        # Audio, Godot -> peer: the tone Godot generated and pushed.
        assert max(peer.powers, default=0) > HEARD, peer.powers
        assert r["audio_frames_pushed"] > 48000 * (CALL_SECONDS - 1)

        # Video, peer -> Godot's texture: counters read out of the texture's pixels increase.
        counters = r["counters"]
        assert len(counters) >= 2 * CALL_SECONDS, f"{len(counters)} frames read back, {r['unreadable_frames']} unreadable"
        assert counters == sorted(counters) and counters[-1] > counters[0], counters
        assert r["counter_mismatches"] == 0, "the texture's counter differs from the library's reading"
        assert r["frame_info"]["width"] == 320 and r["frame_info"]["height"] == 180, r["frame_info"]
        # Video, Godot -> peer: the picture Godot pushed, in its colour.
        assert peer.godot_frames >= 2 * CALL_SECONDS, peer.godot_frames
        assert any(all(abs(c - e) < 40 for c, e in zip(col, GODOT_COLOUR)) for col in peer.godot_colours), peer.godot_colours[-5:]
        assert r["video_frames_pushed"] > 10 * CALL_SECONDS, r["video_frames_pushed"]
        # Headless: the drawn picture, never a viewport (test_godot_pushes_its_rendered_viewport...).
        assert r["video_source"] == "drawn" and r["viewport_frames"] == 0, r["video_source"]

        # Mute: Godot saw its own mute event, the peer saw Godot muted.
        assert r["mute_event"] and peer.saw_godot_muted
    finally:
        peer.close()


@pytest.fixture
def x_display():
    """A private X display for the windowed engine: Xvfb on the first free number from :90
    (as tests/common/xvfb.rs), no TCP; stopped by its pid."""
    if GODOT_WINDOWED is None or XVFB is None:
        pytest.skip("the windowed engine needs godot3 and Xvfb (scripts/setup.sh installs godot3 and xvfb)")
    for n in range(90, 190):
        socket = f"/tmp/.X11-unix/X{n}"
        if os.path.exists(f"/tmp/.X{n}-lock") or os.path.exists(socket):
            continue
        xvfb = subprocess.Popen([XVFB, f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while xvfb.poll() is None and not os.path.exists(socket) and time.monotonic() < deadline:
                time.sleep(0.02)
            if xvfb.poll() is None and os.path.exists(socket):
                yield f":{n}"
                return
            # lost the race for this display number: try the next one
        finally:
            if xvfb.poll() is None:
                xvfb.kill()  # by pid: the Xvfb this fixture started
            xvfb.wait(10)
    pytest.fail("no free X display for Xvfb in :90..:189")


def test_godot_pushes_its_rendered_viewport_as_video(service, plugin, tmp_path, x_display):
    """The windowed godot3 on Xvfb (Mesa's llvmpipe, GLES2) calls the native peer and pushes
    its viewport (get_viewport().get_texture().get_data(), shrunk, flipped): the peer reads
    the frame counter that examples-godot/game_view.gd draws across the top of the viewport
    (increasing: the pictures change) and finds the four coloured tiles in their places; the
    drawn fallback picture (no counter, no tiles) is never used."""
    seconds = 3
    peer = Peer(service, read_game=True)
    try:
        godot_id, godot_token = service.identity.create_user_with_token()
        godot_env = {"ACS_TOKEN": godot_token, "ACS_CALLEE": peer.user_id, "ACS_CALL_SECONDS": str(seconds),
                     "DISPLAY": x_display, "LIBGL_ALWAYS_SOFTWARE": "1"}
        # --audio-driver Dummy: the machine has no sound card (ALSA would log an ERROR); the
        # call's audio does not go through the engine's driver anyway.
        command = [GODOT_WINDOWED, "--audio-driver", "Dummy", "--path", str(PROJECT)]
        started = time.monotonic()
        rc, r, log = run_godot(service, plugin, tmp_path, godot_env, peer, godot_id, command)
        took = time.monotonic() - started
        n = max(r["viewport_frames"], 1)
        renderer = next((l for l in log.splitlines() if "Renderer:" in l), "?")
        counters = [c for c in peer.godot_counters if c is not None]
        print(f"godot (viewport, {took:.1f} s, {renderer.strip()}, {r['video_driver']}): {r['viewport_frames']} "
              f"viewport frames of {r['viewport_size']}, drawn {r['drawn_frames']}; per frame read back "
              f"{r['viewport_read_us'] / n / 1000:.2f} ms, shrunk+flipped+converted {r['viewport_convert_us'] / n / 1000:.2f} ms; "
              f"{r['frames_drawn']} frames drawn")
        print(f"peer: {peer.godot_frames} frames, counters {counters[:3]}…{counters[-3:]} "
              f"({len(peer.godot_counters) - len(counters)} unreadable), last tiles {peer.godot_tiles[-1:]}")

        assert rc == 0 and r["errors"] == [], f"exit {rc}, errors {r['errors']}; log:\n{log[-3000:]}"
        assert engine_complaints(log) == [], log[-3000:]
        assert r["video_driver"] == "GLES2" and "llvmpipe" in renderer, (r["video_driver"], renderer)
        # The viewport, never the fallback picture.
        assert r["video_source"] == "viewport" and r["drawn_frames"] == 0, (r["video_source"], r["drawn_frames"])
        assert r["viewport_frames"] >= 10 * seconds and r["viewport_size"] == [1024, 600], r
        # The peer got Godot's viewport: the counter game_view.gd draws, increasing, and no
        # larger than the number of frames the engine drew.
        assert peer.godot_frames >= 2 * seconds, peer.godot_frames
        assert len(counters) >= 2 * seconds, peer.godot_counters
        assert counters == sorted(counters) and len(set(counters)) >= 2 * seconds, counters
        assert counters[-1] <= r["frames_drawn"], (counters[-1], r["frames_drawn"])
        # ... with the tiles in their places, in their colours, in every readable frame.
        good = [t for c, t in zip(peer.godot_counters, peer.godot_tiles) if c is not None]
        wrong = [(name, got) for t in good for name, got in t.items()
                 if not all(abs(a - b) < 40 for a, b in zip(got, GAME_TILES[name][1]))]
        assert wrong == [], f"{len(wrong)} tile samples off colour, e.g. {wrong[:5]}"
        assert r["stage"] == "disconnected" and r["end_code"] == [0, 0], r
        assert r["off_thread_callbacks"] == 0 and r["live_handles_after_shutdown"] == 0, r
    finally:
        peer.close()


def test_godot_calls_the_echo_bot_and_gets_its_own_audio_and_picture_back(service, plugin, tmp_path):
    """Godot calls 8:echo123: its own 440 Hz tone comes back, and its own picture lands in
    the texture (in its colour)."""
    _, token = service.identity.create_user_with_token()
    rc, r, log = run_godot(service, plugin, tmp_path,
                           {"ACS_TOKEN": token, "ACS_CALLEE": "8:echo123", "ACS_EXPECT_HZ": str(GODOT_HZ)})
    print(f"godot (echo): powers {r['powers']}, frames {r.get('frame_info')}, pixel {r.get('texture_pixel')}")
    assert rc == 0 and r["errors"] == [], f"exit {rc}, errors {r['errors']}; log:\n{log[-3000:]}"
    assert engine_complaints(log) == [], log[-3000:]
    assert r["stage"] == "disconnected" and r["end_code"] == [0, 0], r
    assert "8:echo123" in r["roster_seen"], r["roster_seen"]
    assert max(r["powers"], default=0) > HEARD, r["powers"]
    assert r["frame_info"]["frames_taken"] >= 2 * CALL_SECONDS, r["frame_info"]
    assert all(abs(c - e) < 40 for c, e in zip(r["texture_pixel"], GODOT_COLOUR)), r["texture_pixel"]
    assert r["off_thread_callbacks"] == 0 and r["live_handles_after_shutdown"] == 0, r


def test_bad_input_from_scripts_is_refused_not_crashed(plugin, tmp_path):
    """examples-godot/badinput.gd calls every plugin method with missing, wrong-typed and
    out-of-range arguments, before start, started and after shutdown: all refused, 0 handles."""
    result_file = tmp_path / "badinput.json"
    env = engine_env(ACS_RESULT_FILE=str(result_file))
    r = subprocess.run([GODOT, "--path", str(PROJECT), "-s", "badinput.gd"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert result_file.exists(), f"exit {r.returncode}; log:\n{r.stdout[-3000:]}{r.stderr[-3000:]}"
    result = json.loads(result_file.read_text())
    assert r.returncode == 0 and result["failures"] == [] and result["checks"] > 50, result
    assert engine_complaints(r.stdout + r.stderr) == [], r.stdout[-3000:]


def test_csharp_pinvoke_sample_signs_in(service, tmp_path):
    """The C# P/Invoke sample (the shape of a Unity plugin) compiles with mono's mcs, signs in
    pumping events in manual dispatch, and leaves no live handle. Optional: needs mono-mcs."""
    if shutil.which("mcs") is None or shutil.which("mono") is None:
        pytest.skip("mono-mcs is not installed (optional: apt-get install mono-mcs)")
    _, token = service.identity.create_user_with_token()
    env = dict(os.environ, ACSCALLING_LIB=str(_ffi.library_path()))
    r = subprocess.run([str(REPO / "scripts" / "godot-csharp-sample.sh"), service.service_url, token], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    assert "connection state 1" in r.stdout and "live handles after release: 0" in r.stdout, r.stdout
