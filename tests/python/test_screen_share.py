"""Native screen sharing from Python through the C ABI: on a private X display (Xvfb +
openbox, started here) an xmessage window painted red is listed among the shareable
sources (title, application, size, a red thumbnail) beside the monitor; Alice shares it
and Bob renders red; closing the window ends the share with its reason. Alice's event
callback sees the share STARTED, then FAILED 0/10012 "the window was closed"; a second
participant's share is refused (FAILED 403 with the reason); a share without the pointer
(show_cursor=False) flows. Bad ids and rates are refused with clear errors. The sample
examples-python/screen_share.py runs against the same display."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import acscalling
from acscalling import (
    DeviceError,
    EventKind,
    OutgoingVideoState,
    InvalidArgumentError,
    LocalVideoStream,
    PixelFormat,
    ScalingMode,
    ScreenSourceKind,
    ShareState,
    VideoStreamKind,
)
from conftest import service_binary_or_skip
from test_video_calls import TIMEOUT, parties  # noqa: F401 (a fixture)

service_binary_or_skip()

TITLE = "acs-py-share"
ONE_SHARE = "is already sharing a screen in this call: one screen share at a time"
REPO = Path(__file__).resolve().parents[2]


def outgoing(party, state, kind=VideoStreamKind.SCREEN_SHARE):
    """Waits for `party`'s OUTGOING_VIDEO_STATE_CHANGED with `state` (of a `kind` stream)."""
    found = []

    def seen():
        for e in party.events.of(EventKind.OUTGOING_VIDEO_STATE_CHANGED):
            if e.state == state and e.video_stream_kind == kind:
                found.append(e)
                return True
        return False

    party.wait(seen, f"outgoing video {state.name}")
    return found[0]


def share_of(call, who, available=True):
    for p in call.remote_participants:
        if p.identifier == who.user_id:
            s = p.video_stream(VideoStreamKind.SCREEN_SHARE)
            if s.is_available == available:
                return s
    return None


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


@pytest.fixture
def display(monkeypatch):
    """Xvfb on a free display with openbox; DISPLAY points at it for the library."""
    for prog in ("Xvfb", "openbox", "xmessage"):
        if shutil.which(prog) is None:
            pytest.skip(f"{prog} is not installed (scripts/setup.sh installs it)")
    procs = []
    for n in range(200, 300):
        if os.path.exists(f"/tmp/.X{n}-lock") or os.path.exists(f"/tmp/.X11-unix/X{n}"):
            continue
        xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end and xvfb.poll() is None and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            time.sleep(0.02)
        if xvfb.poll() is None and os.path.exists(f"/tmp/.X11-unix/X{n}"):
            procs.append(xvfb)
            break
        xvfb.kill()
        xvfb.wait()
    else:
        pytest.fail("no free X display")
    env = dict(os.environ, DISPLAY=f":{n}")
    monkeypatch.setenv("DISPLAY", f":{n}")
    procs.append(subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(0.5)
    yield env
    for p in reversed(procs):
        p.kill()
        p.wait()


def red_share(pixels, width, height, stride):
    """The fraction of clearly red pixels in an RGBA picture."""
    red = 0
    for y in range(height):
        row = pixels[y * stride:(y * stride) + width * 4]
        for x in range(0, width * 4, 4):
            r, g, b = row[x], row[x + 1], row[x + 2]
            red += r > 180 and g < 80 and b < 80
    return red / (width * height)


def test_a_window_is_listed_shared_rendered_and_ends_when_it_closes(display, parties):
    win = subprocess.Popen(["xmessage", "-title", TITLE, "-bg", "red", "-fg", "red",
                            "-geometry", "400x300+50+50", " "],
                           env=display, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + TIMEOUT
        sources = []
        while time.monotonic() < end:
            sources = acscalling.list_screen_sources((64, 64))
            if any(s.title == TITLE and not s.minimized for s in sources):
                break
            time.sleep(0.1)
        window = next((s for s in sources if s.title == TITLE), None)
        assert window is not None, sources
        monitor = next(s for s in sources if s.kind == ScreenSourceKind.MONITOR)
        assert (monitor.width, monitor.height) == (800, 600) and monitor.id.startswith("x11:monitor:")
        assert window.kind == ScreenSourceKind.WINDOW and window.application == "Xmessage", window
        assert window.width >= 300 and window.height >= 200, window
        assert window.thumbnail is not None and window.thumbnail_width <= 64 and window.thumbnail_height <= 64
        tw, th = window.thumbnail_width, window.thumbnail_height
        assert red_share(window.thumbnail, tw, th, tw * 4) > 0.5, "the thumbnail shows the red window"

        alice, bob = parties("Alice"), parties("Bob")
        group = str(uuid.uuid4())
        ca, cb = alice.join(group), bob.join(group)
        with LocalVideoStream.from_screen(window.id, 10) as share:
            assert share.share_state == (ShareState.ACTIVE, "")
            ca.start_screen_sharing(share)
            started = outgoing(alice, OutgoingVideoState.STARTED)
            assert (started.code, started.subcode) == (0, 0) and started.call == ca, started
            assert started.local_stream == share, "the event carries the stream shared"

            def find():
                for p in cb.remote_participants:
                    if p.identifier == alice.user_id:
                        s = p.video_stream(VideoStreamKind.SCREEN_SHARE)
                        if s.is_available:
                            return s
                return None

            bob.wait(lambda: find() is not None, "Alice's share available")
            stream = find()
            view = stream.create_renderer().create_view(160, 120, PixelFormat.RGBA, ScalingMode.STRETCH)
            seen = 0.0
            end = time.monotonic() + TIMEOUT
            while seen < 0.5 and time.monotonic() < end:
                f = view.take_latest_frame()
                if f is None:
                    time.sleep(0.02)
                    continue
                with f:
                    seen = red_share(f.plane_bytes(0), 160, 120, 160 * 4)
            assert seen > 0.5, f"Bob renders the red window ({seen:.2f} red)"
            view.close()

            win.kill()
            win.wait()
            alice.wait(lambda: share.share_state[0] == ShareState.ENDED, "the share ended")
            assert share.share_state == (ShareState.ENDED, "the window was closed")
            assert share.source_error == "the window was closed"
            failed = outgoing(alice, OutgoingVideoState.FAILED)
            assert (failed.code, failed.subcode, failed.message) == (0, 10012, "the window was closed"), failed
            assert failed.local_stream == share and failed.call == ca
            bob.wait(lambda: share_of(cb, alice, available=False) is not None, "Alice's share unavailable")
            bob.wait(lambda: any(e.kind == EventKind.REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED and not e.flag
                                 and e.video_stream_kind == VideoStreamKind.SCREEN_SHARE
                                 for e in bob.events.events), "the unavailability event")
            del started, failed
    finally:
        if win.poll() is None:
            win.kill()
            win.wait()


def test_one_screen_share_at_a_time_and_a_share_without_the_pointer(display, parties):
    monitor = next(s for s in acscalling.list_screen_sources() if s.kind == ScreenSourceKind.MONITOR)
    alice, bob = parties("Alice"), parties("Bob")
    group = str(uuid.uuid4())
    ca, cb = alice.join(group), bob.join(group)
    with LocalVideoStream.from_screen(monitor.id, 10, show_cursor=False) as a_share, \
            LocalVideoStream.from_screen(monitor.id, 5) as b_share:
        assert a_share.share_state == (ShareState.ACTIVE, "")
        ca.start_screen_sharing(a_share)
        outgoing(alice, OutgoingVideoState.STARTED)
        bob.wait(lambda: share_of(cb, alice) is not None, "Alice's share available")
        view = share_of(cb, alice).create_renderer().create_view(160, 120, PixelFormat.RGBA,
                                                                 ScalingMode.STRETCH)
        frames = 0
        end = time.monotonic() + TIMEOUT
        while frames < 3 and time.monotonic() < end:
            f = view.take_latest_frame()
            if f is None:
                time.sleep(0.02)
                continue
            with f:
                frames += 1
        assert frames >= 3, "frames of the share without the pointer reach Bob"
        view.close()

        cb.start_screen_sharing(b_share)
        refused = outgoing(bob, OutgoingVideoState.FAILED)
        assert (refused.code, refused.subcode) == (403, 0), refused
        assert refused.message is not None and ONE_SHARE in refused.message, refused.message
        assert alice.user_id in refused.message, refused.message
        assert refused.local_stream == b_share and refused.call == cb
        # Alice's share goes on.
        assert share_of(cb, alice) is not None
        assert not alice.events.find(EventKind.OUTGOING_VIDEO_STATE_CHANGED,
                                     lambda e: e.state != OutgoingVideoState.STARTED)
        del refused


def test_the_python_sample_shares_a_window(display):
    win = subprocess.Popen(["xmessage", "-title", TITLE, "-geometry", "300x200+10+10", "sample"],
                           env=display, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env = dict(display, PYTHONPATH=str(REPO / "bindings" / "python"))
        out = subprocess.run([sys.executable, str(REPO / "examples-python" / "screen_share.py"),
                              "--window", TITLE, "--fps", "5", "--no-cursor", "--seconds", "2"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "x11:monitor:0" in out.stdout and TITLE in out.stdout, out.stdout
        assert "outgoing screen_share: STARTED" in out.stdout, out.stdout
        assert "Bob received" in out.stdout, out.stdout
    finally:
        win.kill()
        win.wait()


def test_bad_screen_sources_are_refused(display):
    for bad in ["", "x11:", "x11:window:zz", "wayland:0"]:
        with pytest.raises(InvalidArgumentError):
            LocalVideoStream.from_screen(bad)
    with pytest.raises(DeviceError):
        LocalVideoStream.from_screen("x11:window:4294967295")
    with pytest.raises(DeviceError):
        LocalVideoStream.from_screen("x11:monitor:7")
    for fps in (0, 61):
        with pytest.raises(InvalidArgumentError):
            LocalVideoStream.from_screen("x11:monitor:0", fps)
        with pytest.raises(InvalidArgumentError):
            LocalVideoStream.from_screen("x11:monitor:0", fps, show_cursor=False)
    with LocalVideoStream.from_screen("x11:monitor:0", 5, show_cursor=False) as s:
        with pytest.raises(InvalidArgumentError):
            s.switch_source_screen("x11:monitor:0", 0, show_cursor=True)
        s.switch_source_screen("x11:monitor:0", 8, show_cursor=True)
        assert s.share_state == (ShareState.ACTIVE, "")
    with pytest.raises(InvalidArgumentError):
        acscalling.list_screen_sources((1, 1))
    with LocalVideoStream.pushed() as s:
        assert s.share_state is None


def test_without_a_display_listing_says_why(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":1999")
    with pytest.raises(DeviceError) as e:
        acscalling.list_screen_sources()
    assert "X display" in str(e.value)
