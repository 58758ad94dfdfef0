"""Local video streams, renderers and views through the Python bindings (no service needed):
the virtual camera's counters, pushed frames in every format through views in every format,
scaling geometry, mirroring, pull and callback delivery, and bad input."""

import ctypes
import threading
import time

import pytest

import acscalling
from acscalling import LocalVideoStream, PixelFormat, ScalingMode, VideoSourceKind, _ffi
from acscalling.testing import wait_until
from conftest import library_or_skip

library_or_skip()
L = _ffi.lib()


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def gradient_rgba(w, h):
    out = bytearray(w * h * 4)
    for y in range(h):
        for x in range(w):
            i = (y * w + x) * 4
            out[i:i + 4] = bytes((x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), 128, 255))
    return bytes(out)


def solid_rgba(w, h, rgb):
    return bytes((*rgb, 255)) * (w * h)


def halves_rgba(w, h):
    """Left half white, right half black."""
    row = bytes((255, 255, 255, 255)) * (w // 2) + bytes((0, 0, 0, 255)) * (w - w // 2)
    return row * h


def luma_row(frame, y):
    assert frame.format == PixelFormat.I420
    stride = frame.strides[0]
    return frame.plane_bytes(0)[y * stride:y * stride + frame.width]


def take(view, timeout=5.0):
    return wait_until(view.take_latest_frame, timeout, what="a frame")


def test_virtual_camera_frames_render_with_increasing_counters():
    with LocalVideoStream.virtual(640, 360, 30) as stream:
        assert stream.source_kind == VideoSourceKind.VIRTUAL
        with stream.create_renderer() as renderer, renderer.create_view(320, 180, PixelFormat.RGBA, ScalingMode.STRETCH) as view:
            counters, seqs = [], []
            start = time.monotonic()
            while time.monotonic() - start < 1.0:
                frame = view.take_latest_frame()
                if frame is None:
                    time.sleep(0.005)
                    continue
                with frame:
                    assert (frame.width, frame.height, frame.format) == (320, 180, PixelFormat.RGBA)
                    assert frame.strides == [320 * 4] and len(frame.planes[0]) == 320 * 4 * 180
                    c = frame.read_test_pattern_counter()
                    assert c is not None
                    counters.append(c)
                    seqs.append(frame.sequence)
                    assert abs(frame.timestamp_us - time.monotonic_ns() // 1000) < 1_000_000
            assert len(counters) >= 20, counters
            assert all(b > a for a, b in zip(counters, counters[1:])), counters
            assert all(b > a for a, b in zip(seqs, seqs[1:]))
            stats = view.stats
            assert stats.frames_rendered == len(counters)
        assert stream.frame_count >= 25


@pytest.mark.parametrize("out_format", list(PixelFormat))
def test_pushed_rgba_round_trips_through_a_view_in_each_format(out_format):
    w, h = 64, 36
    src = gradient_rgba(w, h)
    with LocalVideoStream.pushed() as stream:
        assert stream.source_kind == VideoSourceKind.PUSHED
        with stream.create_renderer() as r, r.create_view(w, h, out_format, ScalingMode.FIT) as view:
            assert view.take_latest_frame() is None
            stream.push_frame(src, w, h, PixelFormat.RGBA)
            with view.take_latest_frame() as f:
                assert (f.width, f.height, f.format) == (w, h, out_format)
                planes = f.planes
                if out_format == PixelFormat.I420:
                    assert [len(p) for p in planes] == [w * h, 32 * 18, 32 * 18]
                elif out_format == PixelFormat.NV12:
                    assert [len(p) for p in planes] == [w * h, w * 18]
                else:
                    assert [len(p) for p in planes] == [w * h * 4]
                # Back to RGBA through another push: the picture survives within rounding.
                back = LocalVideoStream.pushed()
                with back, back.create_renderer() as r2, r2.create_view(w, h, PixelFormat.RGBA) as v2:
                    back.push_frame([bytes(p) for p in planes], w, h, out_format, f.strides)
                    with v2.take_latest_frame() as g:
                        got = g.plane_bytes(0)
                worst = max(abs(a - b) for a, b in zip(got, src))
                assert worst <= 12, worst
            assert view.take_latest_frame() is None, "no new frame"


def test_channel_order_of_packed_formats():
    with LocalVideoStream.pushed() as stream, stream.create_renderer() as r:
        views = {fmt: r.create_view(8, 8, fmt) for fmt in (PixelFormat.RGBA, PixelFormat.BGRA, PixelFormat.BGRX)}
        stream.push_frame(solid_rgba(8, 8, (255, 0, 0)), 8, 8, PixelFormat.RGBA)
        with views[PixelFormat.RGBA].take_latest_frame() as f:
            p = f.pixel(3, 3)
            assert p[0] > 240 and p[1] < 15 and p[2] < 15 and p[3] == 255, p
        for fmt in (PixelFormat.BGRA, PixelFormat.BGRX):
            with views[fmt].take_latest_frame() as f:
                p = f.pixel(3, 3)
                assert p[2] > 240 and p[0] < 15, p
        # Pushing BGRX blue comes out blue.
        stream.push_frame(bytes((255, 0, 0, 0)) * 64, 8, 8, PixelFormat.BGRX)
        with views[PixelFormat.RGBA].take_latest_frame() as f:
            p = f.pixel(0, 0)
            assert p[2] > 240 and p[0] < 15, p
        for v in views.values():
            v.close()


def test_scaling_modes_geometry_and_updates():
    with LocalVideoStream.pushed() as stream, stream.create_renderer() as r:
        view = r.create_view(32, 32, PixelFormat.I420, ScalingMode.FIT)
        white = solid_rgba(64, 36, (255, 255, 255))
        stream.push_frame(white, 64, 36)
        with view.take_latest_frame() as f:
            # 64x36 fitted into 32x32: 32x18 at y = 7, black bars above and below.
            for y in range(32):
                row = luma_row(f, y)
                if 7 <= y < 25:
                    assert min(row) > 200, (y, row)
                else:
                    assert max(row) <= 16, (y, row)
        for mode in (ScalingMode.CROP, ScalingMode.STRETCH):
            view.set_scaling_mode(mode)
            stream.push_frame(white, 64, 36)
            with view.take_latest_frame() as f:
                assert all(min(luma_row(f, y)) > 200 for y in range(32)), mode
        # Crop keeps the centre of a wide frame in a narrow view.
        view.set_size(8, 36)
        view.set_scaling_mode(ScalingMode.CROP)
        stream.push_frame(halves_rgba(64, 36), 64, 36)
        with view.take_latest_frame() as f:
            assert (f.width, f.height) == (8, 36)
            row = luma_row(f, 18)
            assert row[0] > 200 and row[7] < 40, row
        view.close()


def test_mirror():
    with LocalVideoStream.pushed() as stream, stream.create_renderer() as r:
        with r.create_view(32, 18, PixelFormat.I420, ScalingMode.STRETCH, mirrored=True) as view:
            stream.push_frame(halves_rgba(64, 36), 64, 36)
            with view.take_latest_frame() as f:
                row = luma_row(f, 9)
                assert row[1] < 40 and row[30] > 200, row
            view.set_mirrored(False)
            stream.push_frame(halves_rgba(64, 36), 64, 36)
            with view.take_latest_frame() as f:
                row = luma_row(f, 9)
                assert row[1] > 200 and row[30] < 40, row


def test_callback_views_get_frames_on_another_thread_and_pull_views_count_drops():
    got, threads = [], set()
    lock = threading.Lock()

    def on_frame(frame):
        with frame:
            with lock:
                got.append((frame.sequence, frame.read_test_pattern_counter()))
                threads.add(threading.get_ident())

    with LocalVideoStream.virtual(320, 180, 50) as stream, stream.create_renderer() as r:
        cb_view = r.create_view(160, 90, PixelFormat.BGRA, ScalingMode.STRETCH, callback=on_frame)
        pull_view = r.create_view(160, 90, PixelFormat.I420, ScalingMode.STRETCH)
        wait_until(lambda: len(got) >= 10, 5, what="10 callback frames")
        with pytest.raises(acscalling.InvalidStateError):
            cb_view.take_latest_frame()
        cb_view.close()
        n = len(got)
        time.sleep(0.1)
        assert len(got) == n, "no callback after close"
        assert threading.get_ident() not in threads
        counters = [c for _, c in got]
        assert all(c is not None for c in counters)
        assert all(b > a for a, b in zip(counters, counters[1:]))
        # The pull view was never read: it kept only the latest frame, the rest dropped.
        with take(pull_view) as f:
            assert f.read_test_pattern_counter() is not None
        s = pull_view.stats
        assert s.frames_rendered == 1 and s.frames_dropped >= 5, s
        pull_view.close()


def test_switch_source_keeps_the_renderer_going():
    with LocalVideoStream.virtual(320, 180, 50) as stream, stream.create_renderer() as r:
        with r.create_view(320, 180, PixelFormat.I420, ScalingMode.STRETCH) as view:
            with take(view) as f:
                assert f.read_test_pattern_counter() is not None
            stream.switch_to_pushed()
            assert stream.source_kind == VideoSourceKind.PUSHED
            left = view.take_latest_frame()  # whatever the camera left in the view
            if left is not None:
                left.close()
            stream.push_frame(solid_rgba(64, 36, (0, 0, 0)), 64, 36)
            with take(view) as f:
                assert f.read_test_pattern_counter() is None
            stream.switch_to_virtual(640, 360, 30)
            with take(view) as f:
                assert f.read_test_pattern_counter() is not None
                assert (f.width, f.height) == (320, 180), "the view's size, whatever the source's"


def test_bad_input():
    with pytest.raises(acscalling.InvalidArgumentError):
        LocalVideoStream.virtual(8, 8, 30)
    with pytest.raises(acscalling.InvalidArgumentError):
        LocalVideoStream.virtual(640, 360, 1000)
    with LocalVideoStream.virtual(64, 32, 10) as cam:
        with pytest.raises(acscalling.InvalidStateError):
            cam.push_frame(solid_rgba(4, 4, (1, 2, 3)), 4, 4)
    with LocalVideoStream.pushed() as stream:
        with pytest.raises(acscalling.InvalidArgumentError):
            stream.push_frame(b"\0" * 10, 4, 4)  # too short for 4x4 RGBA (checked before the call)
        with pytest.raises(acscalling.InvalidArgumentError):
            stream.push_frame(b"\0" * 64, 4, 4, strides=[8])
        with pytest.raises(acscalling.InvalidArgumentError):
            stream.push_frame(b"\0" * 64, 0, 4)
        # Raw: NULL planes, unknown format, unset struct_size.
        b = _ffi.acs_video_frame_buffer()
        assert L.acs_local_video_stream_push_frame(stream._p, ctypes.byref(b)) == _ffi.ACS_ERR_INVALID_ARGUMENT
        assert "struct_size" in acscalling.last_error_message()
        L.acs_video_frame_buffer_init(ctypes.byref(b))
        b.width, b.height, b.strides[0] = 4, 4, 16
        assert L.acs_local_video_stream_push_frame(stream._p, ctypes.byref(b)) == _ffi.ACS_ERR_NULL_POINTER
        assert "planes[0]" in acscalling.last_error_message()
        b.format = 9
        assert L.acs_local_video_stream_push_frame(stream._p, ctypes.byref(b)) == _ffi.ACS_ERR_INVALID_ARGUMENT
        assert L.acs_local_video_stream_push_frame(stream._p, None) == _ffi.ACS_ERR_NULL_POINTER
        assert stream.frame_count == 0
        with stream.create_renderer() as r:
            for kwargs in (dict(width=0), dict(height=9000), dict(format=7), dict(scaling_mode=3)):
                with pytest.raises(acscalling.InvalidArgumentError):
                    r.create_view(**kwargs)
            o = _ffi.acs_video_view_options()
            out = ctypes.POINTER(_ffi.acs_video_view)()
            assert L.acs_video_renderer_create_view(r._p, ctypes.byref(o), ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
            assert L.acs_video_renderer_create_view(r._p, None, ctypes.byref(out)) == _ffi.ACS_ERR_NULL_POINTER
            assert not out
            with r.create_view(16, 16) as v:
                for bad in (lambda: v.set_size(0, 1), lambda: v.set_scaling_mode(5), lambda: v.set_format(-1)):
                    with pytest.raises(acscalling.InvalidArgumentError):
                        bad()
                assert L.acs_video_view_take_latest_rendered_frame(v._p, None) == _ffi.ACS_ERR_NULL_POINTER
                stream.push_frame(solid_rgba(16, 16, (9, 9, 9)), 16, 16)
                f = v.take_latest_frame()
                assert f.read_test_pattern_counter() is None
                copy = _ffi.acs_rendered_video_frame.from_buffer_copy(f._raw)
                f.close()
                assert f._raw.internal is None, "release zeroes the struct"
                assert L.acs_rendered_video_frame_release(ctypes.byref(f._raw)) == _ffi.ACS_OK, "a zeroed frame is a no-op"
                assert L.acs_rendered_video_frame_release(ctypes.byref(copy)) == _ffi.ACS_ERR_INVALID_HANDLE
                assert L.acs_rendered_video_frame_read_test_pattern_counter(ctypes.byref(copy), ctypes.byref(ctypes.c_uint32())) == _ffi.ACS_ERR_INVALID_HANDLE
                assert L.acs_rendered_video_frame_release(None) == _ffi.ACS_OK
                assert L.acs_rendered_video_frame_read_test_pattern_counter(None, ctypes.byref(ctypes.c_uint32())) == _ffi.ACS_ERR_NULL_POINTER
                with pytest.raises(ValueError):
                    f.planes


def test_the_virtual_camera_streams_and_real_cameras_capture_or_say_why():
    with acscalling.CallClient() as client:
        cams = client.device_manager.cameras
        virtual = [c for c in cams if c.id.startswith("virtual:")]
        assert len(virtual) == 1, "the virtual camera is always listed"
        with LocalVideoStream.from_camera(virtual[0]) as s:
            r = s.create_renderer()
            view = r.create_view(320, 180, PixelFormat.RGBA, ScalingMode.FIT)
            deadline = time.monotonic() + 5
            counter = None
            while counter is None and time.monotonic() < deadline:
                f = view.take_latest_frame()
                if f is None:
                    time.sleep(0.01)
                    continue
                with f:
                    counter = f.read_test_pattern_counter()
            assert counter is not None, "the virtual camera's stream shows the test pattern"
            view.close()
            r.close()
        # V4L2 cameras (none on CI: scripts/v4l2-vm-test.sh tests one) capture, or say why
        # not (busy, no permission).
        real = [c for c in cams if not c.id.startswith("virtual:")]
        for cam in real:
            try:
                with LocalVideoStream.from_camera(cam, 640, 480, 15) as s:
                    assert s.source_kind == VideoSourceKind.CAMERA
                    assert s.source_error is None
                    fmt = s.camera_format
                    assert fmt is not None and fmt.format != acscalling.CameraFormat.ANY, fmt
            except acscalling.DeviceError as e:
                assert str(e), "a device error says why"
        for cam in cams:
            cam.close()


def test_camera_options_size_rate_and_format_are_checked_and_the_virtual_camera_follows_them():
    with acscalling.CallClient() as client:
        cams = client.device_manager.cameras
        virtual = next(c for c in cams if c.id.startswith("virtual:"))
        for bad in (dict(width=0), dict(height=9000), dict(fps=0), dict(fps=241), dict(format=42)):
            with pytest.raises(acscalling.InvalidArgumentError):
                LocalVideoStream.from_camera(virtual, **bad)
        with LocalVideoStream.from_camera(virtual, 320, 240, 15, acscalling.CameraFormat.YUYV) as s:
            assert s.source_kind == VideoSourceKind.VIRTUAL
            assert s.camera_format is None, "only a V4L2 camera has a capture format"
            assert s.source_error is None, "the source works"
            r = s.create_renderer()
            view = r.create_view(320, 240, PixelFormat.I420, ScalingMode.STRETCH)
            with take(view):
                pass
            # The camera skips the slots it missed, so a loaded machine draws fewer frames,
            # never more: above 18 per second would be the default 30, not the 15 asked for.
            n0, t0 = s.frame_count, time.monotonic()
            time.sleep(1.0)
            rate = (s.frame_count - n0) / (time.monotonic() - t0)
            assert 0 < rate <= 18, f"15 fps asked, {rate:.1f} frames per second"
            # Bad options leave the source alone; the defaults switch it back.
            with pytest.raises(acscalling.InvalidArgumentError):
                s.switch_to_camera(virtual, fps=0)
            s.switch_to_camera(virtual)
            assert s.source_kind == VideoSourceKind.VIRTUAL
            with take(view) as f:
                assert f.read_test_pattern_counter() is not None
            view.close()
            r.close()
        for cam in cams:
            cam.close()
