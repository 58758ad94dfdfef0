"""CallClient: the entry point (library runtime, event dispatch, logging, devices)."""

from __future__ import annotations

import atexit
import ctypes
import enum
import logging
import re
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


#: Python logging level of each library level (TRACE is 5, below DEBUG, named "TRACE").
TRACE = 5
if logging.getLevelName(TRACE) == f"Level {TRACE}":  # unless the application named it already
    logging.addLevelName(TRACE, "TRACE")
_PY_LEVELS: Dict[int, int] = {
    _ffi.ACS_LOG_ERROR: logging.ERROR,
    _ffi.ACS_LOG_WARN: logging.WARNING,
    _ffi.ACS_LOG_INFO: logging.INFO,
    _ffi.ACS_LOG_DEBUG: logging.DEBUG,
    _ffi.ACS_LOG_TRACE: TRACE,
}

#: The logger library lines go to (a child of the package's ``acscalling`` logger).
LIB_LOGGER = "acscalling.lib"

LogSink = Callable[[int, str], Any]

_log_targets = Registry()

# The library hands every line to every client's sink. Clients that log to Python's logging
# would each log the same line, so only one of them does: the oldest live one whose level lets
# the line through. Maps the sink key -> its library log level.
_logging_sinks: Dict[int, int] = {}
_logging_lock = threading.Lock()

_RUST_TARGET = re.compile(r"^\[([^\]]*)\] ")


def level_for_logger(logger: Optional[logging.Logger] = None) -> LogLevel:
    """The most verbose library level the logger (default ``acscalling.lib``) lets through now."""
    eff = (logger or logging.getLogger(LIB_LOGGER)).getEffectiveLevel()
    if eff <= TRACE:
        return LogLevel.TRACE
    if eff <= logging.DEBUG:
        return LogLevel.DEBUG
    if eff <= logging.INFO:
        return LogLevel.INFO
    if eff <= logging.WARNING:
        return LogLevel.WARN
    return LogLevel.ERROR


def python_logging(level: int, message: str) -> None:
    """A `log=` sink forwarding library lines to the ``acscalling.lib`` Python logger.

    Lines look like ``[rust::target] text``: the text is logged with the target in the record's
    ``rust_target`` attribute. Levels: ERROR, WARNING, INFO, DEBUG and TRACE (5)."""
    target = ""
    m = _RUST_TARGET.match(message)
    if m:
        target, message = m.group(1), message[m.end():]
    logging.getLogger(LIB_LOGGER).log(
        _PY_LEVELS.get(level, logging.DEBUG), "%s", message, extra={"rust_target": target}
    )


def _on_log(user_data: Optional[int], level: int, message: Optional[bytes]) -> None:
    # Runs on any library thread: nothing may propagate back into C (ctypes would only print
    # it, but a sink that raises must not even do that for every line).
    try:
        fn = _log_targets.get(user_data)
        if fn is None:
            return
        if fn is python_logging:
            with _logging_lock:
                chosen = min((k for k, lv in _logging_sinks.items() if lv >= level), default=None)
            if chosen != user_data:
                return
        fn(int(level), message.decode("utf-8", "replace") if message else "")
    except BaseException:
        pass  # a log sink must never break the library thread that logged


# Kept alive for the life of the process: the library may call it from any thread until every
# client is gone, and a collected ctypes callback would be a jump into freed memory.
_LOG_CALLBACK = _ffi.acs_log_callback(_on_log)


def _forget_log_sink(key: int) -> None:
    with _logging_lock:
        _logging_sinks.pop(key, None)
    _log_targets.remove(key)


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
    log: "logging" (default): library lines go to the ``acscalling.lib`` Python logger, at
    most as verbose as that logger's effective level when the client is created (set
    ``logging.getLogger("acscalling").setLevel(logging.DEBUG)`` first to see DEBUG lines);
    or a callable ``log(level: int, message: str)`` (see LogLevel); or None: no lines.
    log_level: the most verbose LogLevel passed on (default: from the logger for "logging",
    INFO for a callable).
    Closing the client closes every wrapper made from it (agents, calls, devices).
    """

    _ctype = _ffi.acs_call_client
    _retain_name = "acs_call_client_retain"
    _release_name = "acs_call_client_release"

    def __init__(
        self,
        dispatch: str = "thread",
        log: Union[LogSink, str, None] = "logging",
        log_level: Union[int, LogLevel, None] = None,
    ) -> None:
        self._children: "Dict[int, weakref.ref[Handle]]" = {}
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
        sink: Optional[LogSink]
        if isinstance(log, str):
            if log != "logging":
                raise ValueError(f"log must be 'logging', a callable or None, not {log!r}")
            sink = python_logging
            if log_level is None:
                log_level = level_for_logger()
        else:
            sink = log
        if sink is not None:
            level = int(LogLevel.INFO if log_level is None else log_level)
            log_key = _log_targets.add(sink)
            if sink is python_logging:
                with _logging_lock:
                    _logging_sinks[log_key] = level
            opts.log_callback = _LOG_CALLBACK
            opts.log_user_data = log_key
            opts.log_level = level
        out = ctypes.POINTER(_ffi.acs_call_client)()
        try:
            check(L.acs_call_client_create(ctypes.byref(opts), ctypes.byref(out)))
        except Exception:
            if log_key:
                _forget_log_sink(log_key)
            raise
        if log_key:
            self._close_hooks.append(lambda: _forget_log_sink(log_key))
        super().__init__(out, None)
        _live_clients[id(self)] = self

    # -- children ------------------------------------------------------------------------
    def _track(self, child: Handle) -> None:
        key = id(child)

        def gone(_ref: "weakref.ref[Handle]", key: int = key, children: "Dict[int, weakref.ref[Handle]]" = self._children,
                 lock: threading.Lock = self._clock) -> None:
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
        answer_transfers: bool = False,
    ) -> CallAgent:
        """Creates an agent that connects to the service in the background.

        Raises UnauthorizedError for a malformed or expired token and InvalidArgumentError for
        a bad URL. `token_refresher()` is asked for a new token before this one expires.
        `on_event` receives every event, including the first ones (Connecting/Connected)
        which may arrive before this method returns. `ca_certificate` is a PEM file to trust
        for a wss:// service with a private or self-signed certificate.

        `answer_transfers`: False (the default), the library accepts a transfer request of
        the other side of a 1:1 call at once (CALL_TRANSFER_REQUESTED is only news); True,
        the host answers each with Call.answer_transfer.
        """
        return CallAgent._create(
            self, service_url, token, display_name, token_refresher, on_event, ca_certificate,
            answer_transfers,
        )

    async def create_call_agent_async(
        self,
        service_url: str,
        token: Union[str, bytes],
        display_name: Optional[Union[str, bytes]] = None,
        token_refresher: Optional[Callable[[], Optional[str]]] = None,
        on_event: Optional[Handler] = None,
        ca_certificate: Optional[str] = None,
        timeout: Optional[float] = None,
        answer_transfers: bool = False,
    ) -> CallAgent:
        """create_call_agent(), then waits until the agent is connected. Raises
        aio.ConnectionFailedError (and closes the agent) when it cannot connect."""
        agent = self.create_call_agent(service_url, token, display_name, token_refresher, on_event, ca_certificate,
                                       answer_transfers)
        try:
            await agent.wait_connected_async(timeout)
        except BaseException:
            agent.close()
            raise
        return agent

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
