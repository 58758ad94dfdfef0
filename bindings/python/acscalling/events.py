"""Event kinds and the Event object handed to handlers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Optional, Union

from . import _ffi
from .call import Call, CallState, DtmfTone, EndReason, ParticipantState, RemoteParticipant, RoomRole, _enum  # noqa: F401 (RoomRole re-exported)

if TYPE_CHECKING:
    from .agent import CallAgent
    from .video import LocalVideoStream, RemoteVideoStream, VideoStreamKind


class ConnectionState(enum.IntEnum):
    """State of a CallAgent's connection to the service."""

    DISCONNECTED = _ffi.ACS_AGENT_CONNECTION_DISCONNECTED
    CONNECTED = _ffi.ACS_AGENT_CONNECTION_CONNECTED
    CONNECTING = _ffi.ACS_AGENT_CONNECTION_CONNECTING


class OutgoingVideoState(enum.IntEnum):
    """`state` of EventKind.OUTGOING_VIDEO_STATE_CHANGED."""

    #: The service accepted the stream (the others see it available); also when a paused
    #: source is back.
    STARTED = _ffi.ACS_OUTGOING_VIDEO_STATE_STARTED
    #: The source is paused (a shared window is minimised or off the screen; `message`).
    PAUSED = _ffi.ACS_OUTGOING_VIDEO_STATE_PAUSED
    #: The host stopped the stream (Call.stop_video, Call.stop_screen_sharing).
    STOPPED = _ffi.ACS_OUTGOING_VIDEO_STATE_STOPPED
    #: The stream stopped by itself; `reason` and `message` say why (403/0 another
    #: participant already shares a screen, 408/10011 modality timeout, 0/10012 the
    #: shared window was closed). It is no longer sent.
    FAILED = _ffi.ACS_OUTGOING_VIDEO_STATE_FAILED


class PushNotificationResult(enum.IntEnum):
    """`state` of EventKind.PUSH_NOTIFICATION: how the service answered a push notification
    request of the agent (CallAgent.register_push_notification, unregister_push_notification,
    handle_push_notification)."""

    #: The service keeps the push target (`push_subject` is its url).
    REGISTERED = _ffi.ACS_PUSH_NOTIFICATION_REGISTERED
    #: The service refused the push target; `reason` and `message` say why (400/0 a bad url
    #: or secret, 403/0 too many targets).
    REGISTRATION_FAILED = _ffi.ACS_PUSH_NOTIFICATION_REGISTRATION_FAILED
    #: The push target `push_subject` (None: all of the user's targets) is removed.
    UNREGISTERED = _ffi.ACS_PUSH_NOTIFICATION_UNREGISTERED
    #: The removal failed (404/0: no such target).
    UNREGISTRATION_FAILED = _ffi.ACS_PUSH_NOTIFICATION_UNREGISTRATION_FAILED
    #: The call of a handled notification (its id in `push_subject`) was not delivered: it no
    #: longer rings for this user (410/10013) or the notification was used before, e.g. by
    #: another process (409/10014). A delivered call raises INCOMING_CALL instead.
    CALL_REFUSED = _ffi.ACS_PUSH_NOTIFICATION_CALL_REFUSED


class TransferState(enum.IntEnum):
    """`state` of EventKind.CALL_TRANSFER_STATE_CHANGED (on the transferor's and the
    transferee's side)."""

    #: The transferee is asked (a phone is not).
    REQUESTED = _ffi.ACS_TRANSFER_STATE_REQUESTED
    #: The transferee accepted; the target rings.
    TRANSFERRING = _ffi.ACS_TRANSFER_STATE_TRANSFERRING
    #: The target answered; the transferor left (its call ends with 0/10015, TRANSFERRED).
    TRANSFERRED = _ffi.ACS_TRANSFER_STATE_TRANSFERRED
    #: It did not happen; `reason` says why (603/10017 the transferee refused, the target's
    #: reason when it declined (603/0) or was unreachable, 408/10016 the transfer timeout,
    #: 400/0 a bad request). The call goes on as it was.
    FAILED = _ffi.ACS_TRANSFER_STATE_FAILED


class CallAction(enum.IntEnum):
    """`state` of EventKind.CALL_ACTION_FAILED: which request on others the service refused."""

    #: Call.admit or Call.admit_all.
    ADMIT = _ffi.ACS_CALL_ACTION_ADMIT
    #: Call.reject_participant.
    REJECT = _ffi.ACS_CALL_ACTION_REJECT
    #: Call.mute_participant or Call.mute_all_remote_participants.
    MUTE_OTHERS = _ffi.ACS_CALL_ACTION_MUTE_OTHERS


class EventKind(enum.IntEnum):
    CONNECTION_STATE_CHANGED = _ffi.ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED
    INCOMING_CALL = _ffi.ACS_EVENT_INCOMING_CALL
    CALL_STATE_CHANGED = _ffi.ACS_EVENT_CALL_STATE_CHANGED
    CALL_MUTE_CHANGED = _ffi.ACS_EVENT_CALL_MUTE_CHANGED
    PARTICIPANT_ADDED = _ffi.ACS_EVENT_PARTICIPANT_ADDED
    PARTICIPANT_REMOVED = _ffi.ACS_EVENT_PARTICIPANT_REMOVED
    PARTICIPANT_STATE_CHANGED = _ffi.ACS_EVENT_PARTICIPANT_STATE_CHANGED
    PARTICIPANT_MUTE_CHANGED = _ffi.ACS_EVENT_PARTICIPANT_MUTE_CHANGED
    PARTICIPANT_SPEAKING_CHANGED = _ffi.ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED
    DOMINANT_SPEAKERS_CHANGED = _ffi.ACS_EVENT_DOMINANT_SPEAKERS_CHANGED
    REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED = _ffi.ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED
    #: A phone participant pressed a key: `tone` (DtmfTone), `participant_id` ("4:+…"),
    #: `participant` (None when it is not in the roster).
    DTMF_RECEIVED = _ffi.ACS_EVENT_DTMF_RECEIVED
    #: The service answered Call.send_dtmf: `request_id` (what it returned), `tone`, and
    #: `reason` (0, 0) sent, else why not (`message`).
    DTMF_SEND_COMPLETED = _ffi.ACS_EVENT_DTMF_SEND_COMPLETED
    #: The call started (`flag` True) or stopped reconnecting (ACS's networkReconnect).
    NETWORK_RECONNECT = _ffi.ACS_EVENT_CALL_NETWORK_RECONNECT
    #: A media statistics sample of `call` was taken: read `call.media_statistics`.
    MEDIA_STATISTICS = _ffi.ACS_EVENT_CALL_MEDIA_STATISTICS
    #: One of this client's outgoing video streams of `call` changed: `state`
    #: (OutgoingVideoState), `video_stream_kind` (VIDEO or SCREEN_SHARE), `local_stream`
    #: (the LocalVideoStream sent, or None), and for PAUSED/FAILED `reason` and `message`.
    OUTGOING_VIDEO_STATE_CHANGED = _ffi.ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED
    #: The service answered a push notification request of the agent: `state`
    #: (PushNotificationResult), `push_subject` (the target url of an (un)registration, None
    #: for "all"; the call id of CALL_REFUSED), and on failure `reason` and `message`.
    PUSH_NOTIFICATION = _ffi.ACS_EVENT_PUSH_NOTIFICATION
    #: A transfer of `call` moved on: `state` (TransferState), `transfer_target` (the
    #: target's raw id), and once FAILED `reason`. Raised on the transferor's side
    #: (Call.transfer) and the transferee's.
    CALL_TRANSFER_STATE_CHANGED = _ffi.ACS_EVENT_CALL_TRANSFER_STATE_CHANGED
    #: The other side of the 1:1 `call` (`participant`, `participant_id`: the transferor)
    #: asks to transfer this participant to `transfer_target`. The library accepts at once
    #: unless the agent was created with ``answer_transfers=True``: then answer with
    #: Call.answer_transfer.
    CALL_TRANSFER_REQUESTED = _ffi.ACS_EVENT_CALL_TRANSFER_REQUESTED
    #: Another participant muted this one in `call` (Call.mute_participant or
    #: Call.mute_all_remote_participants on its side): `participant_id` is who (`participant`
    #: too, when in the roster), `flag` True. The microphone is muted already
    #: (CALL_MUTE_CHANGED came first); the service drops this participant's audio until it
    #: unmutes (Call.unmute), which a room's consumer may not.
    CALL_MUTED_BY_OTHERS = _ffi.ACS_EVENT_CALL_MUTED_BY_OTHERS
    #: The service refused a request of this participant on others in `call`: `state` is the
    #: CallAction, `participant_id` the participant it named (None for "all"), `reason` and
    #: `message` why (403 the room role does not allow it, 404 nobody by that id waits in the
    #: lobby or is in the call, 400 not a user, 503 no link).
    CALL_ACTION_FAILED = _ffi.ACS_EVENT_CALL_ACTION_FAILED


# Names accepted by CallAgent.on(); "connection_state_changed" also answers to
# "agent_connection_state_changed" (the C name).
EVENT_NAMES: Dict[str, EventKind] = {k.name.lower(): k for k in EventKind}
EVENT_NAMES["agent_connection_state_changed"] = EventKind.CONNECTION_STATE_CHANGED


def event_kind(name: Union[str, int, EventKind]) -> EventKind:
    if isinstance(name, str):
        try:
            return EVENT_NAMES[name.lower()]
        except KeyError:
            raise ValueError(f"unknown event {name!r}; one of {sorted(EVENT_NAMES)}") from None
    return EventKind(name)


@dataclass
class Event:
    """One event. `call` and `participant` are wrappers that own a reference (safe to keep);
    `state` is a ConnectionState, CallState, ParticipantState, OutgoingVideoState,
    PushNotificationResult, TransferState or CallAction according to `kind`."""

    kind: Union[EventKind, int]
    agent: "CallAgent"
    call: Optional[Call] = None
    participant: Optional[RemoteParticipant] = None
    state: int = 0
    code: int = 0
    subcode: int = 0
    flag: bool = False
    message: Optional[str] = None
    #: The RemoteVideoStream of REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED (`flag`: available).
    stream: Optional["RemoteVideoStream"] = None
    #: The raw id of the participant of DTMF_RECEIVED ("4:+…"), else None.
    participant_id: Optional[str] = None
    #: The request id of DTMF_SEND_COMPLETED (what Call.send_dtmf returned), else 0.
    request_id: int = 0
    #: The DtmfTone of DTMF_RECEIVED and DTMF_SEND_COMPLETED, else None.
    tone: Optional[DtmfTone] = None
    #: The VideoStreamKind of OUTGOING_VIDEO_STATE_CHANGED and
    #: REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED, else None.
    video_stream_kind: Optional["VideoStreamKind"] = None
    #: The LocalVideoStream of OUTGOING_VIDEO_STATE_CHANGED (a reference of its own), when
    #: the call sends one; else None.
    local_stream: Optional["LocalVideoStream"] = None
    #: PUSH_NOTIFICATION: the push target's url of an (un)registration (None when all targets
    #: were unregistered), or the call id of PushNotificationResult.CALL_REFUSED; else None.
    push_subject: Optional[str] = None
    #: CALL_TRANSFER_STATE_CHANGED and CALL_TRANSFER_REQUESTED: the raw id of the transfer's
    #: target ("8:acs:…", "4:+…"); else None.
    transfer_target: Optional[str] = None

    @property
    def succeeded(self) -> bool:
        """For DTMF_SEND_COMPLETED: whether the tone was sent (reason (0, 0))."""
        return self.code == 0 and self.subcode == 0

    @property
    def reason(self) -> EndReason:
        return EndReason(self.code, self.subcode)

    @property
    def name(self) -> str:
        return self.kind.name.lower() if isinstance(self.kind, EventKind) else str(self.kind)


def typed_tone(tone: int) -> Optional[DtmfTone]:
    """The DtmfTone of an event's dtmf_tone (None for -1: the event has none)."""
    return None if tone < 0 else _enum(DtmfTone, tone)


def typed_state(kind: int, state: int) -> int:
    if kind == EventKind.CONNECTION_STATE_CHANGED:
        return _enum(ConnectionState, state)
    if kind in (EventKind.INCOMING_CALL, EventKind.CALL_STATE_CHANGED):
        return _enum(CallState, state)
    if kind in (
        EventKind.PARTICIPANT_ADDED,
        EventKind.PARTICIPANT_REMOVED,
        EventKind.PARTICIPANT_STATE_CHANGED,
        EventKind.PARTICIPANT_SPEAKING_CHANGED,
    ):
        return _enum(ParticipantState, state)
    if kind == EventKind.OUTGOING_VIDEO_STATE_CHANGED:
        return _enum(OutgoingVideoState, state)
    if kind == EventKind.PUSH_NOTIFICATION:
        return _enum(PushNotificationResult, state)
    if kind == EventKind.CALL_TRANSFER_STATE_CHANGED:
        return _enum(TransferState, state)
    if kind == EventKind.CALL_ACTION_FAILED:
        return _enum(CallAction, state)
    return state
