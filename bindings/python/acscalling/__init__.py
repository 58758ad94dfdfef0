"""Python bindings for libacscalling (ctypes over the C API in include/acscalling.h).

    from acscalling import CallClient
    with CallClient() as client:
        dm = client.device_manager
        mic = dm.create_tone_microphone("tone", 440.0, 0.5)
        spk = dm.create_pull_speaker("spk", 2000)
        agent = client.create_call_agent("ws://127.0.0.1:8080", token, "Alice")
        call = agent.start_call("8:echo123", microphone=mic, speaker=spk)

The library is found via $ACSCALLING_LIB, a copy inside this package, or a cargo target
directory above the package (see acscalling._ffi.find_library).
"""

import logging as _logging

from . import _ffi
from ._ffi import LibraryNotFoundError
from .agent import CallAgent
from .call import (
    AudioStats,
    Call,
    CallDirection,
    CallState,
    DominantSpeakers,
    DtmfTone,
    EndReason,
    IdentifierKind,
    MediaStatistics,
    ParticipantState,
    RemoteParticipant,
    RoomRole,
    identifier_kind,
)
from . import aio
from .aio import CallEndedError, ConnectionFailedError, EventStream
from .client import LIB_LOGGER, CallClient, LogLevel, level_for_logger, live_handle_count, python_logging
from .devices import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    AudioDevice,
    AudioProcessing,
    Camera,
    DeviceAccess,
    DeviceEvent,
    DeviceEventKind,
    DeviceKind,
    DeviceManager,
    Permission,
    PermissionState,
    tone_power,
)
from .errors import (
    AcsError,
    AcsIOError,
    BufferTooSmallError,
    DeviceError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    InvalidUtf8Error,
    LimitReachedError,
    NetworkError,
    NotFoundError,
    NullPointerError,
    OperationTimeoutError,
    PanicError,
    ServiceError,
    UnauthorizedError,
    UnsupportedError,
    last_error_message,
    status_to_string,
)
from .events import CallAction, ConnectionState, Event, EventKind, OutgoingVideoState, PushNotificationResult, TransferState
from .video import (
    CameraCaptureFormat,
    CameraFormat,
    LocalVideoStream,
    ScreenSource,
    ScreenSourceKind,
    ShareState,
    list_screen_sources,
    PixelFormat,
    RemoteVideoStream,
    ScalingMode,
    VideoFrame,
    VideoReceiveStats,
    VideoRenderer,
    VideoSendStats,
    VideoSourceKind,
    VideoStreamKind,
    VideoView,
    ViewStats,
)

__version__ = "0.1.0"

# Library log lines go to the "acscalling.lib" logger (CallClient(log="logging"), the default):
# without a handler configured by the application they are dropped, not printed by logging's
# last-resort handler.
_logging.getLogger("acscalling").addHandler(_logging.NullHandler())

ECHO_BOT_ID = "8:echo123"


def library_version() -> str:
    """acs_calling_version(): the loaded library's version."""
    version: bytes = _ffi.lib().acs_calling_version()
    return version.decode("ascii")


__all__ = [
    "ScreenSource", "ScreenSourceKind", "ShareState", "list_screen_sources", "OutgoingVideoState",
    "PushNotificationResult", "TransferState", "CallAction", "RoomRole",
    "AcsError", "AcsIOError", "AudioDevice", "AudioProcessing", "AudioStats", "Camera",
    "DeviceAccess", "DeviceEvent", "DeviceEventKind", "Permission", "PermissionState", "BufferTooSmallError", "Call",
    "CallAgent", "CallClient", "CallDirection", "CallState", "ConnectionState", "DeviceError",
    "DeviceKind", "DeviceManager", "DominantSpeakers", "ECHO_BOT_ID", "EndReason", "Event", "EventKind",
    "FRAME_SAMPLES", "InternalError", "InvalidArgumentError", "InvalidHandleError",
    "InvalidStateError", "InvalidUtf8Error", "LibraryNotFoundError", "LimitReachedError",
    "LogLevel", "MediaStatistics", "NetworkError", "NotFoundError", "NullPointerError", "OperationTimeoutError",
    "PanicError", "ParticipantState", "RemoteParticipant", "SAMPLE_RATE", "ServiceError",
    "UnauthorizedError", "UnsupportedError", "last_error_message", "library_version",
    "live_handle_count", "python_logging", "status_to_string", "tone_power",
    "LocalVideoStream", "PixelFormat", "ScalingMode", "VideoFrame", "VideoRenderer",
    "VideoSourceKind", "VideoView", "ViewStats", "RemoteVideoStream", "VideoReceiveStats",
    "VideoSendStats", "VideoStreamKind", "CameraFormat", "CameraCaptureFormat",
    "DtmfTone", "IdentifierKind", "identifier_kind",
    "aio", "CallEndedError", "ConnectionFailedError", "EventStream", "LIB_LOGGER", "level_for_logger",
]
