"""Rooms from Python (issue 18, part 3): CallAgent.join_room, the lobby (Call.admit,
Call.reject_participant), muting others (Call.mute_participant,
Call.mute_all_remote_participants), RemoteParticipant.role and the events
CALL_MUTED_BY_OTHERS / CALL_ACTION_FAILED.

The issue's meeting: an organizer and two attendees listed in a room with a lobby, and one
unlisted guest who waits in the lobby (IN_LOBBY, hearing nothing and heard by nobody) until
the organizer admits it (an attendee may not: 403); then the guest hears everyone and is
heard. Another unlisted person is turned away (403/10018), a third waits until the lobby
timeout (2 s on a service of its own: 408/10019). Muting others: an attendee may not (403); the organizer
mutes the attendee, who is told, is muted and not heard, then unmutes and is heard again;
a consumer cannot unmute. A room outside its validity window cannot be joined (403).
"""

import time

import pytest

import acscalling
from acscalling import CallAction, CallState, EndReason, EventKind, ParticipantState, RoomRole
from acscalling import service as acs_service
from acscalling.testing import EventRecorder, recent_power, wait_for_power, wait_until
from conftest import service_binary_or_skip

BINARY = service_binary_or_skip()

T = 20.0
HEARD = 0.002
SILENT = 0.0005
LOBBY_TIMEOUT_SECS = 2
LOBBY_REJECTED = EndReason(403, 10018)
LOBBY_TIMEOUT = EndReason(408, 10019)


@pytest.fixture(scope="module")
def rooms_service():
    svc = acs_service.LocalService.start(binary=BINARY)
    yield svc
    svc.stop()


class Party:
    """A client + agent with a tone microphone and a pull speaker, recording its events."""

    def __init__(self, service, name, freq):
        self.name, self.freq = name, freq
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        self.call = None
        try:
            self.id, token = service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
            self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
            self.agent = self.client.create_call_agent(service.service_url, token, name, on_event=self.events)
            wait_until(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, T,
                       what=f"{name} to connect")
        except BaseException:
            self.close()
            raise

    def join(self, locator):
        self.call = self.agent.join_room(locator, microphone=self.mic, speaker=self.speaker)
        return self.call

    def wait_state(self, state):
        wait_until(lambda: self.call.state == state, T, what=f"{self.name}'s call {state.name} (is {self.call.state!r})")

    def sees(self, other):
        """The RemoteParticipant `other` in this party's call, or None."""
        for p in self.call.remote_participants:
            if p.identifier == other.id:
                return p
        return None

    def wait_sees(self, other, pred=lambda p: True, what=""):
        wait_until(lambda: (lambda p: p is not None and pred(p))(self.sees(other)), T,
                   what=f"{self.name} to see {other.name} {what}")
        return self.sees(other)

    def hears(self, freq):
        return wait_for_power(self.speaker, freq, lambda p: p > HEARD, timeout=10)

    def power(self, freq, window=1.5):
        return recent_power(self.speaker, freq, window)

    def failures(self):
        return self.events.of(EventKind.CALL_ACTION_FAILED)

    def close(self):
        self.events.clear()
        self.call = None
        self.client.close()
        self.events.clear()  # anything recorded while closing


def hang_up_all(*people):
    """Everyone leaves; waits until every call has ended (no event in flight while the
    clients close)."""
    for p in people:
        p.call.hang_up()
    for p in people:
        p.wait_state(CallState.DISCONNECTED)
    time.sleep(0.2)


@pytest.fixture
def parties(rooms_service, no_leaks):
    made = []

    def make(name, freq):
        p = Party(rooms_service, name, freq)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def test_the_lobby_meeting(rooms_service, parties):
    org, a1, a2 = parties("Olga", 700.0), parties("Ari", 900.0), parties("Abe", 1100.0)
    guest, turned = parties("Gus", 1300.0), parties("Tom", 500.0)
    room = rooms_service.identity.create_room(
        {org.id: "organizer", a1.id: "attendee", a2.id: "attendee"}, lobby=True)
    assert room["lobby"] is True and room["join_url"].endswith("/meet/" + room["id"])
    org.join(room["join_url"])
    a1.join(room["id"])
    a2.join(room["id"])
    for p in (org, a1, a2):
        p.wait_state(CallState.CONNECTED)
    for p in (org, a1, a2):
        for q in (org, a1, a2):
            if p is not q:
                p.wait_sees(q, lambda r: r.state == ParticipantState.CONNECTED, "connected")
    # Roles are in everyone's roster.
    assert a1.sees(org).role == RoomRole.ORGANIZER
    assert isinstance(a1.sees(org).role, RoomRole)
    assert org.sees(a1).role == RoomRole.ATTENDEE and org.sees(a2).role == RoomRole.ATTENDEE

    # The unlisted guest waits in the lobby, seen waiting by the others.
    guest.join(room["id"])
    guest.wait_state(CallState.IN_LOBBY)
    waiting = org.wait_sees(guest, lambda r: r.state == ParticipantState.IN_LOBBY, "in the lobby")
    assert waiting.role == RoomRole.ATTENDEE
    a1.wait_sees(guest, lambda r: r.state == ParticipantState.IN_LOBBY, "in the lobby")
    # Waiting: no roster, nothing heard, not heard.
    org.hears(900.0)  # the meeting itself is audible (so silence below means something)
    assert guest.call.remote_participants == []
    for f in (700.0, 900.0, 1100.0):
        heard = guest.power(f, 1.0)
        assert heard < SILENT, f"the guest hears {f} Hz from the lobby: {heard}"
    leaked = org.power(1300.0)
    assert leaked < SILENT, f"the guest is heard from the lobby: {leaked}"
    assert guest.call.state == CallState.IN_LOBBY

    # An attendee may not admit: CALL_ACTION_FAILED 403, the guest keeps waiting.
    a1.call.admit(a1.sees(guest))
    wait_until(lambda: a1.failures(), T, what="Ari's admit to be refused")
    (refused,) = a1.failures()
    assert refused.state == CallAction.ADMIT and isinstance(refused.state, CallAction)
    assert (refused.code, refused.participant_id) == (403, guest.id), (refused.code, refused.participant_id, refused.message)
    assert refused.call == a1.call
    time.sleep(0.3)
    assert guest.call.state == CallState.IN_LOBBY
    # Admitting somebody not in the lobby is refused at once.
    with pytest.raises(acscalling.AcsError):
        org.call.admit(org.sees(a2))

    # The organizer admits: the guest is in, hears everyone and is heard.
    org.call.admit(org.sees(guest))
    guest.wait_state(CallState.CONNECTED)
    org.wait_sees(guest, lambda r: r.state == ParticipantState.CONNECTED, "connected")
    wait_until(lambda: len(guest.call.remote_participants) == 3, T, what="the guest's roster")
    for f in (700.0, 900.0, 1100.0):
        guest.hears(f)
    org.hears(1300.0)
    a2.hears(1300.0)
    assert org.sees(guest).role == RoomRole.ATTENDEE
    assert guest.sees(org).role == RoomRole.ORGANIZER
    assert org.failures() == [] and guest.failures() == []

    # Turned away: 403/10018, and gone from the roster.
    turned.join(room["id"])
    org.wait_sees(turned, lambda r: r.state == ParticipantState.IN_LOBBY, "in the lobby")
    org.call.reject_participant(org.sees(turned))
    turned.wait_state(CallState.DISCONNECTED)
    assert turned.call.end_reason == LOBBY_REJECTED, turned.call.end_reason
    wait_until(lambda: org.sees(turned) is None, T, what="Tom gone from Olga's roster")

    # Still one meeting of four.
    assert org.call.state == CallState.CONNECTED
    assert sorted(p.identifier for p in org.call.remote_participants) == sorted([a1.id, a2.id, guest.id])
    hang_up_all(org, a1, a2, guest)


def test_muting_others_and_a_consumer_that_cannot_unmute(rooms_service, parties):
    org, att, con = parties("Olga", 700.0), parties("Ari", 900.0), parties("Cy", 1300.0)
    room = rooms_service.identity.create_room({org.id: "organizer", att.id: "attendee", con.id: "consumer"})
    assert room["lobby"] is False
    for p in (org, att, con):
        p.join(room["id"])
    for p in (org, att, con):
        p.wait_state(CallState.CONNECTED)
    for p, others in ((org, (att, con)), (att, (org, con)), (con, (org, att))):
        for q in others:
            p.wait_sees(q, lambda r: r.state == ParticipantState.CONNECTED, "connected")
    assert org.sees(con).role == RoomRole.CONSUMER and con.sees(org).role == RoomRole.ORGANIZER
    org.hears(900.0)
    con.hears(700.0)

    # The consumer is muted for everyone, is not heard, and cannot unmute.
    assert org.sees(con).is_muted
    assert org.power(1300.0) < SILENT
    try:
        con.call.unmute()
    except acscalling.AcsError:
        pass
    time.sleep(0.7)
    assert org.sees(con).is_muted, "the consumer got unmuted"
    assert org.power(1300.0) < SILENT, "the consumer is heard after trying to unmute"

    # The attendee may not mute the organizer: CALL_ACTION_FAILED 403.
    att.call.mute_participant(att.sees(org))
    wait_until(lambda: att.failures(), T, what="Ari's mute to be refused")
    (refused,) = att.failures()
    assert refused.state == CallAction.MUTE_OTHERS
    assert (refused.code, refused.participant_id) == (403, org.id), (refused.code, refused.participant_id, refused.message)
    time.sleep(0.3)
    assert not org.call.is_muted
    assert org.events.of(EventKind.CALL_MUTED_BY_OTHERS) == []

    # The organizer mutes the attendee: told who, muted, seen muted, not heard.
    org.call.mute_participant(org.sees(att))
    muted = att.events.wait(EventKind.CALL_MUTED_BY_OTHERS, timeout=T)
    assert muted.participant_id == org.id and muted.flag is True
    assert muted.call == att.call
    assert att.call.is_muted
    con.wait_sees(att, lambda r: r.is_muted, "muted")
    org.wait_sees(att, lambda r: r.is_muted, "muted")
    time.sleep(0.3)
    heard = org.power(900.0)
    assert heard < SILENT, f"the muted attendee is still heard: {heard}"
    # It may unmute itself, and is heard again.
    att.call.unmute()
    org.wait_sees(att, lambda r: not r.is_muted, "unmuted")
    org.hears(900.0)
    assert org.failures() == []

    # Mute everyone else: the attendee again (the consumer stays muted), not the organizer.
    org.call.mute_all_remote_participants()
    wait_until(lambda: att.call.is_muted, T, what="Ari muted by 'mute all'")
    assert len(att.events.of(EventKind.CALL_MUTED_BY_OTHERS)) == 2
    assert not org.call.is_muted
    hang_up_all(org, att, con)


def test_a_room_outside_its_window_or_unknown_cannot_be_joined(rooms_service, parties):
    alice = parties("Alice", 700.0)
    now = int(time.time())
    later = rooms_service.identity.create_room({alice.id: "organizer"}, valid_from=now + 3600, valid_until=now + 7200)
    over = rooms_service.identity.create_room({alice.id: "organizer"}, valid_from=now - 7200, valid_until=now - 3600)
    for room in (later, over):
        alice.join(room["id"])
        alice.wait_state(CallState.DISCONNECTED)
        assert alice.call.end_reason.code == 403, alice.call.end_reason
    # An unknown room: 404; a locator naming no room: refused at once.
    alice.join("6f1c8a2e-53a4-4c0e-9d1b-1f7f3c5b2a11")
    alice.wait_state(CallState.DISCONNECTED)
    assert alice.call.end_reason.code == 404, alice.call.end_reason
    with pytest.raises(acscalling.InvalidArgumentError):
        alice.agent.join_room("not-a-room", microphone=alice.mic, speaker=alice.speaker)
    # A listed user may join a room within its window by its link.
    now_room = rooms_service.identity.create_room({alice.id: "organizer"})
    alice.join(now_room["join_url"])
    alice.wait_state(CallState.CONNECTED)
    hang_up_all(alice)


def test_nobody_admits_and_the_lobby_timeout_ends_the_wait(no_leaks):
    svc = acs_service.LocalService.start(binary=BINARY, extra_args=["--lobby-timeout-secs", str(LOBBY_TIMEOUT_SECS)])
    made = []
    try:
        org, late = Party(svc, "Olga", 700.0), None
        made.append(org)
        late = Party(svc, "Lea", 1500.0)
        made.append(late)
        room = svc.identity.create_room({org.id: "organizer"}, lobby=True)
        org.join(room["id"])
        org.wait_state(CallState.CONNECTED)
        late.join(room["id"])
        late.wait_state(CallState.IN_LOBBY)
        t0 = time.monotonic()
        org.wait_sees(late, lambda r: r.state == ParticipantState.IN_LOBBY, "in the lobby")
        late.wait_state(CallState.DISCONNECTED)
        waited = time.monotonic() - t0
        assert late.call.end_reason == LOBBY_TIMEOUT, late.call.end_reason
        assert waited < LOBBY_TIMEOUT_SECS + 5, waited
        wait_until(lambda: org.sees(late) is None, T, what="Lea gone from Olga's roster")
        assert org.call.state == CallState.CONNECTED
        hang_up_all(org)
    finally:
        for p in made:
            p.close()
        svc.stop()
