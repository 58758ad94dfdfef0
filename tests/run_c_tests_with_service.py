#!/usr/bin/env python3
"""Starts acscalling-service on 127.0.0.1, creates two users, and runs the C test suite
(examples-c/run_c_tests.sh, under ASan/UBSan) against it; stops the service afterwards.

    python3 tests/run_c_tests_with_service.py               # the whole suite
    python3 tests/run_c_tests_with_service.py test_phone    # only these test programs of
                                                            # examples-c (built first)
"""
import json
import os
import subprocess
import sys
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "c-test-access-key"


def main() -> int:
    svc_bin = os.environ.get("ACSCALLING_SERVICE_BIN")
    if not svc_bin or not os.path.exists(svc_bin):
        print("ACSCALLING_SERVICE_BIN must point at the built service", file=sys.stderr)
        return 2
    svc = subprocess.Popen(
        [svc_bin, "--listen", "127.0.0.1:0", "--media-ip", "127.0.0.1", "--media-port", "0",
         "--access-key", KEY],
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
                   ACS_TEST_UNKNOWN_USER=f"8:acs:{uuid.uuid4()}")
        only = sys.argv[1:]
        if not only:
            return subprocess.call(["bash", os.path.join(ROOT, "examples-c", "run_c_tests.sh")], env=env)
        examples = os.path.join(ROOT, "examples-c")
        build = env.get("BUILD", os.path.join(examples, "build"))
        targets = [os.path.join(build, name) for name in only]
        if subprocess.call(["make", "--no-print-directory", "-C", examples, *targets], env=env) != 0:
            return 1
        args = ["--service-url", env["ACS_TEST_SERVICE_URL"], "--token-a", env["ACS_TEST_TOKEN_A"],
                "--token-b", env["ACS_TEST_TOKEN_B"], "--unknown-user", env["ACS_TEST_UNKNOWN_USER"]]
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


if __name__ == "__main__":
    sys.exit(main())
