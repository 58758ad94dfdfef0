#!/usr/bin/env bash
# Builds the C/C++ samples and the C test program, then runs the C tests.
#
#   examples-c/run_c_tests.sh
#
# Part 1 (always): API contracts under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer on), no service needed.
# Part 2 (when ACS_TEST_SERVICE_URL, ACS_TEST_TOKEN_A, ACS_TEST_TOKEN_B and
# ACS_TEST_UNKNOWN_USER are set; a running acscalling-service): real calls, still under the
# sanitizers, then the samples echo_call (thread and manual dispatch), two_party, video_call,
# screen_share (on a private Xvfb display: run_screen_share.sh), group_call,
# transfer_call and meeting_lobby.
#
# Environment:
#   ACSCALLING_LIB_DIR     library directory (default: cargo's target dir + /debug)
#   ACS_TEST_CMAKE=0       skip the CMake build of the samples (default: build if cmake exists)
#   ACS_TEST_REQUIRE_MEDIA=1  fail instead of skipping device checks while media is a stub
#   ACS_TEST_ACCESS_KEY    the service's access key, for meeting_lobby's POST /rooms
#                          (default: c-test-access-key, tests/run_c_tests_with_service.py's)
# The library must be built first: cargo build --workspace
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
MAKE=${MAKE:-make}
export ACSCALLING_LIB_DIR=${ACSCALLING_LIB_DIR:-$("$MAKE" -s --no-print-directory -C "$HERE" print-lib-dir)}
BUILD=${BUILD:-$HERE/build}
export BUILD

step() { printf '\n=== %s\n' "$*"; }

step "library: $ACSCALLING_LIB_DIR"
if [ ! -f "$ACSCALLING_LIB_DIR/libacscalling.so" ]; then
    echo "libacscalling.so not found: run 'cargo build --workspace' first (or set ACSCALLING_LIB_DIR)" >&2
    exit 1
fi

step "build with pkg-config (gcc/g++ -Wall -Wextra -Werror; test_capi with ASan+UBSan)"
"$MAKE" --no-print-directory -C "$HERE" all
PKG_CONFIG_PATH="$BUILD/pkgconfig" pkg-config --cflags --libs acscalling

if [ "${ACS_TEST_CMAKE:-1}" != 0 ] && command -v cmake >/dev/null 2>&1; then
    step "build with CMake (find_package(acscalling) + acscalling::acscalling)"
    "$MAKE" --no-print-directory -C "$HERE" cmake
fi

# Sanitizer settings. LeakSanitizer stays on: with the Rust cdylib it reports nothing of
# ours or of Rust's runtime today, so no suppressions are needed. If it ever does report
# leaks inside Rust/tokio thread-locals, add narrowly targeted entries to
# examples-c/lsan.supp (it is used when present).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
if [ -f "$HERE/lsan.supp" ]; then
    export LSAN_OPTIONS="suppressions=$HERE/lsan.supp:print_suppressions=1${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
fi
# Panics caught at the boundary (ACS_ERR_PANIC from the media stubs) print a Rust
# backtrace on stderr; keep the log readable.
export RUST_BACKTRACE=${ACS_TEST_RUST_BACKTRACE:-0}

args=()
if [ -n "${ACS_TEST_SERVICE_URL:-}" ] && [ -n "${ACS_TEST_TOKEN_A:-}" ] &&
   [ -n "${ACS_TEST_TOKEN_B:-}" ] && [ -n "${ACS_TEST_UNKNOWN_USER:-}" ]; then
    args=(--service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A"
          --token-b "$ACS_TEST_TOKEN_B" --unknown-user "$ACS_TEST_UNKNOWN_USER")
    step "test_capi: part 1 (contracts) + part 2 (real calls via $ACS_TEST_SERVICE_URL)"
else
    step "test_capi: part 1 (contracts); part 2 needs ACS_TEST_SERVICE_URL, ACS_TEST_TOKEN_A, ACS_TEST_TOKEN_B, ACS_TEST_UNKNOWN_USER"
fi
status=0
"$BUILD/test_capi" "${args[@]}" || status=1

step "test_abi: older struct layouts with guard bytes (ASan/UBSan)"
"$BUILD/test_abi" "${args[@]}" || status=1

step "test_phone: DTMF, caller id, identifier kinds; a real phone when ACS_TEST_PHONE is set (ASan/UBSan)"
phone_args=()
if [ -n "${ACS_TEST_PHONE:-}" ]; then
    phone_args=(--phone "$ACS_TEST_PHONE")
fi
"$BUILD/test_phone" "${args[@]}" "${phone_args[@]}" || status=1

step "test_badinput: every export under bad input (ASan/UBSan)"
"$BUILD/test_badinput" "${args[@]}" || status=1

step "test_video: local video streams, renderers and views (ASan/UBSan)"
"$BUILD/test_video" || status=1
step "sample: video_render (virtual camera into an RGBA view)"
"$BUILD/video_render" 1 >/dev/null || status=1

step "test_devices: device API contracts and events"
"$BUILD/test_devices" || status=1
# Real devices: the private sound server (scripts/sound-server.sh); ACS_TEST_SOUND=0 skips.
if [ "${ACS_TEST_SOUND:-1}" != 0 ]; then
    step "test_devices --sound: real devices on the sound server"
    if sound_env=$(bash "$HERE/../scripts/sound-server.sh" start); then
        (eval "$sound_env" && "$BUILD/test_devices" --sound) || status=1
    else
        echo "the sound server did not start" >&2
        status=1
    fi
fi

if [ ${#args[@]} -gt 0 ]; then
    step "sample: echo_call (thread dispatch)"
    "$BUILD/echo_call" --service-url "$ACS_TEST_SERVICE_URL" --token "$ACS_TEST_TOKEN_A" || status=1
    step "sample: echo_call --manual-dispatch"
    "$BUILD/echo_call" --service-url "$ACS_TEST_SERVICE_URL" --token "$ACS_TEST_TOKEN_A" --manual-dispatch || status=1
    # Valgrind (memcheck) on a non-sanitized build: nothing of ours may be left allocated,
    # definitely or possibly, when the host has released everything (~15 s). The media threads
    # run many times slower than real time under valgrind: the tone is checked above.
    step "valgrind: echo_call --manual-dispatch (leaks: definite and possible are errors)"
    if command -v valgrind >/dev/null 2>&1; then
        valgrind --quiet --leak-check=full --show-leak-kinds=definite,possible \
            --errors-for-leak-kinds=definite,possible --error-exitcode=99 --num-callers=40 \
            --suppressions="$HERE/valgrind.supp" \
            "$BUILD/echo_call" --service-url "$ACS_TEST_SERVICE_URL" --token "$ACS_TEST_TOKEN_A" \
            --manual-dispatch --no-tone-check || status=1
    else
        echo "valgrind not found (scripts/setup.sh installs it)" >&2
        status=1
    fi
    step "sample: two_party"
    "$BUILD/two_party" --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
        --token-b "$ACS_TEST_TOKEN_B" || status=1
    step "sample: video_call (ASan/UBSan)"
    "$BUILD/video_call" --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
        --token-b "$ACS_TEST_TOKEN_B" --group "$(python3 -c 'import uuid; print(uuid.uuid4())')" || status=1
    # Needs an X display: the script starts Xvfb (+ openbox, an xmessage window) on a free
    # display and stops it; without Xvfb it says why and skips.
    step "sample: screen_share (C, ASan/UBSan) and two_party --screen-share (C++) on Xvfb"
    bash "$HERE/run_screen_share.sh" || status=1
    if [ -n "${ACS_TEST_TOKEN_C:-}" ]; then
        step "sample: group_call (ASan/UBSan)"
        "$BUILD/group_call" --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
            --token-b "$ACS_TEST_TOKEN_B" --token-c "$ACS_TEST_TOKEN_C" || status=1
        step "sample: transfer_call (C, ASan/UBSan): refused, then accepted and answered"
        "$BUILD/transfer_call" --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
            --token-b "$ACS_TEST_TOKEN_B" --token-c "$ACS_TEST_TOKEN_C" || status=1
        step "sample: two_party --transfer (C++: Call::transfer/answer_transfer, Event::transfer_target)"
        "$BUILD/two_party" --transfer --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
            --token-b "$ACS_TEST_TOKEN_B" --token-c "$ACS_TEST_TOKEN_C" || status=1
    else
        step "sample: group_call, transfer_call and two_party --transfer need ACS_TEST_TOKEN_C"
        status=1
    fi
    # The room is made with POST /rooms, which takes the service's access key:
    # ACS_TEST_ACCESS_KEY, by default the key tests/run_c_tests_with_service.py starts its
    # service with.
    step "sample: meeting_lobby (C, ASan/UBSan): a room with a lobby, admit, mute others"
    "$BUILD/meeting_lobby" --service-url "$ACS_TEST_SERVICE_URL" \
        --access-key "${ACS_TEST_ACCESS_KEY:-c-test-access-key}" \
        --token-a "$ACS_TEST_TOKEN_A" --token-b "$ACS_TEST_TOKEN_B" || status=1
fi

step "$([ $status -eq 0 ] && echo PASS || echo FAIL)"
exit $status
