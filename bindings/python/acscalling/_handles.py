"""Reference-owning handle wrappers and the small helpers every wrapper uses."""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar, Union

from . import _ffi
from .errors import InvalidArgumentError, check

StrIn = Union[str, bytes]

H = TypeVar("H", bound="Handle")


def c_str(value: Optional[StrIn], what: str = "string") -> Optional[bytes]:
    """A Python string for a `const char *` argument (bytes pass through unchanged, so a test
    can hand the library invalid UTF-8 on purpose)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    elif not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    if b"\0" in value:
        raise InvalidArgumentError(_ffi.ACS_ERR_INVALID_ARGUMENT, "invalid argument", f"{what} contains a NUL character")
    return bytes(value)


def get_string(fn: Callable[..., int], ptr: Any) -> str:
    """Calls a `(handle, char *buf, size_t capacity, size_t *needed)` getter: first as a size
    query (NULL buffer, capacity 0), then with a buffer of that size (retrying if it grew)."""
    needed = ctypes.c_size_t(0)
    check(fn(ptr, None, 0, ctypes.byref(needed)))
    status = _ffi.ACS_ERR_BUFFER_TOO_SMALL
    for _ in range(8):
        if status != _ffi.ACS_ERR_BUFFER_TOO_SMALL:
            check(status)
        size = max(needed.value, 1)
        buf = ctypes.create_string_buffer(size)
        status = fn(ptr, buf, size, ctypes.byref(needed))
        if status == _ffi.ACS_OK:
            return buf.value.decode("utf-8", "replace")
    check(status)
    return ""  # unreachable


def list_handles(fn: Callable[[Any, int, Any], int], ctype: Any, capacity: int = 0) -> List[Any]:
    """Calls a `(..., T **out, size_t capacity, size_t *out_count)` lister (`fn` takes the
    last three) and returns the handle pointers (each owns the +1 reference the lister gave).
    Starts with `capacity` (0: a size query with a NULL array first) and retries with a
    bigger array while the list grows between calls (ACS_ERR_BUFFER_TOO_SMALL)."""
    count = ctypes.c_size_t(0)
    status = _ffi.ACS_ERR_BUFFER_TOO_SMALL
    for _ in range(8):
        arr = (ctypes.POINTER(ctype) * capacity)() if capacity else None
        status = fn(arr, capacity, ctypes.byref(count))
        if status == _ffi.ACS_OK and (arr is not None or count.value == 0):
            return [arr[i] for i in range(count.value)] if arr is not None else []
        if status not in (_ffi.ACS_OK, _ffi.ACS_ERR_BUFFER_TOO_SMALL):
            check(status)
        capacity = max(count.value, capacity * 2, 1)
    check(status)
    return []  # unreachable: check raised


def ptr_value(ptr: Any) -> int:
    """The integer value of a ctypes pointer (0 for NULL)."""
    return ctypes.cast(ptr, ctypes.c_void_p).value or 0


class Handle:
    """Owns exactly one reference to a library object and releases it in close()/__del__.

    Wrappers of the same handle value compare equal and hash alike. After close() the
    wrapper passes NULL to the library, so every use raises InvalidHandleError.
    """

    _ctype: Any = None  # the opaque Structure type
    _release_name: str = ""
    _retain_name: str = ""
    _close_order = 5  # CallClient closes children in ascending order

    def __init__(self, ptr: Any, client: Optional["Any"] = None):
        value = ptr_value(ptr)
        self._hv = value
        self._p = ctypes.cast(value, ctypes.POINTER(self._ctype)) if value else ctypes.POINTER(self._ctype)()
        self._lock = threading.Lock()
        self._closed = value == 0
        # Children keep their client alive: its release would shut the library client down.
        self._client = client
        if client is not None:
            client._track(self)

    @classmethod
    def _borrowed(cls: Type[H], ptr: Any, client: Any = None) -> Optional[H]:
        """Wraps a handle borrowed from a callback: retains it first (None for NULL)."""
        if not ptr_value(ptr):
            return None
        check(getattr(_ffi.lib(), cls._retain_name)(ptr))
        return cls(ptr, client)

    @property
    def handle(self) -> int:
        """The raw handle value (for the _ffi functions and debugging)."""
        return self._hv

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Drops this wrapper's reference (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            p = self._p
            self._p = ctypes.POINTER(self._ctype)()
        check(getattr(_ffi.lib(), self._release_name)(p))

    def __del__(self) -> None:
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass  # interpreter shutdown or an already-gone library: nothing sensible to do

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and type(other) is type(self) and other._hv == self._hv

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._hv))

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<{type(self).__name__} 0x{self._hv:x}{state}>"


class Registry:
    """Maps integer user_data keys to Python objects for the library's C callbacks.

    One module-level ctypes callback per callback type is kept alive for the whole process;
    user_data selects the Python target, so no ctypes callback object can be collected while
    the library may still call it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 1
        self._items: Dict[int, Any] = {}

    def add(self, obj: Any) -> int:
        with self._lock:
            key = self._next
            self._next += 1
            self._items[key] = obj
            return key

    def get(self, key: Optional[int]) -> Any:
        if not key:
            return None
        with self._lock:
            return self._items.get(key)

    def remove(self, key: int) -> None:
        with self._lock:
            self._items.pop(key, None)


def weak_method(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A weak reference to a bound method, called like the method (no-op once it is gone)."""
    ref = weakref.WeakMethod(fn)

    def call(*args: Any, **kwargs: Any) -> Any:
        m = ref()
        return None if m is None else m(*args, **kwargs)

    return call
