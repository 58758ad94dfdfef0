"""Library log lines reach Python's logging under the `acscalling` logger (`acscalling.lib`),
levels mapped, from the library's own threads, through a real echo call; a failing sink never
raises into the library; several clients do not log each line several times."""

import logging
import threading

import pytest

import acscalling
from acscalling import CallState, LogLevel
from acscalling.testing import closed_port_url, fake_token, wait_until
from conftest import service_binary_or_skip

service_binary_or_skip()

TIMEOUT = 20.0
CONNECTED_LINE = "PeerConnection connected"


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def lib_records(caplog, text=None):
    return [r for r in caplog.records if r.name == "acscalling.lib" and (text is None or text in r.getMessage())]


def echo_call(service, client):
    _, token = service.identity.create_user_with_token()
    agent = client.create_call_agent(service.service_url, token, "Alice")
    client.wait_for(lambda: agent.connection_state == acscalling.ConnectionState.CONNECTED, TIMEOUT)
    call = agent.start_call(acscalling.ECHO_BOT_ID)
    client.wait_for(lambda: call.state == CallState.CONNECTED, TIMEOUT)
    return agent, call


def test_library_lines_reach_python_logging(service, caplog):
    main_thread = threading.get_ident()
    threads = set()

    class ThreadOf(logging.Handler):
        def emit(self, record):
            if record.name == "acscalling.lib":
                threads.add(record.thread)

    handler = ThreadOf()
    logging.getLogger("acscalling").addHandler(handler)
    try:
        with caplog.at_level(logging.DEBUG, logger="acscalling"):
            with acscalling.CallClient() as client, acscalling.CallClient() as idle:
                assert client.dispatch == "thread" and idle is not None
                agent, call = echo_call(service, client)
                wait_until(lambda: lib_records(caplog, CONNECTED_LINE), TIMEOUT, what="the transport's DEBUG line")
                call.hang_up()
                client.wait_for(lambda: call.state == CallState.DISCONNECTED, TIMEOUT)
                del agent, call
    finally:
        logging.getLogger("acscalling").removeHandler(handler)
    connected = lib_records(caplog, CONNECTED_LINE)
    # Two clients at DEBUG, one line each: only one of them logs it to Python.
    assert len(connected) == 1, [r.getMessage() for r in connected]
    rec = connected[0]
    assert rec.levelno == logging.DEBUG
    assert rec.rust_target.startswith("acscalling::media"), rec.rust_target
    assert not rec.getMessage().startswith("[")  # the target is in rust_target, not the text
    assert threads and main_thread not in threads  # logged from the library's threads
    assert {r.levelno for r in lib_records(caplog)} <= {logging.ERROR, logging.WARNING, logging.INFO, logging.DEBUG, 5}


def test_levels_follow_the_logger(service, caplog):
    # At WARNING (the default) the library is not even asked for DEBUG lines.
    with caplog.at_level(logging.WARNING, logger="acscalling"):
        assert acscalling.level_for_logger() == LogLevel.WARN
        with acscalling.CallClient() as client:
            agent, call = echo_call(service, client)
            call.hang_up()
            client.wait_for(lambda: call.state == CallState.DISCONNECTED, TIMEOUT)
            del agent, call
    assert not [r for r in lib_records(caplog) if r.levelno < logging.WARNING]
    # An unreachable service is a WARNING or an ERROR from the agent.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="acscalling"):
        with acscalling.CallClient() as client:
            agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
            client.wait_for(lambda: agent.connection_state == acscalling.ConnectionState.DISCONNECTED, TIMEOUT)
            wait_until(lambda: [r for r in lib_records(caplog) if r.levelno >= logging.WARNING], TIMEOUT, what="a warning")
            del agent
    assert any("connect" in r.getMessage() for r in lib_records(caplog) if r.levelno >= logging.WARNING)
    with pytest.raises(ValueError):
        acscalling.CallClient(log="print")


def test_raising_sinks_never_reach_the_library(service, caplog, capfd):
    calls = []

    def bad_sink(level, message):
        calls.append(level)
        raise RuntimeError("sink bug")

    class BadHandler(logging.Handler):
        def emit(self, record):
            raise RuntimeError("handler bug")

        def handleError(self, record):  # logging would print the traceback; re-raise instead
            raise

    bad = BadHandler()
    logging.getLogger("acscalling.lib").addHandler(bad)
    try:
        with caplog.at_level(logging.DEBUG, logger="acscalling"):
            with acscalling.CallClient(log=bad_sink, log_level=LogLevel.DEBUG) as c1, acscalling.CallClient() as c2:
                a1, call1 = echo_call(service, c1)
                a2, call2 = echo_call(service, c2)
                wait_until(lambda: calls, TIMEOUT, what="a line for the raising sink")
                # The calls carry on: the library threads that logged were not disturbed.
                for c, call in ((c1, call1), (c2, call2)):
                    assert call.state == CallState.CONNECTED
                    call.hang_up()
                    c.wait_for(lambda call=call: call.state == CallState.DISCONNECTED, TIMEOUT)
                del a1, a2, call1, call2
    finally:
        logging.getLogger("acscalling.lib").removeHandler(bad)
    err = capfd.readouterr().err
    assert "sink bug" not in err and "handler bug" not in err and "ctypes callback" not in err, err
