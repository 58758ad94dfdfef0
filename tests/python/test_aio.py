"""The asyncio API (acscalling.aio) with real calls through a local acscalling-service: the
echo bot through awaitables and `async for event in call.events()`, a two-party call whose
streams see each other's state changes, participants added and removed, failures as
exceptions, and streams that unsubscribe when closed.

Plain `asyncio.run` inside the tests (no pytest plugin needed).
"""

import asyncio
import threading
import time

import pytest

import acscalling
from acscalling import CallEndedError, CallState, ConnectionFailedError, EventKind, ParticipantState
from acscalling.testing import closed_port_url, fake_token, wait_for_power
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 20.0
HEARD = 0.01
ECHO_HZ, ALICE_HZ, BOB_HZ = 523.0, 440.0, 660.0


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def run(coro, timeout=90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def devices(client, name, freq):
    dm = client.device_manager
    return dm.create_tone_microphone(f"{name} {freq:g} Hz", freq, 0.5), dm.create_pull_speaker(f"{name} speaker", 3000)


def test_echo_call_with_awaitables_and_event_stream(service):
    user_id, token = service.identity.create_user_with_token()

    async def main():
        loop_thread = threading.get_ident()
        with acscalling.CallClient() as client:
            mic, spk = devices(client, "alice", ECHO_HZ)
            agent = await client.create_call_agent_async(service.service_url, token, "Alice", timeout=TIMEOUT)
            assert agent.connection_state == acscalling.ConnectionState.CONNECTED
            async with agent.events() as agent_events:
                call = await agent.start_call_async(acscalling.ECHO_BOT_ID, microphone=mic, speaker=spk, timeout=TIMEOUT)
                assert call.state == CallState.CONNECTED
                # The agent's stream saw the call connect, delivered on the loop's thread.
                seen = []
                while not any(e.kind == EventKind.CALL_STATE_CHANGED and e.state == CallState.CONNECTED for e in seen):
                    seen.append(await agent_events.next(TIMEOUT))
                assert all(e.call == call for e in seen if e.call is not None)
            assert agent_events.closed
            # The echo comes back (measured off the loop: wait_for_power sleeps).
            power = await asyncio.to_thread(
                wait_for_power, spk, ECHO_HZ, lambda p: p > HEARD, timeout=TIMEOUT, window=0.5
            )
            assert power > HEARD
            events = call.events()
            threads = []

            async def hang_up_soon():
                await asyncio.sleep(0.5)
                return await call.hang_up_async(timeout=TIMEOUT)

            hang_up = asyncio.create_task(hang_up_soon())
            got = []
            async for ev in events:
                threads.append(threading.get_ident())
                got.append(ev)
            assert await hang_up == (0, 0)
            # The stream ended with the DISCONNECTED state change, and unsubscribed itself.
            assert got and got[-1].kind == EventKind.CALL_STATE_CHANGED and got[-1].state == CallState.DISCONNECTED
            states = [e.state for e in got if e.kind == EventKind.CALL_STATE_CHANGED]
            assert states[-1] == CallState.DISCONNECTED and states.count(CallState.DISCONNECTED) == 1, states
            assert all(e.call == call for e in got)
            assert set(threads) == {loop_thread}
            assert events.closed
            # A stream opened on an ended call ends at once.
            assert [e async for e in call.events()] == []
            with pytest.raises(StopAsyncIteration):
                await events.__anext__()
            del got, seen, events
            agent.close()

    run(main())


def test_two_party_call_streams(service):
    alice_id, alice_token = service.identity.create_user_with_token()
    bob_id, bob_token = service.identity.create_user_with_token()

    async def main():
        with acscalling.CallClient() as ac, acscalling.CallClient() as bc:
            a_mic, a_spk = devices(ac, "alice", ALICE_HZ)
            b_mic, b_spk = devices(bc, "bob", BOB_HZ)
            alice, bob = await asyncio.gather(
                ac.create_call_agent_async(service.service_url, alice_token, "Alice", timeout=TIMEOUT),
                bc.create_call_agent_async(service.service_url, bob_token, "Bob", timeout=TIMEOUT),
            )
            incoming = asyncio.create_task(bob.incoming_call_async(timeout=TIMEOUT))
            await asyncio.sleep(0)  # let the task subscribe before the call is placed
            a_call = alice.start_call(bob_id, microphone=a_mic, speaker=a_spk)
            a_events = a_call.events()
            b_call = await incoming
            assert b_call.state == CallState.INCOMING
            b_events = b_call.events()
            await b_call.accept_async(microphone=b_mic, speaker=b_spk, timeout=TIMEOUT)
            assert await a_call.wait_for_state_async(CallState.CONNECTED, timeout=TIMEOUT) == CallState.CONNECTED
            hears_bob = await asyncio.to_thread(wait_for_power, a_spk, BOB_HZ, lambda p: p > HEARD, timeout=TIMEOUT)
            assert hears_bob > HEARD
            # Hold / resume as awaitables; Bob's stream sees Alice's participant go on hold.
            await a_call.hold_async(timeout=TIMEOUT)
            await a_call.resume_async(timeout=TIMEOUT)

            async def collect(stream):
                return [e async for e in stream]

            a_task = asyncio.create_task(collect(a_events))
            b_task = asyncio.create_task(collect(b_events))
            await asyncio.sleep(0.3)
            await a_call.hang_up_async(timeout=TIMEOUT)
            a_got, b_got = await asyncio.wait_for(asyncio.gather(a_task, b_task), TIMEOUT)
            a_states = [e.state for e in a_got if e.kind == EventKind.CALL_STATE_CHANGED]
            b_states = [e.state for e in b_got if e.kind == EventKind.CALL_STATE_CHANGED]
            assert CallState.CONNECTED in a_states and CallState.LOCAL_HOLD in a_states, a_states
            assert a_states[-1] == CallState.DISCONNECTED and b_states[-1] == CallState.DISCONNECTED
            assert CallState.CONNECTED in b_states, b_states
            b_part = [e.state for e in b_got if e.kind == EventKind.PARTICIPANT_STATE_CHANGED]
            assert ParticipantState.HOLD in b_part, [(e.name, e.state) for e in b_got]
            assert all(e.call == b_call for e in b_got)
            del a_got, b_got, a_events, b_events
            alice.close()
            bob.close()

    run(main())


def test_group_call_participants_added_and_removed(service):
    ids = [service.identity.create_user_with_token() for _ in range(2)]

    async def main():
        with acscalling.CallClient() as ac, acscalling.CallClient() as bc:
            a_mic, a_spk = devices(ac, "alice", ALICE_HZ)
            b_mic, b_spk = devices(bc, "bob", BOB_HZ)
            alice = await ac.create_call_agent_async(service.service_url, ids[0][1], "Alice", timeout=TIMEOUT)
            bob = await bc.create_call_agent_async(service.service_url, ids[1][1], "Bob", timeout=TIMEOUT)
            import uuid

            group = str(uuid.uuid4())
            a_call = await alice.join_async(group, microphone=a_mic, speaker=a_spk, timeout=TIMEOUT)
            async with a_call.events([EventKind.PARTICIPANT_ADDED, EventKind.PARTICIPANT_REMOVED]) as stream:
                b_call = await bob.join_async(group, microphone=b_mic, speaker=b_spk, timeout=TIMEOUT)
                added = await stream.next(TIMEOUT)
                assert added.kind == EventKind.PARTICIPANT_ADDED
                assert added.participant.identifier == ids[1][0]
                await b_call.hang_up_async(timeout=TIMEOUT)
                removed = await stream.next(TIMEOUT)
                assert removed.kind == EventKind.PARTICIPANT_REMOVED
                assert removed.participant.identifier == ids[1][0]
            del added, removed
            await a_call.hang_up_async(timeout=TIMEOUT)
            alice.close()
            bob.close()

    run(main())


def test_failures_raise(service):
    bob_id, bob_token = service.identity.create_user_with_token()
    _, alice_token = service.identity.create_user_with_token()

    async def main():
        with acscalling.CallClient() as client:
            t = time.monotonic()
            with pytest.raises(ConnectionFailedError):
                await client.create_call_agent_async(closed_port_url(), fake_token(), "Nobody", timeout=TIMEOUT)
            assert time.monotonic() - t < TIMEOUT
            with acscalling.CallClient() as bc:
                bob = await bc.create_call_agent_async(service.service_url, bob_token, "Bob", timeout=TIMEOUT)
                bob.on("incoming_call", lambda ev: ev.call.reject())
                alice = await client.create_call_agent_async(service.service_url, alice_token, "Alice", timeout=TIMEOUT)
                with pytest.raises(CallEndedError) as info:
                    await alice.start_call_async(bob_id, timeout=TIMEOUT)
                assert info.value.end_reason.code == 603
                del info
                alice.close()
                bob.close()

    run(main())


def test_closing_a_stream_unsubscribes(service):
    _, token = service.identity.create_user_with_token()

    async def main():
        with acscalling.CallClient() as client:
            agent = await client.create_call_agent_async(service.service_url, token, "Alice", timeout=TIMEOUT)
            before = len(agent._any)
            stream = agent.events()
            assert len(agent._any) == before + 1
            await stream.aclose()
            assert len(agent._any) == before
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()
            # A reader waiting for the next event is woken by the close.
            waiting_stream = agent.events()
            reader = asyncio.create_task(waiting_stream.__anext__())
            await asyncio.sleep(0.05)
            assert not reader.done()
            await waiting_stream.aclose()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(reader, TIMEOUT)
            assert len(agent._any) == before
            # Breaking out of `async with` unsubscribes too.
            call = agent.start_call(acscalling.ECHO_BOT_ID)
            async with call.events() as events:
                async for ev in events:
                    break
            assert len(agent._any) == before
            await call.hang_up_async(timeout=TIMEOUT)
            del ev, events, stream, waiting_stream, reader
            agent.close()

    run(main())
