#!/usr/bin/env python3
"""Alice calls Bob, both in this process, and each checks that it hears the other's tone.

    python examples-python/two_party_call.py              # starts a local service itself
    python examples-python/two_party_call.py --bench 20   # 20 calls: setup time median / p95

Prints call and participant states as they change. Exits non-zero on any failure.
"""

import argparse
import statistics
import sys
import time

import _common
from acscalling import CallClient, CallState, ConnectionState
from acscalling.testing import wait_for_power

HEARD = 0.01


class Party:
    def __init__(self, svc, name, freq, verbose):
        self.name, self.freq, self.verbose = name, freq, verbose
        self.client = CallClient()
        self.user_id, token = svc.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(svc.service_url, token, name, on_event=self.print_event)
        self.client.wait_for(lambda: self.agent.connection_state == ConnectionState.CONNECTED, 10, what=f"{name} to sign in")
        self.incoming = []
        self.agent.on("incoming_call", self.accept)

    def print_event(self, ev):
        if not self.verbose:
            return
        t = time.strftime("%H:%M:%S")
        who = f" {ev.participant.display_name}" if ev.participant is not None else ""
        extra = f" reason {ev.code}/{ev.subcode}" if ev.code or ev.subcode else ""
        flag = f" muted={ev.flag}" if "mute" in ev.name else ""
        state = getattr(ev.state, "name", ev.state)
        print(f"{t} [{self.name}] {ev.name}{who}: {state}{flag}{extra}")

    def accept(self, ev):
        self.incoming.append(ev.call)
        ev.call.accept(microphone=self.mic, speaker=self.speaker)

    def wait_state(self, call, state, timeout=15):
        self.client.wait_for(lambda: call.state == state, timeout, what=f"{self.name}'s call to be {state.name}")

    def close(self):
        self.client.close()


def one_call(alice, bob, check_audio):
    bob.incoming.clear()
    t0 = time.monotonic()
    a_call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    alice.wait_state(a_call, CallState.CONNECTED)
    bob.client.wait_for(lambda: bob.incoming, 15, what="Bob's incoming call")
    b_call = bob.incoming[0]
    bob.wait_state(b_call, CallState.CONNECTED)
    setup = time.monotonic() - t0
    if check_audio:
        a_hears = wait_for_power(alice.speaker, bob.freq, lambda p: p > HEARD, timeout=10)
        b_hears = wait_for_power(bob.speaker, alice.freq, lambda p: p > HEARD, timeout=10)
        print(f"Alice hears Bob's {bob.freq:g} Hz tone (power {a_hears:.2f}); "
              f"Bob hears Alice's {alice.freq:g} Hz tone (power {b_hears:.2f})")
    a_call.hang_up()
    alice.wait_state(a_call, CallState.DISCONNECTED)
    bob.wait_state(b_call, CallState.DISCONNECTED)
    return setup, a_call.end_reason, b_call.end_reason


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    ap.add_argument("--bench", type=int, metavar="N", help="run N calls and print setup-time figures")
    args = ap.parse_args()

    with _common.Service(args.service_url, args.access_key) as svc:
        verbose = not args.bench
        alice = Party(svc, "Alice", 440.0, verbose)
        bob = Party(svc, "Bob", 660.0, verbose)
        try:
            if not args.bench:
                setup, a_reason, b_reason = one_call(alice, bob, check_audio=True)
                print(f"call set up in {setup * 1000:.0f} ms; Alice ended with {tuple(a_reason)}, "
                      f"Bob with {tuple(b_reason)}")
                return 0
            times = []
            for i in range(args.bench):
                setup, _, _ = one_call(alice, bob, check_audio=False)
                times.append(setup)
                print(f"call {i + 1}/{args.bench}: setup {setup * 1000:.0f} ms")
            times.sort()
            p95 = times[min(len(times) - 1, max(0, int(round(0.95 * len(times))) - 1))]
            print(f"setup time (start_call -> CONNECTED on both sides) over {len(times)} calls: "
                  f"median {statistics.median(times) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                  f"min {times[0] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms")
            return 0
        finally:
            alice.close()
            bob.close()


if __name__ == "__main__":
    sys.exit(main())
