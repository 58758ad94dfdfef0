#!/usr/bin/env bash
# Runs the bad-input sweep of the C ABI (examples-c/test_badinput.c) once under valgrind
# (memcheck) on a build without sanitizers: zero errors (invalid reads/writes, uses of
# uninitialised values, leaks definite or possible) or it fails.
#
#   scripts/badinput_valgrind.sh                 # the sweep without a service (no live call:
#                                                # the call functions get the bad-handle cases)
#   scripts/badinput_valgrind.sh --service-url ws://127.0.0.1:PORT --token-a A --token-b B
#
# Bounded: BADINPUT_VALGRIND_TIMEOUT seconds (default 900); the sweep alone takes well
# under a minute natively. Suppressions: examples-c/valgrind.supp (each entry explained).
# The library must be built first: cargo build --workspace
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
MAKE=${MAKE:-make}
export ACSCALLING_LIB_DIR=${ACSCALLING_LIB_DIR:-$("$MAKE" -s --no-print-directory -C "$HERE/examples-c" print-lib-dir)}
BUILD=${BUILD:-$HERE/examples-c/build}
export BUILD
"$MAKE" --no-print-directory -C "$HERE/examples-c" "$BUILD/test_badinput_plain"
command -v valgrind >/dev/null || { echo "valgrind not found (scripts/setup.sh installs it)" >&2; exit 1; }
export RUST_BACKTRACE=0
timeout "${BADINPUT_VALGRIND_TIMEOUT:-900}" \
    valgrind --quiet --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible \
        --track-origins=yes --num-callers=40 --suppressions="$HERE/examples-c/valgrind.supp" \
        "$BUILD/test_badinput_plain" "$@"
