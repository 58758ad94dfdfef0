"""CallClient: the entry point (library runtime, event dispatch, logging, devices)."""

from __future__ import annotations

import atexit
import ctypes
import enum
import logging
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union

from . import _ffi
from ._handles import Handle, Registry
from .agent import CallAgent, Handler
from .devices import DeviceManager
from .errors import check

log = logging.getLogger("acscalling")

T = TypeVar("T")


class LogLevel(enum.IntEnum):
    ERROR = _ffi.ACS_LOG_ERROR
    WARN = _ffi.ACS_LOG_WARN
    INFO = _ffi.ACS_LOG_INFO
    DEBUG = _ffi.ACS_LOG_DEBUG
    TRACE = _ffi.ACS_LOG_TRACE


_PY_LEVELS = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG, 5: logging.DEBUG}

_log_targets = Registry()


def _on_log(user_data, level, message):
    fn = _log_targets.get(user_data)
    if fn is None:
        return
    try:
        fn(int(level), message.decode("utf-8", "replace") if message else "")
    except Exception:
        pass  # a log sink must never break the library thread that logged


_LOG_CALLBACK = _ffi.acs_log_callback(_on_log)


def python_logging(level: int, message: str) -> None:
    """A `log=` sink forwarding library lines to the `acscalling.lib` Python logger."""
    logging.getLogger("acscalling.lib").log(_PY_LEVELS.get(level, logging.DEBUG), "%s", message)


# Clients still open at interpreter exit are closed first, so that no library thread calls
# into a finalising interpreter.
_live_clients: "weakref.WeakValueDictionary[int, CallClient]" = weakref.WeakValueDictionary()


@atexit.register
def _close_all_clients() -> None:
    for c in list(_live_clients.values()):
        try:
            c.close()
        except Exception:
            pass


class CallClient(Handle):
    """Entry point of the SDK. Use as a context manager, or call close().

    dispatch="thread" (default): events are delivered on a library thread.
    dispatch="manual": events queue until you call dispatch_events() (or wait_for()).
    log: a callable `log(level: int, message: str)` (see LogLevel), or `python_logging`.
    Closing the client closes every wrapper made from it (agents, calls, devices).
    """

    _ctype = _ffi.acs_call_client
    _retain_name = "acs_call_client_retain"
    _release_name = "acs_call_client_release"

    def __init__(
        self,
        dispatch: str = "thread",
        log: Optional[Callable[[int, str], Any]] = None,
        log_level: Union[int, LogLevel] = LogLevel.INFO,
    ):
        self._children: Dict[int, weakref.ref] = {}
        self._clock = threading.Lock()
        self._close_hooks: List[Callable[[], None]] = []
        self._device_manager: Optional[DeviceManager] = None
        self.callback_errors: List[BaseException] = []
        modes = {"thread": _ffi.ACS_DISPATCH_THREAD, "manual": _ffi.ACS_DISPATCH_MANUAL}
        if dispatch not in modes:
            raise ValueError(f"dispatch must be 'thread' or 'manual', not {dispatch!r}")
        self.dispatch = dispatch
        L = _ffi.lib()
        opts = _ffi.acs_call_client_options()
        check(L.acs_call_client_options_init_sized(ctypes.byref(opts), ctypes.sizeof(opts)))
        opts.dispatch_mode = modes[dispatch]
        log_key = 0
        if log is not None:
            log_key = _log_targets.add(log)
            opts.log_callback = _LOG_CALLBACK
            opts.log_user_data = log_key
            opts.log_level = int(log_level)
        out = ctypes.POINTER(_ffi.acs_call_client)()
        try:
            check(L.acs_call_client_create(ctypes.byref(opts), ctypes.byref(out)))
        except Exception:
            if log_key:
                _log_targets.remove(log_key)
            raise
        if log_key:
            self._close_hooks.append(lambda: _log_targets.remove(log_key))
        super().__init__(out, None)
        _live_clients[id(self)] = self

    # -- children ------------------------------------------------------------------------
    def _track(self, child: Handle) -> None:
        key = id(child)

        def gone(_ref, key=key, children=self._children, lock=self._clock):
            with lock:
                if children.get(key) is _ref:
                    del children[key]

        with self._clock:
            self._children[key] = weakref.ref(child, gone)

    def _on_close(self, hook: Callable[[], None]) -> None:
        with self._clock:
            self._close_hooks.append(hook)

    def close(self) -> None:
        """Closes every wrapper made from this client, then shuts the client down (calls end,
        library threads stop). Idempotent."""
        if self.closed:
            return
        with self._clock:
            children = [r() for r in self._children.values()]
            self._children.clear()
        for c in sorted((c for c in children if c is not None), key=lambda c: c._close_order):
            try:
                c.close()
            except Exception:
                log.debug("closing %r failed", c, exc_info=True)
        try:
            super().close()
        finally:
            with self._clock:
                hooks, self._close_hooks = self._close_hooks, []
            for h in hooks:
                h()
            _live_clients.pop(id(self), None)

    # -- API -----------------------------------------------------------------------------
    @property
    def device_manager(self) -> DeviceManager:
        """The client's device manager (one wrapper, owned by the client)."""
        dm = self._device_manager
        if dm is None or dm.closed:
            out = ctypes.POINTER(_ffi.acs_device_manager)()
            check(_ffi.lib().acs_call_client_get_device_manager(self._p, ctypes.byref(out)))
            dm = self._device_manager = DeviceManager(out, self)
        return dm

    def create_call_agent(
        self,
        service_url: str,
        token: Union[str, bytes],
        display_name: Optional[Union[str, bytes]] = None,
        token_refresher: Optional[Callable[[], Optional[str]]] = None,
        on_event: Optional[Handler] = None,
        ca_certificate: Optional[str] = None,
    ) -> CallAgent:
        """Creates an agent that connects to the service in the background.

        Raises UnauthorizedError for a malformed or expired token and InvalidArgumentError for
        a bad URL. `token_refresher()` is asked for a new token before this one expires.
        `on_event` receives every event, including the first ones (Connecting/Connected)
        which may arrive before this method returns. `ca_certificate` is a PEM file to trust
        for a wss:// service with a private or self-signed certificate.
        """
        return CallAgent._create(
            self, service_url, token, display_name, token_refresher, on_event, ca_certificate
        )

    def dispatch_events(self, timeout: float = 0.0) -> int:
        """Manual dispatch: delivers queued events on this thread, waiting up to `timeout`
        seconds for the first one. Returns how many were delivered."""
        n = ctypes.c_uint32()
        ms = max(0, min(int(timeout * 1000), 0xFFFFFFFF))
        check(_ffi.lib().acs_call_client_dispatch_events(self._p, ms, ctypes.byref(n)))
        return int(n.value)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> T:
        """Polls `predicate()` until it returns something truthy (returned), dispatching events
        meanwhile in manual mode. Raises TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what or predicate}")
            if self.dispatch == "manual":
                self.dispatch_events(min(interval, left))
            else:
                time.sleep(min(interval, left))


def live_handle_count() -> int:
    """acs_debug_live_handle_count(): live library handles in the process (leak checks)."""
    return int(_ffi.lib().acs_debug_live_handle_count())
