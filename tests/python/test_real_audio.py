"""Real devices from Python: the private sound server of scripts/sound-server.sh (started here;
a failure to start fails the tests). A tone played into a real room sink is captured by a real
microphone, sent through the service and heard in Bob's real speaker (recorded with parec);
echo cancellation is switched from Python; a hot-plugged sink raises device events."""

import array
import math
import os
import subprocess
import threading
import time

import pytest

import acscalling
from acscalling import AudioProcessing, DeviceEventKind, PermissionState
from conftest import REPO, service_binary_or_skip

service_binary_or_skip()


@pytest.fixture(scope="module", autouse=True)
def sound_server():
    out = subprocess.run(["bash", str(REPO / "scripts" / "sound-server.sh"), "start"],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, f"the sound server did not start: {out.stderr}"
    saved = {}
    for line in out.stdout.splitlines():
        k, _, v = line.removeprefix("export ").partition("=")
        saved[k] = os.environ.get(k)
        os.environ[k] = v.strip("'")
    yield
    for k, v in saved.items():  # later modules see the headless machine again
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Tone:
    """A sine played into a sink with pacat until stopped."""

    def __init__(self, sink, freq, amplitude):
        self.p = subprocess.Popen(["pacat", "--playback", "-d", sink, "--raw", "--format=s16le",
                                   "--rate=48000", "--channels=1", "--latency-msec=40"],
                                  stdin=subprocess.PIPE)
        self.stop = False
        chunk = array.array("h", (int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / 48000))
                                  for i in range(48000))).tobytes()  # a whole number of cycles
        def feed():
            try:
                while not self.stop:
                    self.p.stdin.write(chunk)
            except (BrokenPipeError, ValueError):
                pass
        self.t = threading.Thread(target=feed, daemon=True)
        self.t.start()

    def close(self):
        self.stop = True
        self.p.kill()
        self.p.wait()


def record(source, ms=600):
    """ms of mono 48 kHz from a monitor source, after 100 ms of start-up."""
    p = subprocess.Popen(["parec", "-d", source, "--raw", "--format=s16le", "--rate=48000",
                          "--channels=1", "--latency-msec=20"], stdout=subprocess.PIPE)
    try:
        want = 2 * 48 * (ms + 100)
        data = b""
        deadline = time.monotonic() + ms / 1000 + 10
        while len(data) < want and time.monotonic() < deadline:
            data += p.stdout.read(want - len(data))
        return array.array("h", data[2 * 48 * 100:])
    finally:
        p.kill()
        p.wait()


def heard(source, freq):
    return max(acscalling.tone_power(record(source), freq) for _ in range(3))


def by_cpal_name(devices, name):
    found = [d for d in devices if d.id.endswith(":" + name)]
    assert found, f"no {name} in {[d.id for d in devices]}"
    return found[0]


def wait_for(pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def connect(service, a_mic, a_spk, b_mic, b_spk, alice_client, bob_client):
    _, a_token = service.identity.create_user_with_token()
    b_id, b_token = service.identity.create_user_with_token()
    incoming = []
    alice = alice_client.create_call_agent(service.service_url, a_token, "Alice")
    bob = bob_client.create_call_agent(service.service_url, b_token, "Bob",
                                       on_event=lambda ev: ev.kind == acscalling.EventKind.INCOMING_CALL
                                       and incoming.append(ev.call))
    assert wait_for(lambda: alice.connection_state == acscalling.ConnectionState.CONNECTED
                    and bob.connection_state == acscalling.ConnectionState.CONNECTED)
    call = alice.start_call(b_id, microphone=a_mic, speaker=a_spk)
    assert wait_for(lambda: incoming)
    incoming[0].accept(microphone=b_mic, speaker=b_spk)
    assert wait_for(lambda: call.state == acscalling.CallState.CONNECTED
                    and incoming[0].state == acscalling.CallState.CONNECTED)
    return call, incoming[0], alice, bob


def test_real_devices_permission_and_a_call_heard_in_a_real_speaker(service):
    with acscalling.CallClient() as ca, acscalling.CallClient() as cb:
        dm = ca.device_manager
        room = by_cpal_name(dm.microphones, "acs_room.monitor")
        assert room.is_default and not room.is_virtual
        assert by_cpal_name(dm.speakers, "acs_spk").is_default
        access = dm.ask_device_permission(audio=True, video=True)
        assert access.audio.state == PermissionState.GRANTED, access.audio.reason
        if not dm.cameras:
            assert access.video.state == PermissionState.NO_DEVICE and "no camera" in access.video.reason
        spk = by_cpal_name(cb.device_manager.speakers, "acs_spk")
        spk2 = by_cpal_name(cb.device_manager.speakers, "acs_spk2")
        assert dm.audio_processing == AudioProcessing()  # all on by default
        # Noise suppression rightly takes a steady test tone for noise: keep the rest on.
        dm.audio_processing = AudioProcessing(noise_suppression=False)
        tone = Tone("acs_room", 440, 0.3)
        try:
            call, bcall, alice, bob = connect(service, room, ca.device_manager.create_pull_speaker("a-ear"),
                                              cb.device_manager.create_tone_microphone("b", 660, 0.3), spk, ca, cb)
            assert call.audio_processing == AudioProcessing(noise_suppression=False)
            assert call.audio_processing_active
            p = heard("acs_spk.monitor", 440)
            assert p > 0.001, p
            bcall.set_speaker(spk2)
            p2 = heard("acs_spk2.monitor", 440)
            assert p2 > 0.001 and heard("acs_spk.monitor", 440) < p2 / 100
            call.audio_processing = AudioProcessing(False, False, False)
            assert not call.audio_processing_active
            assert call.audio_processing == AudioProcessing(False, False, False)
            call.hang_up()
            assert wait_for(lambda: call.state == acscalling.CallState.DISCONNECTED)
            with pytest.raises(acscalling.InvalidStateError):
                call.audio_processing = AudioProcessing()
            alice.close()
            bob.close()
        finally:
            tone.close()


def test_a_hot_plugged_sink_raises_device_events():
    with acscalling.CallClient() as client:
        dm = client.device_manager
        events = []
        dm.on_device_event = events.append
        module = subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=acs_py_plug",
                                 "rate=48000"], capture_output=True, text=True, check=True).stdout.strip()
        try:
            def seen(kind, suffix):
                return any(e.kind == kind and e.device is not None and e.device.id.endswith(suffix)
                           for e in list(events))
            assert wait_for(lambda: seen(DeviceEventKind.AUDIO_DEVICE_ADDED, ":acs_py_plug"))
            assert wait_for(lambda: seen(DeviceEventKind.AUDIO_DEVICE_ADDED, ":acs_py_plug.monitor"))
            added = [e.device for e in events if e.device.id.endswith(":acs_py_plug")][0]
            assert added.kind == acscalling.DeviceKind.SPEAKER and added in dm.speakers
        finally:
            subprocess.run(["pactl", "unload-module", module], check=True)
        dm.refresh_devices()
        assert wait_for(lambda: seen(DeviceEventKind.AUDIO_DEVICE_REMOVED, ":acs_py_plug"))
        assert added not in dm.speakers
        dm.on_device_event = None
        assert dm.refresh_devices() == 0
        events.clear()
