#!/usr/bin/env bash
# Compiles the C# P/Invoke sample (examples-godot/csharp/, the shape of a Unity plugin) with
# Debian's mono-mcs and runs it with mono against $ACSCALLING_LIB (default
# target/debug/libacscalling.so). Extra arguments (<service_url> <token>) are passed on:
# the sample then signs in too. Exits 0 without doing anything when mcs is not installed
# (apt-get install mono-mcs; optional).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mcs >/dev/null || { echo "mcs not installed (apt-get install mono-mcs): C# sample skipped"; exit 0; }
LIB="${ACSCALLING_LIB:-$PWD/target/debug/libacscalling.so}"
OUT=target/godot-csharp
mkdir -p "$OUT"
mcs -warnaserror -out:"$OUT/AcsCallingSample.exe" examples-godot/csharp/AcsCallingSample.cs
# DllImport("acscalling") looks for libacscalling.so on the library path.
ln -sfn "$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")" "$OUT/libacscalling.so"
LD_LIBRARY_PATH="$PWD/$OUT${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono "$OUT/AcsCallingSample.exe" "$@"
