"""The bad-input sweep covers the whole C ABI, and the limits it relies on hold from Python.

- examples-c/test_badinput.c (the C sweep, run under ASan/UBSan by the C suite) has an entry
  for every function the header declares, every function of the ctypes table, and every
  acs_* function the library exports; and none for a function that is gone.
- Through ctypes: strings longer than ACS_MAX_STRING_BYTES, capacities no buffer can have
  and PCM counts above ACS_MAX_PCM_FRAMES are refused with ACS_ERR_INVALID_ARGUMENT, and
  a refused call changes no handle count.
"""

import ctypes
import re
import subprocess

import pytest

import acscalling
from acscalling import _ffi
from acscalling.testing import closed_port_url, fake_token
from conftest import HEADER, REPO, library_or_skip

L = library_or_skip()
SWEEP_SOURCE = REPO / "examples-c" / "test_badinput.c"
SIZE_MAX = 2**64 - 1


def header_constant(name):
    return int(re.search(rf"#define {name} (\d+)", HEADER.read_text()).group(1))


def header_functions():
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("//", "#", "typedef")):
            continue
        m = re.match(r"[\w\s\*]*?\b(acs_\w+)\(", line)
        if m:
            names.add(m.group(1))
    return names


def swept_functions():
    table = SWEEP_SOURCE.read_text().split("static const entry SWEEPS[] = {", 1)[1].split("};", 1)[0]
    names = re.findall(r"\bEK?\((acs_\w+)", table)
    assert len(names) == len(set(names)), "an export is listed twice"
    return set(names)


def exported_functions():
    try:
        out = subprocess.run(["nm", "-D", "--defined-only", str(_ffi.library_path())],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"nm is not available: {e}")
    return {w[2] for w in (l.split() for l in out.splitlines()) if len(w) == 3 and w[1] == "T" and w[2].startswith("acs_")}


def test_the_c_sweep_lists_every_export():
    header, swept, ctypes_table = header_functions(), swept_functions(), set(_ffi.FUNCTIONS)
    assert len(header) > 150
    assert header - swept == set(), "declared in the header but not swept"
    assert swept - header == set(), "swept but not declared"
    assert header - ctypes_table == set(), "declared in the header but not in the ctypes table"


def test_the_library_exports_nothing_unswept():
    exported = exported_functions()
    assert exported - swept_functions() == set(), "exported but not swept"
    assert exported - header_functions() == set(), "exported but not declared"


@pytest.fixture
def dm(no_leaks):
    with acscalling.CallClient() as client:
        yield client, client.device_manager


def huge(n):
    return b"a" * n


def test_string_limit_is_exact(dm):
    limit = header_constant("ACS_MAX_STRING_BYTES")
    assert limit == 65536
    kind = ctypes.c_int32(-5)
    # The longest string accepted is read whole; one byte more is refused.
    assert L.acs_identifier_get_kind(huge(limit), ctypes.byref(kind)) == _ffi.ACS_OK
    assert kind.value == 0  # UNKNOWN
    kind.value = -5
    assert L.acs_identifier_get_kind(huge(limit + 1), ctypes.byref(kind)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert kind.value == -5, "outputs are written only on success"
    assert str(limit) in acscalling.last_error_message()


def test_huge_strings_are_refused_everywhere_a_string_goes_in(dm):
    client, devices = dm
    big = huge(70 * 1024)
    before = acscalling.live_handle_count()
    out = ctypes.POINTER(_ffi.acs_audio_device)()
    assert L.acs_device_manager_create_tone_microphone(devices._p, big, 440.0, 0.5, ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert L.acs_device_manager_create_push_microphone(devices._p, big, ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert L.acs_device_manager_create_pull_speaker(devices._p, big, 100, ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert L.acs_device_manager_create_wav_speaker(devices._p, b"s", b"/tmp/" + big, ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert not out
    for field in ("service_url", "token", "display_name", "ca_certificate_path"):
        opts = _ffi.acs_call_agent_options()
        L.acs_call_agent_options_init(ctypes.byref(opts))
        opts.service_url = closed_port_url().encode()
        opts.token = fake_token().encode()
        setattr(opts, field, big)
        agent = ctypes.POINTER(_ffi.acs_call_agent)()
        assert L.acs_call_client_create_call_agent(client._p, ctypes.byref(opts), ctypes.byref(agent)) == _ffi.ACS_ERR_INVALID_ARGUMENT, field
        assert not agent
    agent = client.create_call_agent(closed_port_url(), fake_token(), "Alice")
    assert L.acs_call_agent_update_token(agent._p, big) == _ffi.ACS_ERR_INVALID_ARGUMENT
    ids = (ctypes.c_char_p * 1)(big)
    call = ctypes.POINTER(_ffi.acs_call)()
    assert L.acs_call_agent_start_call(agent._p, ids, 1, None, ctypes.byref(call)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert L.acs_call_agent_join(agent._p, big, None, ctypes.byref(call)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert not call
    agent.close()
    assert acscalling.live_handle_count() == before


@pytest.mark.parametrize("count", [SIZE_MAX, 2**63, 2**40, 48_000 * 600 + 1])
def test_huge_pcm_counts_are_refused(dm, count):
    _, devices = dm
    pcm = (ctypes.c_int16 * 960)()
    power = ctypes.c_float(-1.0)
    assert L.acs_audio_tone_power(pcm, count, 440.0, ctypes.byref(power)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert power.value == -1.0
    mic = devices.create_push_microphone("push")
    accepted = ctypes.c_size_t(7)
    for channels in (1, 2):
        assert L.acs_audio_device_push_pcm(mic._p, pcm, count, channels, ctypes.byref(accepted)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert accepted.value == 7
    mic.close()


@pytest.mark.parametrize("capacity", [SIZE_MAX, 2**63])
def test_capacities_no_buffer_can_have_are_refused(dm, capacity):
    client, devices = dm
    before = acscalling.live_handle_count()
    speaker = devices.create_pull_speaker("pull", 100)
    pcm = (ctypes.c_int16 * 16)()
    n = ctypes.c_size_t(7)
    assert L.acs_audio_device_pull_pcm(speaker._p, pcm, capacity, ctypes.byref(n)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert n.value == 7
    handles = (ctypes.POINTER(_ffi.acs_audio_device) * 4)()
    count = ctypes.c_size_t(0)
    assert L.acs_device_manager_get_microphones(devices._p, handles, capacity, ctypes.byref(count)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    cams = (ctypes.POINTER(_ffi.acs_camera) * 4)()
    assert L.acs_device_manager_get_cameras(devices._p, cams, capacity, ctypes.byref(count)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    buf = ctypes.create_string_buffer(b"\x7f" * 8)
    needed = ctypes.c_size_t(0)
    assert L.acs_audio_device_get_id(speaker._p, buf, capacity, ctypes.byref(needed)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert buf.raw[:8] == b"\x7f" * 8
    speaker.close()
    assert acscalling.live_handle_count() == before


@pytest.mark.parametrize("level", [0, 6, -1, 2**31 - 1])
def test_log_levels_out_of_range_are_refused(level):
    opts = _ffi.acs_call_client_options()
    L.acs_call_client_options_init(ctypes.byref(opts))
    opts.log_level = level
    out = ctypes.POINTER(_ffi.acs_call_client)()
    assert L.acs_call_client_create(ctypes.byref(opts), ctypes.byref(out)) == _ffi.ACS_ERR_INVALID_ARGUMENT
    assert not out
