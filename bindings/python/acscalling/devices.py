"""DeviceManager and AudioDevice: device lists, selection, virtual devices and PCM I/O."""

from __future__ import annotations

import array
import ctypes
import enum
import logging
import os
import weakref
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from . import _ffi
from ._handles import Handle, Registry, c_str, get_string, list_handles
from .errors import check

log = logging.getLogger("acscalling")

SAMPLE_RATE = 48000  # every PCM buffer crossing the API
FRAME_SAMPLES = 960  # one 20 ms mono frame

PcmIn = Union["array.array[int]", bytes, bytearray, memoryview, Sequence[int]]


class DeviceKind(enum.IntEnum):
    MICROPHONE = _ffi.ACS_DEVICE_KIND_MICROPHONE
    SPEAKER = _ffi.ACS_DEVICE_KIND_SPEAKER


def _pcm_buffer(samples: PcmIn) -> Tuple[Any, int, Any]:
    """(ctypes int16 array, sample count, keep-alive) for PCM given as array('h'), bytes-like
    (native-endian int16) or a sequence of ints. array('h') is passed without a copy."""
    if isinstance(samples, array.array) and samples.typecode == "h":
        n = len(samples)
        if n == 0:
            return None, 0, None
        return (ctypes.c_int16 * n).from_buffer(samples), n, samples
    if isinstance(samples, (bytes, bytearray, memoryview)):
        raw = bytes(samples)
        if len(raw) % 2:
            raise ValueError("PCM bytes must hold whole 16-bit samples")
        n = len(raw) // 2
        if n == 0:
            return None, 0, None
        return (ctypes.c_int16 * n).from_buffer_copy(raw), n, raw
    arr = array.array("h", samples)
    n = len(arr)
    if n == 0:
        return None, 0, None
    return (ctypes.c_int16 * n).from_buffer(arr), n, arr


def tone_power(samples: PcmIn, frequency_hz: float) -> float:
    """Power of `frequency_hz` in mono 48 kHz PCM16 (Goertzel; a full-scale sine is about 0.5)."""
    buf, n, _keep = _pcm_buffer(samples)
    out = ctypes.c_float()
    check(_ffi.lib().acs_audio_tone_power(buf, n, float(frequency_hz), ctypes.byref(out)))
    return float(out.value)


# Callback speakers: one C callback for the process, user_data selects the Python function.
_frame_targets = Registry()


def _on_frame(user_data: Optional[int], samples: Any, count: int, sample_rate: int, channels: int) -> None:
    fn = _frame_targets.get(user_data)
    if fn is None:
        return
    try:
        pcm = array.array("h", ctypes.string_at(samples, count * 2)) if count else array.array("h")
        fn(pcm)
    except Exception:  # never let an exception unwind into the library's media thread
        log.exception("callback speaker function raised")


_FRAME_CALLBACK = _ffi.acs_audio_frame_callback(_on_frame)


class AudioDevice(Handle):
    """A microphone or speaker, real or virtual."""

    _ctype = _ffi.acs_audio_device
    _retain_name = "acs_audio_device_retain"
    _release_name = "acs_audio_device_release"
    _close_order = 3

    @property
    def id(self) -> str:
        return get_string(_ffi.lib().acs_audio_device_get_id, self._p)

    @property
    def name(self) -> str:
        return get_string(_ffi.lib().acs_audio_device_get_name, self._p)

    @property
    def kind(self) -> DeviceKind:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_audio_device_get_kind(self._p, ctypes.byref(v)))
        return DeviceKind(v.value)

    @property
    def is_default(self) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_audio_device_is_default(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def is_virtual(self) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_audio_device_is_virtual(self._p, ctypes.byref(v)))
        return bool(v.value)

    def push_pcm(self, samples: PcmIn, channels: int = 1) -> int:
        """Queues 48 kHz interleaved PCM16 into a push microphone; returns the frames accepted
        (the queue holds about 2 s; the rest is dropped)."""
        buf, n, _keep = _pcm_buffer(samples)
        if channels not in (1, 2):
            raise ValueError("channels must be 1 or 2")
        if n % channels:
            raise ValueError("the sample count must be a multiple of channels")
        accepted = ctypes.c_size_t()
        if buf is None:
            # The library wants a non-NULL pointer even for zero frames.
            buf = (ctypes.c_int16 * 1)()
        check(_ffi.lib().acs_audio_device_push_pcm(self._p, buf, n // channels, channels, ctypes.byref(accepted)))
        return int(accepted.value)

    def pull_pcm(self, max_samples: int = SAMPLE_RATE) -> "array.array[int]":
        """Takes up to `max_samples` mono 48 kHz samples a pull speaker has played."""
        if max_samples <= 0:
            return array.array("h")
        out = array.array("h", bytes(2 * max_samples))
        count = ctypes.c_size_t()
        cbuf = (ctypes.c_int16 * max_samples).from_buffer(out)
        try:
            check(_ffi.lib().acs_audio_device_pull_pcm(self._p, cbuf, max_samples, ctypes.byref(count)))
        finally:
            del cbuf  # release the buffer export before resizing the array
        del out[count.value:]
        return out

    def drain(self) -> int:
        """Discards everything a pull speaker has buffered; returns how many samples."""
        total = 0
        while True:
            got = len(self.pull_pcm(SAMPLE_RATE))
            total += got
            if got < SAMPLE_RATE:
                return total

    def __repr__(self) -> str:
        try:
            return f"<AudioDevice {self.name!r} {self.kind.name.lower()} 0x{self._hv:x}>"
        except Exception:
            return super().__repr__()


class Camera(Handle):
    """A camera: a V4L2 capture node, or the virtual test-pattern camera. Capture with
    LocalVideoStream.from_camera."""

    _ctype = _ffi.acs_camera
    _retain_name = "acs_camera_retain"
    _release_name = "acs_camera_release"
    _close_order = 3

    @property
    def id(self) -> str:
        return get_string(_ffi.lib().acs_camera_get_id, self._p)

    @property
    def name(self) -> str:
        return get_string(_ffi.lib().acs_camera_get_name, self._p)

    @property
    def is_default(self) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_camera_is_default(self._p, ctypes.byref(v)))
        return bool(v.value)

    def __repr__(self) -> str:
        try:
            return f"<Camera {self.name!r} {self.id}>"
        except Exception:
            return super().__repr__()


class PermissionState(enum.IntEnum):
    GRANTED = _ffi.ACS_PERMISSION_GRANTED
    DENIED = _ffi.ACS_PERMISSION_DENIED
    NO_DEVICE = _ffi.ACS_PERMISSION_NO_DEVICE


@dataclass
class Permission:
    """The answer to a permission request and why."""

    state: PermissionState
    reason: str

    @property
    def granted(self) -> bool:
        return self.state == PermissionState.GRANTED


@dataclass
class DeviceAccess:
    """What ask_device_permission found: None for what was not asked."""

    audio: Optional[Permission]
    video: Optional[Permission]


@dataclass
class AudioProcessing:
    """Echo cancellation, noise suppression and automatic gain of a real microphone."""

    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain: bool = True

    def _to_c(self) -> "_ffi.acs_audio_processing_options":
        o = _ffi.acs_audio_processing_options()
        check(_ffi.lib().acs_audio_processing_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
        o.echo_cancellation = bool(self.echo_cancellation)
        o.noise_suppression = bool(self.noise_suppression)
        o.auto_gain = bool(self.auto_gain)
        return o

    @classmethod
    def _from_c(cls, o: Any) -> "AudioProcessing":
        return cls(bool(o.echo_cancellation), bool(o.noise_suppression), bool(o.auto_gain))


class DeviceEventKind(enum.IntEnum):
    AUDIO_DEVICE_ADDED = _ffi.ACS_EVENT_AUDIO_DEVICE_ADDED
    AUDIO_DEVICE_REMOVED = _ffi.ACS_EVENT_AUDIO_DEVICE_REMOVED
    CAMERA_ADDED = _ffi.ACS_EVENT_CAMERA_ADDED
    CAMERA_REMOVED = _ffi.ACS_EVENT_CAMERA_REMOVED


@dataclass
class DeviceEvent:
    """A device appeared or disappeared. `device` (an AudioDevice) or `camera` owns a reference."""

    kind: DeviceEventKind
    device: Optional[AudioDevice] = None
    camera: Optional[Camera] = None

    @property
    def name(self) -> str:
        return self.kind.name.lower()


_dm_targets = Registry()


def _on_device_event(user_data: Optional[int], event_ptr: Any) -> None:
    try:
        ref = _dm_targets.get(user_data)
        dm = ref() if ref is not None else None
        if dm is None or dm.closed:
            return
        e = event_ptr.contents
        try:
            kind = DeviceEventKind(e.kind)
        except ValueError:
            return  # a kind newer than these bindings
        ev = DeviceEvent(
            kind=kind,
            device=AudioDevice._borrowed(e.audio_device, dm._client) if e.audio_device else None,
            camera=Camera._borrowed(e.camera, dm._client) if e.camera else None,
        )
        dm._deliver(ev)
    except Exception:  # never unwind into the library's dispatch thread
        log.exception("device event handler failed")


_DEVICE_EVENT_CALLBACK = _ffi.acs_event_callback(_on_device_event)


class DeviceManager(Handle):
    """The client's devices: microphone/speaker/camera lists, selection, permission, device
    events, audio processing defaults and virtual device factories."""

    _ctype = _ffi.acs_device_manager
    _retain_name = "acs_device_manager_retain"
    _release_name = "acs_device_manager_release"
    _close_order = 4

    def _list(self, fn: Callable[..., int]) -> List[AudioDevice]:
        ptrs = list_handles(lambda arr, cap, count: int(fn(self._p, arr, cap, count)), _ffi.acs_audio_device)
        return [AudioDevice(p, self._client) for p in ptrs]

    @property
    def microphones(self) -> List[AudioDevice]:
        """System microphones (listed; maybe not openable headless), then virtual ones."""
        return self._list(_ffi.lib().acs_device_manager_get_microphones)

    @property
    def speakers(self) -> List[AudioDevice]:
        return self._list(_ffi.lib().acs_device_manager_get_speakers)

    def _selected(self, fn: Callable[..., int]) -> Optional[AudioDevice]:
        out = ctypes.POINTER(_ffi.acs_audio_device)()
        status = fn(self._p, ctypes.byref(out))
        if status == _ffi.ACS_ERR_NOT_FOUND:
            return None
        check(status)
        return AudioDevice(out, self._client)

    @property
    def selected_microphone(self) -> Optional[AudioDevice]:
        """The selected microphone (or the system default), None if there is none."""
        return self._selected(_ffi.lib().acs_device_manager_get_selected_microphone)

    @property
    def selected_speaker(self) -> Optional[AudioDevice]:
        return self._selected(_ffi.lib().acs_device_manager_get_selected_speaker)

    def set_microphone(self, device: AudioDevice) -> None:
        check(_ffi.lib().acs_device_manager_set_microphone(self._p, device._p))

    def set_speaker(self, device: AudioDevice) -> None:
        check(_ffi.lib().acs_device_manager_set_speaker(self._p, device._p))

    def _create(self, fn: Callable[..., int], *args: Any) -> AudioDevice:
        out = ctypes.POINTER(_ffi.acs_audio_device)()
        check(fn(self._p, *args, ctypes.byref(out)))
        return AudioDevice(out, self._client)

    def create_tone_microphone(self, name: str, frequency_hz: float = 440.0, amplitude: float = 0.5) -> AudioDevice:
        """A virtual microphone playing a sine tone (`amplitude` 0..1)."""
        return self._create(_ffi.lib().acs_device_manager_create_tone_microphone, c_str(name, "name"), float(frequency_hz), float(amplitude))

    def create_wav_microphone(self, name: str, path: Union[str, "os.PathLike[str]"], looped: bool = True) -> AudioDevice:
        """A virtual microphone reading a PCM16 WAV file (any rate, 1-2 channels)."""
        return self._create(_ffi.lib().acs_device_manager_create_wav_microphone, c_str(name, "name"), c_str(os.fspath(path), "path"), bool(looped))

    def create_push_microphone(self, name: str) -> AudioDevice:
        """A virtual microphone fed by AudioDevice.push_pcm."""
        return self._create(_ffi.lib().acs_device_manager_create_push_microphone, c_str(name, "name"))

    def create_wav_speaker(self, name: str, path: Union[str, "os.PathLike[str]"]) -> AudioDevice:
        """A virtual speaker recording what it plays to a WAV file (48 kHz mono PCM16)."""
        return self._create(_ffi.lib().acs_device_manager_create_wav_speaker, c_str(name, "name"), c_str(os.fspath(path), "path"))

    def create_pull_speaker(self, name: str, capacity_ms: int = 5000) -> AudioDevice:
        """A virtual speaker buffering up to `capacity_ms` of what it plays for pull_pcm."""
        return self._create(_ffi.lib().acs_device_manager_create_pull_speaker, c_str(name, "name"), int(capacity_ms))

    def create_callback_speaker(self, name: str, fn: Callable[["array.array[int]"], Any]) -> AudioDevice:
        """A virtual speaker calling `fn(samples: array('h'))` with every played 20 ms frame
        (mono 48 kHz) on a media thread. Keep `fn` quick; don't call the library from it."""
        if not callable(fn):
            raise TypeError("fn must be callable")
        key = _frame_targets.add(fn)
        try:
            dev = self._create(_ffi.lib().acs_device_manager_create_callback_speaker, c_str(name, "name"), _FRAME_CALLBACK, key)
        except Exception:
            _frame_targets.remove(key)
            raise
        # The device lives as long as the library client: drop `fn` when the client closes.
        if self._client is not None:
            self._client._on_close(lambda: _frame_targets.remove(key))
        return dev

    # ---- cameras, permission, events, processing ------------------------------------------

    @property
    def cameras(self) -> List[Camera]:
        """Cameras (V4L2 capture nodes; empty on a machine without /dev/video*)."""
        fn = _ffi.lib().acs_device_manager_get_cameras
        ptrs = list_handles(lambda arr, cap, count: int(fn(self._p, arr, cap, count)), _ffi.acs_camera)
        return [Camera(p, self._client) for p in ptrs]

    @property
    def selected_camera(self) -> Optional[Camera]:
        """The selected camera (or the system default), None if there is none."""
        out = ctypes.POINTER(_ffi.acs_camera)()
        status = _ffi.lib().acs_device_manager_get_selected_camera(self._p, ctypes.byref(out))
        if status == _ffi.ACS_ERR_NOT_FOUND:
            return None
        check(status)
        return Camera(out, self._client)

    def set_camera(self, camera: Camera) -> None:
        check(_ffi.lib().acs_device_manager_set_camera(self._p, camera._p))

    def _permission(self, media: int) -> Permission:
        state = ctypes.c_int32()
        needed = ctypes.c_size_t()
        buf = ctypes.create_string_buffer(512)
        status = _ffi.lib().acs_device_manager_ask_device_permission(
            self._p, media, ctypes.byref(state), buf, len(buf), ctypes.byref(needed))
        if status == _ffi.ACS_ERR_BUFFER_TOO_SMALL:
            buf = ctypes.create_string_buffer(needed.value)
            status = _ffi.lib().acs_device_manager_ask_device_permission(
                self._p, media, ctypes.byref(state), buf, len(buf), ctypes.byref(needed))
        check(status)
        return Permission(PermissionState(state.value), buf.value.decode("utf-8", "replace"))

    def ask_device_permission(self, audio: bool = True, video: bool = False) -> DeviceAccess:
        """Whether a microphone (`audio`) and a camera (`video`) may be used: granted unless
        the system refuses access or no device exists, with the reason. Opens the device once."""
        return DeviceAccess(
            audio=self._permission(_ffi.ACS_MEDIA_KIND_AUDIO) if audio else None,
            video=self._permission(_ffi.ACS_MEDIA_KIND_VIDEO) if video else None,
        )

    @property
    def audio_processing(self) -> AudioProcessing:
        """Echo cancellation / noise suppression / gain control for calls started from now on."""
        o = _ffi.acs_audio_processing_options()
        check(_ffi.lib().acs_device_manager_get_audio_processing(self._p, ctypes.byref(o)))
        return AudioProcessing._from_c(o)

    @audio_processing.setter
    def audio_processing(self, settings: AudioProcessing) -> None:
        o = settings._to_c()
        check(_ffi.lib().acs_device_manager_set_audio_processing(self._p, ctypes.byref(o)))

    @property
    def on_device_event(self) -> Optional[Callable[[DeviceEvent], Any]]:
        """Handler of DeviceEvent (devices appearing/disappearing), or None. While set, the
        system's devices are re-enumerated about every second; see refresh_devices()."""
        return getattr(self, "_device_handler", None)

    @on_device_event.setter
    def on_device_event(self, fn: Optional[Callable[[DeviceEvent], Any]]) -> None:
        if fn is not None and not callable(fn):
            raise TypeError("the handler must be callable")
        key = getattr(self, "_dm_key", None)
        if fn is None:
            check(_ffi.lib().acs_device_manager_set_event_callback(self._p, _ffi.acs_event_callback(), None))
            self._device_handler = None
            if key is not None:
                _dm_targets.remove(key)
                self._dm_key = None
            return
        if key is None:
            key = self._dm_key = _dm_targets.add(weakref.ref(self))
            if self._client is not None:
                self._client._on_close(lambda: _dm_targets.remove(key))
        self._device_handler = fn
        check(_ffi.lib().acs_device_manager_set_event_callback(self._p, _DEVICE_EVENT_CALLBACK, key))

    def _deliver(self, ev: DeviceEvent) -> None:
        fn = getattr(self, "_device_handler", None)
        if fn is not None:
            try:
                fn(ev)
            except Exception:
                log.exception("device event handler raised")

    def refresh_devices(self) -> int:
        """Re-enumerates now; returns how many devices changed (events follow; 0 without a
        handler)."""
        n = ctypes.c_size_t()
        check(_ffi.lib().acs_device_manager_refresh_devices(self._p, ctypes.byref(n)))
        return int(n.value)
