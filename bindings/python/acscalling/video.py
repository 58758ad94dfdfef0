"""Local video streams (virtual camera, pushed frames, cameras), renderers and their views.

    from acscalling import LocalVideoStream, PixelFormat, ScalingMode
    with LocalVideoStream.virtual(640, 360, 30) as stream:
        renderer = stream.create_renderer()
        view = renderer.create_view(320, 180, PixelFormat.RGBA, ScalingMode.FIT)
        frame = view.take_latest_frame()        # None when nothing new arrived
        if frame is not None:
            with frame:
                rgba = frame.plane_bytes(0)      # or frame.planes[0], a memoryview
                counter = frame.read_test_pattern_counter()

Frames are lent by the library: a VideoFrame's memoryviews are valid until close() (a
`with` block, or the garbage collector); plane_bytes() copies.
"""

from __future__ import annotations

import ctypes
import enum
import logging
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from . import _ffi
from ._handles import Handle, Registry, get_string, list_handles
from .errors import InvalidArgumentError, NotFoundError, check

log = logging.getLogger("acscalling")

BytesLike = Union[bytes, bytearray, memoryview]


class PixelFormat(enum.IntEnum):
    I420 = _ffi.ACS_PIXEL_FORMAT_I420
    NV12 = _ffi.ACS_PIXEL_FORMAT_NV12
    RGBA = _ffi.ACS_PIXEL_FORMAT_RGBA
    BGRA = _ffi.ACS_PIXEL_FORMAT_BGRA
    BGRX = _ffi.ACS_PIXEL_FORMAT_BGRX


class ScalingMode(enum.IntEnum):
    STRETCH = _ffi.ACS_SCALING_MODE_STRETCH
    CROP = _ffi.ACS_SCALING_MODE_CROP
    FIT = _ffi.ACS_SCALING_MODE_FIT


class CameraFormat(enum.IntEnum):
    """The pixel format a camera is captured in (each is converted to I420)."""

    ANY = _ffi.ACS_CAMERA_FORMAT_ANY
    YUYV = _ffi.ACS_CAMERA_FORMAT_YUYV
    UYVY = _ffi.ACS_CAMERA_FORMAT_UYVY
    NV12 = _ffi.ACS_CAMERA_FORMAT_NV12
    I420 = _ffi.ACS_CAMERA_FORMAT_I420
    YV12 = _ffi.ACS_CAMERA_FORMAT_YV12
    MJPEG = _ffi.ACS_CAMERA_FORMAT_MJPEG


@dataclass
class CameraCaptureFormat:
    """What a camera really captures: the nearest to what was asked that it offers."""

    format: CameraFormat
    width: int
    height: int
    #: The driver's frame rate; 0.0 when it does not say.
    fps: float


def _camera_options(width: int, height: int, fps: int, format: CameraFormat) -> _ffi.acs_camera_options:
    o = _ffi.acs_camera_options()
    check(_ffi.lib().acs_camera_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
    o.width, o.height, o.fps, o.format = int(width), int(height), int(fps), int(format)
    return o


class VideoSourceKind(enum.IntEnum):
    VIRTUAL = _ffi.ACS_VIDEO_SOURCE_VIRTUAL
    PUSHED = _ffi.ACS_VIDEO_SOURCE_PUSHED
    CAMERA = _ffi.ACS_VIDEO_SOURCE_CAMERA
    SCREEN = _ffi.ACS_VIDEO_SOURCE_SCREEN


@dataclass
class ViewStats:
    """Frames a view rendered and dropped (replaced by a newer one before rendering)."""

    frames_rendered: int
    frames_dropped: int


def plane_count(fmt: PixelFormat) -> int:
    return {PixelFormat.I420: 3, PixelFormat.NV12: 2}.get(PixelFormat(fmt), 1)


class VideoFrame:
    """A rendered frame lent by the library; close() (or `with`) releases it."""

    def __init__(self, raw: _ffi.acs_rendered_video_frame):
        self._raw = raw  # our own copy of the struct: it carries the library's reference
        self._closed = False

    @property
    def width(self) -> int:
        return int(self._raw.width)

    @property
    def height(self) -> int:
        return int(self._raw.height)

    @property
    def format(self) -> PixelFormat:
        return PixelFormat(self._raw.format)

    @property
    def sequence(self) -> int:
        """The producer's frame number."""
        return int(self._raw.sequence)

    @property
    def timestamp_us(self) -> int:
        """When the producer published it (CLOCK_MONOTONIC, µs: time.monotonic_ns() // 1000)."""
        return int(self._raw.timestamp_us)

    @property
    def strides(self) -> List[int]:
        return [int(self._raw.strides[i]) for i in range(plane_count(self.format))]

    def _addr(self, i: int) -> int:
        return ctypes.cast(self._raw.planes[i], ctypes.c_void_p).value or 0

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the frame was released")

    @property
    def planes(self) -> List[memoryview]:
        """Read-only views of the planes in library memory (valid until close())."""
        self._check_open()
        out = []
        for i in range(plane_count(self.format)):
            n = int(self._raw.plane_sizes[i])
            arr = (ctypes.c_uint8 * n).from_address(self._addr(i)) if n else (ctypes.c_uint8 * 0)()
            out.append(memoryview(arr).cast("B").toreadonly())
        return out

    def plane_bytes(self, index: int) -> bytes:
        """A copy of plane `index`."""
        self._check_open()
        if not 0 <= index < plane_count(self.format):
            raise IndexError(f"{self.format.name} has {plane_count(self.format)} planes")
        n = int(self._raw.plane_sizes[index])
        return ctypes.string_at(self._raw.planes[index], n) if n else b""

    def pixel(self, x: int, y: int) -> bytes:
        """The 4 bytes of pixel (x, y) of a packed (RGBA/BGRA/BGRX) frame."""
        if plane_count(self.format) != 1:
            raise ValueError("pixel() is for packed formats")
        stride = self.strides[0]
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError(f"({x}, {y}) is outside {self.width}x{self.height}")
        self._check_open()
        return ctypes.string_at(self._addr(0) + y * stride + 4 * x, 4)

    def read_test_pattern_counter(self) -> Optional[int]:
        """The virtual camera's frame counter drawn in the picture, or None."""
        self._check_open()
        out = ctypes.c_uint32()
        status = _ffi.lib().acs_rendered_video_frame_read_test_pattern_counter(ctypes.byref(self._raw), ctypes.byref(out))
        if status == _ffi.ACS_ERR_NOT_FOUND:
            return None
        check(status)
        return int(out.value)

    def close(self) -> None:
        """Releases the frame (idempotent)."""
        if self._closed:
            return
        self._closed = True
        check(_ffi.lib().acs_rendered_video_frame_release(ctypes.byref(self._raw)))

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self) -> "VideoFrame":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<VideoFrame {self.width}x{self.height} {self.format.name} #{self.sequence}{' released' if self._closed else ''}>"


def _plane_rows(fmt: PixelFormat, i: int, width: int, height: int) -> Tuple[int, int]:
    """(rows, bytes per row) of plane `i` of a `fmt` frame."""
    cw, ch = (width + 1) // 2, (height + 1) // 2
    if fmt == PixelFormat.I420:
        return (height, width) if i == 0 else (ch, cw)
    if fmt == PixelFormat.NV12:
        return (height, width) if i == 0 else (ch, 2 * cw)
    return height, 4 * width


def _frame_buffer(
    fmt: PixelFormat, width: int, height: int, planes: Sequence[BytesLike], strides: Optional[Sequence[int]]
) -> Tuple[Any, List[Any]]:
    """(acs_video_frame_buffer, keep-alive) for host planes."""
    fmt = PixelFormat(fmt)
    n = plane_count(fmt)
    if len(planes) != n:
        raise ValueError(f"{fmt.name} needs {n} planes, got {len(planes)}")
    if strides is None:
        cw = (width + 1) // 2
        strides = {PixelFormat.I420: [width, cw, cw], PixelFormat.NV12: [width, 2 * cw]}.get(fmt, [4 * width])
    b = _ffi.acs_video_frame_buffer()
    check(_ffi.lib().acs_video_frame_buffer_init_sized(ctypes.byref(b), ctypes.sizeof(b)))
    b.format, b.width, b.height = int(fmt), int(width), int(height)
    keep = []
    for i, p in enumerate(planes):
        raw = bytes(p)  # a private copy: the library reads it during the call only
        rows, row = _plane_rows(fmt, i, width, height)
        need = int(strides[i]) * (rows - 1) + row if rows > 0 and int(strides[i]) >= row else 0
        if len(raw) < need:
            # The library cannot see a buffer's length: refuse before it reads past the end.
            raise InvalidArgumentError(_ffi.ACS_ERR_INVALID_ARGUMENT, "invalid argument",
                                       f"plane {i} holds {len(raw)} bytes, needs {need}")
        arr = (ctypes.c_uint8 * max(len(raw), 1)).from_buffer_copy(raw or b"\0")
        keep.append(arr)
        b.planes[i] = ctypes.cast(arr, ctypes.POINTER(ctypes.c_uint8))
        b.strides[i] = int(strides[i])
    return b, keep


class ScreenSourceKind(enum.IntEnum):
    MONITOR = _ffi.ACS_SCREEN_SOURCE_MONITOR
    WINDOW = _ffi.ACS_SCREEN_SOURCE_WINDOW


class ShareState(enum.IntEnum):
    """Where a screen share's source stands (LocalVideoStream.share_state)."""

    ACTIVE = _ffi.ACS_SHARE_STATE_ACTIVE
    #: The window is minimised or off the screen: no frames until it is back.
    PAUSED = _ffi.ACS_SHARE_STATE_PAUSED
    #: The source is gone (its window closed).
    ENDED = _ffi.ACS_SHARE_STATE_ENDED


@dataclass(frozen=True)
class ScreenSource:
    """A monitor or application window that can be shared (list_screen_sources), as it was
    when listed. `thumbnail` is RGBA, `thumbnail_width` x `thumbnail_height`, when asked for."""

    id: str
    kind: ScreenSourceKind
    title: str
    application: str
    x: int
    y: int
    width: int
    height: int
    minimized: bool
    thumbnail: Optional[bytes]
    thumbnail_width: int
    thumbnail_height: int


def _screen_source(p: Any) -> ScreenSource:
    lib = _ffi.lib()
    kind = ctypes.c_int32(0)
    check(lib.acs_screen_source_get_kind(p, ctypes.byref(kind)))
    x, y = ctypes.c_int32(0), ctypes.c_int32(0)
    w, h = ctypes.c_uint32(0), ctypes.c_uint32(0)
    minimized = ctypes.c_bool(False)
    check(lib.acs_screen_source_get_geometry(p, ctypes.byref(x), ctypes.byref(y), ctypes.byref(w),
                                             ctypes.byref(h), ctypes.byref(minimized)))
    tw, th = ctypes.c_uint32(0), ctypes.c_uint32(0)
    thumb: Optional[bytes] = None
    status = lib.acs_screen_source_get_thumbnail(p, _ffi.ACS_PIXEL_FORMAT_RGBA, None, 0, 0,
                                                 ctypes.byref(tw), ctypes.byref(th))
    if status == _ffi.ACS_ERR_BUFFER_TOO_SMALL:
        stride = tw.value * 4
        buf = (ctypes.c_uint8 * (stride * th.value))()
        check(lib.acs_screen_source_get_thumbnail(p, _ffi.ACS_PIXEL_FORMAT_RGBA, buf, stride, len(buf),
                                                  ctypes.byref(tw), ctypes.byref(th)))
        thumb = bytes(buf)
    elif status != _ffi.ACS_ERR_NOT_FOUND:
        check(status)
    return ScreenSource(
        id=get_string(lib.acs_screen_source_get_id, p),
        kind=ScreenSourceKind(kind.value),
        title=get_string(lib.acs_screen_source_get_title, p),
        application=get_string(lib.acs_screen_source_get_application, p),
        x=x.value, y=y.value, width=w.value, height=h.value, minimized=bool(minimized.value),
        thumbnail=thumb, thumbnail_width=tw.value if thumb else 0,
        thumbnail_height=th.value if thumb else 0)


def list_screen_sources(thumbnail: Optional[Tuple[int, int]] = None) -> List[ScreenSource]:
    """The monitors and application windows that can be shared (X11: the display DISPLAY
    names; monitors first), each with an RGBA thumbnail fitting `thumbnail` (width, height)
    when given. DeviceError when there is no X display."""
    fn = _ffi.lib().acs_screen_sources_get
    tw, th = thumbnail if thumbnail else (0, 0)
    # Listing takes thumbnails: start with room for a desktop's worth, not a size query.
    ptrs = list_handles(lambda arr, cap, count: int(fn(int(tw), int(th), arr, cap, count)),
                        _ffi.acs_screen_source, 16)
    try:
        return [_screen_source(p) for p in ptrs]
    finally:
        for p in ptrs:
            _ffi.lib().acs_screen_source_release(p)


def _screen_options(fps: int, show_cursor: bool) -> _ffi.acs_screen_capture_options:
    o = _ffi.acs_screen_capture_options()
    check(_ffi.lib().acs_screen_capture_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
    o.fps = int(fps)
    o.show_cursor = bool(show_cursor)
    return o


class LocalVideoStream(Handle):
    """A local video source behind one stream: the virtual camera, pushed frames or a camera.

    The source runs until the stream is closed (and no call sends it any more); switching
    the source keeps the stream, so renderers and calls keep receiving."""

    _ctype = _ffi.acs_local_video_stream
    _retain_name = "acs_local_video_stream_retain"
    _release_name = "acs_local_video_stream_release"

    @classmethod
    def _create(cls, fn: Callable[..., int], *args: Any) -> "LocalVideoStream":
        out = ctypes.POINTER(_ffi.acs_local_video_stream)()
        check(fn(*args, ctypes.byref(out)))
        return cls(out)

    @classmethod
    def virtual(cls, width: int = 640, height: int = 360, fps: int = 30) -> "LocalVideoStream":
        """The virtual camera: a moving test pattern with a frame counter."""
        return cls._create(_ffi.lib().acs_local_video_stream_create_virtual, int(width), int(height), int(fps))

    @classmethod
    def pushed(cls) -> "LocalVideoStream":
        """A stream fed by push_frame (raw outgoing video)."""
        return cls._create(_ffi.lib().acs_local_video_stream_create_pushed)

    @classmethod
    def from_camera(cls, camera: Any, width: int = 640, height: int = 360, fps: int = 30,
                    format: CameraFormat = CameraFormat.ANY) -> "LocalVideoStream":
        """A camera's stream: a V4L2 camera captured at `width`x`height` and `fps` (or the
        nearest it offers: see camera_format), in `format` (ANY: the library chooses); the
        virtual camera's test pattern at that size and rate for the virtual one.
        InvalidArgumentError for a size or rate out of range; DeviceError when the camera
        cannot be opened or captured from (missing, busy, no permission, no usable format,
        not the format asked for)."""
        o = _camera_options(width, height, fps, format)
        return cls._create(_ffi.lib().acs_local_video_stream_create_from_camera_with_options,
                           camera._p, ctypes.byref(o))

    @classmethod
    def from_screen(cls, source_id: str, fps: int = 10, show_cursor: bool = True) -> "LocalVideoStream":
        """A stream capturing a monitor or window (a ScreenSource id) at up to `fps` frames
        a second (1..=60), with the mouse pointer drawn in unless `show_cursor` is False: a
        window is followed as it moves and resizes, pauses while minimised and ends when it
        closes (share_state; a call sharing it raises OUTGOING_VIDEO_STATE_CHANGED). Share
        it with Call.start_screen_sharing. DeviceError when there is no X display or no
        such source; InvalidArgumentError for a malformed id or rate."""
        o = _screen_options(fps, show_cursor)
        return cls._create(_ffi.lib().acs_local_video_stream_create_from_screen_with_options,
                           source_id.encode("utf-8"), ctypes.byref(o))

    def switch_source_screen(self, source_id: str, fps: int = 10, show_cursor: bool = True) -> None:
        """Switches to capturing a monitor or window (see from_screen); the current source
        stays when it cannot be captured."""
        o = _screen_options(fps, show_cursor)
        check(_ffi.lib().acs_local_video_stream_switch_source_screen_with_options(
            self._p, source_id.encode("utf-8"), ctypes.byref(o)))

    @property
    def share_state(self) -> Optional[Tuple[ShareState, str]]:
        """(ACTIVE, "") while a screen source captures, (PAUSED, why) while its window is
        minimised, (ENDED, why) once it closed; None when the source is not a screen."""
        lib = _ffi.lib()
        state = ctypes.c_int32(0)
        needed = ctypes.c_size_t(0)
        status = lib.acs_local_video_stream_get_share_state(self._p, ctypes.byref(state), None, 0,
                                                            ctypes.byref(needed))
        if status == _ffi.ACS_ERR_INVALID_STATE:
            return None
        check(status)
        buf = ctypes.create_string_buffer(max(needed.value, 1) + 64)
        check(lib.acs_local_video_stream_get_share_state(self._p, ctypes.byref(state), buf, len(buf),
                                                         ctypes.byref(needed)))
        return ShareState(state.value), buf.value.decode("utf-8", "replace")

    def push_frame(self, data: Union[BytesLike, Sequence[BytesLike]], width: int, height: int,
                   format: PixelFormat = PixelFormat.RGBA, strides: Optional[Sequence[int]] = None) -> None:
        """Pushes one frame: `data` is the single plane of a packed format, or the list of
        planes (I420: Y, U, V; NV12: Y, UV). Strides default to tightly packed rows."""
        planes = [data] if isinstance(data, (bytes, bytearray, memoryview)) else list(data)
        b, _keep = _frame_buffer(format, width, height, planes, strides)
        check(_ffi.lib().acs_local_video_stream_push_frame(self._p, ctypes.byref(b)))

    def switch_to_virtual(self, width: int = 640, height: int = 360, fps: int = 30) -> None:
        check(_ffi.lib().acs_local_video_stream_switch_source_virtual(self._p, int(width), int(height), int(fps)))

    def switch_to_pushed(self) -> None:
        check(_ffi.lib().acs_local_video_stream_switch_source_pushed(self._p))

    def switch_to_camera(self, camera: Any, width: int = 640, height: int = 360, fps: int = 30,
                         format: CameraFormat = CameraFormat.ANY) -> None:
        """Captures from `camera` instead, as in from_camera (DeviceError, and the current
        source stays, when it cannot be opened or captured from). The camera already
        captured, with other settings, is reopened."""
        o = _camera_options(width, height, fps, format)
        check(_ffi.lib().acs_local_video_stream_switch_source_camera_with_options(
            self._p, camera._p, ctypes.byref(o)))

    @property
    def source_error(self) -> Optional[str]:
        """Why the source stopped on its own (a camera unplugged or failing), or None while it
        works. The stream then sends no frames until its source is switched."""
        try:
            return get_string(_ffi.lib().acs_local_video_stream_get_source_error, self._p)
        except NotFoundError:
            return None

    @property
    def camera_format(self) -> Optional[CameraCaptureFormat]:
        """What the V4L2 camera behind the stream really captures; None for the virtual
        camera and pushed frames."""
        if self.source_kind != VideoSourceKind.CAMERA:
            return None
        f = _ffi.acs_camera_capture_format()
        check(_ffi.lib().acs_camera_capture_format_init_sized(ctypes.byref(f), ctypes.sizeof(f)))
        check(_ffi.lib().acs_local_video_stream_get_camera_format(self._p, ctypes.byref(f)))
        return CameraCaptureFormat(CameraFormat(f.format), f.width, f.height, f.fps)

    @property
    def source_kind(self) -> VideoSourceKind:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_local_video_stream_get_source_kind(self._p, ctypes.byref(v)))
        return VideoSourceKind(v.value)

    @property
    def frame_count(self) -> int:
        """Frames published so far (every source together)."""
        v = ctypes.c_uint64()
        check(_ffi.lib().acs_local_video_stream_get_frame_count(self._p, ctypes.byref(v)))
        return int(v.value)

    def create_renderer(self) -> "VideoRenderer":
        """A renderer of this stream (a self view)."""
        out = ctypes.POINTER(_ffi.acs_video_renderer)()
        check(_ffi.lib().acs_video_renderer_create_for_local_stream(self._p, ctypes.byref(out)))
        return VideoRenderer(out)


# View callbacks: one C callback for the process, user_data selects the Python function.
_view_targets = Registry()


def _on_view_frame(user_data: Optional[int], frame_ptr: Any) -> None:
    raw = _ffi.acs_rendered_video_frame()
    # Ours from here on: the fields the library filled (its struct_size), up to ours.
    n = min(ctypes.sizeof(raw), frame_ptr.contents.struct_size)
    ctypes.memmove(ctypes.byref(raw), frame_ptr, n)
    frame = VideoFrame(raw)
    fn = _view_targets.get(user_data)
    try:
        if fn is not None:
            fn(frame)
    except Exception:  # never let an exception unwind into the library's view thread
        log.exception("video view callback raised")
    finally:
        if fn is None:
            frame.close()


_VIEW_CALLBACK = _ffi.acs_rendered_video_frame_callback(_on_view_frame)


class VideoRenderer(Handle):
    """Renders one stream into any number of views."""

    _ctype = _ffi.acs_video_renderer
    _retain_name = "acs_video_renderer_retain"
    _release_name = "acs_video_renderer_release"

    def create_view(self, width: int = 640, height: int = 360, format: PixelFormat = PixelFormat.RGBA,
                    scaling_mode: ScalingMode = ScalingMode.FIT, mirrored: bool = False,
                    callback: Optional[Callable[[VideoFrame], Any]] = None) -> "VideoView":
        """A view. With `callback`, every rendered frame is passed to it on the view's thread
        (it owns the VideoFrame: close it, or let it be collected); without, pull frames
        with VideoView.take_latest_frame()."""
        o = _ffi.acs_video_view_options()
        check(_ffi.lib().acs_video_view_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
        o.width, o.height = int(width), int(height)
        o.format, o.scaling_mode, o.mirrored = int(format), int(scaling_mode), bool(mirrored)
        key = 0
        if callback is not None:
            if not callable(callback):
                raise TypeError("callback must be callable")
            key = _view_targets.add(callback)
            o.rendered_frame_callback = _VIEW_CALLBACK
            o.frame_callback_user_data = key
        out = ctypes.POINTER(_ffi.acs_video_view)()
        try:
            check(_ffi.lib().acs_video_renderer_create_view(self._p, ctypes.byref(o), ctypes.byref(out)))
        except Exception:
            if key:
                _view_targets.remove(key)
            raise
        view = VideoView(out)
        view._callback_key = key
        return view


class VideoView(Handle):
    """One view of a renderer: its size, pixel format, scaling mode and mirror flag."""

    _ctype = _ffi.acs_video_view
    _retain_name = "acs_video_view_retain"
    _release_name = "acs_video_view_release"
    _callback_key = 0

    def close(self) -> None:
        super().close()
        if self._callback_key:
            # The library stopped calling back when the last reference went.
            _view_targets.remove(self._callback_key)
            self._callback_key = 0

    def set_scaling_mode(self, mode: ScalingMode) -> None:
        check(_ffi.lib().acs_video_view_set_scaling_mode(self._p, int(mode)))

    def set_mirrored(self, mirrored: bool) -> None:
        check(_ffi.lib().acs_video_view_set_mirrored(self._p, bool(mirrored)))

    def set_size(self, width: int, height: int) -> None:
        check(_ffi.lib().acs_video_view_set_size(self._p, int(width), int(height)))

    def set_format(self, format: PixelFormat) -> None:
        check(_ffi.lib().acs_video_view_set_format(self._p, int(format)))

    def take_latest_frame(self) -> Optional[VideoFrame]:
        """The newest frame not taken yet, or None when nothing new arrived."""
        raw = _ffi.acs_rendered_video_frame()
        check(_ffi.lib().acs_rendered_video_frame_init_sized(ctypes.byref(raw), ctypes.sizeof(raw)))
        status = _ffi.lib().acs_video_view_take_latest_rendered_frame(self._p, ctypes.byref(raw))
        if status == _ffi.ACS_ERR_NOT_FOUND:
            return None
        check(status)
        return VideoFrame(raw)

    @property
    def stats(self) -> ViewStats:
        s = _ffi.acs_video_view_statistics()
        check(_ffi.lib().acs_video_view_statistics_init_sized(ctypes.byref(s), ctypes.sizeof(s)))
        check(_ffi.lib().acs_video_view_get_statistics(self._p, ctypes.byref(s)))
        return ViewStats(int(s.frames_rendered), int(s.frames_dropped))


__all__ = [
    "LocalVideoStream", "PixelFormat", "ScalingMode", "VideoFrame", "VideoRenderer",
    "VideoSourceKind", "VideoView", "ViewStats",
]


class VideoStreamKind(enum.IntEnum):
    """Kind of a call's video stream."""

    VIDEO = _ffi.ACS_VIDEO_STREAM_KIND_VIDEO
    SCREEN_SHARE = _ffi.ACS_VIDEO_STREAM_KIND_SCREEN_SHARE


@dataclass
class VideoReceiveStats:
    packets: int
    packets_dropped: int
    frames_decoded: int
    frames_lost: int
    keyframe_requests: int
    decode_micros: int


@dataclass
class VideoSendStats:
    frames_encoded: int
    frames_dropped: int
    frames_skipped: int
    keyframes: int
    keyframe_requests: int
    bytes: int
    bitrate_bps: int
    loss_reports: int
    last_fraction_lost: int
    width: int
    height: int
    encode_micros: int
    #: Packets the receivers asked to retransmit (NACK).
    nacked_packets: int
    #: The loss (0..=255) the bitrate control last acted on: the larger of the last report's
    #: and the NACKed share of the packets sent since the report before.
    last_loss_estimate: int


class RemoteVideoStream(Handle):
    """A remote participant's camera or screen share. Subscribe (or create a renderer) to
    receive it; at most ACS_MAX_INCOMING_VIDEO_STREAMS cameras and one screen share at once."""

    _ctype = _ffi.acs_remote_video_stream
    _retain_name = "acs_remote_video_stream_retain"
    _release_name = "acs_remote_video_stream_release"

    def _flag(self, fn: Callable[..., int]) -> bool:
        v = ctypes.c_bool()
        check(fn(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def kind(self) -> VideoStreamKind:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_remote_video_stream_get_kind(self._p, ctypes.byref(v)))
        return VideoStreamKind(v.value)

    @property
    def id(self) -> int:
        v = ctypes.c_uint32()
        check(_ffi.lib().acs_remote_video_stream_get_id(self._p, ctypes.byref(v)))
        return int(v.value)

    @property
    def participant_id(self) -> str:
        from ._handles import get_string

        return get_string(_ffi.lib().acs_remote_video_stream_get_participant_id, self._p)

    @property
    def is_available(self) -> bool:
        return self._flag(_ffi.lib().acs_remote_video_stream_is_available)

    @property
    def is_subscribed(self) -> bool:
        return self._flag(_ffi.lib().acs_remote_video_stream_is_subscribed)

    def subscribe(self) -> None:
        """Start receiving (LimitReachedError when all slots are taken)."""
        check(_ffi.lib().acs_remote_video_stream_subscribe(self._p))

    def unsubscribe(self) -> None:
        check(_ffi.lib().acs_remote_video_stream_unsubscribe(self._p))

    def create_renderer(self) -> "VideoRenderer":
        """A renderer of this stream; subscribes if needed."""
        out = ctypes.POINTER(_ffi.acs_video_renderer)()
        check(_ffi.lib().acs_video_renderer_create_for_remote_stream(self._p, ctypes.byref(out)))
        return VideoRenderer(out)

    def stats(self) -> VideoReceiveStats:
        s = _ffi.acs_video_receive_stats()
        check(_ffi.lib().acs_video_receive_stats_init_sized(ctypes.byref(s), ctypes.sizeof(s)))
        check(_ffi.lib().acs_remote_video_stream_get_stats(self._p, ctypes.byref(s)))
        return VideoReceiveStats(s.packets, s.packets_dropped, s.frames_decoded, s.frames_lost,
                                 s.keyframe_requests, s.decode_micros)
