#!/usr/bin/env python3
"""Calls the echo bot (8:echo123) and checks that what we say comes back.

    python examples-python/echo_bot.py                      # starts a local service itself
    python examples-python/echo_bot.py --wav voice.wav --out echo.wav
    python examples-python/echo_bot.py --service-url ws://127.0.0.1:8080 --access-key KEY

Sends a tone (or a WAV file), records what the bot plays back into a WAV file and exits 0 only
if it heard it: for a tone, that frequency; for a WAV, any sound above the noise floor.
"""

import argparse
import array
import math
import sys
import time
import wave

import _common
from acscalling import ECHO_BOT_ID, SAMPLE_RATE, CallClient, CallState, ConnectionState, tone_power

HEARD = 0.01


def rms(pcm):
    return math.sqrt(sum(s * s for s in pcm) / len(pcm)) / 32768 if pcm else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--service-url", help="ws://host:port of a running service (default: start one)")
    ap.add_argument("--access-key", help="the service's access key (with --service-url)")
    ap.add_argument("--freq", type=float, default=440.0, help="tone frequency in Hz (default 440)")
    ap.add_argument("--wav", help="send this PCM16 WAV file instead of a tone")
    ap.add_argument("--out", default="echo.wav", help="where to record what comes back (default echo.wav)")
    ap.add_argument("--seconds", type=float, default=6.0, help="how long to listen at most (default 6)")
    args = ap.parse_args()

    with _common.Service(args.service_url, args.access_key) as svc, CallClient() as client:
        user_id, token = svc.identity.create_user_with_token()
        dm = client.device_manager
        if args.wav:
            mic = dm.create_wav_microphone("wav", args.wav, looped=True)
            what = f"the WAV file {args.wav}"
        else:
            mic = dm.create_tone_microphone("tone", args.freq, 0.5)
            what = f"our {args.freq:g} Hz tone"
        speaker = dm.create_pull_speaker("echo", 10_000)

        agent = client.create_call_agent(svc.service_url, token, "Echo tester")
        client.wait_for(lambda: agent.connection_state != ConnectionState.CONNECTING, 10, what="sign-in")
        if agent.connection_state != ConnectionState.CONNECTED:
            sys.exit(f"could not sign in to {svc.service_url}")
        print(f"signed in as {user_id}; calling {ECHO_BOT_ID}")

        call = agent.start_call(ECHO_BOT_ID, microphone=mic, speaker=speaker)
        agent.on("call_state_changed", lambda ev: print(f"  call state: {ev.state.name}" + (f" (reason {ev.code}/{ev.subcode})" if ev.state == CallState.DISCONNECTED else "")))
        client.wait_for(lambda: call.state in (CallState.CONNECTED, CallState.DISCONNECTED), 15, what="the call to connect")
        if call.state != CallState.CONNECTED:
            sys.exit(f"the call did not connect: end reason {call.end_reason}")
        connected_at = time.monotonic()

        recorded = array.array("h")
        heard_after, heard_power = None, 0.0
        window = int(SAMPLE_RATE * 0.5)
        speaker.drain()
        while time.monotonic() - connected_at < args.seconds:
            time.sleep(0.1)
            recorded.extend(speaker.pull_pcm(SAMPLE_RATE))
            tail = recorded[-window:]
            if len(tail) < window:
                continue
            level = rms(tail) if args.wav else tone_power(tail, args.freq)
            if level > (0.01 if args.wav else HEARD):
                if heard_after is None:
                    heard_after, heard_power = time.monotonic() - connected_at, level
                elif time.monotonic() - connected_at > heard_after + 1.0:
                    break  # heard it, and recorded a second more of it
        stats = call.audio_stats  # before hanging up: the counters go with the call's media
        call.hang_up()
        client.wait_for(lambda: call.state == CallState.DISCONNECTED, 10, what="hang-up")

    with wave.open(args.out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(recorded.tobytes())
    print(f"recorded {len(recorded) / SAMPLE_RATE:.1f} s of the echo into {args.out} "
          f"(frames sent {stats.frames_sent}, received {stats.frames_received})")
    if heard_after is None:
        print(f"FAILED: did not hear {what} back within {args.seconds:g} s")
        return 1
    unit = "level" if args.wav else "power"
    print(f"heard {what} back after {heard_after:.1f} s, {unit} {heard_power:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
