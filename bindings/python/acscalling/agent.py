"""CallAgent: one identity connected to the service; starts and receives calls."""

from __future__ import annotations

import ctypes
import json
import os
import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Collection, Dict, Iterable, List, Optional, Union, overload

from . import _ffi
from ._handles import Handle, Registry, c_str, get_string
from .call import Call, CallState, RemoteParticipant, call_options, _enum
from .video import LocalVideoStream, RemoteVideoStream, VideoStreamKind
from .devices import AudioDevice
from .errors import check
from .events import ConnectionState, Event, EventKind, event_kind, typed_state, typed_tone

log = logging.getLogger("acscalling")

Handler = Callable[[Event], Any]

if TYPE_CHECKING:
    from .aio import EventStream


class _AgentSink:
    """What the C event callback needs to find the Python agent (looked up by user_data)."""

    def __init__(self, client: Any):
        self.ready = threading.Event()
        self.agent_ref: "Optional[weakref.ref[CallAgent]]" = None
        self.client_ref = weakref.ref(client)


_sinks = Registry()
_refreshers = Registry()


def _on_event(user_data: Optional[int], event_ptr: Any) -> None:
    try:
        sink = _sinks.get(user_data)
        if sink is None:
            return
        # The first event can be queued before create_call_agent has returned to Python.
        if not sink.ready.wait(10.0):
            return
        agent = sink.agent_ref() if sink.agent_ref is not None else None
        if agent is None or agent.closed:
            return
        e = event_ptr.contents
        client = sink.client_ref()
        kind = _enum(EventKind, e.kind)
        # Fields appended to acs_event after its first version: read only when the library's
        # event is that long (an older library passes a shorter one).
        phone_fields = e.struct_size >= _ffi.acs_event.dtmf_tone.offset + ctypes.sizeof(ctypes.c_int32)
        ev = Event(
            kind=kind,
            agent=agent,
            call=Call._borrowed(e.call, client) if e.call else None,
            participant=RemoteParticipant._borrowed(e.participant, client) if e.participant else None,
            stream=RemoteVideoStream._borrowed(e.remote_video_stream, client) if e.remote_video_stream else None,
            state=typed_state(e.kind, e.state),
            code=e.code,
            subcode=e.subcode,
            flag=bool(e.flag),
            message=e.message.decode("utf-8", "replace") if e.message else None,
        )
        if phone_fields:
            ev.participant_id = e.participant_id.decode("utf-8", "replace") if e.participant_id else None
            ev.request_id = e.request_id
            ev.tone = typed_tone(e.dtmf_tone)
        video_fields = e.struct_size >= _ffi.acs_event.local_video_stream.offset + ctypes.sizeof(ctypes.c_void_p)
        if video_fields:
            if e.video_stream_kind >= 0:
                ev.video_stream_kind = _enum(VideoStreamKind, e.video_stream_kind)
            if e.local_video_stream:
                ev.local_stream = LocalVideoStream._borrowed(e.local_video_stream)
        push_fields = e.struct_size >= _ffi.acs_event.push_subject.offset + ctypes.sizeof(ctypes.c_char_p)
        if push_fields and e.push_subject:
            ev.push_subject = e.push_subject.decode("utf-8", "replace")
        transfer_fields = e.struct_size >= _ffi.acs_event.transfer_target.offset + ctypes.sizeof(ctypes.c_char_p)
        if transfer_fields and e.transfer_target:
            ev.transfer_target = e.transfer_target.decode("utf-8", "replace")
        if ev.call is not None:
            ev.call.agent = agent
        agent._deliver(ev)
    except Exception:  # never unwind into the library's dispatch thread
        log.exception("acscalling event callback failed")


def _on_refresh(user_data: Optional[int], token_out: Any, capacity: int) -> int:
    try:
        fn = _refreshers.get(user_data)
        if fn is None:
            return _ffi.ACS_ERR_NOT_FOUND
        token = fn()
        if not token:
            return _ffi.ACS_ERR_NOT_FOUND
        data = token.encode("utf-8") if isinstance(token, str) else bytes(token)
        if len(data) + 1 > capacity:
            return _ffi.ACS_ERR_BUFFER_TOO_SMALL
        ctypes.memmove(token_out, data + b"\0", len(data) + 1)
        return _ffi.ACS_OK
    except Exception:
        log.exception("token_refresher raised")
        return _ffi.ACS_ERR_INTERNAL


# Kept alive for the life of the process: the library may call them until every client is gone.
_EVENT_CALLBACK = _ffi.acs_event_callback(_on_event)
_REFRESH_CALLBACK = _ffi.acs_token_refresher(_on_refresh)


class CallAgent(Handle):
    """An identity connected to the service. Events arrive on the dispatch thread (or inside
    CallClient.dispatch_events in manual mode); register handlers with on()."""

    _ctype = _ffi.acs_call_agent
    _retain_name = "acs_call_agent_retain"
    _release_name = "acs_call_agent_release"
    _close_order = 6

    def __init__(self, ptr: Any, client: Any, sink_key: int = 0, refresher_key: int = 0):
        self._handlers: Dict[int, List[Handler]] = {k: [] for k in EventKind}
        self._any: List[Handler] = []
        self._hlock = threading.Lock()
        self._sink_key = sink_key
        self._refresher_key = refresher_key
        super().__init__(ptr, client)

    @classmethod
    def _create(
        cls,
        client: Any,
        service_url: str,
        token: Union[str, bytes],
        display_name: Optional[Union[str, bytes]] = None,
        token_refresher: Optional[Callable[[], Optional[str]]] = None,
        on_event: Optional[Handler] = None,
        ca_certificate: Optional[str] = None,
        answer_transfers: bool = False,
    ) -> "CallAgent":
        L = _ffi.lib()
        opts = _ffi.acs_call_agent_options()
        check(L.acs_call_agent_options_init_sized(ctypes.byref(opts), ctypes.sizeof(opts)))
        # Keep the encoded strings referenced until the call returns (the library copies them).
        url_b = c_str(service_url, "service_url")
        token_b = c_str(token, "token")
        name_b = c_str(display_name, "display_name")
        opts.service_url = url_b
        opts.token = token_b
        opts.display_name = name_b
        ca_b = os.fsencode(ca_certificate) if ca_certificate else None
        opts.ca_certificate_path = ca_b
        opts.answer_transfers = bool(answer_transfers)
        sink = _AgentSink(client)
        sink_key = _sinks.add(sink)
        opts.event_callback = _EVENT_CALLBACK
        opts.event_user_data = sink_key
        refresher_key = 0
        if token_refresher is not None:
            refresher_key = _refreshers.add(token_refresher)
            opts.token_refresher = _REFRESH_CALLBACK
            opts.token_refresher_user_data = refresher_key
        out = ctypes.POINTER(_ffi.acs_call_agent)()
        try:
            check(L.acs_call_client_create_call_agent(client._p, ctypes.byref(opts), ctypes.byref(out)))
        except Exception:
            _sinks.remove(sink_key)
            if refresher_key:
                _refreshers.remove(refresher_key)
            raise
        agent = cls(out, client, sink_key, refresher_key)
        if on_event is not None:
            agent.on_event = on_event
        sink.agent_ref = weakref.ref(agent)
        sink.ready.set()
        return agent

    # -- events --------------------------------------------------------------------------
    @overload
    def on(self, event: Union[str, EventKind], fn: Handler) -> Handler: ...

    @overload
    def on(self, event: Union[str, EventKind], fn: None = None) -> Callable[[Handler], Handler]: ...

    def on(
        self, event: Union[str, EventKind], fn: Optional[Handler] = None
    ) -> Union[Handler, Callable[[Handler], Handler]]:
        """Registers `fn(event)` for an event kind ("incoming_call", "call_state_changed",
        "connection_state_changed", "call_mute_changed", "participant_added",
        "participant_removed", "participant_state_changed", "participant_mute_changed",
        "push_notification", "call_transfer_state_changed", "call_transfer_requested",
        "call_muted_by_others", "call_action_failed", ... any EventKind name in lower case, or "*" for all). Returns `fn`; without `fn`, returns a decorator."""

        def register(f: Handler) -> Handler:
            with self._hlock:
                if event == "*":
                    self._any.append(f)
                else:
                    self._handlers[event_kind(event)].append(f)
            return f

        return register if fn is None else register(fn)

    def off(self, event: Union[str, EventKind], fn: Handler) -> None:
        with self._hlock:
            lst = self._any if event == "*" else self._handlers[event_kind(event)]
            if fn in lst:
                lst.remove(fn)

    @property
    def on_event(self) -> Optional[Handler]:
        """A single handler for every event (set None to remove it)."""
        return getattr(self, "_single", None)

    @on_event.setter
    def on_event(self, fn: Optional[Handler]) -> None:
        with self._hlock:
            old = getattr(self, "_single", None)
            if old is not None and old in self._any:
                self._any.remove(old)
            self._single = fn
            if fn is not None:
                self._any.append(fn)

    def _deliver(self, ev: Event) -> None:
        with self._hlock:
            handlers = list(self._handlers.get(ev.kind, ())) + list(self._any)
        for h in handlers:
            try:
                h(ev)
            except Exception as exc:
                log.exception("acscalling event handler %r raised", h)
                client = self._client
                if client is not None:
                    client.callback_errors.append(exc)

    # -- properties ----------------------------------------------------------------------
    @property
    def user_id(self) -> str:
        return get_string(_ffi.lib().acs_call_agent_get_user_id, self._p)

    @property
    def connection_state(self) -> ConnectionState:
        v = ctypes.c_int32()
        check(_ffi.lib().acs_call_agent_get_connection_state(self._p, ctypes.byref(v)))
        return _enum(ConnectionState, v.value)

    @property
    def calls(self) -> List[Call]:
        """Calls of this agent that have not ended."""
        L = _ffi.lib()
        n = ctypes.c_size_t()
        check(L.acs_call_agent_get_call_count(self._p, ctypes.byref(n)))
        out = []
        for i in range(n.value):
            p = ctypes.POINTER(_ffi.acs_call)()
            status = L.acs_call_agent_get_call(self._p, i, ctypes.byref(p))
            if status == _ffi.ACS_ERR_NOT_FOUND:
                break  # a call ended meanwhile
            check(status)
            out.append(Call(p, self._client, agent=self))
        return out

    # -- operations ----------------------------------------------------------------------
    def start_call(
        self,
        participant_ids: Union[str, Iterable[str]],
        microphone: Optional[AudioDevice] = None,
        speaker: Optional[AudioDevice] = None,
        muted: bool = False,
        alternate_caller_id: Optional[str] = None,
    ) -> Call:
        """Starts a call to one raw id or several ("8:acs:…", "4:+1555…", "8:echo123").
        Returns at once (state CONNECTING). A phone callee may show EARLY_MEDIA (its
        network's ringback or announcement, played) before CONNECTED.

        `alternate_caller_id` ("4:+1555…") is the number phone callees see as the caller
        (ACS's alternate caller id); InvalidArgumentError if it is not a phone number."""
        ids = [participant_ids] if isinstance(participant_ids, (str, bytes)) else list(participant_ids)
        encoded = [c_str(i, "participant id") for i in ids]
        arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
        caller = c_str(alternate_caller_id, "alternate caller id") if alternate_caller_id is not None else None
        o = call_options(microphone, speaker, muted, caller)
        out = ctypes.POINTER(_ffi.acs_call)()
        check(
            _ffi.lib().acs_call_agent_start_call(
                self._p, arr, len(encoded), ctypes.byref(o) if o is not None else None, ctypes.byref(out)
            )
        )
        return Call(out, self._client, agent=self)

    def join(
        self,
        group_id: str,
        microphone: Optional[AudioDevice] = None,
        speaker: Optional[AudioDevice] = None,
        muted: bool = False,
    ) -> Call:
        """Joins the group call `group_id` (a UUID; the first to join creates it). Returns at
        once (state CONNECTING); the call's id is the group id."""
        o = call_options(microphone, speaker, muted)
        out = ctypes.POINTER(_ffi.acs_call)()
        check(
            _ffi.lib().acs_call_agent_join(
                self._p, c_str(group_id, "group id"), ctypes.byref(o) if o is not None else None, ctypes.byref(out)
            )
        )
        return Call(out, self._client, agent=self)

    def join_room(
        self,
        locator: str,
        microphone: Optional[AudioDevice] = None,
        speaker: Optional[AudioDevice] = None,
        muted: bool = False,
    ) -> Call:
        """Joins the room `locator` — its id, or its link "http(s)://<service>/meet/<id>" —
        made with the service's POST /rooms. Returns at once. The service refuses (the call
        ends with 403 and a message) outside the room's validity window or for a user it
        does not list, unless the room has a lobby: then the call's state is
        CallState.IN_LOBBY until an organizer or presenter admits it (CONNECTED, as an
        attendee) or turns it away (403, 10018), or the lobby timeout ends the wait
        (408, 10019). An unknown room is 404. InvalidArgumentError when the locator names no
        room id."""
        o = call_options(microphone, speaker, muted)
        out = ctypes.POINTER(_ffi.acs_call)()
        check(
            _ffi.lib().acs_call_agent_join_room(
                self._p, c_str(locator, "room locator"), ctypes.byref(o) if o is not None else None, ctypes.byref(out)
            )
        )
        return Call(out, self._client, agent=self)

    # -- asyncio (see acscalling.aio) ----------------------------------------------------
    def events(self, kinds: Optional[Collection[Union[int, EventKind]]] = None) -> "EventStream":
        """An async iterator over this agent's events from now on (every call's, incoming
        calls, connection changes); runs until closed. Call it inside a running event loop."""
        from .aio import EventStream

        return EventStream(self, None, kinds)

    async def wait_connected_async(self, timeout: Optional[float] = None) -> None:
        """Waits until connected to the service (aio.ConnectionFailedError if it gives up)."""
        from .aio import wait_for_connection

        await wait_for_connection(self, timeout)

    async def start_call_async(
        self,
        participant_ids: Union[str, Iterable[str]],
        microphone: Optional[AudioDevice] = None,
        speaker: Optional[AudioDevice] = None,
        muted: bool = False,
        alternate_caller_id: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> Call:
        """start_call(), then waits until the call is CONNECTED (returned). Raises
        aio.CallEndedError with the end reason if it ends first (declined: 603, ...)."""
        call = self.start_call(participant_ids, microphone, speaker, muted, alternate_caller_id)
        try:
            await call.wait_for_state_async(CallState.CONNECTED, timeout=timeout)
        except BaseException:
            if call.state != CallState.DISCONNECTED:
                try:
                    call.hang_up()
                except Exception:
                    pass
            raise
        return call

    async def join_async(
        self,
        group_id: str,
        microphone: Optional[AudioDevice] = None,
        speaker: Optional[AudioDevice] = None,
        muted: bool = False,
        timeout: Optional[float] = None,
    ) -> Call:
        """join(), then waits until the call is CONNECTED (returned)."""
        call = self.join(group_id, microphone, speaker, muted)
        await call.wait_for_state_async(CallState.CONNECTED, timeout=timeout)
        return call

    async def incoming_call_async(self, timeout: Optional[float] = None) -> Call:
        """The next incoming call (state INCOMING) that arrives from now on."""
        async with self.events([EventKind.INCOMING_CALL]) as stream:
            ev = await stream.next(timeout)
        assert ev.call is not None
        call: Call = ev.call
        return call

    def update_token(self, token: Union[str, bytes]) -> None:
        """Replaces the token (same user) before it expires."""
        check(_ffi.lib().acs_call_agent_update_token(self._p, c_str(token, "token")))

    # -- push notifications (incoming calls while the app is not running) -----------------
    def register_push_notification(self, url: Union[str, bytes], secret: Union[str, bytes]) -> None:
        """Registers `url` (``http://host[:port]/path``; https is not supported) as a push
        target of this agent's user, with `secret` (16 to 256 bytes) as the key of the
        notifications' HMAC-SHA256. The service keeps it (it outlives the agent) until it is
        unregistered; registering the same url again replaces its secret; at most 10 per user.

        Returns at once (InvalidArgumentError for a bad url or secret); the event
        PUSH_NOTIFICATION with state REGISTERED (``push_subject == url``) or
        REGISTRATION_FAILED (`reason`, `message`) follows."""
        check(
            _ffi.lib().acs_call_agent_register_push_notification(
                self._p, c_str(url, "url"), c_str(secret, "secret")
            )
        )

    def unregister_push_notification(self, url: Optional[Union[str, bytes]] = None) -> None:
        """Removes the push target `url` of this agent's user, or all of them (None). Returns
        at once; PUSH_NOTIFICATION with state UNREGISTERED or UNREGISTRATION_FAILED (404/0: no
        such target) follows."""
        check(_ffi.lib().acs_call_agent_unregister_push_notification(self._p, c_str(url, "url")))

    def handle_push_notification(self, payload: Union[str, bytes], secret: Union[str, bytes]) -> str:
        """Hands this agent a push notification: `payload` is the body the service POSTed to
        the push target (as received), `secret` the one the target was registered with.

        Checked at once: UnauthorizedError when the signature does not match (forged, altered,
        another secret), OperationTimeoutError when it is stale (past its expiry, at most 60 s
        after it was sent), InvalidArgumentError when it is malformed or for another user,
        InvalidStateError when this process handled it before. Then the call is claimed from
        the service (the agent may still be connecting): it arrives as INCOMING_CALL, to
        accept or reject as usual, or PUSH_NOTIFICATION with state CALL_REFUSED says why not
        (410/10013 the call no longer rings, 409/10014 the notification was used before).

        Returns the call's id (what CALL_REFUSED's `push_subject` and the incoming call's
        `id` will be)."""
        body = c_str(payload, "payload")
        check(_ffi.lib().acs_call_agent_handle_push_notification(self._p, body, c_str(secret, "secret")))
        # The library checked the signature and the format: the call id is there.
        data = json.loads(json.loads(body or b"")["data"])
        call_id: str = data["call_id"]
        return call_id

    def close(self) -> None:
        """Releases the agent: its calls end and the connection closes."""
        was_closed = self.closed
        try:
            super().close()
        finally:
            if not was_closed:
                _sinks.remove(self._sink_key)
                if self._refresher_key:
                    _refreshers.remove(self._refresher_key)

    def __repr__(self) -> str:
        try:
            return f"<CallAgent {self.user_id} {self.connection_state!r}>"
        except Exception:
            return super().__repr__()
