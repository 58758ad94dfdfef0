"""Phone-call API: DTMF (send, its completion event, tones), the alternate caller id, the
identifier kind of participants, and their bad input.

What needs no phone gateway is checked here against the real service binary: the echo bot
is no phone participant, so the service refuses DTMF with 400 "this call has no phone
participant" and the completion event must carry that. DTMF received and early media with a
real phone leg are tested with the gateway.
"""

import ctypes
import time
import gc

import pytest

import acscalling
from acscalling import CallState, DtmfTone, EventKind, IdentifierKind, ParticipantState, identifier_kind
from acscalling import _ffi
from acscalling.errors import (
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    InvalidUtf8Error,
    UnsupportedError,
)
from acscalling.testing import EventRecorder
from conftest import library_or_skip, service_binary_or_skip

TIMEOUT = 10.0
NOT_A_PHONE = ["8:acs:not-a-phone", "8:echo123", "+15551234567", "4:+1", "4:+1555abc"]


# ---- no service -------------------------------------------------------------------------


def test_dtmf_tones_are_rfc_4733_numbers_with_their_keys():
    assert [t.key for t in DtmfTone if t != DtmfTone.FLASH] == list("0123456789*#ABCD")
    assert [int(t) for t in DtmfTone] == list(range(17))
    assert DtmfTone.from_key("5") is DtmfTone.NUM5
    assert DtmfTone.from_key("#") is DtmfTone.POUND
    assert DtmfTone.from_key("*") is DtmfTone.STAR
    assert DtmfTone.from_key("b") is DtmfTone.B
    for bad in ["", "12", "E", "+", None]:
        with pytest.raises(ValueError):
            DtmfTone.from_key(bad)


def test_identifier_kinds(lib):
    assert identifier_kind("4:+15551234567") == IdentifierKind.PHONE_NUMBER
    assert identifier_kind("4:15551234567") == IdentifierKind.PHONE_NUMBER
    assert identifier_kind("8:acs:abc-123") == IdentifierKind.COMMUNICATION_USER
    assert identifier_kind("8:echo123") == IdentifierKind.COMMUNICATION_USER
    assert identifier_kind("bob") == IdentifierKind.UNKNOWN
    with pytest.raises(InvalidUtf8Error):
        identifier_kind(b"4:+1555\xff")
    k = ctypes.c_int32(-1)
    assert lib.acs_identifier_get_kind(None, ctypes.byref(k)) == _ffi.ACS_ERR_NULL_POINTER
    assert lib.acs_identifier_get_kind(b"4:+15551234567", None) == _ffi.ACS_ERR_NULL_POINTER


def test_dtmf_null_and_bogus_handles_are_errors_not_crashes(lib):
    rid = ctypes.c_uint64(42)
    assert lib.acs_call_send_dtmf(None, DtmfTone.NUM5, ctypes.byref(rid)) == _ffi.ACS_ERR_INVALID_HANDLE
    bogus = ctypes.cast(ctypes.c_void_p(0x1234), ctypes.POINTER(_ffi.acs_call))
    assert lib.acs_call_send_dtmf(bogus, DtmfTone.NUM5, None) == _ffi.ACS_ERR_INVALID_HANDLE
    assert rid.value == 42, "nothing written on failure"
    k = ctypes.c_int32()
    assert lib.acs_remote_participant_get_identifier_kind(None, ctypes.byref(k)) == _ffi.ACS_ERR_INVALID_HANDLE
    o = _ffi.acs_add_participant_options()
    assert lib.acs_add_participant_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)) == _ffi.ACS_OK
    assert o.struct_size == ctypes.sizeof(o) and o.alternate_caller_id is None
    p = ctypes.POINTER(_ffi.acs_remote_participant)()
    assert (lib.acs_call_add_participant_with_options(None, b"4:+15551234567", ctypes.byref(o), ctypes.byref(p))
            == _ffi.ACS_ERR_INVALID_HANDLE)


def test_the_event_struct_grew_at_its_end():
    fields = [f[0] for f in _ffi.acs_event._fields_]
    # Appended for phone calls, then for outgoing video events, then for push notifications,
    # then for call transfer: each group after the last.
    assert fields[-8:] == [
        "remote_video_stream",
        "participant_id",
        "request_id",
        "dtmf_tone",
        "video_stream_kind",
        "local_video_stream",
        "push_subject",
        "transfer_target",
    ]
    assert _ffi.acs_event.transfer_target.offset + ctypes.sizeof(ctypes.c_char_p) == ctypes.sizeof(_ffi.acs_event)
    opts = [f[0] for f in _ffi.acs_call_options._fields_]
    assert opts[-2:] == ["start_muted", "alternate_caller_id"]
    agent_opts = [f[0] for f in _ffi.acs_call_agent_options._fields_]
    assert agent_opts[-2:] == ["ca_certificate_path", "answer_transfers"]


def test_agent_options_answer_transfers_defaults_to_false_and_older_sizes_are_accepted(lib):
    # Today's size: answer_transfers is there, false (the library accepts transfers).
    o = _ffi.acs_call_agent_options()
    ctypes.memset(ctypes.byref(o), 0xA5, ctypes.sizeof(o))
    assert lib.acs_call_agent_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)) == _ffi.ACS_OK
    assert o.struct_size == ctypes.sizeof(o) and o.answer_transfers is False
    # A host of the header before call transfer: its struct ends with ca_certificate_path;
    # the sized init fills that prefix and leaves the byte where answer_transfers is alone.
    old_size = _ffi.acs_call_agent_options.answer_transfers.offset
    o = _ffi.acs_call_agent_options()
    ctypes.memset(ctypes.byref(o), 0xA5, ctypes.sizeof(o))
    assert lib.acs_call_agent_options_init_sized(ctypes.byref(o), old_size) == _ffi.ACS_OK
    assert o.struct_size == old_size and o.ca_certificate_path is None
    raw = ctypes.string_at(ctypes.addressof(o), ctypes.sizeof(o))
    assert raw[old_size] == 0xA5, "nothing written past the older struct"


# ---- with the service ---------------------------------------------------------------------


class Phoneless:
    """A user in this process with a tone microphone and a pull speaker, calling the echo bot."""

    def __init__(self, service, dispatch):
        self.client = acscalling.CallClient(dispatch=dispatch)
        self.events = EventRecorder()
        try:
            _, token = service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone("phone test mic", 440.0, 0.3)
            self.speaker = dm.create_pull_speaker("phone test speaker", 2000)
            self.agent = self.client.create_call_agent(service.service_url, token, "Phoneless", on_event=self.events)
            self.wait(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, "connected")
        except BaseException:
            self.events.clear()
            self.client.close()
            raise

    def wait(self, pred, what=""):
        return self.client.wait_for(pred, timeout=TIMEOUT, what=what)

    def event(self, kind, pred=lambda e: True):
        return self.events.wait(kind, pred, timeout=TIMEOUT, client=self.client)

    def call_echo(self, **kw):
        return self.agent.start_call(acscalling.ECHO_BOT_ID, microphone=self.mic, speaker=self.speaker, **kw)

    def close(self):
        errors = list(self.client.callback_errors)
        self.client.close()
        self.events.clear()
        assert not errors, f"event handlers raised: {errors!r}"


@pytest.fixture(params=["thread", "manual"])
def user(request, service, no_leaks):
    service_binary_or_skip()
    u = Phoneless(service, request.param)
    yield u
    u.close()


def test_dtmf_to_a_call_without_a_phone_completes_with_the_services_refusal(user):
    call = user.call_echo()
    with pytest.raises(InvalidStateError):
        call.send_dtmf("1")  # not connected yet
    user.wait(lambda: call.state == CallState.CONNECTED, "connected")
    first = call.send_dtmf("5")
    second = call.send_dtmf(DtmfTone.POUND)
    assert (first, second) == (1, 2)
    for rid, tone in ((first, DtmfTone.NUM5), (second, DtmfTone.POUND)):
        ev = user.event(EventKind.DTMF_SEND_COMPLETED, lambda e, rid=rid: e.request_id == rid)
        assert ev.call == call
        assert ev.tone is tone
        assert not ev.succeeded
        assert ev.reason == (400, 0)
        assert "no phone participant" in ev.message
    assert not user.events.of(EventKind.DTMF_RECEIVED)
    call.hang_up()
    user.wait(lambda: call.state == CallState.DISCONNECTED, "disconnected")
    with pytest.raises(InvalidStateError):
        call.send_dtmf("1")


def test_bad_dtmf_tones_are_refused_at_once(user):
    call = user.call_echo()
    user.wait(lambda: call.state == CallState.CONNECTED, "connected")
    for bad in ["x", "12", "", 17, -1, 2**40]:
        with pytest.raises(InvalidArgumentError):
            call.send_dtmf(bad)
    with pytest.raises(UnsupportedError):
        call.send_dtmf(DtmfTone.FLASH)
    assert acscalling.last_error_message() and "flash" in acscalling.last_error_message().lower()
    # None of them reached the service: the next request is still number 1.
    assert call.send_dtmf("0") == 1
    user.event(EventKind.DTMF_SEND_COMPLETED, lambda e: e.request_id == 1)
    call.hang_up()


def test_dtmf_on_a_stale_call_handle_is_an_error(user, lib):
    call = user.call_echo()
    raw = ctypes.cast(call._p, ctypes.c_void_p).value
    call.hang_up()
    user.wait(lambda: call.state == CallState.DISCONNECTED, "disconnected")
    # Under thread dispatch the last events of the call (roster, removal) may still be on
    # their way; each keeps a wrapper (a reference) of the call. Let them arrive, drop them,
    # then ours.
    time.sleep(0.5)
    user.events.clear()
    gc.collect()
    call.close()
    stale = ctypes.cast(ctypes.c_void_p(raw), ctypes.POINTER(_ffi.acs_call))
    assert lib.acs_call_send_dtmf(stale, DtmfTone.NUM1, None) == _ffi.ACS_ERR_INVALID_HANDLE
    with pytest.raises(InvalidHandleError):
        call.send_dtmf("1")


def test_caller_ids_that_are_not_phone_numbers_are_refused(user):
    for bad in NOT_A_PHONE:
        with pytest.raises(InvalidArgumentError, match="not a phone number"):
            user.call_echo(alternate_caller_id=bad)
    with pytest.raises(InvalidUtf8Error):
        user.call_echo(alternate_caller_id=b"4:+1555\xff")
    assert user.agent.calls == []


def test_a_valid_caller_id_goes_with_the_call_and_the_echo_bot_is_a_user(user):
    call = user.call_echo(alternate_caller_id="4:15550001111")
    user.wait(lambda: call.state == CallState.CONNECTED, "connected with a caller id")
    echo = user.wait(lambda: call.remote_participants, "the echo bot in the roster")[0]
    assert echo.identifier_kind == IdentifierKind.COMMUNICATION_USER
    # Adding a phone with a caller id that is no phone number fails at once.
    for bad in NOT_A_PHONE:
        with pytest.raises(InvalidArgumentError, match="not a phone number"):
            call.add_participant("4:+15551234567", alternate_caller_id=bad)
    with pytest.raises(InvalidArgumentError):
        call.add_participant("not-an-id", alternate_caller_id="4:+15550001111")
    assert [p.identifier for p in call.remote_participants] == [acscalling.ECHO_BOT_ID]
    call.hang_up()
    user.wait(lambda: call.state == CallState.DISCONNECTED, "disconnected")


def test_caller_id_struct_appended_an_older_shorter_call_options_is_read_as_its_prefix(user, lib):
    """A host compiled before alternate_caller_id was appended: the bytes after its struct
    (guard bytes that would be a wild pointer if read) are never used."""

    class OldCallOptions(ctypes.Structure):
        _fields_ = [f for f in _ffi.acs_call_options._fields_ if f[0] != "alternate_caller_id"]

    class Guarded(ctypes.Structure):
        _fields_ = [("s", OldCallOptions), ("guard", ctypes.c_uint8 * 64)]

    assert ctypes.sizeof(OldCallOptions) == _ffi.acs_call_options.alternate_caller_id.offset
    g = Guarded()
    ctypes.memset(ctypes.byref(g), 0xA5, ctypes.sizeof(g))
    g.s.struct_size = ctypes.sizeof(OldCallOptions)
    g.s.microphone = user.mic._p
    g.s.speaker = user.speaker._p
    g.s.start_muted = False
    ids = (ctypes.c_char_p * 1)(acscalling.ECHO_BOT_ID.encode())
    out = ctypes.POINTER(_ffi.acs_call)()
    opts = ctypes.cast(ctypes.byref(g), ctypes.POINTER(_ffi.acs_call_options))
    assert lib.acs_call_agent_start_call(user.agent._p, ids, 1, opts, ctypes.byref(out)) == _ffi.ACS_OK
    call = acscalling.Call(out, user.client, agent=user.agent)
    user.wait(lambda: call.state == CallState.CONNECTED, "connected from the old options")
    assert bytes(g.guard) == b"\xa5" * 64
    call.hang_up()
    user.wait(lambda: call.state == CallState.DISCONNECTED, "disconnected")


def test_participant_states_include_early_media():
    assert ParticipantState.EARLY_MEDIA == 1 and CallState.EARLY_MEDIA == 1
