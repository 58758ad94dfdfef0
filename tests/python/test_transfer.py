"""Call transfer from Python (issue 18, part 2): Call.transfer, Call.answer_transfer, the
events CALL_TRANSFER_STATE_CHANGED / CALL_TRANSFER_REQUESTED and the agent option
answer_transfers.

Alice calls Bob, who answers; Alice transfers Bob to Carol. By default Bob's library accepts
at once: Carol rings, answers, Alice leaves with (0, 10015) and Bob and Carol hear each other.
With answer_transfers=True Bob is asked and refuses (603/10017), then accepts and Carol
declines (603/0): the call goes on, Alice and Bob still hear each other. With a service
started with --transfer-timeout-secs 2 and nobody answering, the transfer fails (408/10016).
"""

import time

import pytest

import acscalling
from acscalling import CallState, EndReason, EventKind, TransferState
from acscalling import _ffi
from acscalling import service as acs_service
from acscalling.testing import EventRecorder, wait_for_power, wait_until
from conftest import service_binary_or_skip

service_binary_or_skip()

T = 20.0
HEARD = 0.005
ALICE_HZ, BOB_HZ, CAROL_HZ = 700.0, 1100.0, 900.0
TRANSFERRED = EndReason(0, 10015)
TRANSFER_TIMEOUT = EndReason(408, 10016)
TRANSFER_REFUSED = EndReason(603, 10017)
DECLINED = EndReason(603, 0)


class Party:
    """A client + agent with a tone microphone and a pull speaker, recording its events."""

    def __init__(self, service, name, freq, answer_transfers=False):
        self.name, self.freq = name, freq
        self.client = acscalling.CallClient()
        self.events = EventRecorder()
        try:
            self.id, token = service.identity.create_user_with_token()
            dm = self.client.device_manager
            self.mic = dm.create_tone_microphone(f"{name} tone", freq, 0.5)
            self.speaker = dm.create_pull_speaker(f"{name} speaker", 3000)
            self.agent = self.client.create_call_agent(service.service_url, token, name, on_event=self.events,
                                                       answer_transfers=answer_transfers)
            wait_until(lambda: self.agent.connection_state == acscalling.ConnectionState.CONNECTED, T,
                       what=f"{name} to connect")
        except BaseException:
            self.close()
            raise

    def incoming(self, n=1):
        """The n-th incoming call (waits for it)."""
        wait_until(lambda: len(self.events.of(EventKind.INCOMING_CALL)) >= n, T, what=f"{self.name}'s call {n}")
        return self.events.of(EventKind.INCOMING_CALL)[n - 1].call

    def accept(self, call):
        call.accept(microphone=self.mic, speaker=self.speaker)

    def transfers(self):
        return self.events.of(EventKind.CALL_TRANSFER_STATE_CHANGED)

    def states(self):
        return [e.state for e in self.transfers()]

    def wait_states(self, n, what=""):
        wait_until(lambda: len(self.transfers()) >= n, T,
                   what=f"{n} transfer events of {self.name} {what} (have {self.states()})")
        return self.transfers()

    def requests(self):
        return self.events.of(EventKind.CALL_TRANSFER_REQUESTED)

    def hears(self, freq):
        return wait_for_power(self.speaker, freq, lambda p: p > HEARD, timeout=10)

    def close(self):
        self.events.clear()
        self.client.close()


def connected_call(service, bob_answers_transfers=False):
    """Alice calls Bob, who answers: (alice, bob, alice's call, bob's call)."""
    alice = Party(service, "Alice", ALICE_HZ)
    bob = None
    try:
        bob = Party(service, "Bob", BOB_HZ, answer_transfers=bob_answers_transfers)
        call = alice.agent.start_call(bob.id, microphone=alice.mic, speaker=alice.speaker)
        bobs = bob.incoming()
        bob.accept(bobs)
        wait_until(lambda: call.state == CallState.CONNECTED and bobs.state == CallState.CONNECTED, T,
                   what="Alice and Bob connected")
        return alice, bob, call, bobs
    except BaseException:
        alice.close()
        if bob is not None:
            bob.close()
        raise


def check_transfer_events(events, call, target, want_states):
    assert [e.state for e in events] == want_states, [(e.state, e.reason) for e in events]
    for e in events:
        assert isinstance(e.state, TransferState)
        assert e.transfer_target == target, e.transfer_target
        assert e.call == call


def test_alice_transfers_bob_to_carol_who_answers_and_alice_leaves(service, no_leaks):
    alice, bob, call, bobs = connected_call(service)
    carol = None
    try:
        carol = Party(service, "Carol", CAROL_HZ)
        t0 = time.monotonic()
        call.transfer(carol.id)
        carols = carol.incoming()
        rang = time.monotonic()
        assert carols.remote_participants[0].identifier == bob.id, "Bob invites Carol into his call"
        carol.accept(carols)
        wait_until(lambda: call.state == CallState.DISCONNECTED, T,
                   what=f"Alice's call to end (Alice {alice.states()}, Bob {bob.states()})")
        took = time.monotonic() - t0
        assert call.end_reason == TRANSFERRED, call.end_reason

        want = [TransferState.REQUESTED, TransferState.TRANSFERRING, TransferState.TRANSFERRED]
        check_transfer_events(alice.wait_states(3), call, carol.id, want)
        assert all((e.code, e.subcode) == (0, 0) for e in alice.transfers())
        check_transfer_events(bob.wait_states(3), bobs, carol.id, want)
        # Bob's library accepted by itself; the request is still news to the host.
        (req,) = bob.requests()
        assert req.participant_id == alice.id and req.transfer_target == carol.id
        assert req.participant is not None and req.participant.identifier == alice.id
        assert req.call == bobs and req.state == 0
        assert alice.requests() == [] and carol.transfers() == [] and carol.requests() == []
        # Other events carry no transfer target.
        assert all(e.transfer_target is None for e in alice.events.of(EventKind.CALL_STATE_CHANGED))

        # Bob's call goes on with Carol (Alice left it with 0/10015); Carol talks to Bob only.
        assert bobs.state == CallState.CONNECTED
        wait_until(lambda: carols.state == CallState.CONNECTED, T, what="Carol connected")
        gone = bob.events.wait(EventKind.PARTICIPANT_REMOVED,
                               lambda e: e.participant is not None and e.participant.identifier == alice.id, T)
        assert gone.participant.end_reason == TRANSFERRED, gone.participant.end_reason
        wait_until(lambda: [p.identifier for p in bobs.remote_participants] == [carol.id], T,
                   what="Bob's roster to be Carol")
        assert [p.identifier for p in carols.remote_participants] == [bob.id]
        b_hears = bob.hears(CAROL_HZ)
        c_hears = carol.hears(BOB_HZ)
        print(f"transfer: request -> Carol rings {1000 * (rang - t0):.0f} ms, -> transferred (Alice's call over, "
              f"Carol answering included) {1000 * took:.0f} ms; Bob hears Carol {b_hears:.3f}, "
              f"Carol hears Bob {c_hears:.3f}")
        # A 1:1 call again: Carol hanging up ends Bob's call.
        carols.hang_up()
        wait_until(lambda: bobs.state == CallState.DISCONNECTED, T, what="Bob's call to end")
    finally:
        for p in (carol, bob, alice):
            if p is not None:
                p.close()


def test_a_transferee_that_refuses_or_a_target_that_declines_leaves_the_call_as_it_was(service, no_leaks):
    alice, bob, call, bobs = connected_call(service, bob_answers_transfers=True)
    carol = None
    try:
        carol = Party(service, "Carol", CAROL_HZ)
        # Refused before anything is sent: no event follows.
        for bad, err in (("nobody", acscalling.InvalidArgumentError), ("", acscalling.InvalidArgumentError),
                         ("4:+12ab", acscalling.InvalidArgumentError),
                         (b"8:acs:\xff\xfe", acscalling.InvalidUtf8Error),
                         ("8:acs:x\0y", acscalling.InvalidArgumentError)):
            with pytest.raises(err):
                call.transfer(bad)
        with pytest.raises(TypeError):
            call.transfer(42)  # type: ignore[arg-type]
        L = _ffi.lib()
        assert L.acs_call_transfer(call._p, None) == _ffi.ACS_ERR_NULL_POINTER
        assert L.acs_call_transfer(None, carol.id.encode()) == _ffi.ACS_ERR_INVALID_HANDLE
        assert L.acs_call_answer_transfer(None, True) == _ffi.ACS_ERR_INVALID_HANDLE

        # Bob answers transfers himself: the request arrives, naming Alice, and waits.
        call.transfer(carol.id)
        req = bob.events.wait(EventKind.CALL_TRANSFER_REQUESTED, timeout=T)
        assert req.participant_id == alice.id and req.transfer_target == carol.id
        assert req.participant is not None and req.participant.identifier == alice.id
        assert req.call == bobs
        check_transfer_events(alice.wait_states(1), call, carol.id, [TransferState.REQUESTED])
        time.sleep(0.3)
        assert TransferState.TRANSFERRING not in alice.states() + bob.states(), "nobody answered yet"
        assert carol.events.of(EventKind.INCOMING_CALL) == [], "Carol does not ring before Bob accepts"
        # He refuses: FAILED 603/10017 on both sides. A request is answered once.
        req.call.answer_transfer(False)
        with pytest.raises(acscalling.InvalidStateError):
            req.call.answer_transfer(True)
        failed = [TransferState.REQUESTED, TransferState.FAILED]
        a = alice.wait_states(2)
        check_transfer_events(a, call, carol.id, failed)
        assert a[-1].reason == TRANSFER_REFUSED, a[-1].reason
        b = bob.wait_states(2)
        check_transfer_events(b, bobs, carol.id, failed)
        assert b[-1].reason == TRANSFER_REFUSED, b[-1].reason
        assert carol.events.of(EventKind.INCOMING_CALL) == [], "Carol never rang"
        # The call goes on: Alice and Bob still hear each other.
        assert call.state == CallState.CONNECTED and bobs.state == CallState.CONNECTED
        a_hears, b_hears = alice.hears(BOB_HZ), bob.hears(ALICE_HZ)
        print(f"after the refusal: Alice hears Bob {a_hears:.3f}, Bob hears Alice {b_hears:.3f}")

        # He accepts the second; Carol declines: FAILED 603/0 on both sides.
        call.transfer(carol.id)
        wait_until(lambda: len(bob.requests()) == 2, T, what="Bob's second transfer request")
        bobs.answer_transfer(True)
        carols = carol.incoming()
        carols.reject()
        twice = failed + [TransferState.REQUESTED, TransferState.TRANSFERRING, TransferState.FAILED]
        a = alice.wait_states(5)
        check_transfer_events(a, call, carol.id, twice)
        assert a[-1].reason == DECLINED, a[-1].reason
        b = bob.wait_states(5)
        check_transfer_events(b, bobs, carol.id, twice)
        assert b[-1].reason == DECLINED, b[-1].reason
        assert call.state == CallState.CONNECTED and bobs.state == CallState.CONNECTED
        a_hears, b_hears = alice.hears(BOB_HZ), bob.hears(ALICE_HZ)
        print(f"after Carol declined: Alice hears Bob {a_hears:.3f}, Bob hears Alice {b_hears:.3f}")
        assert [p.identifier for p in call.remote_participants] == [bob.id]
        # Still a 1:1 call: Bob hanging up ends Alice's.
        bobs.hang_up()
        wait_until(lambda: call.state == CallState.DISCONNECTED, T, what="Alice's call to end")
        assert call.end_reason != TRANSFERRED
    finally:
        for p in (carol, bob, alice):
            if p is not None:
                p.close()


@pytest.fixture(scope="module")
def short_timeout_service():
    """A service of its own whose transfers time out after 2 s."""
    svc = acs_service.LocalService.start(binary=service_binary_or_skip(),
                                         extra_args=["--transfer-timeout-secs", "2"])
    yield svc
    svc.stop()


def test_a_transfer_nobody_answers_fails_after_the_transfer_timeout(short_timeout_service, no_leaks):
    svc = short_timeout_service
    alice, bob, call, bobs = connected_call(svc)
    carol = None
    try:
        carol = Party(svc, "Carol", CAROL_HZ)
        t0 = time.monotonic()
        call.transfer(carol.id)
        carols = carol.incoming()  # rings; nobody answers
        a = alice.wait_states(3, "(the timeout)")
        took = time.monotonic() - t0
        check_transfer_events(a, call, carol.id,
                              [TransferState.REQUESTED, TransferState.TRANSFERRING, TransferState.FAILED])
        assert a[-1].reason == TRANSFER_TIMEOUT, a[-1].reason
        assert took >= 1.9, took
        b = bob.wait_states(3)
        assert b[-1].state == TransferState.FAILED and b[-1].reason == TRANSFER_TIMEOUT, b[-1].reason
        # Carol's ringing is cancelled; Alice and Bob go on.
        wait_until(lambda: carols.state == CallState.DISCONNECTED, T, what="Carol's ringing to stop")
        assert call.state == CallState.CONNECTED and bobs.state == CallState.CONNECTED
        a_hears = alice.hears(BOB_HZ)
        print(f"transfer timeout: FAILED 408/10016 after {took:.2f} s (--transfer-timeout-secs 2); "
              f"Carol's call ended {tuple(carols.end_reason)}; Alice hears Bob {a_hears:.3f}")
    finally:
        for p in (carol, bob, alice):
            if p is not None:
                p.close()
