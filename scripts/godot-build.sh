#!/usr/bin/env bash
# Builds the Godot GDNative plugin of examples-godot/ (examples-godot/native/*.c)
# with gcc against include/acscalling.h and Godot 3.2's GDNative headers (fetched by
# scripts/godot-headers.sh), linking libacscalling: $ACSCALLING_LIB, else
# target/debug/libacscalling.so. Output: examples-godot/bin/libacs_godot.so, next to a
# libacscalling.so.0 link to the library it was built against (found through
# RPATH=$ORIGIN, so the project runs from the repository without installing anything).
set -euo pipefail
cd "$(dirname "$0")/.."
LIB="${ACSCALLING_LIB:-$PWD/target/debug/libacscalling.so}"
[ -f "$LIB" ] || { echo "libacscalling not found at $LIB: run cargo build (or set ACSCALLING_LIB)" >&2; exit 1; }
LIB="$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")"
HEADERS="$(scripts/godot-headers.sh)"
OUT=examples-godot/bin
mkdir -p "$OUT"
# The plugin needs the library's soname; point it at the library under test.
ln -sfn "$LIB" "$OUT/libacscalling.so.0"
# ACS_GODOT_SANITIZE=1: with ASan/UBSan (run Godot with LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
# and ASAN_OPTIONS=detect_leaks=0: the engine's own allocations at exit are not ours to judge).
SAN=""
[ "${ACS_GODOT_SANITIZE:-0}" = 1 ] && SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# -fvisibility=hidden: only the GDNative entry points (GDN_EXPORT) leave the plugin.
gcc -std=c11 -O1 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror $SAN \
  -Iinclude -isystem "$HEADERS" \
  -o "$OUT/libacs_godot.so" examples-godot/native/*.c \
  "$OUT/libacscalling.so.0" -lpthread -Wl,-rpath,'$ORIGIN' -Wl,--no-undefined
echo "$PWD/$OUT/libacs_godot.so"
