"""The installed package: `pip wheel bindings/python` (cargo builds the release library into the
package), `auditwheel` gives it a manylinux tag (repairing it: the ALSA and audio-processing
libraries are vendored), and the wheel, installed into a fresh venv, places a call to the echo
bot from outside the source tree and hears the echo.

The wheel is built once per run (session fixture); set ACSCALLING_WHEEL to a wheel built earlier
(for instance by CI) to test that one instead. The build uses cargo's own target directory
(`$CARGO_TARGET_DIR`, else the workspace's `target/`), so a release build made before is reused.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, service_binary_or_skip

service_binary_or_skip()

PACKAGE = REPO / "bindings" / "python"
TIMEOUT = 20.0


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-6000:]}"
    return p.stdout


def auditwheel():
    """The auditwheel command (from PyPI, installed by scripts/setup.sh; not a reason to skip)."""
    if subprocess.run([sys.executable, "-m", "auditwheel", "--version"], capture_output=True).returncode != 0:
        pytest.fail("auditwheel is not installed: run scripts/setup.sh (pip install 'auditwheel>=6.1,<6.8')")
    return [sys.executable, "-m", "auditwheel"]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """(wheel path, seconds the build took or None when reused)."""
    given = os.environ.get("ACSCALLING_WHEEL")
    if given:
        path = Path(given)
        assert path.is_file(), f"ACSCALLING_WHEEL={given} does not exist"
        return path, None
    if shutil.which("cargo") is None:
        pytest.skip("cargo is not installed: cannot build the wheel (set ACSCALLING_WHEEL)")
    out = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("ACSCALLING_LIB", "ACSCALLING_PREBUILT_LIB")}
    t = time.monotonic()
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, PACKAGE], env=env)
    took = time.monotonic() - t
    wheels = list(out.glob("acscalling-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], took


@pytest.fixture(scope="session")
def manylinux_wheel(wheel, tmp_path_factory):
    """The wheel with a manylinux tag (auditwheel repair when it has none)."""
    path, _ = wheel
    shown = run([*auditwheel(), "show", path])
    if "manylinux" in path.name and "manylinux" in shown:
        return path
    out = tmp_path_factory.mktemp("repaired")
    run([*auditwheel(), "repair", "-w", out, path])
    repaired = list(out.glob("acscalling-*.whl"))
    assert len(repaired) == 1, repaired
    return repaired[0]


def test_wheel_contents(wheel):
    path, took = wheel
    print(f"wheel {path.name} built in {took:.1f} s" if took is not None else f"wheel {path.name} (given)")
    assert path.name.startswith("acscalling-0.1.0-py3-none-"), path.name
    names = zipfile.ZipFile(path).namelist()
    assert "acscalling/libacscalling.so" in names
    assert "acscalling/py.typed" in names
    assert "acscalling/aio.py" in names
    # Pure ctypes: no Python extension module in the wheel.
    assert not [n for n in names if ".cpython-" in n or n.endswith(".abi3.so")], names


def test_auditwheel_reports_manylinux(manylinux_wheel):
    shown = run([*auditwheel(), "show", manylinux_wheel])
    assert "-manylinux_" in manylinux_wheel.name, manylinux_wheel.name
    assert 'platform tag: "manylinux_' in " ".join(shown.split()), shown


ECHO_SCRIPT = r'''
import json, sys, time
import acscalling
from acscalling import _ffi
from acscalling.testing import wait_for_power

url, token = sys.argv[1], sys.argv[2]
out = {"package": acscalling.__file__, "library": str(_ffi.library_path()), "version": acscalling.library_version()}
with acscalling.CallClient() as client:
    dm = client.device_manager
    mic = dm.create_tone_microphone("tone", 523.0, 0.5)
    spk = dm.create_pull_speaker("speaker", 3000)
    agent = client.create_call_agent(url, token, "Wheel")
    client.wait_for(lambda: agent.connection_state == acscalling.ConnectionState.CONNECTED, 20)
    call = agent.start_call(acscalling.ECHO_BOT_ID, microphone=mic, speaker=spk)
    client.wait_for(lambda: call.state == acscalling.CallState.CONNECTED, 20)
    out["echo_power"] = wait_for_power(spk, 523.0, lambda p: p > 0.01, timeout=20, window=0.5)
    out["silence_power"] = wait_for_power(spk, 880.0, lambda p: True, timeout=5, window=0.5)
    call.hang_up()
    client.wait_for(lambda: call.state == acscalling.CallState.DISCONNECTED, 20)
with open("/proc/self/maps") as f:
    out["asound"] = sorted({l.split()[-1] for l in f if "libasound" in l})
print("RESULT " + json.dumps(out))
'''


def test_installed_wheel_calls_the_echo_bot(manylinux_wheel, service, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    py = venv / "bin" / "python"
    run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", manylinux_wheel])
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "echo.py").write_text(ECHO_SCRIPT)
    _, token = service.identity.create_user_with_token()
    # Nothing points at the source tree: no PYTHONPATH, no ACSCALLING_LIB, no cargo target dir.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACSCALLING_", "PYTHON", "CARGO_", "VIRTUAL_ENV"))}
    out = run([py, "echo.py", service.service_url, token], cwd=work, env=env, timeout=120)
    result = json.loads(out.split("RESULT ", 1)[1])
    site = venv.resolve()
    assert Path(result["package"]).resolve().is_relative_to(site), result
    assert Path(result["library"]).resolve().is_relative_to(site), result
    assert Path(result["library"]).name == "libacscalling.so"
    assert result["version"] == "0.1.0"
    # The repaired wheel carries its own ALSA library (the target machine may have none).
    assert result["asound"] and all(Path(p).resolve().is_relative_to(site) for p in result["asound"]), result
    assert result["echo_power"] > 0.01, result
    assert result["silence_power"] < result["echo_power"] / 10, result
