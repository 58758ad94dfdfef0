"""Shared fixtures for the Python tests of libacscalling.

The tests import the package from bindings/python (no install needed). They skip, with a
message saying what to build, only when the library or the service binary is missing; any
other failure (a call that does not connect, a service that does not start) fails the test.
"""

import os
import time
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))

import acscalling  # noqa: E402
from acscalling import _ffi  # noqa: E402
from acscalling import service as acs_service  # noqa: E402

HEADER = REPO / "include" / "acscalling.h"


def library_or_skip():
    try:
        return _ffi.lib()
    except _ffi.LibraryNotFoundError as e:
        pytest.skip(f"libacscalling is not built (run `cargo build`): {e}", allow_module_level=True)


def service_binary_or_skip():
    library_or_skip()
    path, tried = acs_service.find_service_binary()
    if path is None:
        pytest.skip(
            "acscalling-service is not built (run `cargo build --workspace`); tried: " + ", ".join(tried),
            allow_module_level=True,
        )
    return path


@pytest.fixture(scope="session")
def lib():
    return library_or_skip()


@pytest.fixture(scope="module")
def service():
    """acscalling-service on 127.0.0.1 (random ports) for the whole module; killed at the end."""
    binary = service_binary_or_skip()
    svc = acs_service.LocalService.start(binary=binary)
    yield svc
    svc.stop()
    if os.environ.get("ACSCALLING_SHOW_SERVICE_LOG"):
        print(svc.log_tail())


@pytest.fixture
def no_leaks(lib):
    """Asserts that the live handle count is back to where it started."""
    import gc

    gc.collect()  # wrappers left by earlier tests release their handles first
    start = acscalling.live_handle_count()
    yield
    # Events still in flight when the test ends may hold wrappers for a moment: settle first.
    deadline = time.monotonic() + 5
    while True:
        gc.collect()
        end = acscalling.live_handle_count()
        if end <= start or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert end == start, f"{end - start} library handles leaked"
