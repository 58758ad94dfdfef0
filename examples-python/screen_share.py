#!/usr/bin/env python3
"""Native screen sharing: list the monitors and windows of the X display, share one in a
group call and check that the other party receives it.

    DISPLAY=:0 python examples-python/screen_share.py                   # the first monitor
    DISPLAY=:0 python examples-python/screen_share.py --window Firefox  # a window by title
    python examples-python/screen_share.py --fps 5 --no-cursor --seconds 10 \\
        --service-url ws://... --access-key K

Alice shares, Bob renders it; every OUTGOING_VIDEO_STATE_CHANGED event of Alice is printed
with its reason (for example FAILED 0/10012 "the window was closed" when the shared window
is closed meanwhile). Exits non-zero when nothing can be shared or Bob receives no frame.
"""

import argparse
import sys
import time
import uuid

import _common
from acscalling import (
    CallClient,
    CallState,
    ConnectionState,
    DeviceError,
    EventKind,
    LocalVideoStream,
    OutgoingVideoState,
    PixelFormat,
    ScalingMode,
    ScreenSourceKind,
    VideoStreamKind,
    list_screen_sources,
)


class Party:
    def __init__(self, svc, name):
        self.name = name
        self.client = CallClient()
        self.user_id, token = svc.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} tone", 440.0, 0.2)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(svc.service_url, token, name)
        self.client.wait_for(lambda: self.agent.connection_state == ConnectionState.CONNECTED, 10,
                             what=f"{name} to sign in")
        self.agent.on("outgoing_video_state_changed", self.on_outgoing)
        self.outgoing = []

    def on_outgoing(self, ev):
        kind = getattr(ev.video_stream_kind, "name", ev.video_stream_kind)
        state = getattr(ev.state, "name", ev.state)
        why = f" {ev.code}/{ev.subcode} {ev.message!r}" if ev.state in (OutgoingVideoState.PAUSED,
                                                                        OutgoingVideoState.FAILED) else ""
        print(f"[{self.name}] outgoing {str(kind).lower()}: {state}{why}", flush=True)
        self.outgoing.append(ev.state)

    def join(self, group):
        call = self.agent.join(group, microphone=self.mic, speaker=self.speaker, muted=True)
        self.client.wait_for(lambda: call.state == CallState.CONNECTED, 15, what=f"{self.name} to join")
        return call

    def close(self):
        self.client.close()


def pick(sources, window):
    if window:
        return next((s for s in sources if s.kind == ScreenSourceKind.WINDOW and window in s.title), None)
    return next((s for s in sources if s.kind == ScreenSourceKind.MONITOR), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--window", help="share the first window whose title contains this (default: the first monitor)")
    ap.add_argument("--fps", type=int, default=10, help="frames a second at most (1..60)")
    ap.add_argument("--no-cursor", action="store_true", help="do not draw the mouse pointer in")
    ap.add_argument("--seconds", type=float, default=3.0, help="how long to share")
    ap.add_argument("--service-url")
    ap.add_argument("--access-key")
    args = ap.parse_args()

    try:
        sources = list_screen_sources()
    except DeviceError as e:
        sys.exit(f"cannot list screen sources: {e}")
    for s in sources:
        print(f"{s.id:24} {s.kind.name.lower():7} {s.title!r:30} {s.application!r:14} "
              f"{s.width}x{s.height}+{s.x}+{s.y}{' (minimised)' if s.minimized else ''}")
    source = pick(sources, args.window)
    if source is None:
        sys.exit(f"no {'window titled *' + args.window + '*' if args.window else 'monitor'} to share")
    print(f"sharing {source.id} ({source.title!r}) at {args.fps} fps, pointer {'hidden' if args.no_cursor else 'shown'}")

    with _common.Service(args.service_url, args.access_key) as svc:
        alice, bob = Party(svc, "Alice"), Party(svc, "Bob")
        try:
            group = str(uuid.uuid4())
            a_call, b_call = alice.join(group), bob.join(group)
            with LocalVideoStream.from_screen(source.id, args.fps, show_cursor=not args.no_cursor) as share:
                a_call.start_screen_sharing(share)
                alice.client.wait_for(lambda: alice.outgoing, 15, what="the share to start")
                if alice.outgoing[0] != OutgoingVideoState.STARTED:
                    sys.exit("the share did not start")

                def remote_share():
                    for p in b_call.remote_participants:
                        if p.identifier == alice.user_id:
                            s = p.video_stream(VideoStreamKind.SCREEN_SHARE)
                            if s.is_available:
                                return s
                    return None

                stream = bob.client.wait_for(remote_share, 15, what="Alice's share at Bob")
                view = stream.create_renderer().create_view(320, 180, PixelFormat.RGBA, ScalingMode.FIT)
                frames = 0
                end = time.monotonic() + max(args.seconds, 1.0)
                while time.monotonic() < end:
                    f = view.take_latest_frame()
                    if f is None:
                        time.sleep(0.02)
                        continue
                    with f:
                        frames += 1
                view.close()
                print(f"Bob received {frames} frames of the share; its state: {share.share_state}")
                a_call.stop_screen_sharing()
                alice.client.wait_for(lambda: OutgoingVideoState.STOPPED in alice.outgoing
                                      or OutgoingVideoState.FAILED in alice.outgoing, 10,
                                      what="the share to stop")
            a_call.hang_up()
            b_call.hang_up()
            if frames == 0:
                sys.exit("Bob received no frame")
        finally:
            alice.close()
            bob.close()
    print("screen share sample: ok")


if __name__ == "__main__":
    main()
