"""Helpers for tests and samples: the local service, crafted tokens, polling, tone checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, TypeVar

from . import _ffi
from .devices import SAMPLE_RATE, AudioDevice, tone_power
from .service import (  # noqa: F401  (re-exported)
    IdentityClient,
    IdentityError,
    LocalService,
    ServiceNotFoundError,
    ServiceStartError,
    find_service_binary,
    service_binary,
)

T = TypeVar("T")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: Dict[str, Any], key: bytes = b"not-the-service-key") -> str:
    """An HS256 JWT with `claims`, signed with `key` (the library only reads the claims; the
    service checks the signature)."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    sig = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


def fake_token(user_id: Optional[str] = None, expires_in: int = 3600, scope: str = "voip") -> str:
    """A well-formed token the library accepts locally (the service would refuse it).
    A negative `expires_in` makes an expired token."""
    now = int(time.time())
    return make_jwt(
        {
            "sub": user_id or f"8:acs:{uuid.uuid4()}",
            "exp": now + expires_in,
            "iat": now - 10 if expires_in > 0 else now - 7200,
            "scope": scope,
            "jti": str(uuid.uuid4()),
        }
    )


def closed_port_url() -> str:
    """A ws:// URL on 127.0.0.1 where nothing listens (the port was just freed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"ws://127.0.0.1:{port}"


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, client: Any = None, what: str = "") -> T:
    """Polls `predicate` until truthy (and returns it); in manual dispatch mode pass `client`
    so that events are dispatched while waiting. Raises TimeoutError."""
    if client is not None:
        value: T = client.wait_for(predicate, timeout, interval, what)
        return value
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f} s waiting for {what or predicate}")
        time.sleep(interval)


def recent_power(speaker: AudioDevice, frequency_hz: float, window: float = 0.4) -> float:
    """Drains a pull speaker, lets it play for `window` seconds, and returns the power of
    `frequency_hz` in what it played meanwhile."""
    speaker.drain()
    time.sleep(window)
    pcm = speaker.pull_pcm(int(SAMPLE_RATE * (window + 1.0)))
    return tone_power(pcm, frequency_hz) if len(pcm) else 0.0


def wait_for_power(
    speaker: AudioDevice,
    frequency_hz: float,
    predicate: Callable[[float], bool],
    timeout: float = 10.0,
    window: float = 0.4,
    settle: int = 1,
) -> float:
    """Measures `recent_power` repeatedly until `predicate(power)` holds for `settle` windows in
    a row; returns the last power. Raises AssertionError with the powers seen on timeout."""
    deadline = time.monotonic() + timeout
    seen: List[float] = []
    ok = 0
    while time.monotonic() < deadline:
        p = recent_power(speaker, frequency_hz, window)
        seen.append(round(p, 5))
        ok = ok + 1 if predicate(p) else 0
        if ok >= settle:
            return p
    raise AssertionError(f"power of {frequency_hz} Hz never satisfied the condition within {timeout} s; seen {seen}")


class EventRecorder:
    """Records every event of an agent (use as its on_event) for assertions and waiting."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self.events: List[Any] = []

    def __call__(self, event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: Any) -> List[Any]:
        with self._lock:
            return [e for e in self.events if e.kind == kind]

    def find(self, kind: Any, pred: Callable[[Any], bool] = lambda e: True) -> Optional[Any]:
        for e in self.of(kind):
            if pred(e):
                return e
        return None

    def wait(self, kind: Any, pred: Callable[[Any], bool] = lambda e: True, timeout: float = 10.0, client: Any = None) -> Any:
        return wait_until(lambda: self.find(kind, pred), timeout, client=client, what=f"event {kind!r}")

    def clear(self) -> None:
        with self._lock:
            self.events.clear()


def library_available() -> bool:
    return _ffi.is_available()
