"""Phone calls from Python through the service's SIP gateway, against a real SIP peer: Debian's
SIPp (`sip-tester`) is the carrier, started by each test on 127.0.0.1 and stopped by its pid.

- A call to a phone number: the carrier's announcement (183 with G.711 audio) is heard while the
  call is EARLY_MEDIA, the phone answers, its key press (RFC 4733 from SIPp's pcap) arrives as a
  DTMF_RECEIVED event, our DTMF goes out, and the phone's hang-up ends the call.
- A phone calls a user's number (assigned over REST): the user accepts and hears its own tone
  echoed by the phone.
- A carrier refusal (486 busy) ends the call with the ACS-style reason (486, 560486).
"""

import math
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import acscalling
from acscalling import CallState, DtmfTone, EventKind, IdentifierKind
from acscalling.service import LocalService
from acscalling.testing import EventRecorder
from conftest import service_binary_or_skip

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = os.path.join(ROOT, "tests", "sipp")
TIMEOUT = 20.0
PHONE = "4:+15551234567"
CALLER_ID = "+15550001000"


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_media_port():
    # SIPp uses the port and the next one (RTP and RTCP).
    for _ in range(100):
        p = free_port() & ~1
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, socket.socket(
                socket.AF_INET, socket.SOCK_DGRAM
            ) as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free media port pair")


class Sipp:
    """SIPp running one scenario of tests/sipp on a free port; its logs in a temporary directory."""

    def __init__(self, scenario, *extra):
        if shutil.which("sipp") is None:
            pytest.skip("sipp not installed (Debian package sip-tester; scripts/setup.sh installs it)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="sipp-py-")
        self.proc = subprocess.Popen(
            ["sipp", "-sf", os.path.join(SCENARIOS, scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1",
             "-p", str(self.port), "-mp", str(free_media_port()), "-m", "1", "-nostdin",
             "-trace_err", "-timeout", "60s", "-timeout_error", *extra],
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.15)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def errors(self):
        out = []
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), errors="replace") as f:
                out.append(f.read())
        return "".join(out)

    def passed(self, timeout=10.0):
        try:
            return self.proc.wait(timeout) == 0
        except subprocess.TimeoutExpired:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Phoner:
    """A user with a tone microphone and a pull speaker, in this process."""

    def __init__(self, service, dispatch, freq=700.0):
        self.client = acscalling.CallClient(dispatch=dispatch)
        self.events = EventRecorder()
        try:
            self.id, token = service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone("phone mic", freq, 0.3)
            self.speaker = dm.create_pull_speaker("phone speaker", 2000)
            self.agent = self.client.create_call_agent(service.service_url, token, "Phoner", on_event=self.events)
            self.wait(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, "connected")
        except BaseException:
            self.close()
            raise

    def wait(self, pred, what=""):
        return self.client.wait_for(pred, timeout=TIMEOUT, what=what)

    def event(self, kind, pred=lambda e: True):
        return self.events.wait(kind, pred, timeout=TIMEOUT, client=self.client)

    def listen(self, seconds):
        """What the speaker played over the next `seconds` (events pumped meanwhile)."""
        self.speaker.pull_pcm(48000 * 4)  # drop what was played before
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.client.dispatch == "manual":
                self.client.dispatch_events(0.05)
            else:
                time.sleep(0.05)
        return self.speaker.pull_pcm(int(48000 * seconds * 2))

    def close(self):
        errors = list(self.client.callback_errors)
        self.client.close()
        self.events.clear()
        assert not errors, f"event handlers raised: {errors!r}"


def rms(pcm):
    return math.sqrt(sum(s * s for s in pcm) / max(len(pcm), 1))


def tone_power(pcm, freq, rate=48000):
    re = im = 0.0
    for n, s in enumerate(pcm):
        ph = 2 * math.pi * freq * n / rate
        re += s * math.cos(ph)
        im += s * math.sin(ph)
    amp = 2 * math.hypot(re, im) / max(len(pcm), 1) / 32768
    return amp * amp / 2


@pytest.fixture
def carrier(request):
    scenario, extra = request.param
    sipp = Sipp(scenario, *extra)
    binary = service_binary_or_skip()
    svc = LocalService.start(binary=binary, extra_args=[
        "--sip-listen", "127.0.0.1:0", "--sip-trunk", f"carrier={sipp.addr}", "--pstn-caller-id", CALLER_ID])
    yield sipp, svc
    svc.stop()
    sipp.stop()


@pytest.mark.parametrize("dispatch", ["thread", "manual"])
@pytest.mark.parametrize("carrier", [("phone_early_media.xml", [])], indirect=True)
def test_early_media_then_dtmf_both_ways_then_the_phone_hangs_up(carrier, dispatch, no_leaks):
    sipp, svc = carrier
    u = Phoner(svc, dispatch)
    try:
        call = u.agent.start_call(PHONE, microphone=u.mic, speaker=u.speaker)
        u.event(EventKind.CALL_STATE_CHANGED, lambda e: e.call == call and e.state == CallState.EARLY_MEDIA)
        assert call.state == CallState.EARLY_MEDIA, sipp.errors()
        # The carrier's announcement (SIPp's G.711 recording) plays before the answer.
        levels = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and call.state == CallState.EARLY_MEDIA:
            levels.append(rms(u.listen(0.3)))
            if levels[-1] > 100:
                break
        assert levels and max(levels) > 100, f"announcement levels {levels}"
        u.event(EventKind.CALL_STATE_CHANGED, lambda e: e.call == call and e.state == CallState.CONNECTED)
        phone = u.wait(lambda: call.remote_participants, "the phone in the roster")[0]
        assert phone.identifier == PHONE
        assert phone.identifier_kind == IdentifierKind.PHONE_NUMBER
        # The phone presses 4: an event with the phone's id.
        ev = u.event(EventKind.DTMF_RECEIVED)
        assert (ev.tone, ev.participant_id, ev.call) == (DtmfTone.NUM4, PHONE, call)
        # Our 9 goes out as RFC 4733 on the phone leg: the service reports it sent.
        rid = call.send_dtmf("9")
        done = u.event(EventKind.DTMF_SEND_COMPLETED, lambda e: e.request_id == rid)
        assert done.succeeded and done.tone is DtmfTone.NUM9, done.message
        # The phone hangs up: a 1:1 call ends as a remote hang-up.
        u.wait(lambda: call.state == CallState.DISCONNECTED, "the phone hung up")
        assert call.end_reason == (0, 4097)
        assert sipp.passed(), sipp.errors()
    finally:
        u.close()


@pytest.mark.parametrize("carrier", [("phone_busy.xml", [])], indirect=True)
def test_a_busy_phone_ends_the_call_with_486(carrier, no_leaks):
    sipp, svc = carrier
    u = Phoner(svc, "thread")
    try:
        call = u.agent.start_call(PHONE, microphone=u.mic, speaker=u.speaker, alternate_caller_id="4:" + CALLER_ID)
        u.wait(lambda: call.state == CallState.DISCONNECTED, "refused")
        assert call.end_reason == (486, 560486)
        assert sipp.passed(), sipp.errors()
    finally:
        u.close()


def test_a_phone_calls_a_users_number_and_is_answered(no_leaks):
    svc = LocalService.start(binary=service_binary_or_skip(), extra_args=[
        "--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"])
    sipp = None
    u = None
    try:
        assert svc.sip_address, "the service printed its SIP address"
        u = Phoner(svc, "thread", freq=900.0)
        assert svc.identity.assign_phone_number(u.id, "4:15551230001") == "+15551230001"
        assert svc.identity.phone_numbers(u.id) == ["+15551230001"]
        u.agent.on("incoming_call", lambda ev: ev.call.accept(microphone=u.mic, speaker=u.speaker))
        sipp = Sipp("phone_calls_in.xml", "-rtp_echo", "-s", "+15551230001", svc.sip_address)
        incoming = u.event(EventKind.INCOMING_CALL)
        call = incoming.call
        u.wait(lambda: call.state == CallState.CONNECTED, "answered")
        assert [p.identifier for p in call.remote_participants] == ["4:+15559876543"]
        # SIPp echoes the phone leg's RTP: we hear our 900 Hz through the phone.
        powers = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            powers.append(tone_power(u.listen(0.4), 900.0))
            if powers[-1] > 0.005:
                break
        assert powers[-1] > 0.005, f"900 Hz back through the phone: {powers}"
        u.wait(lambda: call.state == CallState.DISCONNECTED, "the phone hung up")
        assert call.end_reason == (0, 4097)
        assert sipp.passed(), sipp.errors()
        svc.identity.unassign_phone_number(u.id, "+15551230001")
        assert svc.identity.phone_numbers(u.id) == []
    finally:
        if u is not None:
            u.close()
        if sipp is not None:
            sipp.stop()
        svc.stop()
