"""Virtual devices, PCM in/out and tone_power (needs the audio pipeline; no service)."""

import array
import math

import pytest

import acscalling
from acscalling import SAMPLE_RATE, DeviceKind
from conftest import library_or_skip

library_or_skip()


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def sine(freq, seconds=0.5, amplitude=0.5):
    n = int(SAMPLE_RATE * seconds)
    return array.array("h", (int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / SAMPLE_RATE)) for i in range(n)))


def test_tone_power_of_a_synthetic_sine():
    pcm = sine(440, amplitude=1.0)
    full = acscalling.tone_power(pcm, 440)
    assert 0.3 < full < 0.7, full  # "a full-scale sine ≈ 0.5"
    assert acscalling.tone_power(pcm, 660) < full / 50
    assert acscalling.tone_power(sine(440, amplitude=0.1), 440) < full / 10
    assert acscalling.tone_power(array.array("h", bytes(9600)), 440) < 1e-6
    assert acscalling.tone_power(array.array("h"), 440) == 0.0
    # bytes and lists are accepted too
    assert acscalling.tone_power(pcm.tobytes(), 440) == pytest.approx(full)
    assert acscalling.tone_power(list(pcm), 440) == pytest.approx(full)


def test_virtual_devices_are_listed():
    with acscalling.CallClient() as client:
        dm = client.device_manager
        mic = dm.create_tone_microphone("tone 440", 440.0, 0.5)
        spk = dm.create_pull_speaker("pull", 2000)
        assert mic.name == "tone 440" and mic.kind == DeviceKind.MICROPHONE and mic.is_virtual
        assert spk.name == "pull" and spk.kind == DeviceKind.SPEAKER and spk.is_virtual
        assert not mic.is_default
        assert mic.id and mic.id != spk.id
        assert mic in dm.microphones and spk in dm.speakers
        assert spk not in dm.microphones
        dm.set_microphone(mic)
        dm.set_speaker(spk)
        assert dm.selected_microphone == mic and dm.selected_speaker == spk
        with pytest.raises(acscalling.InvalidArgumentError):
            dm.set_microphone(spk)
        with pytest.raises(acscalling.InvalidArgumentError):
            dm.set_speaker(mic)


def test_device_argument_checks():
    with acscalling.CallClient() as client:
        dm = client.device_manager
        for freq, amp in ((0.0, 0.5), (-1.0, 0.5), (30000.0, 0.5), (440.0, 1.5), (440.0, -0.1), (float("nan"), 0.5)):
            with pytest.raises(acscalling.InvalidArgumentError):
                dm.create_tone_microphone("bad", freq, amp)
        for cap in (0, 600_001):
            with pytest.raises(acscalling.InvalidArgumentError):
                dm.create_pull_speaker("bad", cap)
        with pytest.raises(acscalling.AcsIOError):
            dm.create_wav_microphone("missing", "/nonexistent/dir/x.wav")
        with pytest.raises(acscalling.AcsIOError):
            dm.create_wav_speaker("nowhere", "/nonexistent/dir/out.wav")
        push = dm.create_push_microphone("push")
        with pytest.raises(ValueError):
            push.push_pcm(array.array("h", [0] * 3), channels=2)
        with pytest.raises(ValueError):
            push.push_pcm(array.array("h", [0] * 4), channels=3)


def test_push_microphone_accepts_about_two_seconds():
    with acscalling.CallClient() as client:
        push = client.device_manager.create_push_microphone("push")
        assert push.push_pcm(sine(440, 0.5)) == SAMPLE_RATE // 2
        assert push.push_pcm(bytes(960 * 2)) == 960
        assert push.push_pcm([0] * 960 * 2, channels=2) == 960
        total = sum(push.push_pcm(sine(440, 1.0)) for _ in range(4))
        assert total < 4 * SAMPLE_RATE, "the queue is bounded (about 2 s); the rest is dropped"


def test_pull_speaker_is_empty_before_a_call():
    with acscalling.CallClient() as client:
        spk = client.device_manager.create_pull_speaker("pull", 1000)
        assert len(spk.pull_pcm(960)) == 0
        assert spk.pull_pcm(0) == array.array("h")


def test_wrong_kind_pcm_io_is_refused():
    with acscalling.CallClient() as client:
        dm = client.device_manager
        tone = dm.create_tone_microphone("tone", 440.0, 0.5)
        spk = dm.create_pull_speaker("pull", 1000)
        with pytest.raises(acscalling.AcsError):
            tone.push_pcm(sine(440, 0.02))
        with pytest.raises(acscalling.AcsError):
            tone.pull_pcm(960)
        with pytest.raises(acscalling.AcsError):
            spk.push_pcm(sine(440, 0.02))


def test_callback_speaker_creation():
    with acscalling.CallClient() as client:
        frames = []
        spk = client.device_manager.create_callback_speaker("cb", frames.append)
        assert spk.kind == DeviceKind.SPEAKER and spk.is_virtual
        with pytest.raises(TypeError):
            client.device_manager.create_callback_speaker("cb2", None)
