"""Raw ctypes declarations of the libacscalling C API (include/acscalling.h).

This module is a plain table on purpose: tests/python/test_ffi_signatures.py parses the
header and compares every function, struct, callback type and constant with what is declared
here, so a signature that drifts fails the test suite instead of corrupting memory.

Type mapping: ``const char *`` -> c_char_p, ``char *`` (an output buffer) -> POINTER(c_char),
``void *`` -> c_void_p, ``T *`` -> POINTER(T), opaque handle types are empty Structures used
only through pointers.

The shared library is loaded lazily by :func:`lib` so that ``import acscalling`` works (and the
table can be checked) before the library is built.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int16,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path
from typing import Dict, List, Optional, Tuple

# --------------------------------------------------------------------------------------------
# Constants (#define in the header). Order follows the header.
# --------------------------------------------------------------------------------------------

CONSTANTS: Dict[str, object] = {
    "ACS_CALLING_VERSION_STRING": "0.1.0",
    "ACS_CALLING_VERSION_MAJOR": 0,
    "ACS_CALLING_VERSION_MINOR": 1,
    "ACS_CALLING_VERSION_PATCH": 0,
    "ACS_AGENT_CONNECTION_DISCONNECTED": 0,
    "ACS_AGENT_CONNECTION_CONNECTED": 1,
    "ACS_AGENT_CONNECTION_CONNECTING": 2,
    "ACS_AGENT_CONNECTION_RECONNECTING": 3,
    "ACS_CALL_STATE_NONE": 0,
    "ACS_CALL_STATE_EARLY_MEDIA": 1,
    "ACS_CALL_STATE_INCOMING": 2,
    "ACS_CALL_STATE_CONNECTING": 3,
    "ACS_CALL_STATE_RINGING": 4,
    "ACS_CALL_STATE_CONNECTED": 5,
    "ACS_CALL_STATE_LOCAL_HOLD": 6,
    "ACS_CALL_STATE_DISCONNECTING": 7,
    "ACS_CALL_STATE_DISCONNECTED": 8,
    "ACS_CALL_STATE_IN_LOBBY": 9,
    "ACS_CALL_STATE_REMOTE_HOLD": 10,
    "ACS_PARTICIPANT_STATE_IDLE": 0,
    "ACS_PARTICIPANT_STATE_EARLY_MEDIA": 1,
    "ACS_PARTICIPANT_STATE_CONNECTING": 2,
    "ACS_PARTICIPANT_STATE_CONNECTED": 3,
    "ACS_PARTICIPANT_STATE_HOLD": 4,
    "ACS_PARTICIPANT_STATE_IN_LOBBY": 5,
    "ACS_PARTICIPANT_STATE_DISCONNECTED": 6,
    "ACS_PARTICIPANT_STATE_RINGING": 7,
    "ACS_CALL_DIRECTION_OUTGOING": 0,
    "ACS_CALL_DIRECTION_INCOMING": 1,
    "ACS_DISPATCH_THREAD": 0,
    "ACS_DISPATCH_MANUAL": 1,
    "ACS_MAX_PCM_FRAMES": 28800000,
    "ACS_MAX_STRING_BYTES": 65536,
    "ACS_DEVICE_KIND_MICROPHONE": 0,
    "ACS_DEVICE_KIND_SPEAKER": 1,
    "ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED": 1,
    "ACS_EVENT_INCOMING_CALL": 2,
    "ACS_EVENT_CALL_STATE_CHANGED": 3,
    "ACS_EVENT_CALL_MUTE_CHANGED": 4,
    "ACS_EVENT_PARTICIPANT_ADDED": 5,
    "ACS_EVENT_PARTICIPANT_REMOVED": 6,
    "ACS_EVENT_PARTICIPANT_STATE_CHANGED": 7,
    "ACS_EVENT_PARTICIPANT_MUTE_CHANGED": 8,
    "ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED": 9,
    "ACS_EVENT_DOMINANT_SPEAKERS_CHANGED": 10,
    "ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED": 11,
    "ACS_EVENT_DTMF_RECEIVED": 12,
    "ACS_EVENT_DTMF_SEND_COMPLETED": 13,
    "ACS_EVENT_CALL_NETWORK_RECONNECT": 14,
    "ACS_EVENT_CALL_MEDIA_STATISTICS": 15,
    "ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED": 16,
    "ACS_EVENT_PUSH_NOTIFICATION": 17,
    "ACS_OUTGOING_VIDEO_STATE_STARTED": 1,
    "ACS_OUTGOING_VIDEO_STATE_PAUSED": 2,
    "ACS_OUTGOING_VIDEO_STATE_STOPPED": 3,
    "ACS_OUTGOING_VIDEO_STATE_FAILED": 4,
    "ACS_PUSH_NOTIFICATION_REGISTERED": 1,
    "ACS_PUSH_NOTIFICATION_REGISTRATION_FAILED": 2,
    "ACS_PUSH_NOTIFICATION_UNREGISTERED": 3,
    "ACS_PUSH_NOTIFICATION_UNREGISTRATION_FAILED": 4,
    "ACS_PUSH_NOTIFICATION_CALL_REFUSED": 5,
    "ACS_EVENT_CALL_TRANSFER_STATE_CHANGED": 18,
    "ACS_EVENT_CALL_TRANSFER_REQUESTED": 19,
    "ACS_TRANSFER_STATE_REQUESTED": 1,
    "ACS_TRANSFER_STATE_TRANSFERRING": 2,
    "ACS_TRANSFER_STATE_TRANSFERRED": 3,
    "ACS_TRANSFER_STATE_FAILED": 4,
    "ACS_EVENT_CALL_MUTED_BY_OTHERS": 20,
    "ACS_EVENT_CALL_ACTION_FAILED": 21,
    "ACS_ROOM_ROLE_NONE": 0,
    "ACS_ROOM_ROLE_ORGANIZER": 1,
    "ACS_ROOM_ROLE_PRESENTER": 2,
    "ACS_ROOM_ROLE_ATTENDEE": 3,
    "ACS_ROOM_ROLE_CONSUMER": 4,
    "ACS_CALL_ACTION_ADMIT": 1,
    "ACS_CALL_ACTION_REJECT": 2,
    "ACS_CALL_ACTION_MUTE_OTHERS": 3,
    "ACS_NETWORK_RECONNECT_GOOD": 0,
    "ACS_NETWORK_RECONNECT_POOR": 1,
    "ACS_EVENT_AUDIO_DEVICE_ADDED": 100,
    "ACS_EVENT_AUDIO_DEVICE_REMOVED": 101,
    "ACS_EVENT_CAMERA_ADDED": 102,
    "ACS_EVENT_CAMERA_REMOVED": 103,
    "ACS_CAMERA_FORMAT_ANY": 0,
    "ACS_CAMERA_FORMAT_YUYV": 1,
    "ACS_CAMERA_FORMAT_UYVY": 2,
    "ACS_CAMERA_FORMAT_NV12": 3,
    "ACS_CAMERA_FORMAT_I420": 4,
    "ACS_CAMERA_FORMAT_YV12": 5,
    "ACS_CAMERA_FORMAT_MJPEG": 6,
    "ACS_MEDIA_KIND_AUDIO": 0,
    "ACS_MEDIA_KIND_VIDEO": 1,
    "ACS_PERMISSION_GRANTED": 0,
    "ACS_PERMISSION_DENIED": 1,
    "ACS_PERMISSION_NO_DEVICE": 2,
    "ACS_PIXEL_FORMAT_I420": 0,
    "ACS_PIXEL_FORMAT_NV12": 1,
    "ACS_PIXEL_FORMAT_RGBA": 2,
    "ACS_PIXEL_FORMAT_BGRA": 3,
    "ACS_PIXEL_FORMAT_BGRX": 4,
    "ACS_SCALING_MODE_STRETCH": 0,
    "ACS_SCALING_MODE_CROP": 1,
    "ACS_SCALING_MODE_FIT": 2,
    "ACS_VIDEO_SOURCE_VIRTUAL": 0,
    "ACS_VIDEO_SOURCE_PUSHED": 1,
    "ACS_VIDEO_SOURCE_CAMERA": 2,
    "ACS_VIDEO_SOURCE_SCREEN": 3,
    "ACS_SCREEN_SOURCE_MONITOR": 0,
    "ACS_SCREEN_SOURCE_WINDOW": 1,
    "ACS_SHARE_STATE_ACTIVE": 0,
    "ACS_SHARE_STATE_PAUSED": 1,
    "ACS_SHARE_STATE_ENDED": 2,
    "ACS_VIDEO_STREAM_KIND_VIDEO": 0,
    "ACS_VIDEO_STREAM_KIND_SCREEN_SHARE": 1,
    "ACS_MAX_INCOMING_VIDEO_STREAMS": 6,
    "ACS_DTMF_TONE_0": 0,
    "ACS_DTMF_TONE_1": 1,
    "ACS_DTMF_TONE_2": 2,
    "ACS_DTMF_TONE_3": 3,
    "ACS_DTMF_TONE_4": 4,
    "ACS_DTMF_TONE_5": 5,
    "ACS_DTMF_TONE_6": 6,
    "ACS_DTMF_TONE_7": 7,
    "ACS_DTMF_TONE_8": 8,
    "ACS_DTMF_TONE_9": 9,
    "ACS_DTMF_TONE_STAR": 10,
    "ACS_DTMF_TONE_POUND": 11,
    "ACS_DTMF_TONE_A": 12,
    "ACS_DTMF_TONE_B": 13,
    "ACS_DTMF_TONE_C": 14,
    "ACS_DTMF_TONE_D": 15,
    "ACS_DTMF_TONE_FLASH": 16,
    "ACS_IDENTIFIER_KIND_UNKNOWN": 0,
    "ACS_IDENTIFIER_KIND_COMMUNICATION_USER": 1,
    "ACS_IDENTIFIER_KIND_PHONE_NUMBER": 2,
    "ACS_LOG_ERROR": 1,
    "ACS_LOG_WARN": 2,
    "ACS_LOG_INFO": 3,
    "ACS_LOG_DEBUG": 4,
    "ACS_LOG_TRACE": 5,
    "ACS_OK": 0,
    "ACS_ERR_INVALID_ARGUMENT": -1,
    "ACS_ERR_NULL_POINTER": -2,
    "ACS_ERR_INVALID_HANDLE": -3,
    "ACS_ERR_INVALID_UTF8": -4,
    "ACS_ERR_BUFFER_TOO_SMALL": -5,
    "ACS_ERR_INVALID_STATE": -6,
    "ACS_ERR_NOT_FOUND": -7,
    "ACS_ERR_UNAUTHORIZED": -8,
    "ACS_ERR_NETWORK": -9,
    "ACS_ERR_DEVICE": -10,
    "ACS_ERR_TIMEOUT": -11,
    "ACS_ERR_UNSUPPORTED": -12,
    "ACS_ERR_IO": -13,
    "ACS_ERR_LIMIT_REACHED": -14,
    "ACS_ERR_SERVICE": -15,
    "ACS_ERR_INTERNAL": -98,
    "ACS_ERR_PANIC": -99,
}
globals().update(CONSTANTS)
# Typed names of the constants above for type checkers (globals().update sets the values;
# tests/python/test_ffi_signatures.py checks that both lists agree).
ACS_CALLING_VERSION_STRING: str
ACS_CALLING_VERSION_MAJOR: int
ACS_CALLING_VERSION_MINOR: int
ACS_CALLING_VERSION_PATCH: int
ACS_AGENT_CONNECTION_DISCONNECTED: int
ACS_AGENT_CONNECTION_CONNECTED: int
ACS_AGENT_CONNECTION_CONNECTING: int
ACS_AGENT_CONNECTION_RECONNECTING: int
ACS_CALL_STATE_NONE: int
ACS_CALL_STATE_EARLY_MEDIA: int
ACS_CALL_STATE_INCOMING: int
ACS_CALL_STATE_CONNECTING: int
ACS_CALL_STATE_RINGING: int
ACS_CALL_STATE_CONNECTED: int
ACS_CALL_STATE_LOCAL_HOLD: int
ACS_CALL_STATE_DISCONNECTING: int
ACS_CALL_STATE_DISCONNECTED: int
ACS_CALL_STATE_IN_LOBBY: int
ACS_CALL_STATE_REMOTE_HOLD: int
ACS_PARTICIPANT_STATE_IDLE: int
ACS_PARTICIPANT_STATE_EARLY_MEDIA: int
ACS_PARTICIPANT_STATE_CONNECTING: int
ACS_PARTICIPANT_STATE_CONNECTED: int
ACS_PARTICIPANT_STATE_HOLD: int
ACS_PARTICIPANT_STATE_IN_LOBBY: int
ACS_PARTICIPANT_STATE_DISCONNECTED: int
ACS_PARTICIPANT_STATE_RINGING: int
ACS_CALL_DIRECTION_OUTGOING: int
ACS_CALL_DIRECTION_INCOMING: int
ACS_DISPATCH_THREAD: int
ACS_DISPATCH_MANUAL: int
ACS_MAX_PCM_FRAMES: int
ACS_MAX_STRING_BYTES: int
ACS_DEVICE_KIND_MICROPHONE: int
ACS_DEVICE_KIND_SPEAKER: int
ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED: int
ACS_EVENT_INCOMING_CALL: int
ACS_EVENT_CALL_STATE_CHANGED: int
ACS_EVENT_CALL_MUTE_CHANGED: int
ACS_EVENT_PARTICIPANT_ADDED: int
ACS_EVENT_PARTICIPANT_REMOVED: int
ACS_EVENT_PARTICIPANT_STATE_CHANGED: int
ACS_EVENT_PARTICIPANT_MUTE_CHANGED: int
ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED: int
ACS_EVENT_DOMINANT_SPEAKERS_CHANGED: int
ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED: int
ACS_EVENT_DTMF_RECEIVED: int
ACS_EVENT_DTMF_SEND_COMPLETED: int
ACS_EVENT_CALL_NETWORK_RECONNECT: int
ACS_EVENT_CALL_MEDIA_STATISTICS: int
ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: int
ACS_EVENT_PUSH_NOTIFICATION: int
ACS_OUTGOING_VIDEO_STATE_STARTED: int
ACS_OUTGOING_VIDEO_STATE_PAUSED: int
ACS_OUTGOING_VIDEO_STATE_STOPPED: int
ACS_OUTGOING_VIDEO_STATE_FAILED: int
ACS_PUSH_NOTIFICATION_REGISTERED: int
ACS_PUSH_NOTIFICATION_REGISTRATION_FAILED: int
ACS_PUSH_NOTIFICATION_UNREGISTERED: int
ACS_PUSH_NOTIFICATION_UNREGISTRATION_FAILED: int
ACS_PUSH_NOTIFICATION_CALL_REFUSED: int
ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: int
ACS_EVENT_CALL_TRANSFER_REQUESTED: int
ACS_TRANSFER_STATE_REQUESTED: int
ACS_TRANSFER_STATE_TRANSFERRING: int
ACS_TRANSFER_STATE_TRANSFERRED: int
ACS_TRANSFER_STATE_FAILED: int
ACS_EVENT_CALL_MUTED_BY_OTHERS: int
ACS_EVENT_CALL_ACTION_FAILED: int
ACS_ROOM_ROLE_NONE: int
ACS_ROOM_ROLE_ORGANIZER: int
ACS_ROOM_ROLE_PRESENTER: int
ACS_ROOM_ROLE_ATTENDEE: int
ACS_ROOM_ROLE_CONSUMER: int
ACS_CALL_ACTION_ADMIT: int
ACS_CALL_ACTION_REJECT: int
ACS_CALL_ACTION_MUTE_OTHERS: int
ACS_NETWORK_RECONNECT_GOOD: int
ACS_NETWORK_RECONNECT_POOR: int
ACS_EVENT_AUDIO_DEVICE_ADDED: int
ACS_EVENT_AUDIO_DEVICE_REMOVED: int
ACS_EVENT_CAMERA_ADDED: int
ACS_EVENT_CAMERA_REMOVED: int
ACS_CAMERA_FORMAT_ANY: int
ACS_CAMERA_FORMAT_YUYV: int
ACS_CAMERA_FORMAT_UYVY: int
ACS_CAMERA_FORMAT_NV12: int
ACS_CAMERA_FORMAT_I420: int
ACS_CAMERA_FORMAT_YV12: int
ACS_CAMERA_FORMAT_MJPEG: int
ACS_MEDIA_KIND_AUDIO: int
ACS_MEDIA_KIND_VIDEO: int
ACS_PERMISSION_GRANTED: int
ACS_PERMISSION_DENIED: int
ACS_PERMISSION_NO_DEVICE: int
ACS_PIXEL_FORMAT_I420: int
ACS_PIXEL_FORMAT_NV12: int
ACS_PIXEL_FORMAT_RGBA: int
ACS_PIXEL_FORMAT_BGRA: int
ACS_PIXEL_FORMAT_BGRX: int
ACS_SCALING_MODE_STRETCH: int
ACS_SCALING_MODE_CROP: int
ACS_SCALING_MODE_FIT: int
ACS_VIDEO_SOURCE_VIRTUAL: int
ACS_VIDEO_SOURCE_PUSHED: int
ACS_VIDEO_SOURCE_CAMERA: int
ACS_VIDEO_SOURCE_SCREEN: int
ACS_SCREEN_SOURCE_MONITOR: int
ACS_SCREEN_SOURCE_WINDOW: int
ACS_SHARE_STATE_ACTIVE: int
ACS_SHARE_STATE_PAUSED: int
ACS_SHARE_STATE_ENDED: int
ACS_VIDEO_STREAM_KIND_VIDEO: int
ACS_VIDEO_STREAM_KIND_SCREEN_SHARE: int
ACS_MAX_INCOMING_VIDEO_STREAMS: int
ACS_DTMF_TONE_0: int
ACS_DTMF_TONE_1: int
ACS_DTMF_TONE_2: int
ACS_DTMF_TONE_3: int
ACS_DTMF_TONE_4: int
ACS_DTMF_TONE_5: int
ACS_DTMF_TONE_6: int
ACS_DTMF_TONE_7: int
ACS_DTMF_TONE_8: int
ACS_DTMF_TONE_9: int
ACS_DTMF_TONE_STAR: int
ACS_DTMF_TONE_POUND: int
ACS_DTMF_TONE_A: int
ACS_DTMF_TONE_B: int
ACS_DTMF_TONE_C: int
ACS_DTMF_TONE_D: int
ACS_DTMF_TONE_FLASH: int
ACS_IDENTIFIER_KIND_UNKNOWN: int
ACS_IDENTIFIER_KIND_COMMUNICATION_USER: int
ACS_IDENTIFIER_KIND_PHONE_NUMBER: int
ACS_LOG_ERROR: int
ACS_LOG_WARN: int
ACS_LOG_INFO: int
ACS_LOG_DEBUG: int
ACS_LOG_TRACE: int
ACS_OK: int
ACS_ERR_INVALID_ARGUMENT: int
ACS_ERR_NULL_POINTER: int
ACS_ERR_INVALID_HANDLE: int
ACS_ERR_INVALID_UTF8: int
ACS_ERR_BUFFER_TOO_SMALL: int
ACS_ERR_INVALID_STATE: int
ACS_ERR_NOT_FOUND: int
ACS_ERR_UNAUTHORIZED: int
ACS_ERR_NETWORK: int
ACS_ERR_DEVICE: int
ACS_ERR_TIMEOUT: int
ACS_ERR_UNSUPPORTED: int
ACS_ERR_IO: int
ACS_ERR_LIMIT_REACHED: int
ACS_ERR_SERVICE: int
ACS_ERR_INTERNAL: int
ACS_ERR_PANIC: int

# Status codes by number (for error mapping and tests).
STATUS_CODES: Dict[str, int] = {
    k: v for k, v in CONSTANTS.items() if isinstance(v, int) and (k == "ACS_OK" or k.startswith("ACS_ERR_"))
}

# --------------------------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------------------------

acs_status = c_int32


class acs_audio_device(Structure):
    """Opaque audio device handle (only used through pointers)."""


class acs_call(Structure):
    """Opaque Call handle."""


class acs_call_agent(Structure):
    """Opaque CallAgent handle."""


class acs_call_client(Structure):
    """Opaque CallClient handle."""


class acs_device_manager(Structure):
    """Opaque DeviceManager handle."""


class acs_camera(Structure):
    """Opaque camera handle."""


class acs_screen_source(Structure):
    """Opaque screen source handle (a monitor or window that can be shared)."""


class acs_remote_participant(Structure):
    """Opaque RemoteParticipant handle."""


class acs_remote_video_stream(Structure):
    """Opaque remote video stream handle."""


class acs_local_video_stream(Structure):
    """Opaque local video stream handle."""


class acs_video_renderer(Structure):
    """Opaque video renderer handle."""


class acs_video_view(Structure):
    """Opaque video view handle."""


OPAQUE_TYPES = {
    "acs_audio_device": acs_audio_device,
    "acs_call": acs_call,
    "acs_call_agent": acs_call_agent,
    "acs_call_client": acs_call_client,
    "acs_device_manager": acs_device_manager,
    "acs_camera": acs_camera,
    "acs_screen_source": acs_screen_source,
    "acs_remote_participant": acs_remote_participant,
    "acs_remote_video_stream": acs_remote_video_stream,
    "acs_local_video_stream": acs_local_video_stream,
    "acs_video_renderer": acs_video_renderer,
    "acs_video_view": acs_video_view,
}


class acs_event(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_int32),
        ("agent", POINTER(acs_call_agent)),
        ("call", POINTER(acs_call)),
        ("participant", POINTER(acs_remote_participant)),
        ("state", c_int32),
        ("code", c_int32),
        ("subcode", c_int32),
        ("flag", c_bool),
        ("message", c_char_p),
        ("device_manager", POINTER(acs_device_manager)),
        ("audio_device", POINTER(acs_audio_device)),
        ("camera", POINTER(acs_camera)),
        ("remote_video_stream", POINTER(acs_remote_video_stream)),
        ("participant_id", c_char_p),
        ("request_id", c_uint64),
        ("dtmf_tone", c_int32),
        ("video_stream_kind", c_int32),
        ("local_video_stream", POINTER(acs_local_video_stream)),
        ("push_subject", c_char_p),
        ("transfer_target", c_char_p),
    ]


acs_event_callback = CFUNCTYPE(None, c_void_p, POINTER(acs_event))
acs_token_refresher = CFUNCTYPE(acs_status, c_void_p, POINTER(c_char), c_size_t)


class acs_call_agent_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("service_url", c_char_p),
        ("token", c_char_p),
        ("display_name", c_char_p),
        ("event_callback", acs_event_callback),
        ("event_user_data", c_void_p),
        ("token_refresher", acs_token_refresher),
        ("token_refresher_user_data", c_void_p),
        ("ca_certificate_path", c_char_p),
        ("answer_transfers", c_bool),
    ]


class acs_call_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("microphone", POINTER(acs_audio_device)),
        ("speaker", POINTER(acs_audio_device)),
        ("start_muted", c_bool),
        ("alternate_caller_id", c_char_p),
    ]


class acs_add_participant_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("alternate_caller_id", c_char_p),
    ]


class acs_call_audio_stats(Structure):
    """Frozen first version (no struct_size); the bindings use acs_call_audio_statistics."""
    _fields_ = [
        ("frames_sent", c_uint64),
        ("frames_received", c_uint64),
        ("frames_played", c_uint64),
        ("frames_concealed", c_uint64),
    ]


class acs_call_audio_statistics(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("frames_sent", c_uint64),
        ("frames_received", c_uint64),
        ("frames_played", c_uint64),
        ("frames_concealed", c_uint64),
    ]


class acs_call_media_statistics(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("timestamp_ms", c_uint64),
        ("rtt_ms", c_double),
        ("audio_packets_sent", c_uint64),
        ("audio_bytes_sent", c_uint64),
        ("audio_send_bitrate_bps", c_uint64),
        ("audio_packets_received", c_uint64),
        ("audio_packets_lost", c_int64),
        ("audio_jitter_ms", c_double),
        ("audio_receive_bitrate_bps", c_uint64),
        ("audio_frames_played", c_uint64),
        ("audio_frames_concealed", c_uint64),
        ("video_packets_sent", c_uint64),
        ("video_send_bitrate_bps", c_uint64),
        ("video_send_fps", c_double),
        ("video_send_width", c_uint32),
        ("video_send_height", c_uint32),
        ("video_receive_streams", c_uint32),
        ("video_packets_received", c_uint64),
        ("video_packets_lost", c_int64),
        ("video_jitter_ms", c_double),
        ("video_receive_bitrate_bps", c_uint64),
    ]


acs_log_callback = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)


class acs_call_client_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("dispatch_mode", c_int32),
        ("log_callback", acs_log_callback),
        ("log_user_data", c_void_p),
        ("log_level", c_int32),
    ]


class acs_audio_processing_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("echo_cancellation", c_bool),
        ("noise_suppression", c_bool),
        ("auto_gain", c_bool),
    ]


acs_audio_frame_callback = CFUNCTYPE(None, c_void_p, POINTER(c_int16), c_size_t, c_uint32, c_uint32)

class acs_video_receive_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("packets", c_uint64),
        ("packets_dropped", c_uint64),
        ("frames_decoded", c_uint64),
        ("frames_lost", c_uint64),
        ("keyframe_requests", c_uint64),
        ("decode_micros", c_uint64),
    ]


class acs_video_send_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("frames_encoded", c_uint64),
        ("frames_dropped", c_uint64),
        ("frames_skipped", c_uint64),
        ("keyframes", c_uint64),
        ("keyframe_requests", c_uint64),
        ("bytes", c_uint64),
        ("bitrate_bps", c_uint32),
        ("loss_reports", c_uint64),
        ("last_fraction_lost", c_uint8),
        ("width", c_uint32),
        ("height", c_uint32),
        ("encode_micros", c_uint64),
        ("nacked_packets", c_uint64),
        ("last_loss_estimate", c_uint8),
    ]


class acs_video_frame(Structure):
    """Frozen first version (no struct_size); the bindings use acs_rendered_video_frame."""
    _fields_ = [
        ("width", c_uint32),
        ("height", c_uint32),
        ("format", c_int32),
        ("planes", POINTER(c_uint8) * 3),
        ("strides", c_uint32 * 3),
        ("plane_sizes", c_size_t * 3),
        ("sequence", c_uint64),
        ("timestamp_us", c_int64),
        ("internal", c_void_p),
    ]


class acs_video_frame_buffer(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("format", c_int32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("planes", POINTER(c_uint8) * 3),
        ("strides", c_uint32 * 3),
    ]


acs_video_frame_callback = CFUNCTYPE(None, c_void_p, POINTER(acs_video_frame))


class acs_rendered_video_frame(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("format", c_int32),
        ("planes", POINTER(c_uint8) * 3),
        ("strides", c_uint32 * 3),
        ("plane_sizes", c_size_t * 3),
        ("sequence", c_uint64),
        ("timestamp_us", c_int64),
        ("internal", c_void_p),
    ]


acs_rendered_video_frame_callback = CFUNCTYPE(None, c_void_p, POINTER(acs_rendered_video_frame))


class acs_camera_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("fps", c_uint32),
        ("format", c_int32),
    ]


class acs_screen_capture_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("fps", c_uint32),
        ("show_cursor", c_bool),
    ]


class acs_camera_capture_format(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("format", c_int32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("fps", c_double),
    ]


class acs_video_view_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("width", c_uint32),
        ("height", c_uint32),
        ("format", c_int32),
        ("scaling_mode", c_int32),
        ("mirrored", c_bool),
        ("frame_callback", acs_video_frame_callback),
        ("frame_callback_user_data", c_void_p),
        ("rendered_frame_callback", acs_rendered_video_frame_callback),
    ]


class acs_video_view_stats(Structure):
    """Frozen first version (no struct_size); the bindings use acs_video_view_statistics."""
    _fields_ = [
        ("frames_rendered", c_uint64),
        ("frames_dropped", c_uint64),
    ]


class acs_video_view_statistics(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("frames_rendered", c_uint64),
        ("frames_dropped", c_uint64),
    ]


STRUCTS = {
    "acs_event": acs_event,
    "acs_call_agent_options": acs_call_agent_options,
    "acs_call_options": acs_call_options,
    "acs_add_participant_options": acs_add_participant_options,
    "acs_call_audio_stats": acs_call_audio_stats,
    "acs_call_audio_statistics": acs_call_audio_statistics,
    "acs_call_media_statistics": acs_call_media_statistics,
    "acs_call_client_options": acs_call_client_options,
    "acs_audio_processing_options": acs_audio_processing_options,
    "acs_video_frame": acs_video_frame,
    "acs_rendered_video_frame": acs_rendered_video_frame,
    "acs_video_frame_buffer": acs_video_frame_buffer,
    "acs_camera_options": acs_camera_options,
    "acs_camera_capture_format": acs_camera_capture_format,
    "acs_screen_capture_options": acs_screen_capture_options,
    "acs_video_view_options": acs_video_view_options,
    "acs_video_view_stats": acs_video_view_stats,
    "acs_video_view_statistics": acs_video_view_statistics,
    "acs_video_receive_stats": acs_video_receive_stats,
    "acs_video_send_stats": acs_video_send_stats,
}

CALLBACKS = {
    "acs_event_callback": acs_event_callback,
    "acs_token_refresher": acs_token_refresher,
    "acs_log_callback": acs_log_callback,
    "acs_audio_frame_callback": acs_audio_frame_callback,
    "acs_video_frame_callback": acs_video_frame_callback,
    "acs_rendered_video_frame_callback": acs_rendered_video_frame_callback,
}

# Short names for the table below.
_P = POINTER
_dev = _P(acs_audio_device)
_call = _P(acs_call)
_agent = _P(acs_call_agent)
_client = _P(acs_call_client)
_dm = _P(acs_device_manager)
_rp = _P(acs_remote_participant)
_cam = _P(acs_camera)
_scr = _P(acs_screen_source)
_apo = _P(acs_audio_processing_options)
_lvs = _P(acs_local_video_stream)
_rvs = _P(acs_remote_video_stream)
_vr = _P(acs_video_renderer)
_vv = _P(acs_video_view)
_vf = _P(acs_video_frame)
_rvf = _P(acs_rendered_video_frame)
_buf = _P(c_char)  # char * output buffer
_S = acs_status

# --------------------------------------------------------------------------------------------
# Functions: name -> (restype, [argtypes]), in header order.
# --------------------------------------------------------------------------------------------

FUNCTIONS: Dict[str, Tuple[object, List[object]]] = {
    "acs_calling_version": (c_char_p, []),
    "acs_call_agent_options_init": (_S, [_P(acs_call_agent_options)]),
    "acs_call_agent_options_init_sized": (_S, [_P(acs_call_agent_options), c_size_t]),
    "acs_call_client_create_call_agent": (_S, [_client, _P(acs_call_agent_options), _P(_agent)]),
    "acs_call_agent_retain": (_S, [_agent]),
    "acs_call_agent_release": (_S, [_agent]),
    "acs_call_agent_set_event_callback": (_S, [_agent, acs_event_callback, c_void_p]),
    "acs_call_agent_update_token": (_S, [_agent, c_char_p]),
    "acs_call_agent_get_connection_state": (_S, [_agent, _P(c_int32)]),
    "acs_call_agent_get_user_id": (_S, [_agent, _buf, c_size_t, _P(c_size_t)]),
    "acs_call_agent_get_call_count": (_S, [_agent, _P(c_size_t)]),
    "acs_call_agent_get_call": (_S, [_agent, c_size_t, _P(_call)]),
    "acs_call_options_init": (_S, [_P(acs_call_options)]),
    "acs_call_options_init_sized": (_S, [_P(acs_call_options), c_size_t]),
    "acs_call_agent_start_call": (_S, [_agent, _P(c_char_p), c_size_t, _P(acs_call_options), _P(_call)]),
    "acs_call_retain": (_S, [_call]),
    "acs_call_release": (_S, [_call]),
    "acs_call_accept": (_S, [_call, _P(acs_call_options)]),
    "acs_call_reject": (_S, [_call]),
    "acs_call_hang_up": (_S, [_call, c_bool]),
    "acs_call_mute": (_S, [_call]),
    "acs_call_unmute": (_S, [_call]),
    "acs_call_hold": (_S, [_call]),
    "acs_call_resume": (_S, [_call]),
    "acs_call_set_microphone": (_S, [_call, _dev]),
    "acs_call_set_speaker": (_S, [_call, _dev]),
    "acs_call_get_state": (_S, [_call, _P(c_int32)]),
    "acs_call_get_direction": (_S, [_call, _P(c_int32)]),
    "acs_call_is_muted": (_S, [_call, _P(c_bool)]),
    "acs_call_get_end_reason": (_S, [_call, _P(c_int32), _P(c_int32)]),
    "acs_call_get_id": (_S, [_call, _buf, c_size_t, _P(c_size_t)]),
    "acs_call_get_remote_participant_count": (_S, [_call, _P(c_size_t)]),
    "acs_call_get_remote_participant": (_S, [_call, c_size_t, _P(_rp)]),
    "acs_call_get_audio_stats": (_S, [_call, _P(acs_call_audio_stats)]),
    "acs_call_audio_statistics_init": (_S, [_P(acs_call_audio_statistics)]),
    "acs_call_audio_statistics_init_sized": (_S, [_P(acs_call_audio_statistics), c_size_t]),
    "acs_call_get_audio_statistics": (_S, [_call, _P(acs_call_audio_statistics)]),
    "acs_call_media_statistics_init_sized": (_S, [_P(acs_call_media_statistics), c_size_t]),
    "acs_call_get_media_statistics": (_S, [_call, _P(acs_call_media_statistics)]),
    "acs_call_set_media_statistics_interval": (_S, [_call, c_uint32]),
    "acs_remote_participant_retain": (_S, [_rp]),
    "acs_remote_participant_release": (_S, [_rp]),
    "acs_remote_participant_get_identifier": (_S, [_rp, _buf, c_size_t, _P(c_size_t)]),
    "acs_remote_participant_get_display_name": (_S, [_rp, _buf, c_size_t, _P(c_size_t)]),
    "acs_remote_participant_get_state": (_S, [_rp, _P(c_int32)]),
    "acs_remote_participant_is_muted": (_S, [_rp, _P(c_bool)]),
    "acs_remote_participant_get_end_reason": (_S, [_rp, _P(c_int32), _P(c_int32)]),
    "acs_call_agent_join": (_S, [_agent, c_char_p, _P(acs_call_options), _P(_call)]),
    "acs_call_add_participant": (_S, [_call, c_char_p, _P(_rp)]),
    "acs_call_remove_participant": (_S, [_call, _rp]),
    "acs_call_is_group_call": (_S, [_call, _P(c_bool)]),
    "acs_call_get_dominant_speaker_count": (_S, [_call, _P(c_size_t), _P(c_uint64)]),
    "acs_call_get_dominant_speaker": (_S, [_call, c_size_t, _buf, c_size_t, _P(c_size_t)]),
    "acs_remote_participant_is_speaking": (_S, [_rp, _P(c_bool)]),
    "acs_call_client_options_init": (_S, [_P(acs_call_client_options)]),
    "acs_call_client_options_init_sized": (_S, [_P(acs_call_client_options), c_size_t]),
    "acs_call_client_create": (_S, [_P(acs_call_client_options), _P(_client)]),
    "acs_call_client_retain": (_S, [_client]),
    "acs_call_client_release": (_S, [_client]),
    "acs_call_client_dispatch_events": (_S, [_client, c_uint32, _P(c_uint32)]),
    "acs_call_client_get_device_manager": (_S, [_client, _P(_dm)]),
    "acs_debug_live_handle_count": (c_size_t, []),
    "acs_device_manager_retain": (_S, [_dm]),
    "acs_device_manager_release": (_S, [_dm]),
    "acs_device_manager_get_microphones": (_S, [_dm, _P(_dev), c_size_t, _P(c_size_t)]),
    "acs_device_manager_get_speakers": (_S, [_dm, _P(_dev), c_size_t, _P(c_size_t)]),
    "acs_device_manager_set_microphone": (_S, [_dm, _dev]),
    "acs_device_manager_set_speaker": (_S, [_dm, _dev]),
    "acs_device_manager_get_selected_microphone": (_S, [_dm, _P(_dev)]),
    "acs_device_manager_get_selected_speaker": (_S, [_dm, _P(_dev)]),
    "acs_device_manager_create_tone_microphone": (_S, [_dm, c_char_p, c_float, c_float, _P(_dev)]),
    "acs_device_manager_create_wav_microphone": (_S, [_dm, c_char_p, c_char_p, c_bool, _P(_dev)]),
    "acs_device_manager_create_push_microphone": (_S, [_dm, c_char_p, _P(_dev)]),
    "acs_device_manager_remove_device": (_S, [_dm, _dev]),
    "acs_device_manager_create_wav_speaker": (_S, [_dm, c_char_p, c_char_p, _P(_dev)]),
    "acs_device_manager_create_pull_speaker": (_S, [_dm, c_char_p, c_uint32, _P(_dev)]),
    "acs_device_manager_create_callback_speaker": (_S, [_dm, c_char_p, acs_audio_frame_callback, c_void_p, _P(_dev)]),
    "acs_audio_device_retain": (_S, [_dev]),
    "acs_audio_device_release": (_S, [_dev]),
    "acs_audio_device_get_id": (_S, [_dev, _buf, c_size_t, _P(c_size_t)]),
    "acs_audio_device_get_name": (_S, [_dev, _buf, c_size_t, _P(c_size_t)]),
    "acs_audio_device_get_kind": (_S, [_dev, _P(c_int32)]),
    "acs_audio_device_is_default": (_S, [_dev, _P(c_bool)]),
    "acs_audio_device_is_virtual": (_S, [_dev, _P(c_bool)]),
    "acs_audio_device_push_pcm": (_S, [_dev, _P(c_int16), c_size_t, c_uint32, _P(c_size_t)]),
    "acs_audio_device_pull_pcm": (_S, [_dev, _P(c_int16), c_size_t, _P(c_size_t)]),
    "acs_audio_tone_power": (_S, [_P(c_int16), c_size_t, c_float, _P(c_float)]),
    "acs_audio_processing_options_init": (_S, [_apo]),
    "acs_audio_processing_options_init_sized": (_S, [_apo, c_size_t]),
    "acs_device_manager_set_audio_processing": (_S, [_dm, _apo]),
    "acs_device_manager_get_audio_processing": (_S, [_dm, _apo]),
    "acs_call_set_audio_processing": (_S, [_call, _apo]),
    "acs_call_get_audio_processing": (_S, [_call, _apo, _P(c_bool)]),
    "acs_device_manager_get_cameras": (_S, [_dm, _P(_cam), c_size_t, _P(c_size_t)]),
    "acs_device_manager_set_camera": (_S, [_dm, _cam]),
    "acs_device_manager_get_selected_camera": (_S, [_dm, _P(_cam)]),
    "acs_device_manager_ask_device_permission": (_S, [_dm, c_int32, _P(c_int32), _buf, c_size_t, _P(c_size_t)]),
    "acs_screen_capture_options_init": (_S, [_P(acs_screen_capture_options)]),
    "acs_screen_capture_options_init_sized": (_S, [_P(acs_screen_capture_options), c_size_t]),
    "acs_screen_sources_get": (_S, [c_uint32, c_uint32, _P(_scr), c_size_t, _P(c_size_t)]),
    "acs_screen_source_retain": (_S, [_scr]),
    "acs_screen_source_release": (_S, [_scr]),
    "acs_screen_source_get_id": (_S, [_scr, _buf, c_size_t, _P(c_size_t)]),
    "acs_screen_source_get_title": (_S, [_scr, _buf, c_size_t, _P(c_size_t)]),
    "acs_screen_source_get_application": (_S, [_scr, _buf, c_size_t, _P(c_size_t)]),
    "acs_screen_source_get_kind": (_S, [_scr, _P(c_int32)]),
    "acs_screen_source_get_geometry": (_S, [_scr, _P(c_int32), _P(c_int32), _P(c_uint32), _P(c_uint32), _P(c_bool)]),
    "acs_screen_source_get_thumbnail": (_S, [_scr, c_int32, _P(c_uint8), c_size_t, c_size_t, _P(c_uint32), _P(c_uint32)]),
    "acs_local_video_stream_create_from_screen": (_S, [c_char_p, c_uint32, _P(_lvs)]),
    "acs_local_video_stream_create_from_screen_with_options": (_S, [c_char_p, _P(acs_screen_capture_options), _P(_lvs)]),
    "acs_local_video_stream_switch_source_screen": (_S, [_lvs, c_char_p, c_uint32]),
    "acs_local_video_stream_switch_source_screen_with_options": (_S, [_lvs, c_char_p, _P(acs_screen_capture_options)]),
    "acs_local_video_stream_get_share_state": (_S, [_lvs, _P(c_int32), _buf, c_size_t, _P(c_size_t)]),
    "acs_camera_retain": (_S, [_cam]),
    "acs_camera_release": (_S, [_cam]),
    "acs_camera_get_id": (_S, [_cam, _buf, c_size_t, _P(c_size_t)]),
    "acs_camera_get_name": (_S, [_cam, _buf, c_size_t, _P(c_size_t)]),
    "acs_camera_is_default": (_S, [_cam, _P(c_bool)]),
    "acs_device_manager_set_event_callback": (_S, [_dm, acs_event_callback, c_void_p]),
    "acs_device_manager_refresh_devices": (_S, [_dm, _P(c_size_t)]),
    "acs_video_frame_buffer_init": (_S, [_P(acs_video_frame_buffer)]),
    "acs_video_frame_buffer_init_sized": (_S, [_P(acs_video_frame_buffer), c_size_t]),
    "acs_video_frame_release": (_S, [_vf]),
    "acs_video_frame_read_test_pattern_counter": (_S, [_vf, _P(c_uint32)]),
    "acs_rendered_video_frame_init": (_S, [_rvf]),
    "acs_rendered_video_frame_init_sized": (_S, [_rvf, c_size_t]),
    "acs_video_view_take_latest_rendered_frame": (_S, [_vv, _rvf]),
    "acs_rendered_video_frame_release": (_S, [_rvf]),
    "acs_rendered_video_frame_read_test_pattern_counter": (_S, [_rvf, _P(c_uint32)]),
    "acs_remote_participant_get_video_stream": (_S, [_rp, c_int32, _P(_rvs)]),
    "acs_remote_video_stream_retain": (_S, [_rvs]),
    "acs_remote_video_stream_release": (_S, [_rvs]),
    "acs_remote_video_stream_get_kind": (_S, [_rvs, _P(c_int32)]),
    "acs_remote_video_stream_get_id": (_S, [_rvs, _P(c_uint32)]),
    "acs_remote_video_stream_is_available": (_S, [_rvs, _P(c_bool)]),
    "acs_remote_video_stream_is_subscribed": (_S, [_rvs, _P(c_bool)]),
    "acs_remote_video_stream_get_participant_id": (_S, [_rvs, _buf, c_size_t, _P(c_size_t)]),
    "acs_remote_video_stream_subscribe": (_S, [_rvs]),
    "acs_remote_video_stream_unsubscribe": (_S, [_rvs]),
    "acs_video_receive_stats_init": (_S, [_P(acs_video_receive_stats)]),
    "acs_video_receive_stats_init_sized": (_S, [_P(acs_video_receive_stats), c_size_t]),
    "acs_video_send_stats_init": (_S, [_P(acs_video_send_stats)]),
    "acs_video_send_stats_init_sized": (_S, [_P(acs_video_send_stats), c_size_t]),
    "acs_remote_video_stream_get_stats": (_S, [_rvs, _P(acs_video_receive_stats)]),
    "acs_call_start_video": (_S, [_call, _lvs]),
    "acs_call_start_screen_sharing": (_S, [_call, _lvs]),
    "acs_video_renderer_create_for_remote_stream": (_S, [_rvs, _P(_vr)]),
    "acs_call_stop_video": (_S, [_call, c_int32]),
    "acs_call_is_sending_video": (_S, [_call, c_int32, _P(c_bool)]),
    "acs_call_get_video_send_stats": (_S, [_call, c_int32, _P(acs_video_send_stats)]),
    "acs_local_video_stream_create_virtual": (_S, [c_uint32, c_uint32, c_uint32, _P(_lvs)]),
    "acs_local_video_stream_create_pushed": (_S, [_P(_lvs)]),
    "acs_local_video_stream_create_from_camera": (_S, [_cam, _P(_lvs)]),
    "acs_local_video_stream_retain": (_S, [_lvs]),
    "acs_local_video_stream_release": (_S, [_lvs]),
    "acs_local_video_stream_push_frame": (_S, [_lvs, _P(acs_video_frame_buffer)]),
    "acs_local_video_stream_switch_source_virtual": (_S, [_lvs, c_uint32, c_uint32, c_uint32]),
    "acs_local_video_stream_switch_source_pushed": (_S, [_lvs]),
    "acs_local_video_stream_switch_source_camera": (_S, [_lvs, _cam]),
    "acs_local_video_stream_get_source_kind": (_S, [_lvs, _P(c_int32)]),
    "acs_camera_options_init": (_S, [_P(acs_camera_options)]),
    "acs_camera_options_init_sized": (_S, [_P(acs_camera_options), c_size_t]),
    "acs_local_video_stream_create_from_camera_with_options": (_S, [_cam, _P(acs_camera_options), _P(_lvs)]),
    "acs_local_video_stream_switch_source_camera_with_options": (_S, [_lvs, _cam, _P(acs_camera_options)]),
    "acs_local_video_stream_get_camera_format": (_S, [_lvs, _P(acs_camera_capture_format)]),
    "acs_camera_capture_format_init": (_S, [_P(acs_camera_capture_format)]),
    "acs_camera_capture_format_init_sized": (_S, [_P(acs_camera_capture_format), c_size_t]),
    "acs_local_video_stream_get_source_error": (_S, [_lvs, _buf, c_size_t, _P(c_size_t)]),
    "acs_local_video_stream_get_frame_count": (_S, [_lvs, _P(c_uint64)]),
    "acs_video_renderer_create_for_local_stream": (_S, [_lvs, _P(_vr)]),
    "acs_video_renderer_retain": (_S, [_vr]),
    "acs_video_renderer_release": (_S, [_vr]),
    "acs_video_view_options_init": (_S, [_P(acs_video_view_options)]),
    "acs_video_view_options_init_sized": (_S, [_P(acs_video_view_options), c_size_t]),
    "acs_video_renderer_create_view": (_S, [_vr, _P(acs_video_view_options), _P(_vv)]),
    "acs_video_view_retain": (_S, [_vv]),
    "acs_video_view_release": (_S, [_vv]),
    "acs_video_view_set_scaling_mode": (_S, [_vv, c_int32]),
    "acs_video_view_set_mirrored": (_S, [_vv, c_bool]),
    "acs_video_view_set_size": (_S, [_vv, c_uint32, c_uint32]),
    "acs_video_view_set_format": (_S, [_vv, c_int32]),
    "acs_video_view_take_latest_frame": (_S, [_vv, _vf]),
    "acs_video_view_get_stats": (_S, [_vv, _P(acs_video_view_stats)]),
    "acs_video_view_statistics_init": (_S, [_P(acs_video_view_statistics)]),
    "acs_video_view_statistics_init_sized": (_S, [_P(acs_video_view_statistics), c_size_t]),
    "acs_video_view_get_statistics": (_S, [_vv, _P(acs_video_view_statistics)]),
    "acs_call_send_dtmf": (_S, [_call, c_int32, _P(c_uint64)]),
    "acs_add_participant_options_init": (_S, [_P(acs_add_participant_options)]),
    "acs_add_participant_options_init_sized": (_S, [_P(acs_add_participant_options), c_size_t]),
    "acs_call_add_participant_with_options": (_S, [_call, c_char_p, _P(acs_add_participant_options), _P(_rp)]),
    "acs_remote_participant_get_identifier_kind": (_S, [_rp, _P(c_int32)]),
    "acs_identifier_get_kind": (_S, [c_char_p, _P(c_int32)]),
    "acs_call_agent_register_push_notification": (_S, [_agent, c_char_p, c_char_p]),
    "acs_call_agent_unregister_push_notification": (_S, [_agent, c_char_p]),
    "acs_call_agent_handle_push_notification": (_S, [_agent, c_char_p, c_char_p]),
    "acs_status_to_string": (c_char_p, [acs_status]),
    "acs_last_error_message": (c_size_t, [_P(c_char), c_size_t]),
    "acs_call_transfer": (_S, [_call, c_char_p]),
    "acs_call_answer_transfer": (_S, [_call, c_bool]),
    "acs_call_agent_join_room": (_S, [_agent, c_char_p, _P(acs_call_options), _P(_call)]),
    "acs_call_admit": (_S, [_call, _rp]),
    "acs_call_admit_all": (_S, [_call]),
    "acs_call_reject_participant": (_S, [_call, _rp]),
    "acs_call_mute_participant": (_S, [_call, _rp]),
    "acs_call_mute_all_remote_participants": (_S, [_call]),
    "acs_remote_participant_get_role": (_S, [_rp, _P(c_int32)]),
}

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

if sys.platform == "darwin":
    LIBRARY_NAMES = ["libacscalling.dylib"]
elif sys.platform == "win32":
    LIBRARY_NAMES = ["acscalling.dll"]
else:
    LIBRARY_NAMES = ["libacscalling.so"]


class LibraryNotFoundError(OSError):
    """libacscalling could not be found or loaded; `tried` lists the paths looked at."""

    def __init__(self, message: str, tried: List[str]):
        super().__init__(message)
        self.tried = tried


_PACKAGE_DIR = Path(__file__).resolve().parent


def _cargo_config_target_dir(root: Path) -> Optional[Path]:
    """`build.target-dir` of `root/.cargo/config.toml` (or `config`), if set."""
    for name in ("config.toml", "config"):
        cfg = root / ".cargo" / name
        try:
            text = cfg.read_text(encoding="utf-8")
        except OSError:
            continue
        m = re.search(r'^\s*target-dir\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if m:
            p = Path(m.group(1))
            return p if p.is_absolute() else (root / p)
    return None


def target_dirs(start: Optional[Path] = None) -> List[Path]:
    """Cargo target directories to look in, most specific first.

    ``$CARGO_TARGET_DIR``; then, walking up from `start` (default: this package), every
    ancestor's ``target/`` and any ``target-dir`` set by an ancestor's ``.cargo/config.toml``.
    """
    dirs: List[Path] = []
    env = os.environ.get("CARGO_TARGET_DIR")
    if env:
        dirs.append(Path(env))
    here = (start or _PACKAGE_DIR).resolve()
    for anc in [here, *here.parents]:
        cfg = _cargo_config_target_dir(anc)
        if cfg is not None:
            dirs.append(cfg)
        dirs.append(anc / "target")
    seen = set()
    out = []
    for d in dirs:
        key = str(d)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _profile_candidates(filename: str) -> List[Path]:
    """`filename` in target/{release,debug} of every target dir, in search order."""
    return [d / profile / filename for d in target_dirs() for profile in ("release", "debug")]


def find_library() -> Tuple[Optional[Path], List[str]]:
    """Returns (path or None, every path tried)."""
    tried: List[str] = []
    env = os.environ.get("ACSCALLING_LIB")
    if env:
        tried.append(f"$ACSCALLING_LIB={env}")
        if Path(env).is_file():
            return Path(env), tried
        # An explicit path that does not exist is an error, not a hint.
        return None, tried
    for name in LIBRARY_NAMES:
        p = _PACKAGE_DIR / name
        tried.append(str(p))
        if p.is_file():
            return p, tried
    # Build outputs: take the first target dir that has one; within it, the newest profile
    # (a stale release build must not shadow the debug build you just made, or vice versa).
    for d in target_dirs():
        found = []
        for profile in ("release", "debug"):
            for name in LIBRARY_NAMES:
                p = d / profile / name
                tried.append(str(p))
                if p.is_file():
                    found.append(p)
        if found:
            return max(found, key=lambda p: p.stat().st_mtime), tried
    sys_lib = ctypes.util.find_library("acscalling")
    tried.append("system library search for 'acscalling'")
    if sys_lib:
        return Path(sys_lib), tried
    return None, tried


_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[Path] = None
_lock = threading.Lock()


def declare(cdll: ctypes.CDLL) -> ctypes.CDLL:
    """Applies the FUNCTIONS table to a loaded library (raises if a symbol is missing)."""
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(cdll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = list(argtypes)
    if missing:
        raise LibraryNotFoundError(
            f"{cdll._name} does not export {', '.join(missing)} (an older library?)", [cdll._name]
        )
    return cdll


def lib() -> ctypes.CDLL:
    """The loaded, declared library (loaded on first use)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        path, tried = find_library()
        if path is None:
            raise LibraryNotFoundError(
                "libacscalling was not found. Build it with `cargo build` in the repository, "
                "or set ACSCALLING_LIB to the path of the shared library. Tried:\n  "
                + "\n  ".join(tried),
                tried,
            )
        try:
            cdll = ctypes.CDLL(str(path))
        except OSError as e:
            raise LibraryNotFoundError(f"cannot load {path}: {e}", tried) from e
        _lib = declare(cdll)
        _lib_path = path
        return _lib


def library_path() -> Path:
    """Path of the loaded library (loads it)."""
    lib()
    assert _lib_path is not None
    return _lib_path


def is_available() -> bool:
    """Whether the library can be loaded."""
    try:
        lib()
        return True
    except LibraryNotFoundError:
        return False
