"""asyncio support: event streams and awaitable operations beside the callbacks.

One way to use it: every awaitable operation is a method ending in ``_async`` on the object it
acts on, and every event stream is an ``events()`` method::

    agent = await client.create_call_agent_async(url, token, "Alice")   # connected
    call = await agent.start_call_async("8:echo123", microphone=mic)    # CONNECTED
    async with call.events() as events:                                 # or: async for
        async for event in events:
            print(event.name, event.state)   # ends after the DISCONNECTED state change
    await call.hang_up_async()                                          # DISCONNECTED

Events come from the library's dispatch thread; each stream hands them to the event loop that
was running when the stream was opened with ``loop.call_soon_threadsafe``, so the coroutine sees
them in order on its own thread. A stream sees the events that happen after it is opened (read
``call.state`` for the state before). Closing it (``await stream.aclose()``, leaving ``async
with``, or the end of the call) unsubscribes it from the agent.

With ``CallClient(dispatch="manual")`` something must still call ``client.dispatch_events()``
(from any thread) for events, and so for the awaitables, to make progress.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, Callable, Collection, Optional, Union

from .call import CallState, EndReason
from .events import ConnectionState, Event, EventKind

if TYPE_CHECKING:
    from types import TracebackType

    from .agent import CallAgent
    from .call import Call

__all__ = ["CallEndedError", "ConnectionFailedError", "EventStream", "wait_for_call_state", "wait_for_connection"]


class CallEndedError(RuntimeError):
    """The call ended (DISCONNECTED) before reaching the state awaited; `end_reason` says why."""

    def __init__(self, call: "Call", end_reason: EndReason, waited_for: Collection[Any]):
        names = "/".join(getattr(s, "name", str(s)) for s in waited_for)
        super().__init__(f"the call ended with reason {tuple(end_reason)} before it was {names}")
        self.call = call
        self.end_reason = end_reason


class ConnectionFailedError(RuntimeError):
    """The agent's connection to the service ended (DISCONNECTED) instead of connecting."""

    def __init__(self, agent: "CallAgent", code: int, subcode: int, message: Optional[str]):
        super().__init__(f"the agent could not connect: ({code}, {subcode}) {message or ''}".rstrip())
        self.agent = agent
        self.code = code
        self.subcode = subcode


def _is_call_end(ev: Event) -> bool:
    return ev.kind == EventKind.CALL_STATE_CHANGED and ev.state == CallState.DISCONNECTED


class EventStream:
    """An async iterator over an agent's events (all of them, or one call's).

    Opened by ``agent.events()`` or ``call.events()`` inside a running event loop. A call's
    stream ends after yielding the call's DISCONNECTED state change (at once, if the call had
    already ended when the stream was opened); an agent's stream runs until closed.
    """

    def __init__(
        self,
        agent: "CallAgent",
        call: Optional["Call"] = None,
        kinds: Optional[Collection[Union[EventKind, int]]] = None,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: "asyncio.Queue[Optional[Event]]" = asyncio.Queue()  # None: closed
        self._agent = agent
        self._call = call
        self._kinds = frozenset(int(k) for k in kinds) if kinds is not None else None
        self._lock = threading.Lock()
        self._closed = False
        self._ended = False  # the call's end was seen: stop once the queue is drained
        agent.on("*", self._on_event)
        # Subscribed first, then read: an end between the two is in the queue, not lost.
        if call is not None and call.state == CallState.DISCONNECTED:
            self._ended = True

    # Runs on the library's dispatch thread (or in dispatch_events in manual mode).
    def _on_event(self, ev: Event) -> None:
        if self._call is not None and (ev.call is None or ev.call != self._call):
            return
        with self._lock:
            if self._closed:
                return
            try:
                self._loop.call_soon_threadsafe(self._put, ev)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                self._closed = True

    # Runs on the loop's thread.
    def _put(self, ev: Optional[Event]) -> None:
        if not self._closed:
            self._queue.put_nowait(ev)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Unsubscribes (idempotent): events still queued are dropped, and a coroutine waiting
        in ``__anext__`` gets StopAsyncIteration. Call it on the loop's thread."""
        with self._lock:
            was_closed, self._closed = self._closed, True
        self._agent.off("*", self._on_event)
        if was_closed:
            return
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)  # wakes a reader blocked in get()

    async def aclose(self) -> None:
        self.close()

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._ended and self._queue.empty():
                self.close()
                raise StopAsyncIteration
            ev = await self._queue.get()
            if ev is None:  # closed while waiting
                raise StopAsyncIteration
            if self._call is not None and _is_call_end(ev):
                self._ended = True
            if self._kinds is None or int(ev.kind) in self._kinds:
                return ev

    async def next(self, timeout: Optional[float] = None) -> Event:
        """The next event, waiting at most `timeout` seconds (asyncio.TimeoutError)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: "Optional[TracebackType]",
    ) -> None:
        self.close()

    async def __aenter__(self) -> "EventStream":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type],
        exc: Optional[BaseException],
        tb: "Optional[TracebackType]",
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed:
                self._agent.off("*", self._on_event)
        except Exception:
            pass


async def wait_for_call_state(
    call: "Call",
    states: Collection[Union[CallState, int]],
    timeout: Optional[float] = None,
    start: Optional[Callable[[], Any]] = None,
) -> CallState:
    """Waits until `call` is in one of `states` and returns that state. `start()`, if given, runs
    after subscribing (so that no event it causes is missed). Raises CallEndedError when the call
    ends first, asyncio.TimeoutError after `timeout` seconds."""
    wanted = {int(s) for s in states}
    agent = call.agent
    if agent is None:
        raise ValueError("the call has no agent (a wrapper made without one)")
    with EventStream(agent, call) as stream:
        if start is not None:
            start()

        async def run() -> CallState:
            state = call.state
            if int(state) in wanted:
                return state
            if state == CallState.DISCONNECTED:
                raise CallEndedError(call, call.end_reason, states)
            async for ev in stream:
                if ev.kind == EventKind.CALL_STATE_CHANGED:
                    if int(ev.state) in wanted:
                        return CallState(ev.state)
                    if ev.state == CallState.DISCONNECTED:
                        raise CallEndedError(call, ev.reason, states)
            raise CallEndedError(call, call.end_reason, states)

        return await asyncio.wait_for(run(), timeout)


async def wait_for_connection(agent: "CallAgent", timeout: Optional[float] = None) -> None:
    """Waits until `agent` is connected to the service. Raises ConnectionFailedError when the
    connection ends instead (bad token, nobody listening), asyncio.TimeoutError after `timeout`."""
    with EventStream(agent, kinds=[EventKind.CONNECTION_STATE_CHANGED]) as stream:

        async def run() -> None:
            # Subscribed first, then read (an agent starts CONNECTING): DISCONNECTED now means
            # it already gave up, before the stream could see the event.
            state = agent.connection_state
            if state == ConnectionState.CONNECTED:
                return
            if state == ConnectionState.DISCONNECTED:
                raise ConnectionFailedError(agent, 0, 0, "disconnected")
            while True:
                ev = await stream.__anext__()
                if ev.state == ConnectionState.CONNECTED:
                    return
                if ev.state == ConnectionState.DISCONNECTED:
                    raise ConnectionFailedError(agent, ev.code, ev.subcode, ev.message)

        await asyncio.wait_for(run(), timeout)
