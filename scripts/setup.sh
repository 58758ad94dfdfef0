#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian machine (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# pulseaudio + pulseaudio-utils: the private sound server of scripts/sound-server.sh (real-device
# tests); libwebrtc-audio-processing-dev: echo cancellation (webrtc-audio-processing 0.5);
# sip-tester (SIPp), baresip, kamailio: the real SIP peers of the PSTN tests; chromium: the
# browser client (web/) and its tests in a real browser (Debian's Chromium, driven by
# playwright-core from npm; Playwright never downloads a browser here); xvfb: a private X
# display for real screen capture in the browser tests, openbox + x11-utils: a window manager
# and windows (xmessage, xprop, xwininfo) to share. patchelf: auditwheel repair of the Python
# wheel (tests/python/test_wheel.py). doxygen: the C API reference (scripts/docs.sh).
PKGS="pkg-config libasound2-dev nasm cmake libclang-dev clang gcc g++ python3 python3-pip python3-venv pulseaudio pulseaudio-utils libwebrtc-audio-processing-dev valgrind sip-tester baresip kamailio chromium xvfb openbox x11-utils patchelf doxygen"
# Node.js and npm from Debian only where the machine has none (an existing Node stays).
command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "== apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 1; }
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest
# The Python package's checks: mypy --strict, and auditwheel for the wheel's manylinux tag
# (auditwheel 6.8 wants patchelf >= 0.14.5; Debian 12 ships 0.14.3, which 6.1-6.7 accept).
python3 -c 'import mypy' 2>/dev/null || python3 -m pip install --quiet mypy
python3 -m auditwheel --version >/dev/null 2>&1 || python3 -m pip install --quiet 'auditwheel>=6.1,<6.8'
# cargo-c (cargo cinstall, scripts/install.sh), only when missing. Debian's cargo-c 0.9.14 is
# built on cargo 0.66 and cannot read this Cargo.lock (version 4); 0.10.24 is the newest that
# builds with rust 1.95 (0.10.26 needs 1.97). A debug build of the tool: it only drives cargo,
# and its optimised build (cargo as a library, ~300 crates) costs a cold CI run far more time.
if ! command -v cargo-cinstall >/dev/null; then
  echo "== cargo install cargo-c"
  cargo install cargo-c --version 0.10.24 --locked --debug
fi
# The browser SDK's build tools and test driver (exact versions from web/package-lock.json).
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
  echo "== npm ci (web/)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
# Game engines (examples-godot/, tests/python/test_godot.py): Debian's Godot 3.2.3 runs the demo
# project, headless (godot3-server) and windowed (godot3, on Xvfb with Mesa's llvmpipe software
# GL from libgl1-mesa-dri: the viewport pushed as video); mono-mcs (with the mono runtime)
# builds and runs the C# P/Invoke sample.
for p in godot3-server godot3 libgl1-mesa-dri mono-mcs; do
  dpkg -s "$p" >/dev/null 2>&1 && continue
  echo "== apt-get install godot3-server godot3 libgl1-mesa-dri mono-mcs"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq godot3-server godot3 libgl1-mesa-dri mono-mcs >/dev/null
  break
done
# Screen sharing in a Wayland session (cargo feature `wayland`; tests/screen_wayland_e2e.rs):
# libpipewire-0.3-dev to link; for the test's private headless session (scripts/wayland-session.sh)
# sway + swaybg, PipeWire + WirePlumber, xdg-desktop-portal + xdg-desktop-portal-wlr and a D-Bus;
# meson, ninja and the -dev packages build Debian's xdg-desktop-portal-wlr 0.7 patched to cast
# shared memory without a GPU (`wayland-session.sh build-portal`, cached in /var/cache/acscalling).
WL_PKGS="libpipewire-0.3-dev sway swaybg pipewire wireplumber xdg-desktop-portal xdg-desktop-portal-wlr dbus meson ninja-build libdrm-dev libinih-dev libgbm-dev libwayland-dev wayland-protocols libsystemd-dev"
wl_missing=""
for p in $WL_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || wl_missing="$wl_missing $p"; done
if [ -n "$wl_missing" ]; then
  echo "== apt-get install$wl_missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $wl_missing >/dev/null
fi
$SUDO bash scripts/wayland-session.sh build-portal
