"""Native screen sharing from Python through the C ABI: on a private X display (Xvfb +
openbox, started here) an xmessage window painted red is listed among the shareable
sources (title, application, size, a red thumbnail) beside the monitor; Alice shares it
and Bob renders red; closing the window ends the share with its reason. Bad ids and rates
are refused with clear errors."""

import os
import shutil
import subprocess
import time
import uuid

import pytest

import acscalling
from acscalling import (
    DeviceError,
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
    finally:
        if win.poll() is None:
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
        acscalling.list_screen_sources((1, 1))
    with LocalVideoStream.pushed() as s:
        assert s.share_state is None


def test_without_a_display_listing_says_why(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":1999")
    with pytest.raises(DeviceError) as e:
        acscalling.list_screen_sources()
    assert "X display" in str(e.value)
