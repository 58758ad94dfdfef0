#!/usr/bin/env python3
"""Calls a phone number, shows early media and sends DTMF; prints the keys the phone presses.

    python examples-python/phone_call.py 4:+15551234567 --caller-id 4:+15550001111 --dtmf 123#
    python examples-python/phone_call.py 8:echo123 --dtmf 5      # no phone: DTMF is refused

Needs a service with a phone gateway for a real phone (without one the call to a number
ends with the service's reason). Each DTMF send is answered by a DTMF_SEND_COMPLETED event:
sent, or the service's refusal (400: the call has no phone participant).
"""

import argparse
import sys

import _common
from acscalling import CallClient, CallState, ConnectionState, EventKind, identifier_kind


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", help='raw id to call, e.g. "4:+15551234567"')
    ap.add_argument("--caller-id", help='the number the phone sees as the caller, e.g. "4:+15550001111"')
    ap.add_argument("--dtmf", default="", help="keys to send once connected (0-9 * # A-D)")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long to stay connected (default 10)")
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    args = ap.parse_args()

    with _common.Service(args.service_url, args.access_key) as svc, CallClient() as client:
        _, token = svc.identity.create_user_with_token()
        dm = client.device_manager
        mic = dm.create_tone_microphone("tone", 440.0, 0.3)
        speaker = dm.create_pull_speaker("speaker", 10_000)
        agent = client.create_call_agent(svc.service_url, token, "Phone sample")
        client.wait_for(lambda: agent.connection_state != ConnectionState.CONNECTING, 10, what="sign-in")
        if agent.connection_state != ConnectionState.CONNECTED:
            sys.exit(f"could not sign in to {svc.service_url}")

        agent.on(EventKind.CALL_STATE_CHANGED, lambda ev: print(
            f"  call state: {ev.state.name}"
            + (" (the network's ringback/announcement is played)" if ev.state == CallState.EARLY_MEDIA else "")
            + (f" (reason {ev.code}/{ev.subcode})" if ev.state == CallState.DISCONNECTED else "")))
        agent.on(EventKind.DTMF_RECEIVED, lambda ev: print(f"  {ev.participant_id} pressed {ev.tone.key}"))
        agent.on(EventKind.DTMF_SEND_COMPLETED, lambda ev: print(
            f"  DTMF #{ev.request_id} {ev.tone.key}: " + ("sent" if ev.succeeded else f"not sent: {ev.code} {ev.message}")))

        print(f"calling {args.target} ({identifier_kind(args.target).name})"
              + (f" as {args.caller_id}" if args.caller_id else ""))
        call = agent.start_call(args.target, microphone=mic, speaker=speaker, alternate_caller_id=args.caller_id)
        client.wait_for(lambda: call.state in (CallState.CONNECTED, CallState.DISCONNECTED), 120,
                        what="the call to connect")
        if call.state != CallState.CONNECTED:
            sys.exit(f"the call did not connect: end reason {call.end_reason}")
        for key in args.dtmf:
            call.send_dtmf(key)
        try:
            client.wait_for(lambda: call.state == CallState.DISCONNECTED, args.seconds)
        except TimeoutError:
            call.hang_up()
            client.wait_for(lambda: call.state == CallState.DISCONNECTED, 10, what="hang-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
