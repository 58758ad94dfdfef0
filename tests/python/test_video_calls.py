"""Video in calls from Python through the C ABI and a real local service: Alice sends the
SDK's virtual camera, Bob sees it become available, renders it and reads increasing frame
counters; a switch to pushed frames reaches Bob; stop makes it unavailable; a third party
renders both others; the echo bot shows your own video back."""

import time
import uuid

import pytest

import acscalling
from acscalling import EventKind, LocalVideoStream, PixelFormat, ScalingMode, VideoStreamKind
from acscalling.testing import EventRecorder
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 20.0


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


class Party:
    def __init__(self, service, name):
        self.name = name
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        self.user_id, token = service.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} mic", 440.0, 0.3)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(service.service_url, token, name, on_event=self.events)
        self.wait(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, "connected")

    def wait(self, pred, what=""):
        return self.client.wait_for(pred, timeout=TIMEOUT, what=f"{self.name}: {what}")

    def join(self, group):
        call = self.agent.join(group, microphone=self.mic, speaker=self.speaker, muted=True)
        self.wait(lambda: call.state == acscalling.CallState.CONNECTED, "connected")
        return call

    def camera_of(self, call, who):
        def find():
            for p in call.remote_participants:
                if p.identifier == who.user_id:
                    s = p.video_stream(VideoStreamKind.VIDEO)
                    if s.is_available:
                        return s
            return None

        self.wait(lambda: find() is not None, f"{who.name}'s camera available")
        return find()

    def close(self):
        errors = list(self.client.callback_errors)
        # Close first: events still being delivered (others leaving, streams becoming
        # unavailable) would otherwise land in the recorder after it was cleared and keep
        # their handles.
        self.client.close()
        self.events.clear()
        assert not errors, f"{self.name}'s event handlers raised: {errors!r}"


@pytest.fixture
def parties(service):
    made = []

    def make(name):
        p = Party(service, name)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def counters_from(view, want, deadline=TIMEOUT):
    """Pulls frames from a view like a render loop until `want` counters were read."""
    got = []
    end = time.monotonic() + deadline
    while len(got) < want and time.monotonic() < end:
        frame = view.take_latest_frame()
        if frame is None:
            time.sleep(0.005)
            continue
        with frame:
            c = frame.read_test_pattern_counter()
            if c is not None:
                got.append((c, frame.width, frame.height))
    return got


def test_virtual_camera_is_rendered_by_the_other_party_and_follows_switch_and_stop(parties):
    alice, bob = parties("Alice"), parties("Bob")
    group = str(uuid.uuid4())
    ca, cb = alice.join(group), bob.join(group)
    with LocalVideoStream.virtual(640, 360, 30) as cam:
        ca.start_video(cam)
        assert ca.is_sending_video()
        stream = bob.camera_of(cb, alice)
        assert stream.kind == VideoStreamKind.VIDEO and stream.id == 1
        assert stream.participant_id == alice.user_id
        bob.wait(lambda: any(e.kind == EventKind.REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED and e.flag
                             and e.stream is not None and e.stream.participant_id == alice.user_id
                             for e in bob.events.events), "availability event")
        renderer = stream.create_renderer()
        assert stream.is_subscribed
        view = renderer.create_view(320, 180, PixelFormat.RGBA, ScalingMode.FIT)
        got = counters_from(view, 20)
        assert len(got) >= 20, f"rendered {got} {stream.stats()}"
        counters = [g[0] for g in got]
        assert counters == sorted(counters) and len(set(counters)) == len(counters), counters
        assert all((w, h) == (320, 180) for _, w, h in got)
        sent = ca.video_send_stats()
        assert sent.frames_encoded > 10 and (sent.width, sent.height) == (640, 360), sent

        # The stream switches to pushed RGBA frames (a game engine's render): Bob sees them.
        cam.switch_to_pushed()
        src = LocalVideoStream.virtual(480, 270, 30)
        src_view = src.create_renderer().create_view(480, 270, PixelFormat.RGBA, ScalingMode.STRETCH)
        seen_pushed = False
        end = time.monotonic() + TIMEOUT
        while not seen_pushed and time.monotonic() < end:
            f = src_view.take_latest_frame()
            if f is not None:
                with f:
                    cam.push_frame(f.plane_bytes(0), 480, 270, PixelFormat.RGBA)
            out = view.take_latest_frame()
            if out is not None:
                with out:
                    seen_pushed = out.read_test_pattern_counter() is not None and sent.frames_encoded > 0 \
                        and ca.video_send_stats().width == 480
            time.sleep(0.02)
        assert seen_pushed, f"pushed frames reach Bob: {ca.video_send_stats()}"
        src_view.close()
        src.close()

        ca.stop_video()
        assert not ca.is_sending_video()
        bob.wait(lambda: not stream.is_available and not stream.is_subscribed, "unavailable after stop")
        with pytest.raises(acscalling.InvalidStateError):
            stream.subscribe()
        view.close()
        renderer.close()
        stream.close()
    ca.hang_up()
    cb.hang_up()


def test_three_parties_render_each_other(parties):
    ps = [parties(n) for n in ("P0", "P1", "P2")]
    group = str(uuid.uuid4())
    calls = [p.join(group) for p in ps]
    cams = [LocalVideoStream.virtual(320, 180, 15) for _ in ps]
    for c, cam in zip(calls, cams):
        c.start_video(cam)
    views = []
    for i, (p, c) in enumerate(zip(ps, calls)):
        for j, other in enumerate(ps):
            if i != j:
                s = p.camera_of(c, other)
                r = s.create_renderer()
                views.append((i, j, s, r, r.create_view(160, 90, PixelFormat.I420, ScalingMode.CROP)))
    for i, j, s, r, v in views:
        assert len(counters_from(v, 3)) >= 3, f"P{i} renders P{j}: {s.stats()}"
    for _, _, s, r, v in views:
        v.close()
        r.close()
        s.close()
    for c in calls:
        c.hang_up()
    for cam in cams:
        cam.close()


def test_the_echo_bot_shows_your_video_back(parties):
    alice = parties("Alice")
    call = alice.agent.start_call(["8:echo123"], microphone=alice.mic, speaker=alice.speaker)
    alice.wait(lambda: call.state == acscalling.CallState.CONNECTED, "connected")
    with LocalVideoStream.virtual(320, 180, 15) as cam:
        call.start_video(cam)

        def bot_stream():
            for p in call.remote_participants:
                if p.identifier == "8:echo123":
                    s = p.video_stream()
                    if s.is_available:
                        return s
            return None

        alice.wait(lambda: bot_stream() is not None, "echo bot video")
        s = bot_stream()
        r = s.create_renderer()
        v = r.create_view(320, 180, PixelFormat.NV12, ScalingMode.FIT)
        assert len(counters_from(v, 5)) >= 5, s.stats()
        v.close()
        r.close()
        s.close()
        call.hang_up()


def test_a_lossy_path_shows_in_the_senders_nack_counters_and_loss_estimate():
    """The service drops 25% of media packets: Bob's NACKs reach Alice's sender, whose stats
    (through the C struct) count them and report the loss its bitrate control acted on."""
    from acscalling import service as acs_service

    svc = acs_service.LocalService.start(binary=service_binary_or_skip(),
                                         extra_args=["--simulate-loss-percent", "25"])
    alice = bob = None
    try:
        alice, bob = Party(svc, "Alice"), Party(svc, "Bob")
        group = str(uuid.uuid4())
        ca, cb = alice.join(group), bob.join(group)
        with LocalVideoStream.virtual(640, 360, 30) as cam:
            ca.start_video(cam)
            stream = bob.camera_of(cb, alice)
            stream.subscribe()
            alice.wait(lambda: ca.video_send_stats().nacked_packets > 0
                       and ca.video_send_stats().last_loss_estimate > 0,
                       f"NACKs counted: {ca.video_send_stats()}")
            sent = ca.video_send_stats()
            assert sent.loss_reports > 0, sent
            # 25% loss is 64/256 before repair; early windows of a few packets vary widely
            # (NACKs of retransmissions count too), but never near zero.
            assert sent.last_loss_estimate >= 10, sent
            ca.stop_video()
    finally:
        for p in (bob, alice):
            if p is not None:
                p.close()
        svc.stop()
