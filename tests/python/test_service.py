"""The local service helper and the identity API, and agents signing in (no media needed)."""

import pytest

import acscalling
from acscalling import ConnectionState, EventKind
from acscalling.service import IdentityClient, IdentityError
from acscalling.testing import EventRecorder, fake_token
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 10.0


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def test_service_announces_its_ports(service):
    assert service.http_port > 0 and service.media_port > 0
    assert service.service_url == f"ws://127.0.0.1:{service.http_port}"
    assert service.proc.poll() is None


def test_identity_api(service):
    uid = service.identity.create_user()
    assert uid.startswith("8:acs:")
    tok = service.identity.issue_token(uid, expires_in_secs=600)
    assert tok["id"] == uid and tok["token"].count(".") == 2
    assert tok["expires_on"] > 0
    service.identity.revoke(uid)
    with pytest.raises(IdentityError) as e:
        service.identity.issue_token("8:acs:nobody")
    assert e.value.status == 404
    with pytest.raises(IdentityError) as e:
        IdentityClient(service.http_url, "wrong key").create_user()
    assert e.value.status == 401


@pytest.mark.parametrize("dispatch", ["thread", "manual"])
def test_agent_signs_in(service, dispatch):
    uid, token = service.identity.create_user_with_token()
    with acscalling.CallClient(dispatch=dispatch) as client:
        events = EventRecorder()
        agent = client.create_call_agent(service.service_url, token, "Alice", on_event=events)
        assert agent.user_id == uid
        client.wait_for(lambda: agent.connection_state == ConnectionState.CONNECTED, TIMEOUT, what="connected")
        client.wait_for(lambda: events.find(EventKind.CONNECTION_STATE_CHANGED, lambda e: e.state == ConnectionState.CONNECTED), TIMEOUT)
        states = [e.state for e in events.of(EventKind.CONNECTION_STATE_CHANGED)]
        assert states[:2] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        assert agent.calls == []
        # A fresh token for the same user is accepted while connected.
        agent.update_token(service.identity.issue_token(uid)["token"])
        events.clear()


def test_revoked_token_disconnects_with_401(service):
    uid, token = service.identity.create_user_with_token()
    with acscalling.CallClient() as client:
        events = EventRecorder()
        agent = client.create_call_agent(service.service_url, token, "Alice", on_event=events)
        client.wait_for(lambda: agent.connection_state == ConnectionState.CONNECTED, TIMEOUT)
        service.identity.revoke(uid)
        down = events.wait(EventKind.CONNECTION_STATE_CHANGED, lambda e: e.state == ConnectionState.DISCONNECTED, timeout=TIMEOUT)
        assert down.code == 401
        assert agent.connection_state == ConnectionState.DISCONNECTED
        events.clear()


def test_forged_token_is_refused_by_the_service(service):
    uid = service.identity.create_user()
    with acscalling.CallClient() as client:
        events = EventRecorder()
        agent = client.create_call_agent(service.service_url, fake_token(uid), "Forger", on_event=events)  # noqa: F841 (keep it alive)
        down = events.wait(EventKind.CONNECTION_STATE_CHANGED, lambda e: e.state == ConnectionState.DISCONNECTED, timeout=TIMEOUT)
        assert down.code == 401
        events.clear()


def test_token_refresher_is_kept_alive(service):
    """A refresher is registered without error and released with the agent (it is called a
    minute before expiry, too late for a unit test)."""
    uid, token = service.identity.create_user_with_token()
    calls = []
    with acscalling.CallClient() as client:
        agent = client.create_call_agent(service.service_url, token, "Alice", token_refresher=lambda: calls.append(1) or token)
        client.wait_for(lambda: agent.connection_state == ConnectionState.CONNECTED, TIMEOUT)
        agent.close()
