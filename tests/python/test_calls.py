"""Real calls through a local acscalling-service: audio both ways, mute, hold, hang-up, the
echo bot, declined / unknown / unreachable callees, manual dispatch, token revocation.

Skips only when the library or the service binary is not built. Waits poll with generous
timeouts (10 s) so a loaded 2-core machine does not flake; no fixed sleeps beyond the short
listening windows used to measure tones.
"""

import threading
import uuid

import pytest

import acscalling
from acscalling import CallDirection, CallState, ConnectionState, EventKind, ParticipantState
from acscalling.testing import EventRecorder, closed_port_url, fake_token, recent_power, wait_for_power, wait_until
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 10.0
HEARD = 0.01  # power of a tone at amplitude 0.5 is about 0.1; anything above this is "heard"
SILENT = 0.001
ALICE_HZ, BOB_HZ, ECHO_HZ = 440.0, 660.0, 523.0


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


class Party:
    """One user in this process: a client, an agent, a tone microphone and a pull speaker."""

    def __init__(self, service, name, freq, dispatch="thread"):
        self.name = name
        self.freq = freq
        self.client = acscalling.CallClient(dispatch=dispatch)
        self.events = EventRecorder()
        try:
            self.user_id, token = service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone(f"{name} tone {freq:g} Hz", freq, 0.5)
            self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
            self.agent = self.client.create_call_agent(service.service_url, token, name, on_event=self.events)
            self.wait(lambda: self.agent.connection_state == ConnectionState.CONNECTED, f"{name} connected")
        except BaseException:
            self.events.clear()
            self.client.close()
            raise

    def wait(self, pred, what="", timeout=TIMEOUT):
        return self.client.wait_for(pred, timeout=timeout, what=what)

    def wait_state(self, call, state, what=""):
        self.wait(lambda: call.state == state, what or f"{self.name}'s call {state.name}")

    def call_states(self, call):
        return [e.state for e in self.events.of(EventKind.CALL_STATE_CHANGED) if e.call == call]

    def auto_accept(self):
        self.agent.on("incoming_call", lambda ev: ev.call.accept(microphone=self.mic, speaker=self.speaker))

    def close(self):
        errors = list(self.client.callback_errors)
        # Close first: an event delivered between a clear and the close would keep handles.
        self.client.close()
        self.events.clear()
        assert not errors, f"{self.name}'s event handlers raised: {errors!r}"


@pytest.fixture
def alice(service):
    p = Party(service, "Alice", ALICE_HZ)
    yield p
    p.close()


@pytest.fixture
def bob(service):
    p = Party(service, "Bob", BOB_HZ)
    yield p
    p.close()


@pytest.fixture
def connected(alice, bob):
    """Alice calls Bob, Bob accepts from his incoming-call event; both CONNECTED."""
    bob.auto_accept()
    a_call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    incoming = bob.events.wait(EventKind.INCOMING_CALL, timeout=TIMEOUT)
    b_call = incoming.call
    alice.wait_state(a_call, CallState.CONNECTED)
    bob.wait_state(b_call, CallState.CONNECTED)
    yield a_call, b_call
    for party, call in ((alice, a_call), (bob, b_call)):
        if call.state not in (CallState.DISCONNECTED,):
            try:
                call.hang_up()
            except acscalling.AcsError:
                pass


def hears(party, freq, min_power=HEARD):
    return wait_for_power(party.speaker, freq, lambda p: p > min_power, timeout=TIMEOUT)


def silent_at(party, freq):
    # Two quiet windows in a row: the jitter buffer may still hold a little of the tone.
    return wait_for_power(party.speaker, freq, lambda p: p < SILENT, timeout=TIMEOUT, settle=2)


def test_call_connects_and_audio_flows_both_ways(alice, bob, connected):
    a_call, b_call = connected
    assert a_call.direction == CallDirection.OUTGOING and b_call.direction == CallDirection.INCOMING
    assert a_call.id and a_call.id == b_call.id
    assert a_call.agent is alice.agent
    assert CallState.CONNECTED in alice.call_states(a_call)
    incoming = bob.events.find(EventKind.INCOMING_CALL)
    assert incoming.state == CallState.INCOMING
    # Rosters: each side sees the other, connected, with the display name it signed in with.
    a_parts = alice.wait(lambda: a_call.remote_participants, "Alice's roster")
    b_parts = bob.wait(lambda: b_call.remote_participants, "Bob's roster")
    assert [p.identifier for p in a_parts] == [bob.user_id]
    assert [p.identifier for p in b_parts] == [alice.user_id]
    assert a_parts[0].display_name == "Bob" and b_parts[0].display_name == "Alice"
    alice.wait(lambda: a_call.remote_participants[0].state == ParticipantState.CONNECTED)
    assert a_parts[0].end_reason == (0, 0)
    assert alice.agent.calls == [a_call] and bob.agent.calls == [b_call]
    # Audio: each hears the other's tone, not its own.
    a_hears_bob = hears(alice, BOB_HZ)
    b_hears_alice = hears(bob, ALICE_HZ)
    a_own = recent_power(alice.speaker, ALICE_HZ)
    b_own = recent_power(bob.speaker, BOB_HZ)
    assert a_own < a_hears_bob / 10, (a_own, a_hears_bob)
    assert b_own < b_hears_alice / 10, (b_own, b_hears_alice)
    stats = a_call.audio_stats
    assert stats.frames_sent > 0 and stats.frames_received > 0 and stats.frames_played > 0


def test_media_statistics_events_and_sample(alice, bob, connected):
    """ACS's media statistics through the C ABI: events every interval set, each naming the
    call, and a sample that describes the audio flowing both ways."""
    a_call, _ = connected
    assert hears(bob, ALICE_HZ)
    a_call.set_media_statistics_interval(200)
    alice.wait(lambda: len([e for e in alice.events.of(EventKind.MEDIA_STATISTICS) if e.call == a_call]) >= 5,
               "five media statistics events")
    s = a_call.media_statistics
    assert s is not None
    assert s.audio_packets_sent > 50 and s.audio_packets_received > 50, s
    assert s.audio_send_bitrate_bps > 8000 and s.audio_receive_bitrate_bps > 8000, s
    assert s.audio_frames_played > 50 and s.audio_packets_lost >= 0, s
    assert 0 <= s.audio_jitter_ms < 100, s
    assert s.rtt_ms is not None and 0 <= s.rtt_ms < 100, s
    assert s.video_packets_sent == 0 and s.video_receive_streams == 0, s
    # 0 stops the events; the sample keeps being refreshed.
    a_call.set_media_statistics_interval(0)
    alice.wait(lambda: a_call.media_statistics.timestamp_ms > s.timestamp_ms, "a newer sample")
    n = len(alice.events.of(EventKind.MEDIA_STATISTICS))
    alice.wait(lambda: a_call.media_statistics.timestamp_ms > s.timestamp_ms + 1000, "a sample a second on")
    assert len(alice.events.of(EventKind.MEDIA_STATISTICS)) <= n + 1
    with pytest.raises(ValueError):
        a_call.set_media_statistics_interval(-1)


def test_mute_and_unmute(alice, bob, connected):
    a_call, b_call = connected
    hears(bob, ALICE_HZ)
    a_call.mute()
    assert a_call.is_muted
    alice.events.wait(EventKind.CALL_MUTE_CHANGED, lambda e: e.call == a_call and e.flag)
    bob.events.wait(EventKind.PARTICIPANT_MUTE_CHANGED, lambda e: e.flag)
    bob.wait(lambda: b_call.remote_participants[0].is_muted, "Bob sees Alice muted")
    silent_at(bob, ALICE_HZ)
    hears(alice, BOB_HZ)  # Bob is not muted
    a_call.unmute()
    assert not a_call.is_muted
    bob.events.wait(EventKind.PARTICIPANT_MUTE_CHANGED, lambda e: not e.flag)
    bob.wait(lambda: not b_call.remote_participants[0].is_muted, "Bob sees Alice unmuted")
    hears(bob, ALICE_HZ)


def test_start_muted(alice, bob):
    bob.agent.on("incoming_call", lambda ev: ev.call.accept(microphone=bob.mic, speaker=bob.speaker, muted=True))
    a_call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    b_call = bob.events.wait(EventKind.INCOMING_CALL).call
    bob.wait_state(b_call, CallState.CONNECTED)
    assert b_call.is_muted
    alice.wait(lambda: a_call.remote_participants and a_call.remote_participants[0].is_muted, "Alice sees Bob muted")
    silent_at(alice, BOB_HZ)
    hears(bob, ALICE_HZ)
    a_call.hang_up()
    bob.wait_state(b_call, CallState.DISCONNECTED)


def test_hold_and_resume(alice, bob, connected):
    a_call, b_call = connected
    hears(bob, ALICE_HZ)
    a_call.hold()
    alice.wait_state(a_call, CallState.LOCAL_HOLD)
    bob.wait_state(b_call, CallState.REMOTE_HOLD)
    bob.wait(lambda: b_call.remote_participants[0].state == ParticipantState.HOLD, "Bob sees Alice on hold")
    bob.events.wait(EventKind.PARTICIPANT_STATE_CHANGED, lambda e: e.state == ParticipantState.HOLD)
    silent_at(bob, ALICE_HZ)
    silent_at(alice, BOB_HZ)  # media stops both ways
    with pytest.raises(acscalling.InvalidStateError):
        b_call.resume()  # only the side that put the call on hold resumes it
    a_call.resume()
    alice.wait_state(a_call, CallState.CONNECTED)
    bob.wait_state(b_call, CallState.CONNECTED)
    bob.wait(lambda: b_call.remote_participants[0].state == ParticipantState.CONNECTED)
    hears(bob, ALICE_HZ)
    hears(alice, BOB_HZ)


def test_hang_up(alice, bob, connected):
    a_call, b_call = connected
    alice_participant = bob.wait(lambda: b_call.remote_participants, "Bob's roster")[0]
    a_call.hang_up()
    alice.wait_state(a_call, CallState.DISCONNECTED)
    bob.wait_state(b_call, CallState.DISCONNECTED)
    assert a_call.end_reason == (0, 0), "the side that hangs up ends with 0/0"
    assert b_call.end_reason.code == 0, f"the other side hung up: {b_call.end_reason}"
    ended = bob.events.wait(EventKind.CALL_STATE_CHANGED, lambda e: e.state == CallState.DISCONNECTED)
    assert ended.code == 0 and ended.reason == b_call.end_reason
    removed = bob.events.wait(EventKind.PARTICIPANT_REMOVED)
    assert removed.participant == alice_participant
    assert removed.participant.identifier == alice.user_id
    assert removed.code == 0
    assert alice_participant.end_reason.code == 0
    assert alice.agent.calls == [] and bob.agent.calls == []
    with pytest.raises(acscalling.InvalidStateError):
        a_call.hold()


def test_echo_bot(service, alice):
    mic = alice.client.device_manager.create_tone_microphone("echo tone", ECHO_HZ, 0.5)
    call = alice.agent.start_call(acscalling.ECHO_BOT_ID, microphone=mic, speaker=alice.speaker)
    alice.wait_state(call, CallState.CONNECTED)
    parts = alice.wait(lambda: call.remote_participants, "the echo bot in the roster")
    assert parts[0].identifier == acscalling.ECHO_BOT_ID
    power = wait_for_power(alice.speaker, ECHO_HZ, lambda p: p > HEARD, timeout=TIMEOUT, window=0.5)
    assert power > HEARD
    call.hang_up()
    alice.wait_state(call, CallState.DISCONNECTED)
    assert call.end_reason == (0, 0)


def test_declined_call_ends_603(alice, bob):
    bob.agent.on("incoming_call", lambda ev: ev.call.reject())
    a_call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    alice.wait_state(a_call, CallState.DISCONNECTED)
    assert a_call.end_reason.code == 603
    ended = alice.events.wait(EventKind.CALL_STATE_CHANGED, lambda e: e.state == CallState.DISCONNECTED)
    assert ended.code == 603
    b_call = bob.events.find(EventKind.INCOMING_CALL).call
    bob.wait_state(b_call, CallState.DISCONNECTED)


def test_caller_cancels_before_answer(alice, bob):
    a_call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    b_call = bob.events.wait(EventKind.INCOMING_CALL).call
    assert b_call.state == CallState.INCOMING
    with pytest.raises(acscalling.InvalidStateError):
        b_call.hold()
    a_call.hang_up()
    alice.wait_state(a_call, CallState.DISCONNECTED)
    bob.wait_state(b_call, CallState.DISCONNECTED)
    assert b_call.end_reason.code == 487, b_call.end_reason


def test_unknown_callee_ends_404(alice):
    call = alice.agent.start_call(f"8:acs:{uuid.uuid4()}", microphone=alice.mic, speaker=alice.speaker)
    alice.wait_state(call, CallState.DISCONNECTED)
    assert call.end_reason.code == 404


def test_malformed_callee_is_invalid_argument(alice):
    with pytest.raises(acscalling.InvalidArgumentError):
        alice.agent.start_call("not an id", microphone=alice.mic, speaker=alice.speaker)


def test_service_down_gives_503():
    with acscalling.CallClient() as client:
        events = EventRecorder()
        dm = client.device_manager
        mic = dm.create_tone_microphone("tone", ALICE_HZ, 0.5)
        spk = dm.create_pull_speaker("spk", 1000)
        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice", on_event=events)
        # Race on purpose: start_call either is refused (already disconnected) or the call ends 503.
        try:
            call = agent.start_call(acscalling.ECHO_BOT_ID, microphone=mic, speaker=spk)
        except acscalling.NetworkError:
            call = None
        down = events.wait(
            EventKind.CONNECTION_STATE_CHANGED, lambda e: e.state == ConnectionState.DISCONNECTED, timeout=TIMEOUT
        )
        assert down.code == 503
        if call is not None:
            client.wait_for(lambda: call.state == CallState.DISCONNECTED, TIMEOUT)
            assert call.end_reason.code == 503
        with pytest.raises(acscalling.NetworkError):
            agent.start_call(acscalling.ECHO_BOT_ID, microphone=mic, speaker=spk)
        events.clear()


def test_manual_dispatch_echo_call(service):
    caller = Party(service, "Manual", ECHO_HZ, dispatch="manual")
    try:
        threads = set()
        caller.agent.on("*", lambda ev: threads.add(threading.get_ident()))
        call = caller.agent.start_call(acscalling.ECHO_BOT_ID, microphone=caller.mic, speaker=caller.speaker)
        caller.wait_state(call, CallState.CONNECTED)
        assert caller.events.find(EventKind.CALL_STATE_CHANGED, lambda e: e.state == CallState.CONNECTED)
        assert threads == {threading.get_ident()}, "manual mode delivers on the dispatching thread"

        def heard():
            caller.client.dispatch_events(0)
            return recent_power(caller.speaker, ECHO_HZ, 0.5) > HEARD

        caller.wait(heard, "the echo of our tone")
        call.hang_up()
        caller.wait_state(call, CallState.DISCONNECTED)
    finally:
        caller.close()


def test_closing_the_client_ends_its_calls(service, bob):
    caller = Party(service, "Carol", ALICE_HZ)
    bob.auto_accept()
    call = caller.agent.start_call(bob.user_id, microphone=caller.mic, speaker=caller.speaker)
    b_call = bob.events.wait(EventKind.INCOMING_CALL).call
    bob.wait_state(b_call, CallState.CONNECTED)
    del call
    caller.close()
    bob.wait_state(b_call, CallState.DISCONNECTED)
    assert b_call.end_reason.code == 0
