"""Run a local acscalling-service and talk to its identity REST API (stdlib only).

    with LocalService.start() as svc:
        alice_id, alice_token = svc.identity.create_user_with_token()
        agent = client.create_call_agent(svc.service_url, alice_token, "Alice")
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _ffi

if sys.platform == "win32":
    SERVICE_BINARY = "acscalling-service.exe"
else:
    SERVICE_BINARY = "acscalling-service"

_LISTENING = re.compile(r"acscalling-service listening http=(\S+):(\d+) media=(\S+):(\d+)")
_SIP = re.compile(r" sip=(\S+)")


class ServiceNotFoundError(FileNotFoundError):
    """The acscalling-service binary was not found; `tried` lists where we looked."""

    def __init__(self, message: str, tried: List[str]):
        super().__init__(message)
        self.tried = tried


class ServiceStartError(RuntimeError):
    """The service did not start (its exit code and the tail of its stderr are in the text)."""


class IdentityError(RuntimeError):
    """The identity API answered with an HTTP error."""

    def __init__(self, status: int, body: str, url: str):
        super().__init__(f"HTTP {status} from {url}: {body}")
        self.status = status
        self.body = body


def find_service_binary() -> Tuple[Optional[Path], List[str]]:
    """$ACSCALLING_SERVICE_BIN, else next to the loaded library (same target dir), else the
    cargo target dirs above this package. Returns (path or None, paths tried)."""
    tried: List[str] = []
    env = os.environ.get("ACSCALLING_SERVICE_BIN")
    if env:
        tried.append(f"$ACSCALLING_SERVICE_BIN={env}")
        return (Path(env) if Path(env).is_file() else None), tried
    lib_path, _ = _ffi.find_library()
    if lib_path is not None:
        p = lib_path.resolve().parent / SERVICE_BINARY
        tried.append(str(p))
        if p.is_file():
            return p, tried
    found = []
    for d in _ffi.target_dirs():
        for profile in ("release", "debug"):
            p = d / profile / SERVICE_BINARY
            tried.append(str(p))
            if p.is_file():
                found.append(p)
        if found:
            return max(found, key=lambda p: p.stat().st_mtime), tried
    return None, tried


def service_binary() -> Path:
    path, tried = find_service_binary()
    if path is None:
        raise ServiceNotFoundError(
            "acscalling-service was not found. Build it with `cargo build --workspace`, or set "
            "ACSCALLING_SERVICE_BIN. Tried:\n  " + "\n  ".join(tried),
            tried,
        )
    return path


class IdentityClient:
    """The service's identity REST API: users and access tokens."""

    def __init__(self, http_url: str, access_key: str, timeout: float = 10.0):
        self.http_url = http_url.rstrip("/")
        self.access_key = access_key
        self.timeout = timeout

    def _post(self, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        return self._request("POST", path, body)

    def _request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        url = self.http_url + path
        data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT") else None)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.access_key}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise IdentityError(e.code, e.read().decode("utf-8", "replace"), url) from None
        return json.loads(raw) if raw.strip() else None

    @staticmethod
    def _id(user_id: str) -> str:
        return urllib.parse.quote(user_id, safe="")

    def create_user(self) -> str:
        """POST /identities -> the new user's raw id ("8:acs:…")."""
        uid: str = self._post("/identities")["id"]
        return uid

    def issue_token(self, user_id: str, expires_in_secs: Optional[int] = None, scopes: Sequence[str] = ("voip",)) -> Dict[str, Any]:
        """POST /identities/{id}/token -> {"id", "token", "expires_on"}."""
        issued: Dict[str, Any] = self._post(
            f"/identities/{self._id(user_id)}/token",
            {"scopes": list(scopes), "expires_in_secs": expires_in_secs},
        )
        return issued

    def revoke(self, user_id: str) -> None:
        """POST /identities/{id}/revoke: invalidates every token of the user issued so far."""
        self._post(f"/identities/{self._id(user_id)}/revoke")

    def create_user_with_token(self, expires_in_secs: Optional[int] = None) -> Tuple[str, str]:
        """(user id, token) in one go."""
        uid = self.create_user()
        return uid, self.issue_token(uid, expires_in_secs)["token"]

    def create_room(
        self,
        participants: Union[Dict[str, str], Sequence[Tuple[str, str]]] = (),
        lobby: bool = False,
        valid_from: Optional[int] = None,
        valid_until: Optional[int] = None,
    ) -> Dict[str, Any]:
        """POST /rooms -> {"id", "join_url", "valid_from", "valid_until", "participants",
        "lobby", ...}. `participants`: raw id -> role ("organizer", "presenter", "attendee",
        "consumer"); `valid_from`/`valid_until`: Unix seconds (the service's defaults: now,
        and the longest validity it allows); `lobby`: unlisted people wait to be admitted
        instead of being refused."""
        pairs = participants.items() if isinstance(participants, dict) else participants
        body: Dict[str, Any] = {"participants": [{"id": i, "role": r} for i, r in pairs], "lobby": bool(lobby)}
        if valid_from is not None:
            body["valid_from"] = int(valid_from)
        if valid_until is not None:
            body["valid_until"] = int(valid_until)
        room: Dict[str, Any] = self._post("/rooms", body)
        return room

    def assign_phone_number(self, user_id: str, number: str) -> str:
        """PUT /identities/{id}/phone-numbers/{number}: calls to the number ring the user, who may
        present it as caller id. Returns it in E.164 form (IdentityError 409: another user's)."""
        path = f"/identities/{self._id(user_id)}/phone-numbers/{urllib.parse.quote(number, safe='')}"
        number_e164: str = self._request("PUT", path)["phone_number"]
        return number_e164

    def phone_numbers(self, user_id: str) -> List[str]:
        """GET /identities/{id}/phone-numbers: the numbers assigned to the user."""
        numbers: List[str] = self._request("GET", f"/identities/{self._id(user_id)}/phone-numbers")["phone_numbers"]
        return numbers

    def unassign_phone_number(self, user_id: str, number: str) -> None:
        """DELETE /identities/{id}/phone-numbers/{number} (IdentityError 404: not the user's)."""
        path = f"/identities/{self._id(user_id)}/phone-numbers/{urllib.parse.quote(number, safe='')}"
        self._request("DELETE", path)


class LocalService:
    """A running acscalling-service child process on 127.0.0.1 (ports chosen by the OS)."""

    def __init__(self, proc: "subprocess.Popen[bytes]", access_key: str, http_host: str, http_port: int, media_host: str, media_port: int, stderr_path: Path):
        self.proc = proc
        self.access_key = access_key
        self.http_host, self.http_port = http_host, http_port
        self.media_host, self.media_port = media_host, media_port
        self.stderr_path = stderr_path
        self.identity = IdentityClient(self.http_url, access_key)
        #: The PSTN gateway's SIP address ("127.0.0.1:5060") when SIP is configured, else None.
        self.sip_address: Optional[str] = None

    @property
    def http_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def service_url(self) -> str:
        """The URL to give create_call_agent (ws://host:port; the library adds /signaling)."""
        return f"ws://{self.http_host}:{self.http_port}"

    @classmethod
    def start(
        cls,
        access_key: Optional[str] = None,
        extra_args: Sequence[str] = (),
        binary: Optional[Path] = None,
        timeout: float = 30.0,
    ) -> "LocalService":
        """Starts the service and waits for its `listening` line."""
        exe = Path(binary) if binary else service_binary()
        key = access_key or secrets.token_hex(32)
        fd, stderr_name = tempfile.mkstemp(prefix="acscalling-service-", suffix=".log")
        stderr_file = os.fdopen(fd, "wb")
        # A database of its own that dies with it, unless extra_args name one (later flags win).
        args = [str(exe), "--listen", "127.0.0.1:0", "--access-key", key, "--database", ":memory:", *extra_args]
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr_file, env=env)
        stderr_file.close()
        first: List[str] = []
        got = threading.Event()

        def pump() -> None:
            # Reads the first line, then keeps draining stdout so the child never blocks on it.
            assert proc.stdout is not None
            for raw in proc.stdout:
                if not got.is_set():
                    first.append(raw.decode("utf-8", "replace"))
                    if _LISTENING.search(first[-1]):
                        got.set()
            got.set()

        threading.Thread(target=pump, name="acscalling-service-stdout", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not got.wait(0.05):
            if time.monotonic() > deadline:
                break
        m = _LISTENING.search("".join(first))
        if m is None:
            cls._kill(proc)
            tail = Path(stderr_name).read_text(errors="replace")[-2000:]
            raise ServiceStartError(
                f"{exe} did not print its 'listening' line (exit code {proc.returncode}); "
                f"stdout: {''.join(first)!r}; stderr tail:\n{tail}"
            )
        svc = cls(proc, key, m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), Path(stderr_name))
        sip = _SIP.search("".join(first))
        svc.sip_address = sip.group(1) if sip else None
        return svc

    @staticmethod
    def _kill(proc: "subprocess.Popen[bytes]") -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def stop(self) -> None:
        """Stops the service (SIGTERM, then SIGKILL after 5 s)."""
        self._kill(self.proc)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def __enter__(self) -> "LocalService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
