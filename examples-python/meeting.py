#!/usr/bin/env python3
"""A meeting with a lobby: the organizer creates a room (POST /rooms) that lists only her,
joins it, and admits whoever knocks; each guest waits in the lobby (CallState.IN_LOBBY)
until admitted, then hears the organizer and is heard.

    python examples-python/meeting.py                 # 2 guests, starts a local service
    python examples-python/meeting.py --guests 3 --service-url ws://... --access-key K

Exits non-zero on any failure.
"""

import argparse
import sys

import _common
from acscalling import AcsError, CallClient, CallState, ConnectionState, EventKind, ParticipantState
from acscalling.testing import wait_for_power

HEARD = 0.005


class Person:
    def __init__(self, svc, name, freq):
        self.name, self.freq = name, freq
        self.client = CallClient()
        self.user_id, token = svc.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(svc.service_url, token, name)
        self.client.wait_for(lambda: self.agent.connection_state == ConnectionState.CONNECTED, 10,
                             what=f"{name} to sign in")
        self.call = None

    def join(self, locator):
        self.call = self.agent.join_room(locator, microphone=self.mic, speaker=self.speaker)

    def wait_state(self, state):
        self.client.wait_for(lambda: self.call.state == state, 15, what=f"{self.name}'s call to be {state.name}")

    def hears(self, other):
        p = wait_for_power(self.speaker, other.freq, lambda x: x > HEARD, timeout=10)
        print(f"{self.name} hears {other.name} ({other.freq:g} Hz, power {p:.3f})")

    def close(self):
        self.client.close()


def admit_whoever_knocks(ev):
    """The organizer's handler: anyone seen waiting in the lobby is let in (the library calls
    it on its dispatch thread, from where calling back into the API is allowed)."""
    p = ev.participant
    if ev.call is None or p is None or p.state != ParticipantState.IN_LOBBY:
        return
    print(f"{p.display_name or p.identifier} knocks (role once in: {p.role.name if p.role else None}): admitting")
    try:
        ev.call.admit(p)
    except AcsError as e:  # admitted already, or left meanwhile
        print(f"  not admitted: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    ap.add_argument("--guests", type=int, default=2, help="how many guests knock (1..4)")
    args = ap.parse_args()
    n = max(1, min(args.guests, 4))
    with _common.Service(args.service_url, args.access_key) as svc:
        people = [Person(svc, "Olga", 440.0)]
        try:
            olga = people[0]
            for i, name in enumerate(["Gus", "Gil", "Gwen", "Gray"][:n]):
                people.append(Person(svc, name, 550.0 + 110.0 * i))
            guests = people[1:]
            room = svc.identity.create_room({olga.user_id: "organizer"}, lobby=True)
            print(f"room {room['id']}: {room['join_url']}")
            olga.agent.on(EventKind.PARTICIPANT_ADDED, admit_whoever_knocks)
            olga.agent.on(EventKind.PARTICIPANT_STATE_CHANGED, admit_whoever_knocks)
            olga.agent.on(EventKind.CALL_ACTION_FAILED,
                          lambda ev: print(f"refused: {ev.state!r} {ev.participant_id} {ev.code} {ev.message}"))
            olga.join(room["join_url"])
            olga.wait_state(CallState.CONNECTED)
            print(f"{olga.name} opened the meeting")
            for g in guests:
                g.join(room["id"])
                g.client.wait_for(lambda g=g: g.call.state in (CallState.IN_LOBBY, CallState.CONNECTED), 15,
                                  what=f"{g.name} to knock")
                print(f"{g.name} knocked ({g.call.state.name})")
            for g in guests:
                g.wait_state(CallState.CONNECTED)
                print(f"{g.name} is in; sees {[(p.display_name, p.role.name) for p in g.call.remote_participants]}")
            for g in guests:
                g.hears(olga)
                olga.hears(g)
            for p in people:
                p.call.hang_up()
            print("OK")
        finally:
            for p in people:
                p.close()


if __name__ == "__main__":
    sys.exit(main())
