"""Group calls from Python through the C ABI and a real local service: four parties join by
group id (one late), hear each other, share one roster, follow the dominant speaker and the
speaking flags, one is removed; a 1:1 call is promoted by adding a third party, with its
audio intact; invitations that cannot ring come back with reasons."""

import uuid

import pytest

import acscalling
from acscalling import CallState, EventKind, ParticipantState
from acscalling.testing import EventRecorder, wait_for_power
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 15.0
HEARD = 0.005
SILENT = 0.001
FREQS = {"Alice": 440.0, "Bob": 550.0, "Carol": 660.0, "Dave": 770.0}


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


class Member:
    def __init__(self, service, name, auto_accept=False):
        self.name = name
        self.freq = FREQS[name]
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        self.user_id, token = service.identity.create_user_with_token()
        dm = self.client.device_manager
        self.mic = dm.create_tone_microphone(f"{name} mic", self.freq, 0.5)
        self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
        self.agent = self.client.create_call_agent(service.service_url, token, name, on_event=self.events)
        self.wait(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, "connected")
        if auto_accept:
            self.agent.on("incoming_call", lambda ev: ev.call.accept(microphone=self.mic, speaker=self.speaker))

    def wait(self, pred, what=""):
        return self.client.wait_for(pred, timeout=TIMEOUT, what=f"{self.name}: {what}")

    def join(self, group):
        return self.agent.join(group, microphone=self.mic, speaker=self.speaker)

    def hears(self, other):
        return wait_for_power(self.speaker, other.freq, lambda p: p > HEARD, timeout=TIMEOUT)

    def silent(self, other):
        return wait_for_power(self.speaker, other.freq, lambda p: p < SILENT, timeout=TIMEOUT, settle=2)

    def close(self):
        errors = list(self.client.callback_errors)
        # Close first: an event delivered between a clear and the close would keep handles.
        self.client.close()
        self.events.clear()
        assert not errors, f"{self.name}'s event handlers raised: {errors!r}"


@pytest.fixture
def members(service):
    made = []

    def make(name, auto_accept=False):
        m = Member(service, name, auto_accept)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def roster(call):
    return sorted((p.identifier, p.display_name, int(p.state)) for p in call.remote_participants)


def test_four_parties_roster_dominant_speaker_and_remove(members):
    m = [members(n) for n in ("Alice", "Bob", "Carol", "Dave")]
    group = str(uuid.uuid4())
    calls = [x.join(group) for x in m[:3]]
    for x, c in zip(m, calls):
        x.wait(lambda c=c: c.state == CallState.CONNECTED, "joined")
    calls.append(m[3].join(group))  # Dave joins late
    m[3].wait(lambda: calls[3].state == CallState.CONNECTED, "late join")
    assert calls[3].id == group and calls[3].is_group_call
    for i, (x, c) in enumerate(zip(m, calls)):
        want = sorted((y.user_id, y.name, int(ParticipantState.CONNECTED)) for j, y in enumerate(m) if j != i)
        x.wait(lambda c=c, want=want: roster(c) == want, f"full roster {roster(c)}")
    for i, x in enumerate(m):
        for j, y in enumerate(m):
            if i != j:
                x.hears(y)

    # Only Bob speaks: dominant everywhere, speaking flag set, event raised.
    for i in (0, 2, 3):
        calls[i].mute()
    for i in (0, 2, 3):
        m[i].wait(lambda c=calls[i]: c.dominant_speakers.speakers[:1] == [m[1].user_id], "Bob dominant")
        bob = next(p for p in calls[i].remote_participants if p.identifier == m[1].user_id)
        m[i].wait(lambda bob=bob: bob.is_speaking, "Bob speaking")
        m[i].events.wait(EventKind.DOMINANT_SPEAKERS_CHANGED, timeout=TIMEOUT)
        m[i].events.wait(
            EventKind.PARTICIPANT_SPEAKING_CHANGED,
            lambda e: e.flag and e.participant.identifier == m[1].user_id,
            timeout=TIMEOUT,
        )
    assert calls[0].dominant_speakers.timestamp_ms > 0
    m[0].silent(m[2])
    m[0].hears(m[1])

    # Alice removes Carol: Carol's call ends with (0, 5300), the others see why she left.
    carol = next(p for p in calls[0].remote_participants if p.identifier == m[2].user_id)
    calls[0].remove_participant(carol)
    m[2].wait(lambda: calls[2].state == CallState.DISCONNECTED, "removed")
    assert calls[2].end_reason == (0, 5300)
    for i in (0, 1, 3):
        ev = m[i].events.wait(
            EventKind.PARTICIPANT_REMOVED, lambda e: e.participant.identifier == m[2].user_id, timeout=TIMEOUT
        )
        assert ev.reason == (0, 5300)
    assert len(calls[0].remote_participants) == 2
    for c in (calls[0], calls[1], calls[3]):
        c.hang_up()
    with pytest.raises(acscalling.InvalidArgumentError):
        m[0].agent.join("not a uuid")


def test_promote_one_to_one_and_failed_invitations(members, service):
    alice, bob, carol = members("Alice"), members("Bob", auto_accept=True), members("Carol", auto_accept=True)
    call = alice.agent.start_call(bob.user_id, microphone=alice.mic, speaker=alice.speaker)
    alice.wait(lambda: call.state == CallState.CONNECTED, "1:1 connected")
    assert not call.is_group_call
    alice.hears(bob)
    p = call.add_participant(carol.user_id)
    assert p.identifier == carol.user_id
    alice.events.wait(
        EventKind.PARTICIPANT_STATE_CHANGED,
        lambda e: e.participant.identifier == carol.user_id and e.state == ParticipantState.RINGING,
        timeout=TIMEOUT,
    )
    alice.wait(lambda: p.state == ParticipantState.CONNECTED, "Carol connected")
    assert call.is_group_call and call.state == CallState.CONNECTED
    alice.hears(bob)
    alice.hears(carol)
    c_call = carol.events.wait(EventKind.INCOMING_CALL, timeout=TIMEOUT).call
    carol.wait(lambda: c_call.state == CallState.CONNECTED, "Carol in")
    carol.hears(alice)
    carol.hears(bob)

    unknown = f"8:acs:{uuid.uuid4()}"
    call.add_participant(unknown)
    ev = alice.events.wait(EventKind.PARTICIPANT_REMOVED, lambda e: e.participant.identifier == unknown, timeout=TIMEOUT)
    assert ev.code == 404
    offline, _ = service.identity.create_user_with_token()
    call.add_participant(offline)
    ev = alice.events.wait(EventKind.PARTICIPANT_REMOVED, lambda e: e.participant.identifier == offline, timeout=TIMEOUT)
    assert ev.code == 480
    with pytest.raises(acscalling.InvalidArgumentError):
        call.add_participant(bob.user_id)
    with pytest.raises(acscalling.InvalidArgumentError):
        call.add_participant("nobody")
    call.hang_up()
    c_call.hang_up()
