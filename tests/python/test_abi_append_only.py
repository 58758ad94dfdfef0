"""The C ABI is append-only: the header of today against the baseline of the release before
it (tests/abi/acscalling-baseline.h), and the library's exports against the header."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import abi_check  # noqa: E402


def test_header_is_an_append_only_successor_of_the_baseline():
    old = (ROOT / "tests/abi/acscalling-baseline.h").read_text()
    new = (ROOT / "include/acscalling.h").read_text()
    lib = os.environ.get("ACSCALLING_LIB")
    problems, _ = abi_check.check(old, new, lib if lib and os.path.exists(lib) else None)
    assert problems == []


def test_the_check_catches_a_removal_a_renumbering_and_a_moved_field():
    old = (ROOT / "tests/abi/acscalling-baseline.h").read_text()
    bad = old.replace("#define ACS_CALL_STATE_CONNECTED 5", "#define ACS_CALL_STATE_CONNECTED 6")
    bad = bad.replace("acs_call_hang_up(", "acs_call_hang_up2(")
    bad = bad.replace("  uint32_t struct_size;\n", "  uint32_t size_of_struct;\n", 1)
    problems, _ = abi_check.check(old, bad, None)
    text = "\n".join(problems)
    assert "ACS_CALL_STATE_CONNECTED changed" in text
    assert "acs_call_hang_up removed" in text
    assert "fields changed" in text


def test_the_script_runs_from_the_command_line():
    r = subprocess.run([sys.executable, str(ROOT / "scripts/abi_check.py"),
                        str(ROOT / "tests/abi/acscalling-baseline.h"),
                        str(ROOT / "include/acscalling.h")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
