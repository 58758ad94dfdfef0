"""Bad input must give a status code (as an AcsError), never a crash or a leak.

Needs only the library (no service, no media): NULL / bogus / released / wrong-type handles on
every handle-taking function, invalid UTF-8, bad tokens and URLs, status strings, the last
error message, the version, buffer sizing, and the connection-failure event.
"""

import ctypes
import gc
import threading

import pytest

import acscalling
from acscalling import _ffi
from acscalling.testing import closed_port_url, fake_token, make_jwt, wait_until
from conftest import HEADER, library_or_skip

library_or_skip()

L = _ffi.lib()
OPAQUE = tuple(_ffi.OPAQUE_TYPES.values())


@pytest.fixture(autouse=True)
def _no_leaks(no_leaks):
    yield


def _noop_cb(cb_type):
    restype = cb_type._restype_
    return cb_type((lambda *a: 0) if restype is not None else (lambda *a: None))


def default_args(name, handle_value):
    """Valid-looking arguments for `name`, with `handle_value` as its first (handle) argument."""
    _, argtypes = _ffi.FUNCTIONS[name]
    args, keep = [], []
    for i, t in enumerate(argtypes):
        if i == 0:
            args.append(ctypes.cast(handle_value, t) if handle_value else t())
        elif t is ctypes.POINTER(ctypes.c_char):
            buf = ctypes.create_string_buffer(64)
            keep.append(buf)
            args.append(buf)
        elif t is ctypes.c_char_p:
            args.append(b"x")
        elif t is ctypes.POINTER(ctypes.c_char_p):
            arr = (ctypes.c_char_p * 1)(b"8:echo123")
            keep.append(arr)
            args.append(arr)
        elif t is ctypes.POINTER(ctypes.c_int16):
            arr = (ctypes.c_int16 * 960)()
            keep.append(arr)
            args.append(arr)
        elif t in (ctypes.c_size_t,):
            args.append(64 if argtypes[i - 1] is ctypes.POINTER(ctypes.c_char) else 1)
        elif t is ctypes.c_uint32:
            args.append(1)
        elif t is ctypes.c_int32:
            args.append(0)  # a valid enum value (e.g. ACS_MEDIA_KIND_AUDIO)
        elif t is ctypes.c_float:
            args.append(0.5)
        elif t is ctypes.c_bool:
            args.append(False)
        elif t is ctypes.c_void_p:
            args.append(None)
        elif t in _ffi.CALLBACKS.values():
            cb = _noop_cb(t)
            keep.append(cb)
            args.append(cb)
        elif hasattr(t, "_type_") and t._type_ in OPAQUE:
            args.append(t())  # another handle argument: NULL
        elif hasattr(t, "_type_") and hasattr(t._type_, "_type_") and t._type_._type_ in OPAQUE:
            out = t._type_()
            keep.append(out)
            args.append(ctypes.byref(out))
        elif hasattr(t, "_type_") and t._type_ in _ffi.STRUCTS.values():
            s = t._type_()
            init = {
                _ffi.acs_call_options: L.acs_call_options_init,
                _ffi.acs_call_agent_options: L.acs_call_agent_options_init,
                _ffi.acs_call_client_options: L.acs_call_client_options_init,
                _ffi.acs_audio_processing_options: L.acs_audio_processing_options_init,
                _ffi.acs_video_view_options: L.acs_video_view_options_init,
                _ffi.acs_video_frame_buffer: L.acs_video_frame_buffer_init,
            }.get(t._type_)
            if init:
                init(ctypes.byref(s))
            if t._type_ is _ffi.acs_call_agent_options:
                s.service_url = b"ws://127.0.0.1:9"
                s.token = fake_token().encode()
            keep.append(s)
            args.append(ctypes.byref(s))
        elif hasattr(t, "_type_"):
            v = t._type_()
            keep.append(v)
            args.append(ctypes.byref(v))
        else:
            raise AssertionError(f"{name}: no default for {t}")
    return args, keep


def handle_functions():
    """(name, opaque type name) of every function whose first parameter is a handle."""
    out = []
    for name, (_, argtypes) in _ffi.FUNCTIONS.items():
        if argtypes and hasattr(argtypes[0], "_type_") and argtypes[0]._type_ in OPAQUE:
            out.append((name, argtypes[0]._type_.__name__))
    return out


HANDLE_FUNCTIONS = handle_functions()


def test_there_are_handle_functions_for_every_type():
    assert len(HANDLE_FUNCTIONS) > 50
    assert {t for _, t in HANDLE_FUNCTIONS} == set(_ffi.OPAQUE_TYPES)


@pytest.fixture(scope="module")
def stale_handles():
    """Released handles of the types we can create without media: value by type name."""
    client = ctypes.POINTER(_ffi.acs_call_client)()
    assert L.acs_call_client_create(None, ctypes.byref(client)) == 0
    dm = ctypes.POINTER(_ffi.acs_device_manager)()
    assert L.acs_call_client_get_device_manager(client, ctypes.byref(dm)) == 0
    opts = _ffi.acs_call_agent_options()
    L.acs_call_agent_options_init(ctypes.byref(opts))
    opts.service_url = closed_port_url().encode()
    opts.token = fake_token().encode()
    agent = ctypes.POINTER(_ffi.acs_call_agent)()
    assert L.acs_call_client_create_call_agent(client, ctypes.byref(opts), ctypes.byref(agent)) == 0
    values = {
        "acs_call_agent": ctypes.cast(agent, ctypes.c_void_p).value,
        "acs_device_manager": ctypes.cast(dm, ctypes.c_void_p).value,
        "acs_call_client": ctypes.cast(client, ctypes.c_void_p).value,
    }
    assert L.acs_call_agent_release(agent) == 0
    assert L.acs_device_manager_release(dm) == 0
    assert L.acs_call_client_release(client) == 0
    return values


@pytest.mark.parametrize("name,type_name", HANDLE_FUNCTIONS)
def test_null_handle(name, type_name):
    args, _keep = default_args(name, 0)
    status = getattr(L, name)(*args)
    if name.endswith("_release"):
        assert status == _ffi.ACS_OK, "release(NULL) is documented as OK"
    else:
        assert status == _ffi.ACS_ERR_INVALID_HANDLE, acscalling.last_error_message()
        assert type_name in acscalling.last_error_message()


@pytest.mark.parametrize("bogus", [0x1, 0xDEADBEEF, 0x0A75_0000_0008, 0x0A75_FFFF_FFF0, 2**63 + 16])
@pytest.mark.parametrize("name,type_name", HANDLE_FUNCTIONS)
def test_bogus_handle(name, type_name, bogus):
    args, _keep = default_args(name, bogus)
    assert getattr(L, name)(*args) == _ffi.ACS_ERR_INVALID_HANDLE


@pytest.mark.parametrize("name,type_name", HANDLE_FUNCTIONS)
def test_released_handle(name, type_name, stale_handles):
    value = stale_handles.get(type_name, stale_handles["acs_device_manager"])
    args, _keep = default_args(name, value)
    assert getattr(L, name)(*args) == _ffi.ACS_ERR_INVALID_HANDLE


@pytest.mark.parametrize("name,type_name", HANDLE_FUNCTIONS)
def test_wrong_type_handle(name, type_name):
    """A live handle of another type is refused (a device manager, or a client for DM functions)."""
    with acscalling.CallClient() as client:
        other = client.device_manager if type_name != "acs_device_manager" else client
        args, _keep = default_args(name, other.handle)
        before = acscalling.live_handle_count()
        assert getattr(L, name)(*args) == _ffi.ACS_ERR_INVALID_HANDLE
        assert acscalling.live_handle_count() == before, "a refused call must not change refcounts"


def test_closed_wrappers_raise_invalid_handle():
    client = acscalling.CallClient()
    dm = client.device_manager
    agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
    agent.close()
    with pytest.raises(acscalling.InvalidHandleError) as e:
        agent.user_id
    assert "acs_call_agent" in e.value.message
    with pytest.raises(acscalling.InvalidHandleError):
        agent.start_call("8:echo123")
    dm.close()
    with pytest.raises(acscalling.InvalidHandleError):
        dm.microphones
    client.close()
    client.close()  # idempotent
    with pytest.raises(acscalling.InvalidHandleError):
        client.dispatch_events(0)


def test_wrappers_of_one_handle_compare_equal():
    with acscalling.CallClient() as client:
        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
        assert L.acs_call_agent_retain(agent._p) == 0
        twin = acscalling.CallAgent(agent._p, client)  # owns the reference just taken
        assert twin == agent and hash(twin) == hash(agent) and twin is not agent
        twin.close()
        assert agent.user_id  # still alive: each wrapper owned its own reference
        dm1 = client.device_manager
        out = ctypes.POINTER(_ffi.acs_device_manager)()
        assert L.acs_call_client_get_device_manager(client._p, ctypes.byref(out)) == 0
        dm2 = acscalling.DeviceManager(out, client)
        assert dm1 == dm2 and dm1 != agent


def test_invalid_utf8():
    bad = b"\xff\xfe\xc3("
    with acscalling.CallClient() as client:
        for kwargs in (
            dict(service_url=b"ws://127.0.0.1:1/" + bad, token=fake_token()),
            dict(service_url="ws://127.0.0.1:1", token=bad),
            dict(service_url="ws://127.0.0.1:1", token=fake_token(), display_name=bad),
        ):
            with pytest.raises(acscalling.InvalidUtf8Error) as e:
                client.create_call_agent(**kwargs)
            assert e.value.status == _ffi.ACS_ERR_INVALID_UTF8
            assert "UTF-8" in e.value.message
        with pytest.raises(acscalling.InvalidUtf8Error):
            client.device_manager.create_tone_microphone(bad, 440.0, 0.5)
        with pytest.raises(acscalling.InvalidUtf8Error):
            client.device_manager.create_pull_speaker(bad, 1000)
        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
        with pytest.raises(acscalling.InvalidUtf8Error):
            agent.update_token(bad)
        with pytest.raises(acscalling.InvalidUtf8Error):
            agent.start_call([b"8:acs:" + bad])
        secret = b"0123456789abcdef"
        for call in (
            lambda: agent.register_push_notification(b"http://127.0.0.1:9/" + bad, secret),
            lambda: agent.register_push_notification("http://127.0.0.1:9/push", secret + bad),
            lambda: agent.unregister_push_notification(b"http://127.0.0.1:9/" + bad),
            lambda: agent.handle_push_notification(b'{"version":1,' + bad, secret),
            lambda: agent.handle_push_notification(b"{}", secret + bad),
        ):
            with pytest.raises(acscalling.InvalidUtf8Error):
                call()


def test_embedded_nul_is_refused_before_the_library():
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.InvalidArgumentError):
            client.create_call_agent("ws://127.0.0.1:1\0evil", fake_token())


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "",
        make_jwt({"sub": "8:acs:x"}),  # no exp/scope
        fake_token(expires_in=-60),  # expired
        fake_token(scope="chat"),  # no voip scope
    ],
    ids=["garbage", "three-dots", "empty", "missing-claims", "expired", "no-voip-scope"],
)
def test_bad_tokens_are_unauthorized(token):
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.UnauthorizedError) as e:
            client.create_call_agent("ws://127.0.0.1:1", token, "Alice")
        assert e.value.status == _ffi.ACS_ERR_UNAUTHORIZED
        assert e.value.message


def test_expired_token_message_says_expired():
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.UnauthorizedError) as e:
            client.create_call_agent("ws://127.0.0.1:1", fake_token(expires_in=-60))
        assert "expired" in e.value.message


@pytest.mark.parametrize("url", ["http://127.0.0.1:1", "ws://", "ws:///path", "", "127.0.0.1:80", "tcp://x"])
def test_bad_service_url_is_invalid_argument(url):
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.InvalidArgumentError) as e:
            client.create_call_agent(url, fake_token(), "Alice")
        assert e.value.status == _ffi.ACS_ERR_INVALID_ARGUMENT


def test_update_token_for_another_user_is_refused():
    with acscalling.CallClient() as client:
        agent = client.create_call_agent(closed_port_url(), fake_token("8:acs:alice"), "Alice")
        assert agent.user_id == "8:acs:alice"
        with pytest.raises(acscalling.InvalidArgumentError):
            agent.update_token(fake_token("8:acs:mallory"))
        with pytest.raises(acscalling.UnauthorizedError):
            agent.update_token(fake_token("8:acs:alice", expires_in=-5))


def test_start_call_argument_checks():
    with acscalling.CallClient() as client:
        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
        with pytest.raises(acscalling.InvalidArgumentError):
            agent.start_call([])
        # A NULL id array and a NULL out pointer are refused by the raw API.
        out = ctypes.POINTER(_ffi.acs_call)()
        assert L.acs_call_agent_start_call(agent._p, None, 1, None, ctypes.byref(out)) == _ffi.ACS_ERR_NULL_POINTER
        ids = (ctypes.c_char_p * 1)(b"8:echo123")
        assert L.acs_call_agent_start_call(agent._p, ids, 1, None, None) == _ffi.ACS_ERR_NULL_POINTER
        assert not out


def test_options_without_struct_size_are_refused():
    opts = _ffi.acs_call_client_options()  # zeroed: struct_size 0
    out = ctypes.POINTER(_ffi.acs_call_client)()
    assert L.acs_call_client_create(ctypes.byref(opts), ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert "struct_size" in acscalling.last_error_message()
    assert not out, "outputs are written only on success"
    assert L.acs_call_client_create(None, None) == _ffi.ACS_ERR_NULL_POINTER
    opts2 = _ffi.acs_call_client_options()
    L.acs_call_client_options_init(ctypes.byref(opts2))
    opts2.dispatch_mode = 7
    assert L.acs_call_client_create(ctypes.byref(opts2), ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    with acscalling.CallClient() as client:
        aopts = _ffi.acs_call_agent_options()
        agent = ctypes.POINTER(_ffi.acs_call_agent)()
        assert L.acs_call_client_create_call_agent(client._p, ctypes.byref(aopts), ctypes.byref(agent)) == _ffi.ACS_ERR_INVALID_ARGUMENT
        assert L.acs_call_client_create_call_agent(client._p, None, ctypes.byref(agent)) == _ffi.ACS_ERR_NULL_POINTER
        L.acs_call_agent_options_init(ctypes.byref(aopts))
        assert L.acs_call_client_create_call_agent(client._p, ctypes.byref(aopts), ctypes.byref(agent)) == _ffi.ACS_ERR_NULL_POINTER
        assert not agent


def test_status_to_string_for_every_code():
    names = {}
    for cname, code in _ffi.STATUS_CODES.items():
        s = acscalling.status_to_string(code)
        assert s and s != "unknown status", cname
        names[code] = s
    assert len(set(names.values())) == len(names), "every status has its own name"
    assert acscalling.status_to_string(0) == "OK"
    for unknown in (1, -16, -97, -100, 2**31 - 1, -(2**31)):
        assert acscalling.status_to_string(unknown) == "unknown status"


def test_every_error_code_has_an_exception_class():
    from acscalling.errors import ERROR_CLASSES, error_for

    for cname, code in _ffi.STATUS_CODES.items():
        if code == 0:
            continue
        assert code in ERROR_CLASSES, cname
        e = error_for(code, "msg")
        assert isinstance(e, acscalling.AcsError) and e.status == code and e.message == "msg"
        assert e.name == acscalling.status_to_string(code)
    assert type(error_for(-1234, "x")) is acscalling.AcsError
    assert issubclass(acscalling.PanicError, acscalling.AcsError)


def test_last_error_message():
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.InvalidArgumentError) as e:
            client.create_call_agent("http://nope", fake_token())
    msg = e.value.message
    assert "ws://" in msg, msg
    assert acscalling.last_error_message() == msg, "the message stays until the next error"
    size = L.acs_last_error_message(None, 0)
    assert size == len(msg.encode()) + 1
    small = ctypes.create_string_buffer(b"\x7f" * 8)
    assert L.acs_last_error_message(small, 5) == size
    assert small.raw[:5] == msg.encode()[:4] + b"\0", "truncated and NUL-terminated"
    assert small.raw[5:8] == b"\x7f" * 3, "nothing written past capacity"


def test_last_error_message_is_per_thread():
    with acscalling.CallClient() as client:
        with pytest.raises(acscalling.UnauthorizedError):
            client.create_call_agent("ws://127.0.0.1:1", "garbage")
    mine = acscalling.last_error_message()
    other = []
    t = threading.Thread(target=lambda: other.append(acscalling.last_error_message()))
    t.start()
    t.join()
    assert mine and other == [""]


def test_version_matches_header():
    text = HEADER.read_text()
    import re

    macro = re.search(r'#define ACS_CALLING_VERSION_STRING "([^"]+)"', text).group(1)
    major = int(re.search(r"#define ACS_CALLING_VERSION_MAJOR (\d+)", text).group(1))
    minor = int(re.search(r"#define ACS_CALLING_VERSION_MINOR (\d+)", text).group(1))
    patch = int(re.search(r"#define ACS_CALLING_VERSION_PATCH (\d+)", text).group(1))
    assert acscalling.library_version() == macro == f"{major}.{minor}.{patch}"


def test_buffer_too_small_reports_needed_size():
    user = "8:acs:0123456789abcdef"
    with acscalling.CallClient() as client:
        agent = client.create_call_agent(closed_port_url(), fake_token(user), "Alice")
        needed = ctypes.c_size_t(0)
        buf = ctypes.create_string_buffer(b"\x7f" * 8)
        status = L.acs_call_agent_get_user_id(agent._p, buf, 4, ctypes.byref(needed))
        assert status == _ffi.ACS_ERR_BUFFER_TOO_SMALL
        assert needed.value == len(user) + 1
        assert buf.raw == b"\x7f" * 8 + b"\0", "outputs are written only on success"
        assert "needs" in acscalling.last_error_message()
        # NULL buffer: size only.
        needed2 = ctypes.c_size_t(0)
        # A NULL buffer with capacity 0 is a size query: it succeeds and reports the size.
        assert L.acs_call_agent_get_user_id(agent._p, None, 0, ctypes.byref(needed2)) == _ffi.ACS_OK
        assert needed2.value == len(user) + 1
        exact = ctypes.create_string_buffer(needed.value)
        assert L.acs_call_agent_get_user_id(agent._p, exact, needed.value, ctypes.byref(needed)) == 0
        assert exact.value.decode() == user == agent.user_id


def test_dispatch_events_needs_manual_mode():
    with acscalling.CallClient(dispatch="thread") as client:
        with pytest.raises(acscalling.InvalidStateError):
            client.dispatch_events(0)
    with acscalling.CallClient(dispatch="manual") as client:
        assert client.dispatch_events(0.01) == 0
    with pytest.raises(ValueError):
        acscalling.CallClient(dispatch="sometimes")


@pytest.mark.parametrize("dispatch", ["thread", "manual"])
def test_unreachable_service_reports_503(dispatch):
    """Nothing listens on the port: the agent goes Connecting -> Disconnected (503), and
    start_call is refused with a network error."""
    with acscalling.CallClient(dispatch=dispatch) as client:
        events = []
        threads = []

        def on_event(ev):
            threads.append(threading.get_ident())
            events.append((ev.kind, ev.state, ev.code, ev.message))

        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice", on_event=on_event)
        client.wait_for(
            lambda: any(k == acscalling.EventKind.CONNECTION_STATE_CHANGED and s == acscalling.ConnectionState.DISCONNECTED for k, s, _, _ in events),
            timeout=10,
            what="Disconnected",
        )
        assert events[0][:2] == (acscalling.EventKind.CONNECTION_STATE_CHANGED, acscalling.ConnectionState.CONNECTING)
        _, _, code, message = events[-1]
        assert code == 503 and message
        assert agent.connection_state == acscalling.ConnectionState.DISCONNECTED
        with pytest.raises(acscalling.NetworkError):
            agent.start_call("8:echo123")
        assert agent.calls == []
        on_main = all(t == threading.get_ident() for t in threads)
        assert on_main == (dispatch == "manual"), "manual mode delivers on the dispatching thread"
        assert not client.callback_errors
        events.clear()


def test_log_callback_receives_library_lines():
    lines = []
    with acscalling.CallClient(log=lambda level, msg: lines.append((level, msg)), log_level=acscalling.LogLevel.TRACE) as client:
        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
        client.wait_for(lambda: agent.connection_state == acscalling.ConnectionState.DISCONNECTED)
        wait_until(lambda: lines, timeout=5, what="a log line")
    assert all(1 <= level <= 5 and isinstance(m, str) for level, m in lines)
    n = len(lines)
    with acscalling.CallClient() as other:  # the closed client's sink is gone
        a = other.create_call_agent(closed_port_url(), fake_token(), "Bob")
        other.wait_for(lambda: a.connection_state == acscalling.ConnectionState.DISCONNECTED)
    assert len(lines) == n


def test_handler_exceptions_are_contained():
    with acscalling.CallClient() as client:
        def boom(ev):
            raise RuntimeError("handler bug")

        agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice", on_event=boom)
        client.wait_for(lambda: len(client.callback_errors) >= 2, what="two handler errors")
        assert isinstance(client.callback_errors[0], RuntimeError)
        assert agent.connection_state == acscalling.ConnectionState.DISCONNECTED


def test_many_clients_and_agents_do_not_leak():
    for _ in range(5):
        client = acscalling.CallClient(dispatch="manual")
        agents = [client.create_call_agent(closed_port_url(), fake_token(), f"u{i}") for i in range(3)]
        client.dispatch_events(0.05)
        del agents
        client.close()
    gc.collect()


def test_tone_power_arguments():
    out = ctypes.c_float()
    assert L.acs_audio_tone_power(None, 10, 440.0, ctypes.byref(out)) == _ffi.ACS_ERR_NULL_POINTER
