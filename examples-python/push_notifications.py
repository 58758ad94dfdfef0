#!/usr/bin/env python3
"""Incoming calls when the app is not running: push notifications.

Bob's app registers a push target (here an HTTP receiver in this process, standing in for
the app's push relay) and is closed. Alice calls Bob; the service, finding no agent of Bob's
connected, POSTs a signed notification to the target and keeps Alice's call ringing. The
receiver wakes Bob's app, which signs in again and hands the notification to its new agent
at once; the call arrives as an ordinary incoming call, Bob answers, and each side checks
that it hears the other's tone.

    python examples-python/push_notifications.py              # starts a local service itself
    python examples-python/push_notifications.py --service-url ws://host:port --access-key KEY

Prints what happens with timings. Exits 0 only if both sides heard each other.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import queue
import re
import secrets
import sys
import threading
import time
import urllib.request

import _common
from acscalling import CallClient, CallState, ConnectionState, EventKind, PushNotificationResult
from acscalling.testing import wait_for_power

HEARD = 0.005
ALICE_HZ, BOB_HZ = 440.0, 660.0


class PushReceiver:
    """The push target: an HTTP server that checks each POST's X-Acs-Signature header (the
    HMAC-SHA256 of the body's `data` with the shared secret) and queues the body."""

    def __init__(self, secret):
        self.bodies = queue.Queue()
        received = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                try:
                    data = json.loads(body)["data"]
                    want = "v1=" + hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()
                    ok = hmac.compare_digest(self.headers.get("X-Acs-Signature", ""), want)
                except (ValueError, KeyError, TypeError):
                    ok = False
                # 2xx tells the service the notification was delivered (else it retries).
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if ok:
                    received.put((time.monotonic(), body))
                else:
                    print("push receiver: refused a POST with a bad signature")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push/bob"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class App:
    """One run of a user's app: a client and an agent with a tone microphone and a pull speaker."""

    def __init__(self, svc, name, token, freq, wait=True):
        self.name = name
        self.client = CallClient()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.push_results = queue.Queue()
        self.incoming = queue.Queue()
        self.agent = self.client.create_call_agent(svc.service_url, token, name, on_event=self.on_event)
        if wait:
            self.client.wait_for(lambda: self.agent.connection_state == ConnectionState.CONNECTED, 15,
                                 what=f"{name} to sign in")

    def on_event(self, ev):
        if ev.kind == EventKind.PUSH_NOTIFICATION:
            extra = f" ({ev.code}/{ev.subcode}: {ev.message})" if ev.code or ev.subcode else ""
            print(f"[{self.name}] push notification: {ev.state.name} {ev.push_subject or '(all)'}{extra}")
            self.push_results.put(ev)
        elif ev.kind == EventKind.INCOMING_CALL:
            print(f"[{self.name}] incoming call {ev.call.id}")
            self.incoming.put((time.monotonic(), ev.call))

    def push_result(self, timeout=15):
        return self.push_results.get(timeout=timeout)

    def close(self):
        self.client.close()


def signaling_connections(svc):
    """The service's open signaling connections (GET /metrics with the access key)."""
    req = urllib.request.Request(svc.identity.http_url + "/metrics",
                                 headers={"Authorization": f"Bearer {svc.identity.access_key}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        m = re.search(r"^acs_signaling_connections (\d+)", r.read().decode(), re.M)
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    args = ap.parse_args()

    with _common.Service(args.service_url, args.access_key) as svc:
        secret = secrets.token_hex(24)  # the app's own; the service signs Bob's notifications with it
        receiver = PushReceiver(secret)
        bob_id, bob_token = svc.identity.create_user_with_token()
        _, alice_token = svc.identity.create_user_with_token()
        alice = bob = None
        try:
            # 1. Bob's app registers the push target, then is closed.
            before = signaling_connections(svc)
            bob = App(svc, "Bob", bob_token, BOB_HZ)
            bob.agent.register_push_notification(receiver.url, secret)
            r = bob.push_result()
            if r.state != PushNotificationResult.REGISTERED:
                print(f"registration failed: {r.code}/{r.subcode} {r.message}")
                return 1
            # The app signs out before it exits: releasing the agent while the client still
            # runs sends the WebSocket close. (A link that merely drops is held by the service
            # for a resume, 120 s by default, and counts as connected: no push meanwhile.)
            bob.agent.close()
            # Only for this sample, which calls at once: a call placed before the service has
            # seen the close would ring the closing connection instead of pushing.
            deadline = time.monotonic() + 5
            while signaling_connections(svc) > before and time.monotonic() < deadline:
                time.sleep(0.02)
            bob.close()
            bob = None
            print("Bob's app is closed")

            # 2. Alice calls Bob.
            alice = App(svc, "Alice", alice_token, ALICE_HZ)
            t_call = time.monotonic()
            call = alice.agent.start_call(bob_id, microphone=alice.mic, speaker=alice.speaker)

            # 3. The notification arrives; it wakes Bob's app, which hands it over at once
            #    (without waiting for its agent to connect).
            t_post, payload = receiver.bodies.get(timeout=20)
            print(f"push notification received {(t_post - t_call) * 1000:.1f} ms after the call started; "
                  f"Alice's call is {call.state.name}")
            t_wake = time.monotonic()
            bob = App(svc, "Bob", bob_token, BOB_HZ, wait=False)
            t_handle = time.monotonic()
            call_id = bob.agent.handle_push_notification(payload, secret)
            t_incoming, incoming = bob.incoming.get(timeout=20)
            print(f"Bob's app: handed call {call_id} over; incoming call {(t_incoming - t_handle) * 1000:.1f} ms "
                  f"later ({(t_incoming - t_wake) * 1000:.1f} ms after the app started)")

            # 4. Bob answers; each checks the other's tone.
            incoming.accept(microphone=bob.mic, speaker=bob.speaker)
            deadline = time.monotonic() + 15
            while not (call.state == CallState.CONNECTED and incoming.state == CallState.CONNECTED):
                if time.monotonic() > deadline:
                    print(f"the call did not connect: Alice {call.state.name}, Bob {incoming.state.name}")
                    return 1
                time.sleep(0.02)
            print(f"connected {(time.monotonic() - t_call) * 1000:.0f} ms after Alice called")
            try:
                b = wait_for_power(bob.speaker, ALICE_HZ, lambda p: p > HEARD, timeout=10)
                a = wait_for_power(alice.speaker, BOB_HZ, lambda p: p > HEARD, timeout=10)
            except AssertionError as e:
                print(f"audio not heard: {e}")
                return 1
            print(f"Bob hears Alice's {ALICE_HZ:g} Hz tone (power {b:.3f}); "
                  f"Alice hears Bob's {BOB_HZ:g} Hz tone (power {a:.3f})")
            call.hang_up()

            # 5. Done with the sample: Bob removes his push targets.
            bob.agent.unregister_push_notification()
            r = bob.push_result()
            return 0 if r.state == PushNotificationResult.UNREGISTERED else 1
        finally:
            for app in (alice, bob):
                if app is not None:
                    app.close()
            receiver.close()


if __name__ == "__main__":
    sys.exit(main())
