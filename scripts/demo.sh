#!/usr/bin/env bash
# The demo: builds everything, starts the local calling service on 127.0.0.1, and places real
# calls over loopback WebRTC: Alice calls Bob (each verifies it hears the other's tone), then a
# four-party group call (everyone hears everyone, then the dominant speaker is found), then a
# call to the echo bot 8:echo123 whose answer is recorded to echo.wav.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --workspace
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export ACSCALLING_LIB="$TARGET_DIR/debug/libacscalling.so"
export ACSCALLING_SERVICE_BIN="$TARGET_DIR/debug/acscalling-service"
export PYTHONPATH="$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
python3 examples-python/two_party_call.py
python3 examples-python/group_call.py --parties 4
python3 examples-python/echo_bot.py --out echo.wav
echo "demo done: listen to echo.wav (your tone, played back by 8:echo123 after ~1 s)"
