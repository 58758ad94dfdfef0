"""Call and RemoteParticipant, with the ACS-numbered state enums."""

from __future__ import annotations

import ctypes
import enum
from typing import TYPE_CHECKING, Any, Collection, List, NamedTuple, Optional, Type, TypeVar, Union, cast

from . import _ffi
from ._handles import Handle, c_str, get_string
from .devices import AudioDevice
from .video import LocalVideoStream, RemoteVideoStream, VideoSendStats, VideoStreamKind
from .errors import check

if TYPE_CHECKING:
    from .aio import EventStream
    from .devices import AudioProcessing
    from .events import EventKind


class CallState(enum.IntEnum):
    """Call states, ACS numbering."""

    NONE = _ffi.ACS_CALL_STATE_NONE
    EARLY_MEDIA = _ffi.ACS_CALL_STATE_EARLY_MEDIA
    INCOMING = _ffi.ACS_CALL_STATE_INCOMING
    CONNECTING = _ffi.ACS_CALL_STATE_CONNECTING
    RINGING = _ffi.ACS_CALL_STATE_RINGING
    CONNECTED = _ffi.ACS_CALL_STATE_CONNECTED
    LOCAL_HOLD = _ffi.ACS_CALL_STATE_LOCAL_HOLD
    DISCONNECTING = _ffi.ACS_CALL_STATE_DISCONNECTING
    DISCONNECTED = _ffi.ACS_CALL_STATE_DISCONNECTED
    IN_LOBBY = _ffi.ACS_CALL_STATE_IN_LOBBY
    REMOTE_HOLD = _ffi.ACS_CALL_STATE_REMOTE_HOLD


class ParticipantState(enum.IntEnum):
    """Remote participant states, ACS numbering."""

    IDLE = _ffi.ACS_PARTICIPANT_STATE_IDLE
    EARLY_MEDIA = _ffi.ACS_PARTICIPANT_STATE_EARLY_MEDIA
    CONNECTING = _ffi.ACS_PARTICIPANT_STATE_CONNECTING
    CONNECTED = _ffi.ACS_PARTICIPANT_STATE_CONNECTED
    HOLD = _ffi.ACS_PARTICIPANT_STATE_HOLD
    IN_LOBBY = _ffi.ACS_PARTICIPANT_STATE_IN_LOBBY
    DISCONNECTED = _ffi.ACS_PARTICIPANT_STATE_DISCONNECTED
    RINGING = _ffi.ACS_PARTICIPANT_STATE_RINGING


class DtmfTone(enum.IntEnum):
    """DTMF tones (ACS's DtmfTone), numbered as RFC 4733 numbers the telephone events.

    ``DtmfTone.from_key("5")`` / ``DtmfTone.from_key("#")`` give the tone of a key; ``tone.key``
    is its key. FLASH exists for ACS's shape, but the service's phone gateway does not carry
    it: sending it raises UnsupportedError."""

    NUM0 = _ffi.ACS_DTMF_TONE_0
    NUM1 = _ffi.ACS_DTMF_TONE_1
    NUM2 = _ffi.ACS_DTMF_TONE_2
    NUM3 = _ffi.ACS_DTMF_TONE_3
    NUM4 = _ffi.ACS_DTMF_TONE_4
    NUM5 = _ffi.ACS_DTMF_TONE_5
    NUM6 = _ffi.ACS_DTMF_TONE_6
    NUM7 = _ffi.ACS_DTMF_TONE_7
    NUM8 = _ffi.ACS_DTMF_TONE_8
    NUM9 = _ffi.ACS_DTMF_TONE_9
    STAR = _ffi.ACS_DTMF_TONE_STAR
    POUND = _ffi.ACS_DTMF_TONE_POUND
    A = _ffi.ACS_DTMF_TONE_A
    B = _ffi.ACS_DTMF_TONE_B
    C = _ffi.ACS_DTMF_TONE_C
    D = _ffi.ACS_DTMF_TONE_D
    FLASH = _ffi.ACS_DTMF_TONE_FLASH

    @property
    def key(self) -> str:
        """The key: "0"-"9", "*", "#", "A"-"D" ("flash" for FLASH)."""
        return _DTMF_KEYS[self.value] if self.value < len(_DTMF_KEYS) else "flash"

    @classmethod
    def from_key(cls, key: str) -> "DtmfTone":
        """The tone of one key ("0"-"9", "*", "#", "A"-"D", lower case too); ValueError else."""
        if isinstance(key, str) and len(key) == 1 and key.upper() in _DTMF_KEYS:
            return cls(_DTMF_KEYS.index(key.upper()))
        raise ValueError(f"{key!r} is not a DTMF key: one of 0-9 * # A-D")


_DTMF_KEYS = "0123456789*#ABCD"


class IdentifierKind(enum.IntEnum):
    """What a raw identifier names (ACS's CommunicationIdentifierKind)."""

    UNKNOWN = _ffi.ACS_IDENTIFIER_KIND_UNKNOWN
    COMMUNICATION_USER = _ffi.ACS_IDENTIFIER_KIND_COMMUNICATION_USER
    PHONE_NUMBER = _ffi.ACS_IDENTIFIER_KIND_PHONE_NUMBER


def identifier_kind(raw_id: str) -> IdentifierKind:
    """The kind of a raw id: PHONE_NUMBER for "4:+1555…", COMMUNICATION_USER for "8:acs:…"
    (and the echo bot), UNKNOWN otherwise."""
    v = ctypes.c_int32()
    check(_ffi.lib().acs_identifier_get_kind(c_str(raw_id, "raw id"), ctypes.byref(v)))
    return _enum(IdentifierKind, v.value)


class CallDirection(enum.IntEnum):
    OUTGOING = _ffi.ACS_CALL_DIRECTION_OUTGOING
    INCOMING = _ffi.ACS_CALL_DIRECTION_INCOMING


class EndReason(NamedTuple):
    """Why a call ended or a participant left (ACS-style code/subcode; (0, 0) = hung up here)."""

    code: int
    subcode: int


class DominantSpeakers(NamedTuple):
    """Raw ids of the dominant speakers (dominant first) and when the service ranked them."""

    speakers: List[str]
    timestamp_ms: int


class AudioStats(NamedTuple):
    frames_sent: int
    frames_received: int
    frames_played: int
    frames_concealed: int


class MediaStatistics(NamedTuple):
    """One media statistics sample of a call (Call.media_statistics): RTP, RTCP and ICE
    statistics and the engines' counters. Bitrates and the send frame rate are over the last
    interval; counters since the media started. `rtt_ms` is None until measured."""

    timestamp_ms: int
    rtt_ms: Optional[float]
    audio_packets_sent: int
    audio_bytes_sent: int
    audio_send_bitrate_bps: int
    audio_packets_received: int
    audio_packets_lost: int
    audio_jitter_ms: float
    audio_receive_bitrate_bps: int
    audio_frames_played: int
    audio_frames_concealed: int
    video_packets_sent: int
    video_send_bitrate_bps: int
    video_send_fps: float
    video_send_width: int
    video_send_height: int
    video_receive_streams: int
    video_packets_received: int
    video_packets_lost: int
    video_jitter_ms: float
    video_receive_bitrate_bps: int


E = TypeVar("E", bound=enum.IntEnum)


def _enum(cls: Type[E], value: int) -> E:
    """`cls(value)`; a number added to the library after these bindings were written comes back
    as a plain int (typed as the IntEnum it compares like)."""
    try:
        return cls(value)
    except ValueError:
        return cast(E, value)


def call_options(microphone: Optional[AudioDevice], speaker: Optional[AudioDevice], muted: bool,
                 alternate_caller_id: Optional[bytes] = None) -> Optional[Any]:
    """An initialised acs_call_options (None when nothing differs from the defaults).
    `alternate_caller_id` is already encoded (c_str): the caller keeps it alive."""
    if microphone is None and speaker is None and not muted and alternate_caller_id is None:
        return None
    o = _ffi.acs_call_options()
    check(_ffi.lib().acs_call_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
    if microphone is not None:
        o.microphone = microphone._p
    if speaker is not None:
        o.speaker = speaker._p
    o.start_muted = bool(muted)
    o.alternate_caller_id = alternate_caller_id
    return o


class RoomRole(enum.IntEnum):
    """A participant's role in a room (RemoteParticipant.role; None outside rooms)."""

    #: Everything: admit, remove, mute others, end the meeting for everyone.
    ORGANIZER = _ffi.ACS_ROOM_ROLE_ORGANIZER
    #: Speaks, shares, admits, adds, removes and mutes others.
    PRESENTER = _ffi.ACS_ROOM_ROLE_PRESENTER
    #: Speaks and shares; cannot change the roster (also whoever was admitted from the lobby).
    ATTENDEE = _ffi.ACS_ROOM_ROLE_ATTENDEE
    #: Listens and watches only: cannot unmute, send video or share.
    CONSUMER = _ffi.ACS_ROOM_ROLE_CONSUMER


class RemoteParticipant(Handle):
    """Another participant of a call."""

    _ctype = _ffi.acs_remote_participant
    _retain_name = "acs_remote_participant_retain"
    _release_name = "acs_remote_participant_release"
    _close_order = 1

    @property
    def identifier(self) -> str:
        """Raw id: "8:acs:…", "4:+1555…", "8:echo123"."""
        return get_string(_ffi.lib().acs_remote_participant_get_identifier, self._p)

    @property
    def identifier_kind(self) -> IdentifierKind:
        """PHONE_NUMBER for a phone participant ("4:+…"), COMMUNICATION_USER for a user."""
        v = ctypes.c_int32()
        check(_ffi.lib().acs_remote_participant_get_identifier_kind(self._p, ctypes.byref(v)))
        return _enum(IdentifierKind, v.value)

    @property
    def display_name(self) -> str:
        return get_string(_ffi.lib().acs_remote_participant_get_display_name, self._p)

    @property
    def state(self) -> ParticipantState:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_remote_participant_get_state(self._p, ctypes.byref(v)))
        return _enum(ParticipantState, v.value)

    @property
    def is_muted(self) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_remote_participant_is_muted(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def role(self) -> Optional[RoomRole]:
        """The participant's role in a room (RoomRole), None outside rooms."""
        v = ctypes.c_int32()
        check(_ffi.lib().acs_remote_participant_get_role(self._p, ctypes.byref(v)))
        if v.value == _ffi.ACS_ROOM_ROLE_NONE:
            return None
        return _enum(RoomRole, v.value)

    @property
    def is_speaking(self) -> bool:
        """Whether the participant speaks now (only those whose audio this client receives)."""
        v = ctypes.c_bool()
        check(_ffi.lib().acs_remote_participant_is_speaking(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def end_reason(self) -> EndReason:
        code, sub = ctypes.c_int32(), ctypes.c_int32()
        check(_ffi.lib().acs_remote_participant_get_end_reason(self._p, ctypes.byref(code), ctypes.byref(sub)))
        return EndReason(code.value, sub.value)

    def video_stream(self, kind: VideoStreamKind = VideoStreamKind.VIDEO) -> RemoteVideoStream:
        """The participant's camera (or screen share), available or not."""
        out = ctypes.POINTER(_ffi.acs_remote_video_stream)()
        check(_ffi.lib().acs_remote_participant_get_video_stream(self._p, int(kind), ctypes.byref(out)))
        return RemoteVideoStream(out)

    @property
    def video_streams(self) -> List[RemoteVideoStream]:
        """The streams the participant sends now."""
        streams = [self.video_stream(k) for k in VideoStreamKind]
        return [s for s in streams if s.is_available]

    def __repr__(self) -> str:
        try:
            return f"<RemoteParticipant {self.identifier} {self.state!r}>"
        except Exception:
            return super().__repr__()


class Call(Handle):
    """A call (outgoing or incoming). Operations return at once; changes arrive as events."""

    _ctype = _ffi.acs_call
    _retain_name = "acs_call_retain"
    _release_name = "acs_call_release"
    _close_order = 2

    def __init__(self, ptr: Any, client: Any = None, agent: Any = None):
        super().__init__(ptr, client)
        self.agent = agent

    # -- state ---------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The call id (the same for every participant)."""
        return get_string(_ffi.lib().acs_call_get_id, self._p)

    @property
    def state(self) -> CallState:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_call_get_state(self._p, ctypes.byref(v)))
        return _enum(CallState, v.value)

    @property
    def direction(self) -> CallDirection:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_call_get_direction(self._p, ctypes.byref(v)))
        return _enum(CallDirection, v.value)

    @property
    def is_muted(self) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_call_is_muted(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def end_reason(self) -> EndReason:
        """(code, subcode); (0, 0) while the call has not ended."""
        code, sub = ctypes.c_int32(), ctypes.c_int32()
        check(_ffi.lib().acs_call_get_end_reason(self._p, ctypes.byref(code), ctypes.byref(sub)))
        return EndReason(code.value, sub.value)

    @property
    def remote_participants(self) -> List[RemoteParticipant]:
        L = _ffi.lib()
        n = ctypes.c_size_t()
        check(L.acs_call_get_remote_participant_count(self._p, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            p = ctypes.POINTER(_ffi.acs_remote_participant)()
            status = L.acs_call_get_remote_participant(self._p, i, ctypes.byref(p))
            if status == _ffi.ACS_ERR_NOT_FOUND:
                break  # the roster shrank meanwhile
            check(status)
            out.append(RemoteParticipant(p, self._client))
        return out

    @property
    def is_group_call(self) -> bool:
        """True when joined by group id or once participants were added."""
        v = ctypes.c_bool()
        check(_ffi.lib().acs_call_is_group_call(self._p, ctypes.byref(v)))
        return bool(v.value)

    @property
    def dominant_speakers(self) -> DominantSpeakers:
        """The service's latest ranking of who speaks, dominant first."""
        L = _ffi.lib()
        n, ts = ctypes.c_size_t(), ctypes.c_uint64()
        check(L.acs_call_get_dominant_speaker_count(self._p, ctypes.byref(n), ctypes.byref(ts)))
        ids = []
        for i in range(n.value):
            try:
                ids.append(get_string(lambda *a, i=i: L.acs_call_get_dominant_speaker(a[0], i, *a[1:]), self._p))
            except Exception:
                break  # the list changed meanwhile
        return DominantSpeakers(ids, ts.value)

    @property
    def audio_stats(self) -> AudioStats:
        s = _ffi.acs_call_audio_statistics()
        check(_ffi.lib().acs_call_audio_statistics_init_sized(ctypes.byref(s), ctypes.sizeof(s)))
        check(_ffi.lib().acs_call_get_audio_statistics(self._p, ctypes.byref(s)))
        return AudioStats(s.frames_sent, s.frames_received, s.frames_played, s.frames_concealed)

    @property
    def media_statistics(self) -> Optional[MediaStatistics]:
        """The newest media statistics sample, or None before the first one. The first read
        (or set_media_statistics_interval) starts the call's sampler, which takes a sample
        at once when the media is up and then every interval: poll again."""
        s = _ffi.acs_call_media_statistics()
        L = _ffi.lib()
        check(L.acs_call_media_statistics_init_sized(ctypes.byref(s), ctypes.sizeof(s)))
        status = L.acs_call_get_media_statistics(self._p, ctypes.byref(s))
        if status == _ffi.ACS_ERR_INVALID_STATE:
            return None
        check(status)
        names = [f[0] for f in s._fields_ if f[0] != "struct_size"]
        values = {name: getattr(s, name) for name in names}
        rtt = values.pop("rtt_ms")
        return MediaStatistics(rtt_ms=None if rtt < 0 else rtt, **values)

    def set_media_statistics_interval(self, interval_ms: int) -> None:
        """Samples every `interval_ms` (at least 100) and raises a MEDIA_STATISTICS event
        after each sample; 0 stops the events (sampling goes on every second)."""
        if not 0 <= interval_ms <= 0xFFFFFFFF:
            raise ValueError(f"interval_ms out of range: {interval_ms}")
        check(_ffi.lib().acs_call_set_media_statistics_interval(self._p, interval_ms))

    # -- control -------------------------------------------------------------------------
    def accept(self, microphone: Optional[AudioDevice] = None, speaker: Optional[AudioDevice] = None, muted: bool = False) -> None:
        """Accepts an incoming call (state INCOMING)."""
        o = call_options(microphone, speaker, muted)
        check(_ffi.lib().acs_call_accept(self._p, ctypes.byref(o) if o is not None else None))

    def reject(self) -> None:
        """Declines an incoming call; the caller sees end reason 603."""
        check(_ffi.lib().acs_call_reject(self._p))

    def start_video(self, stream: LocalVideoStream) -> None:
        """Send `stream` as this call's camera video (replaces one being sent)."""
        check(_ffi.lib().acs_call_start_video(self._p, stream._p))

    def start_screen_sharing(self, stream: LocalVideoStream) -> None:
        """Share `stream` as this call's screen share."""
        check(_ffi.lib().acs_call_start_screen_sharing(self._p, stream._p))

    def stop_video(self, kind: VideoStreamKind = VideoStreamKind.VIDEO) -> None:
        check(_ffi.lib().acs_call_stop_video(self._p, int(kind)))

    def stop_screen_sharing(self) -> None:
        """Stops this call's screen share (stop_video(VideoStreamKind.SCREEN_SHARE))."""
        self.stop_video(VideoStreamKind.SCREEN_SHARE)

    def is_sending_video(self, kind: VideoStreamKind = VideoStreamKind.VIDEO) -> bool:
        v = ctypes.c_bool()
        check(_ffi.lib().acs_call_is_sending_video(self._p, int(kind), ctypes.byref(v)))
        return bool(v.value)

    def video_send_stats(self, kind: VideoStreamKind = VideoStreamKind.VIDEO) -> VideoSendStats:
        s = _ffi.acs_video_send_stats()
        check(_ffi.lib().acs_video_send_stats_init_sized(ctypes.byref(s), ctypes.sizeof(s)))
        check(_ffi.lib().acs_call_get_video_send_stats(self._p, int(kind), ctypes.byref(s)))
        return VideoSendStats(s.frames_encoded, s.frames_dropped, s.frames_skipped, s.keyframes,
                              s.keyframe_requests, s.bytes, s.bitrate_bps, s.loss_reports,
                              s.last_fraction_lost, s.width, s.height, s.encode_micros,
                              s.nacked_packets, s.last_loss_estimate)

    def hang_up(self, for_everyone: bool = False) -> None:
        check(_ffi.lib().acs_call_hang_up(self._p, bool(for_everyone)))

    def mute(self) -> None:
        check(_ffi.lib().acs_call_mute(self._p))

    def unmute(self) -> None:
        check(_ffi.lib().acs_call_unmute(self._p))

    def hold(self) -> None:
        check(_ffi.lib().acs_call_hold(self._p))

    def resume(self) -> None:
        check(_ffi.lib().acs_call_resume(self._p))

    def add_participant(self, participant_id: str, alternate_caller_id: Optional[str] = None) -> RemoteParticipant:
        """Invites a user or dials a phone number "4:+1555…" (a 1:1 call becomes a group
        call). Returns the participant, IDLE; it rings (a phone may show EARLY_MEDIA) and
        connects as events say, or is removed with the service's reason.

        `alternate_caller_id` ("4:+1555…") is the number a phone participant sees as the
        caller (ACS's AddPhoneNumberOptions); InvalidArgumentError if it is not a phone number."""
        p = ctypes.POINTER(_ffi.acs_remote_participant)()
        L = _ffi.lib()
        pid = c_str(participant_id, "participant id")
        if alternate_caller_id is None:
            check(L.acs_call_add_participant(self._p, pid, ctypes.byref(p)))
        else:
            o = _ffi.acs_add_participant_options()
            check(L.acs_add_participant_options_init_sized(ctypes.byref(o), ctypes.sizeof(o)))
            caller = c_str(alternate_caller_id, "alternate caller id")
            o.alternate_caller_id = caller
            check(L.acs_call_add_participant_with_options(self._p, pid, ctypes.byref(o), ctypes.byref(p)))
        return RemoteParticipant(p, self._client)

    def send_dtmf(self, tone: Union["DtmfTone", str, int]) -> int:
        """Sends one DTMF tone to the call's phone participants (ACS's sendDtmf): a
        DtmfTone, a key ("5", "#", "*", "A") or its number. Returns at once with a request
        id; the outcome arrives as a DTMF_SEND_COMPLETED event with that `request_id`
        (`reason` (0, 0): sent; (400, 0): the call has no phone participant; `message` says
        why). Raises InvalidStateError when the call is not connected, InvalidArgumentError
        for a key that is no tone, UnsupportedError for DtmfTone.FLASH."""
        from .errors import InvalidArgumentError

        if isinstance(tone, str):
            try:
                number = int(DtmfTone.from_key(tone))
            except ValueError as e:
                raise InvalidArgumentError(_ffi.ACS_ERR_INVALID_ARGUMENT, "invalid argument", str(e)) from None
        else:
            number = int(tone)
            if not -(2**31) <= number < 2**31:
                raise InvalidArgumentError(_ffi.ACS_ERR_INVALID_ARGUMENT, "invalid argument",
                                           f"tone {number} is not a DTMF tone")
        request = ctypes.c_uint64()
        check(_ffi.lib().acs_call_send_dtmf(self._p, number, ctypes.byref(request)))
        return request.value

    def transfer(self, target: str) -> None:
        """Transfers the other participant of this 1:1 call to `target` (a user "8:acs:…" or
        a phone number "4:+…"; ACS's `transfer`). Returns at once (InvalidArgumentError for a
        malformed id); CALL_TRANSFER_STATE_CHANGED events follow here and on the transferee's
        side: REQUESTED (the transferee is asked; a phone is not), TRANSFERRING (the target
        rings), then TRANSFERRED, and this call ends with (0, 10015), or FAILED with the
        reason, the call going on as it was. No answer within the service's transfer timeout
        (60 s) is FAILED (408, 10016)."""
        check(_ffi.lib().acs_call_transfer(self._p, c_str(target, "target")))

    def answer_transfer(self, accept: bool) -> None:
        """Answers the transfer request of this call (CALL_TRANSFER_REQUESTED) when the agent
        was created with ``answer_transfers=True`` (otherwise the library accepted it
        already): `accept` lets the target ring; a refusal fails the transfer with
        (603, 10017) on both sides and the call goes on."""
        check(_ffi.lib().acs_call_answer_transfer(self._p, bool(accept)))

    # -- rooms: the lobby and muting others ------------------------------------------------
    def admit(self, participant: RemoteParticipant) -> None:
        """Admits `participant`, waiting in the lobby (ParticipantState.IN_LOBBY), into this
        room's call as an attendee. NotFoundError when it is not waiting in this call's
        lobby; a refusal by the service (403: only organizers and presenters admit) arrives
        as EventKind.CALL_ACTION_FAILED (CallAction.ADMIT)."""
        check(_ffi.lib().acs_call_admit(self._p, participant._p))

    def admit_all(self) -> None:
        """Admits everyone waiting in the lobby (nobody waiting is not an error); refusals
        arrive as EventKind.CALL_ACTION_FAILED."""
        check(_ffi.lib().acs_call_admit_all(self._p))

    def reject_participant(self, participant: RemoteParticipant) -> None:
        """Turns `participant` away from the lobby: its call ends with (403, 10018), the
        others see it removed with that reason. NotFoundError when it is not waiting in the
        lobby; a refusal arrives as EventKind.CALL_ACTION_FAILED (CallAction.REJECT)."""
        check(_ffi.lib().acs_call_reject_participant(self._p, participant._p))

    def mute_participant(self, participant: RemoteParticipant) -> None:
        """Mutes `participant`: its microphone is muted, it gets
        EventKind.CALL_MUTED_BY_OTHERS, the service drops its audio until it unmutes (which
        it may, unless it is a room's consumer), everyone sees it muted. In a room only
        organizers and presenters may (refusal: EventKind.CALL_ACTION_FAILED 403,
        CallAction.MUTE_OTHERS); in other calls, anyone. NotFoundError when it is not in
        this call."""
        check(_ffi.lib().acs_call_mute_participant(self._p, participant._p))

    def mute_all_remote_participants(self) -> None:
        """Mutes every other user in the call, as mute_participant does one."""
        check(_ffi.lib().acs_call_mute_all_remote_participants(self._p))

    def remove_participant(self, participant: RemoteParticipant) -> None:
        """Removes a participant; it leaves with end reason (0, 5300)."""
        check(_ffi.lib().acs_call_remove_participant(self._p, participant._p))

    def set_microphone(self, device: AudioDevice) -> None:
        check(_ffi.lib().acs_call_set_microphone(self._p, device._p))

    def set_speaker(self, device: AudioDevice) -> None:
        check(_ffi.lib().acs_call_set_speaker(self._p, device._p))

    @property
    def audio_processing(self) -> "AudioProcessing":
        """This call's AudioProcessing (echo cancellation etc.); set it to switch at once."""
        from .devices import AudioProcessing

        o = _ffi.acs_audio_processing_options()
        check(_ffi.lib().acs_call_get_audio_processing(self._p, ctypes.byref(o), None))
        return AudioProcessing._from_c(o)

    @audio_processing.setter
    def audio_processing(self, settings: "AudioProcessing") -> None:
        o = settings._to_c()
        check(_ffi.lib().acs_call_set_audio_processing(self._p, ctypes.byref(o)))

    @property
    def audio_processing_active(self) -> bool:
        """Whether the microphone is being processed now (a real one with processing on)."""
        o = _ffi.acs_audio_processing_options()
        active = ctypes.c_bool()
        check(_ffi.lib().acs_call_get_audio_processing(self._p, ctypes.byref(o), ctypes.byref(active)))
        return bool(active.value)

    # -- asyncio (see acscalling.aio) ----------------------------------------------------
    def events(self, kinds: Optional[Collection[Union[int, "EventKind"]]] = None) -> "EventStream":
        """An async iterator over this call's events (state changes, participants added and
        removed, mute, DTMF, ...) from now on, ending after the DISCONNECTED state change.
        Call it inside a running event loop; `kinds` keeps only those event kinds (the stream
        still ends with the call). Close it (``aclose()`` / ``async with``) to unsubscribe."""
        from .aio import EventStream

        if self.agent is None:
            raise ValueError("the call has no agent (a wrapper made without one)")
        return EventStream(self.agent, self, kinds)

    async def wait_for_state_async(self, *states: Union[CallState, int], timeout: Optional[float] = None) -> CallState:
        """Waits until the call is in one of `states` (returned). Raises aio.CallEndedError if
        it ends first, asyncio.TimeoutError after `timeout` seconds."""
        from .aio import wait_for_call_state

        return await wait_for_call_state(self, states, timeout)

    async def accept_async(self, microphone: Optional[AudioDevice] = None, speaker: Optional[AudioDevice] = None,
                           muted: bool = False, timeout: Optional[float] = None) -> None:
        """accept(), then waits until CONNECTED."""
        from .aio import wait_for_call_state

        await wait_for_call_state(self, [CallState.CONNECTED], timeout, lambda: self.accept(microphone, speaker, muted))

    async def hang_up_async(self, for_everyone: bool = False, timeout: Optional[float] = None) -> EndReason:
        """hang_up(), then waits until DISCONNECTED; returns the end reason."""
        from .aio import wait_for_call_state

        if self.state != CallState.DISCONNECTED:
            await wait_for_call_state(self, [CallState.DISCONNECTED], timeout, lambda: self.hang_up(for_everyone))
        return self.end_reason

    async def hold_async(self, timeout: Optional[float] = None) -> None:
        """hold(), then waits until LOCAL_HOLD."""
        from .aio import wait_for_call_state

        await wait_for_call_state(self, [CallState.LOCAL_HOLD], timeout, self.hold)

    async def resume_async(self, timeout: Optional[float] = None) -> None:
        """resume(), then waits until CONNECTED."""
        from .aio import wait_for_call_state

        await wait_for_call_state(self, [CallState.CONNECTED], timeout, self.resume)

    def __repr__(self) -> str:
        try:
            return f"<Call {self.id} {self.state!r}>"
        except Exception:
            return super().__repr__()
