"""Incoming calls by push notification, from Python (issue 18).

Bob registers a push target (an HTTP receiver of this test, on 127.0.0.1) and his app goes
away; Alice calls; the service POSTs a signed notification to the receiver; a new client and
agent for Bob are created and the body handed over at once; the call arrives as an ordinary
incoming call, Bob answers and each hears the other's tone. Forged, stale and replayed
notifications (in this process and from another process) are refused with their statuses;
unregistered targets get nothing and the callee is then unavailable (480/10037). The sample
examples-python/push_notifications.py runs against the same service.
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Dict, List

import pytest

import acscalling
from acscalling import CallState, EventKind, PushNotificationResult
from acscalling.testing import EventRecorder, wait_for_power, wait_until
from conftest import REPO, service_binary_or_skip

service_binary_or_skip()

T = 20.0
SECRET = "bob's push secret 0123456789"
HEARD = 0.005
ALICE_HZ, BOB_HZ = 700.0, 900.0
BINDINGS = REPO / "bindings" / "python"


# ---- the test's push target: a real HTTP receiver ---------------------------------------------


@dataclass
class Post:
    path: str
    headers: Dict[str, str]
    body: str
    at: float  # time.monotonic() when it arrived


class Receiver:
    """An HTTP server on 127.0.0.1:0 in a thread that records every POST and answers 200."""

    def __init__(self) -> None:
        self.posts: List[Post] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode("utf-8")
                post = Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.cond:
                    receiver.posts.append(post)
                    receiver.cond.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push/bob"
        self.thread = threading.Thread(target=self.server.serve_forever, name="push-receiver", daemon=True)
        self.thread.start()

    def wait_posts(self, n: int, timeout: float = T) -> List[Post]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.posts) >= n, timeout)
            assert len(self.posts) >= n, f"{len(self.posts)} POSTs within {timeout} s, expected {n}"
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


# ---- parties --------------------------------------------------------------------------------


class Party:
    """A client + agent with a tone microphone and a pull speaker, recording its events.
    `user` = (id, token) signs in as an existing user (Bob's app starting again)."""

    def __init__(self, service, name, freq, user=None, wait=True):
        self.name, self.freq = name, freq
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        try:
            self.id, self.token = user or service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
            self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
            self.agent = self.client.create_call_agent(service.service_url, self.token, name, on_event=self.events)
            if wait:
                wait_until(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, T,
                           what=f"{name} to connect")
        except BaseException:
            self.close()
            raise

    def push_events(self, state=None):
        return [e for e in self.events.of(EventKind.PUSH_NOTIFICATION) if state is None or e.state == state]

    def wait_push(self, state, pred=lambda e: True, timeout=T):
        return self.events.wait(EventKind.PUSH_NOTIFICATION, lambda e: e.state == state and pred(e), timeout)

    def register(self, url):
        self.agent.register_push_notification(url, SECRET)
        ev = self.wait_push(PushNotificationResult.REGISTERED, lambda e: e.push_subject == url)
        assert isinstance(ev.state, PushNotificationResult) and ev.state is PushNotificationResult.REGISTERED
        assert (ev.code, ev.subcode) == (0, 0) and ev.message is None
        return ev

    def close(self):
        self.events.clear()
        self.client.close()


def connections(service) -> int:
    """The service's open signaling connections (GET /metrics behind the access key)."""
    req = urllib.request.Request(service.http_url + "/metrics",
                                 headers={"Authorization": f"Bearer {service.access_key}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^acs_signaling_connections (\d+)", text, re.M)
    assert m, text[:2000]
    return int(m.group(1))


def app_closed(service, party, before):
    """Closes `party`'s app and waits until the service has seen its connection go (a call
    placed while the old connection is still open would ring it instead of pushing). The agent
    goes first, while the client's runtime still runs to send the WebSocket close: a link that
    just drops is held by the service for a resume (--inactivity-timeout-secs, 120 s) and
    counts as connected meanwhile."""
    party.agent.close()
    try:
        wait_until(lambda: connections(service) <= before, T, what="the service to see the app's connection close")
    finally:
        party.close()


def open_envelope(body):
    """(envelope, data) of a POSTed body; checks the signature with the shared secret."""
    env = json.loads(body)
    assert env["version"] == 1
    want = "v1=" + hmac.new(SECRET.encode(), env["data"].encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(env["signature"], want), "the signature is HMAC-SHA256(secret, data)"
    return env, json.loads(env["data"])


def seal(data, secret=SECRET):
    """An envelope as the service writes it, signed with `secret`."""
    text = json.dumps(data, separators=(",", ":"))
    sig = "v1=" + hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return json.dumps({"version": 1, "data": text, "signature": sig})


def called_while_away(service, receiver):
    """Bob registers the receiver and closes his app; Alice calls him; the POST arrives.
    Returns (alice, bob_user, call, post, ms from start_call to the POST)."""
    before = connections(service)
    bob = Party(service, "Bob", BOB_HZ)
    bob.register(receiver.url)
    bob_user = (bob.id, bob.token)
    app_closed(service, bob, before)
    alice = Party(service, "Alice", ALICE_HZ)
    try:
        t0 = time.monotonic()
        call = alice.agent.start_call(bob_user[0], microphone=alice.mic, speaker=alice.speaker)
        post = receiver.wait_posts(1)[0]
        to_post = (post.at - t0) * 1000
        # The callee rings meanwhile (the setup timeout would end it).
        wait_until(lambda: call.state == CallState.RINGING, T, what="Alice's call to ring")
    except BaseException:
        alice.close()
        raise
    return alice, bob_user, call, post, to_post


REPLAY = r"""
import json, os, sys, time
sys.path.insert(0, os.environ["ACS_BINDINGS"])
import acscalling
from acscalling.testing import EventRecorder
a = json.loads(sys.stdin.read())
with acscalling.CallClient() as client:
    rec = EventRecorder()
    agent = client.create_call_agent(a["service_url"], a["token"], "Bob elsewhere", on_event=rec)
    try:
        call_id = agent.handle_push_notification(a["payload"], a["secret"])
    except acscalling.AcsError as e:
        print(json.dumps({"error": e.status, "message": e.message}))
        sys.exit(0)
    ev = rec.wait(acscalling.EventKind.PUSH_NOTIFICATION, timeout=15)
    time.sleep(0.3)  # an incoming call, were it delivered, would be here by now
    print(json.dumps({"call_id": call_id, "state": int(ev.state), "name": ev.state.name,
                      "code": ev.code, "subcode": ev.subcode, "subject": ev.push_subject,
                      "message": ev.message,
                      "incoming": len(rec.of(acscalling.EventKind.INCOMING_CALL))}))
    rec.clear()
"""


def replay_in_another_process(service, token, payload):
    env = dict(os.environ, ACS_BINDINGS=str(BINDINGS))
    r = subprocess.run([sys.executable, "-c", REPLAY], input=json.dumps(
        {"service_url": service.service_url, "token": token, "payload": payload, "secret": SECRET}),
        capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


# ---- tests ----------------------------------------------------------------------------------


def test_a_closed_app_is_woken_by_push_answers_and_both_hear_each_other(service, receiver, no_leaks):
    alice, (bob_id, bob_token), call, post, to_post = called_while_away(service, receiver)
    bob = None
    try:
        # The POST: JSON body, the same signature in the header as in the body.
        assert post.path == "/push/bob"
        assert post.headers["content-type"].startswith("application/json")
        env, data = open_envelope(post.body)
        assert post.headers["x-acs-signature"] == env["signature"]
        assert data["kind"] == "incoming_call"
        assert data["call_id"] == call.id
        assert (data["callee"], data["caller"], data["caller_display_name"]) == (bob_id, alice.id, "Alice")
        assert 0 < data["expires_at_ms"] - data["issued_at_ms"] <= 60_000
        assert abs(data["issued_at_ms"] / 1000 - time.time()) < 30

        # Bob's app starts again: a new client and agent, handed the body at once.
        woken = time.monotonic()
        bob = Party(service, "Bob", BOB_HZ, user=(bob_id, bob_token), wait=False)
        arrived = []
        bob.agent.on("incoming_call", lambda e: arrived.append(time.monotonic()))
        handed = time.monotonic()
        assert bob.agent.handle_push_notification(post.body, SECRET) == call.id
        ev = bob.events.wait(EventKind.INCOMING_CALL, timeout=T)
        to_incoming = (arrived[0] - handed) * 1000
        app_to_incoming = (arrived[0] - woken) * 1000
        incoming = ev.call
        assert incoming.id == call.id and incoming.state == CallState.INCOMING
        assert incoming.remote_participants[0].identifier == alice.id
        assert bob.push_events() == [], "a delivered call raises no PUSH_NOTIFICATION"

        # The same payload again in this process: refused at once.
        with pytest.raises(acscalling.InvalidStateError) as e:
            bob.agent.handle_push_notification(post.body, SECRET)
        assert "already handled" in e.value.message
        # ...and from another process signed in as Bob: the service refuses it (409/10014).
        replay = replay_in_another_process(service, bob_token, post.body)
        print("replay from another process:", replay)
        assert replay["state"] == PushNotificationResult.CALL_REFUSED, replay
        assert (replay["code"], replay["subcode"]) == (409, 10014), replay
        assert replay["subject"] == call.id and replay["call_id"] == call.id, replay
        assert replay["incoming"] == 0, replay
        assert incoming.state == CallState.INCOMING, "the replay did not disturb the claimed call"

        accepted = time.monotonic()
        incoming.accept(microphone=bob.mic, speaker=bob.speaker)
        wait_until(lambda: call.state == CallState.CONNECTED and incoming.state == CallState.CONNECTED, T,
                   interval=0.002, what="both sides connected")
        connected = (time.monotonic() - accepted) * 1000
        a_hears = wait_for_power(alice.speaker, BOB_HZ, lambda p: p > HEARD, timeout=15)
        b_hears = wait_for_power(bob.speaker, ALICE_HZ, lambda p: p > HEARD, timeout=15)
        print(f"push: call start -> POST {to_post:.1f} ms; handle -> incoming call {to_incoming:.1f} ms "
              f"(app start -> incoming call {app_to_incoming:.1f} ms); accept -> connected {connected:.0f} ms; "
              f"Alice hears Bob {a_hears:.3f}, Bob hears Alice {b_hears:.3f}")
        assert len(receiver.posts) == 1, "a delivered notification is not sent again"

        call.hang_up()
        wait_until(lambda: call.state == CallState.DISCONNECTED and incoming.state == CallState.DISCONNECTED, T,
                   what="both sides disconnected")
        bob.agent.unregister_push_notification()
        bob.wait_push(PushNotificationResult.UNREGISTERED)
    finally:
        alice.close()
        if bob is not None:
            bob.close()


def test_forged_stale_foreign_and_replayed_notifications_are_refused(service, receiver, no_leaks):
    alice, (bob_id, bob_token), call, post, _ = called_while_away(service, receiver)
    bob = None
    try:
        bob = Party(service, "Bob", BOB_HZ, user=(bob_id, bob_token))
        env, data = open_envelope(post.body)

        # Forged: altered body (signature unchanged), or another secret.
        tampered = post.body.replace(alice.id, "8:acs:" + str(uuid.uuid4()))
        assert tampered != post.body
        with pytest.raises(acscalling.UnauthorizedError) as e:
            bob.agent.handle_push_notification(tampered, SECRET)
        assert e.value.status == acscalling._ffi.ACS_ERR_UNAUTHORIZED and "signature" in e.value.message
        with pytest.raises(acscalling.UnauthorizedError):
            bob.agent.handle_push_notification(post.body, "not bob's secret 0123456789")
        with pytest.raises(acscalling.UnauthorizedError):
            bob.agent.handle_push_notification(seal(data, "another secret 0123456789"), SECRET)

        # Stale: well signed, but its expiry is in the past.
        now_ms = int(time.time() * 1000)
        stale = seal(dict(data, nonce=str(uuid.uuid4()), issued_at_ms=now_ms - 120_000, expires_at_ms=now_ms - 60_000))
        with pytest.raises(acscalling.OperationTimeoutError) as e:
            bob.agent.handle_push_notification(stale, SECRET)
        assert e.value.status == acscalling._ffi.ACS_ERR_TIMEOUT and "expired" in e.value.message

        # Malformed, or for another user: invalid argument.
        foreign = seal(dict(data, callee=alice.id, nonce=str(uuid.uuid4())))
        for bad in ("", "{}", "not json", '{"version":1,"data":"x","signature":"v1=zz"}', foreign):
            with pytest.raises(acscalling.InvalidArgumentError):
                bob.agent.handle_push_notification(bad, SECRET)
        time.sleep(0.3)
        assert bob.events.of(EventKind.INCOMING_CALL) == [] and bob.push_events() == [], "nothing rang"

        # A well-signed notification the service never sent: refused by the service (404/0).
        unknown = seal(dict(data, nonce=str(uuid.uuid4())))
        assert bob.agent.handle_push_notification(unknown, SECRET) == call.id
        ev = bob.wait_push(PushNotificationResult.CALL_REFUSED)
        assert (ev.code, ev.subcode, ev.push_subject) == (404, 0, call.id) and ev.message, (ev.code, ev.message)

        # The real one: delivered; the same payload twice in one process: invalid state.
        assert bob.agent.handle_push_notification(post.body, SECRET) == call.id
        incoming = bob.events.wait(EventKind.INCOMING_CALL, timeout=T).call
        with pytest.raises(acscalling.InvalidStateError):
            bob.agent.handle_push_notification(post.body, SECRET)
        incoming.reject()
        wait_until(lambda: call.state == CallState.DISCONNECTED, T, what="Alice's call to end")
        assert call.end_reason.code == 603

        # Once the call no longer rings, even a fresh process's claim is refused: 410/10013.
        replay = replay_in_another_process(service, bob_token, post.body)
        assert replay["state"] == PushNotificationResult.CALL_REFUSED, replay
        assert (replay["code"], replay["subcode"]) == (410, 10013), replay
        bob.agent.unregister_push_notification(receiver.url)
        bob.wait_push(PushNotificationResult.UNREGISTERED, lambda e: e.push_subject == receiver.url)
    finally:
        alice.close()
        if bob is not None:
            bob.close()


def test_unregistered_targets_get_nothing_and_the_callee_is_unavailable(service, receiver, no_leaks):
    before = connections(service)
    bob = Party(service, "Bob", BOB_HZ)
    try:
        # Refused before anything is sent.
        with pytest.raises(acscalling.InvalidArgumentError):
            bob.agent.register_push_notification("https://127.0.0.1:9/push", SECRET)
        with pytest.raises(acscalling.InvalidArgumentError):
            bob.agent.register_push_notification(receiver.url, "short")
        L, NULL = acscalling._ffi.lib(), acscalling._ffi.ACS_ERR_NULL_POINTER
        assert L.acs_call_agent_register_push_notification(bob.agent._p, None, SECRET.encode()) == NULL
        assert L.acs_call_agent_register_push_notification(bob.agent._p, receiver.url.encode(), None) == NULL
        assert L.acs_call_agent_handle_push_notification(bob.agent._p, None, SECRET.encode()) == NULL
        assert L.acs_call_agent_handle_push_notification(bob.agent._p, b"{}", None) == NULL
        other = receiver.url.replace("/push/bob", "/push/other")
        bob.register(receiver.url)
        bob.register(other)
        bob.agent.unregister_push_notification(receiver.url)
        ev = bob.wait_push(PushNotificationResult.UNREGISTERED, lambda e: e.push_subject == receiver.url)
        assert (ev.code, ev.subcode) == (0, 0)
        bob.agent.unregister_push_notification(receiver.url)
        ev = bob.wait_push(PushNotificationResult.UNREGISTRATION_FAILED)
        assert (ev.code, ev.subcode, ev.push_subject) == (404, 0, receiver.url) and ev.message, (ev.code, ev.message)
        bob.agent.unregister_push_notification()  # every target (the other one)
        ev = bob.wait_push(PushNotificationResult.UNREGISTERED, lambda e: e.push_subject is None)
        bob_id = bob.id
    finally:
        app_closed(service, bob, before)

    alice = Party(service, "Alice", ALICE_HZ)
    try:
        call = alice.agent.start_call(bob_id, microphone=alice.mic, speaker=alice.speaker)
        wait_until(lambda: call.state == CallState.DISCONNECTED, T, what="the call to end")
        assert tuple(call.end_reason) == (480, 10037)
        time.sleep(0.5)
        assert receiver.posts == [], "no notification to an unregistered target"
    finally:
        alice.close()


def test_the_push_notifications_sample_runs(service):
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(REPO / "examples-python" / "push_notifications.py"),
                        "--service-url", service.service_url, "--access-key", service.access_key],
                       capture_output=True, text=True, timeout=120)
    print(r.stdout[-3000:])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Bob hears Alice" in r.stdout and "Alice hears Bob" in r.stdout
    print(f"sample ran in {time.monotonic() - t0:.1f} s")
