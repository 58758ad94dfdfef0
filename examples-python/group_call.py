#!/usr/bin/env python3
"""A group call: N parties join one group id, each with its own tone; each checks that it
hears everyone else; then all but one mute and everybody sees who the dominant speaker is.

    python examples-python/group_call.py                 # 4 parties, starts a local service
    python examples-python/group_call.py --parties 3 --service-url ws://... --access-key K

Exits non-zero on any failure.
"""

import argparse
import sys
import uuid

import _common
from acscalling import CallClient, CallState, ConnectionState
from acscalling.testing import wait_for_power

HEARD = 0.005


class Member:
    def __init__(self, svc, name, freq):
        self.name, self.freq = name, freq
        self.client = CallClient()
        self.user_id, token = svc.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(svc.service_url, token, name)
        self.client.wait_for(lambda: self.agent.connection_state == ConnectionState.CONNECTED, 10, what=f"{name} to sign in")
        self.agent.on("dominant_speakers_changed", self.on_dominant)
        self.call = None

    def on_dominant(self, ev):
        names = [p.display_name for p in ev.call.remote_participants if p.identifier in ev.call.dominant_speakers.speakers]
        print(f"[{self.name}] dominant speakers: {names or 'nobody'}")

    def join(self, group):
        self.call = self.agent.join(group, microphone=self.mic, speaker=self.speaker)
        self.client.wait_for(lambda: self.call.state == CallState.CONNECTED, 15, what=f"{self.name} to join")

    def close(self):
        self.client.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    ap.add_argument("--parties", type=int, default=4, help="how many parties join (2..6)")
    args = ap.parse_args()
    n = max(2, min(args.parties, 6))
    names = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"][:n]
    with _common.Service(args.service_url, args.access_key) as svc:
        members = [Member(svc, name, 440.0 + 110.0 * i) for i, name in enumerate(names)]
        try:
            group = str(uuid.uuid4())
            print(f"group call {group}")
            for m in members:
                m.join(group)
                print(f"{m.name} joined; roster: {[p.display_name for p in m.call.remote_participants]}")
            for m in members:
                for other in members:
                    if other is not m:
                        p = wait_for_power(m.speaker, other.freq, lambda x: x > HEARD, timeout=10)
                        print(f"{m.name} hears {other.name} ({other.freq:g} Hz, power {p:.3f})")
            speaker = members[-1]
            for m in members[:-1]:
                m.call.mute()
            for m in members[:-1]:
                m.client.wait_for(lambda m=m: m.call.dominant_speakers.speakers[:1] == [speaker.user_id], 10,
                                  what=f"{m.name} to see {speaker.name} dominant")
            print(f"everyone sees {speaker.name} as the dominant speaker")
            for m in members:
                m.call.hang_up()
            print("OK")
        finally:
            for m in members:
                m.close()


if __name__ == "__main__":
    sys.exit(main())
