#!/usr/bin/env bash
# Runs every test: Rust unit + end-to-end tests, the header check, Python (pytest) and C
# (ASan/UBSan) tests. Each test that needs the service starts it on 127.0.0.1 itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Real-device tests (tests/real_audio.rs, tests/python/test_real_audio.py, test_devices --sound)
# start the private sound server themselves; stop it when we are done.
trap 'bash scripts/sound-server.sh stop' EXIT

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export ACSCALLING_LIB="$TARGET_DIR/debug/libacscalling.so"
export ACSCALLING_SERVICE_BIN="$TARGET_DIR/debug/acscalling-service"

echo "== build (regenerates include/acscalling.h with the pinned cbindgen)"
cargo build --workspace --all-targets
if ! git diff --quiet -- include/acscalling.h; then
  echo "include/acscalling.h is stale: commit the regenerated header" >&2
  git --no-pager diff --stat -- include/acscalling.h >&2
  exit 1
fi

echo "== clippy + fmt"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

echo "== Rust tests"
cargo test --workspace

echo "== camera capture from a real V4L2 device (vivid, in a QEMU VM)"
bash scripts/v4l2-vm-test.sh

echo "== Python tests"
python3 -m mypy --strict bindings/python/acscalling
# tests/python/test_wheel.py builds the wheel with `cargo build --release --lib` in this target dir.
python3 -m pytest -q tests/python

echo "== C tests (ASan/UBSan)"
python3 tests/run_c_tests_with_service.py

echo "== C library installed (cargo cinstall into a temporary prefix; pkg-config, CMake, static; samples against the service)"
bash scripts/install-test.sh

echo "== C API reference (Doxygen; an undocumented export fails)"
bash scripts/docs.sh

echo "== fuzzing (FUZZ_SECONDS per target; the corpus replay ran with the Rust tests)"
if [ -n "${FUZZ_SECONDS:-}" ]; then
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
else
  echo "skipped: set FUZZ_SECONDS=60 to run every target (needs nightly + cargo-fuzz)"
fi

# Last: a build with the feature replaces target/debug/libacscalling.so, which the Python and C
# tests above load as built by default. The feature's crates (zbus, pipewire) widen the features
# of shared dependencies, so this is a second build of most crates: clippy with the feature
# (`cargo clippy --workspace --features acscalling/wayland --lib --tests -- -D warnings`) is
# left to whoever changes src/media/video/screen/wayland.rs, to keep the suite's time down.
echo "== screen sharing on Wayland (feature wayland: headless sway + xdg-desktop-portal-wlr + PipeWire)"
cargo test --workspace --features acscalling/wayland --lib screen::wayland
cargo test --workspace --features acscalling/wayland --test screen_wayland_e2e

echo "== all tests passed"
