"""Exceptions: every non-OK acs_status becomes an AcsError subclass."""

from __future__ import annotations

import ctypes
from typing import Dict, Optional, Type

from . import _ffi


class AcsError(Exception):
    """A libacscalling call failed.

    `status` is the acs_status number, `name` its acs_status_to_string() text and `message`
    the library's acs_last_error_message() for this failure.
    """

    status: int = 0

    def __init__(self, status: int, name: str, message: str):
        super().__init__(status, name, message)
        self.status = status
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name} ({self.status}): {self.message}" if self.message else f"{self.name} ({self.status})"


class InvalidArgumentError(AcsError, ValueError):
    status = _ffi.ACS_ERR_INVALID_ARGUMENT


class NullPointerError(AcsError, ValueError):
    status = _ffi.ACS_ERR_NULL_POINTER


class InvalidHandleError(AcsError):
    status = _ffi.ACS_ERR_INVALID_HANDLE


class InvalidUtf8Error(AcsError, ValueError):
    status = _ffi.ACS_ERR_INVALID_UTF8


class BufferTooSmallError(AcsError):
    status = _ffi.ACS_ERR_BUFFER_TOO_SMALL


class InvalidStateError(AcsError):
    status = _ffi.ACS_ERR_INVALID_STATE


class NotFoundError(AcsError, LookupError):
    status = _ffi.ACS_ERR_NOT_FOUND


class UnauthorizedError(AcsError):
    status = _ffi.ACS_ERR_UNAUTHORIZED


class NetworkError(AcsError, ConnectionError):
    status = _ffi.ACS_ERR_NETWORK


class DeviceError(AcsError):
    status = _ffi.ACS_ERR_DEVICE


class OperationTimeoutError(AcsError, TimeoutError):
    status = _ffi.ACS_ERR_TIMEOUT


class UnsupportedError(AcsError):
    status = _ffi.ACS_ERR_UNSUPPORTED


class AcsIOError(AcsError):
    status = _ffi.ACS_ERR_IO


class LimitReachedError(AcsError):
    status = _ffi.ACS_ERR_LIMIT_REACHED


class ServiceError(AcsError):
    status = _ffi.ACS_ERR_SERVICE


class InternalError(AcsError):
    status = _ffi.ACS_ERR_INTERNAL


class PanicError(InternalError):
    """The library caught a panic at its boundary (a library bug; the process is fine)."""

    status = _ffi.ACS_ERR_PANIC


ERROR_CLASSES: Dict[int, Type[AcsError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        NullPointerError,
        InvalidHandleError,
        InvalidUtf8Error,
        BufferTooSmallError,
        InvalidStateError,
        NotFoundError,
        UnauthorizedError,
        NetworkError,
        DeviceError,
        OperationTimeoutError,
        UnsupportedError,
        AcsIOError,
        LimitReachedError,
        ServiceError,
        InternalError,
        PanicError,
    )
}


def status_to_string(status: int) -> str:
    """acs_status_to_string()."""
    s = _ffi.lib().acs_status_to_string(status)
    return s.decode("utf-8", "replace") if s else ""


def last_error_message() -> str:
    """acs_last_error_message() of the calling thread (asks for the size, then copies)."""
    L = _ffi.lib()
    need = L.acs_last_error_message(None, 0)
    if need <= 1:
        return ""
    buf = ctypes.create_string_buffer(need)
    L.acs_last_error_message(buf, need)
    return buf.value.decode("utf-8", "replace")


def error_for(status: int, message: Optional[str] = None) -> AcsError:
    """The exception for `status` (reads the thread's last error message unless given)."""
    if message is None:
        message = last_error_message()
    cls = ERROR_CLASSES.get(status, AcsError)
    return cls(status, status_to_string(status), message)


def check(status: int) -> None:
    """Raises the matching AcsError unless `status` is ACS_OK."""
    if status != _ffi.ACS_OK:
        raise error_for(status)
