#!/usr/bin/env python3
"""Starts acscalling-service on 127.0.0.1, creates two users, and runs the C test suite
(examples-c/run_c_tests.sh, under ASan/UBSan) against it; stops the service afterwards.

    python3 tests/run_c_tests_with_service.py               # the whole suite
    python3 tests/run_c_tests_with_service.py test_phone    # only these test programs of
                                                            # examples-c (built first)
    python3 tests/run_c_tests_with_service.py -- CMD ARG... # CMD with the ACS_TEST_*
                                                            # variables of the service
                                                            # (scripts/install-test.sh)
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "c-test-access-key"
PHONE = "4:+15551234567"


def main() -> int:
    svc_bin = os.environ.get("ACSCALLING_SERVICE_BIN")
    if not svc_bin or not os.path.exists(svc_bin):
        print("ACSCALLING_SERVICE_BIN must point at the built service", file=sys.stderr)
        return 2
    # SIPp plays the carrier behind the service's SIP trunk for test_phone's part 3 (one call:
    # 183 with an announcement, answer, key 4, hang-up); without sipp that part is skipped.
    sipp = start_sipp()
    phone_args = []
    if sipp is not None:
        phone_args = ["--sip-listen", "127.0.0.1:0", "--sip-trunk", f"carrier=127.0.0.1:{sipp[1]}",
                      "--pstn-caller-id", "+15550001000"]
    svc = subprocess.Popen(
        [svc_bin, "--listen", "127.0.0.1:0", "--media-ip", "127.0.0.1", "--media-port", "0",
         "--access-key", KEY, "--database", ":memory:", *phone_args],
        stdout=subprocess.PIPE, text=True)
    try:
        line = svc.stdout.readline()
        http = next(w[5:] for w in line.split() if w.startswith("http="))

        def post(path, body):
            req = urllib.request.Request(
                f"http://{http}{path}", data=json.dumps(body).encode(), method="POST",
                headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.load(r)

        def user_token():
            uid = post("/identities", {})["id"]
            return post(f"/identities/{uid}/token", {"scopes": ["voip"]})["token"]

        env = dict(os.environ,
                   ACS_TEST_SERVICE_URL=f"ws://{http}",
                   ACS_TEST_TOKEN_A=user_token(),
                   ACS_TEST_TOKEN_B=user_token(),
                   ACS_TEST_TOKEN_C=user_token(),
                   ACS_TEST_ACCESS_KEY=KEY,
                   ACS_TEST_UNKNOWN_USER=f"8:acs:{uuid.uuid4()}")
        if sipp is not None:
            env["ACS_TEST_PHONE"] = PHONE
        only = sys.argv[1:]
        if only[:1] == ["--"]:
            return subprocess.call(only[1:], env=env)
        if not only:
            return subprocess.call(["bash", os.path.join(ROOT, "examples-c", "run_c_tests.sh")], env=env)
        examples = os.path.join(ROOT, "examples-c")
        build = env.get("BUILD", os.path.join(examples, "build"))
        targets = [os.path.join(build, name) for name in only]
        if subprocess.call(["make", "--no-print-directory", "-C", examples, *targets], env=env) != 0:
            return 1
        args = ["--service-url", env["ACS_TEST_SERVICE_URL"], "--token-a", env["ACS_TEST_TOKEN_A"],
                "--token-b", env["ACS_TEST_TOKEN_B"], "--unknown-user", env["ACS_TEST_UNKNOWN_USER"]]
        if sipp is not None:
            args += ["--phone", PHONE]
        status = 0
        for t in targets:
            print(f"\n=== {os.path.basename(t)}", flush=True)
            status |= subprocess.call([t, *args], env=env) != 0
        return status
    finally:
        svc.terminate()
        try:
            svc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            svc.kill()
        if sipp is not None:
            sipp[0].kill()
            sipp[0].wait()
            shutil.rmtree(sipp[2], ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sipp():
    """(process, SIP port, log dir) of SIPp answering as a phone, or None without sipp."""
    if shutil.which("sipp") is None:
        print("sipp not installed: test_phone's real-phone part is skipped", file=sys.stderr)
        return None
    port = free_port()
    media = free_port() & ~1
    logs = tempfile.mkdtemp(prefix="sipp-c-")
    proc = subprocess.Popen(
        ["sipp", "-sf", os.path.join(ROOT, "tests", "sipp", "phone_early_media.xml"),
         "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(port), "-mp", str(media),
         "-m", "1", "-nostdin", "-trace_err"],
        cwd=logs, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.15)
    return proc, port, logs


if __name__ == "__main__":
    sys.exit(main())
