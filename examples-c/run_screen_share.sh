#!/usr/bin/env bash
# Runs the screen-sharing samples on a private X display: starts Xvfb on a free display
# number with openbox and an xmessage window, runs
#   1. screen_share (C) sharing the first monitor without the pointer (Alice stops: STOPPED),
#   2. screen_share (C) sharing the window, which closes by itself (xmessage -timeout):
#      --until-closed expects FAILED 0/10012 "the window was closed",
#   3. two_party --screen-share (C++: acscalling.hpp's screen API) when built,
# and stops what it started by pid. Without Xvfb, openbox or xmessage it says so and
# skips (exit 0).
#
#   examples-c/run_screen_share.sh            # needs ACS_TEST_SERVICE_URL, ACS_TEST_TOKEN_A/B
#                                             # (tests/run_c_tests_with_service.py sets them)
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/build}
: "${ACS_TEST_SERVICE_URL:?}" "${ACS_TEST_TOKEN_A:?}" "${ACS_TEST_TOKEN_B:?}"

for prog in Xvfb openbox xmessage; do
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "screen_share skipped: $prog is not installed (scripts/setup.sh installs Xvfb, openbox and x11-utils)"
        exit 0
    fi
done

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
}
trap cleanup EXIT

display=
for n in $(seq 310 399); do
    if [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; then
        continue
    fi
    Xvfb ":$n" -screen 0 800x600x24 -nolisten tcp >/dev/null 2>&1 &
    xvfb=$!
    for _ in $(seq 100); do
        [ -e "/tmp/.X11-unix/X$n" ] && break
        kill -0 "$xvfb" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$xvfb" 2>/dev/null && [ -e "/tmp/.X11-unix/X$n" ]; then
        pids+=("$xvfb")
        display=":$n"
        break
    fi
    kill "$xvfb" 2>/dev/null
    wait "$xvfb" 2>/dev/null
done
if [ -z "$display" ]; then
    echo "screen_share: no free X display (Xvfb did not start)" >&2
    exit 1
fi
export DISPLAY=$display
openbox >/dev/null 2>&1 &
pids+=($!)
sleep 0.5

new_group() { python3 -c 'import uuid; print(uuid.uuid4())'; }
args=(--service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" --token-b "$ACS_TEST_TOKEN_B")
status=0

echo "--- screen_share: the first monitor of $DISPLAY, pointer hidden, 5 fps"
"$BUILD/screen_share" "${args[@]}" --group "$(new_group)" --fps 5 --no-cursor || status=1

echo "--- screen_share: a window that closes while shared (--until-closed)"
xmessage -title acs-c-share -bg red -geometry 300x200+40+40 -timeout 8 "shared" >/dev/null 2>&1 &
win=$!
pids+=("$win")
found=
for _ in $(seq 100); do
    if "$BUILD/screen_share" --list-only 2>/dev/null | grep -q acs-c-share; then found=1; break; fi
    sleep 0.05
done
[ -n "$found" ] || echo "the xmessage window was not listed in time" >&2
"$BUILD/screen_share" "${args[@]}" --group "$(new_group)" --window acs-c-share --until-closed || status=1

if [ -x "$BUILD/two_party" ]; then
    echo "--- two_party --screen-share (C++ wrapper)"
    "$BUILD/two_party" "${args[@]}" --screen-share || status=1
fi
exit $status
