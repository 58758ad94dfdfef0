#!/usr/bin/env bash
# A private user-space PulseAudio server with null devices, so that cpal opens real devices
# on a machine without a sound card (CI). Nothing outside $ACS_SOUND_DIR is touched: clients
# reach it only when their environment points at it (see `env`).
#
#   scripts/sound-server.sh start   # idempotent; prints the environment to use (eval-able)
#   scripts/sound-server.sh env     # prints that environment again
#   scripts/sound-server.sh stop
#
# Devices (48 kHz): null sinks `acs_spk` (default) and `acs_spk2` are speakers; `acs_room` and
# `acs_room2` are "rooms": what a test plays into them (`pacat -d acs_room`) is what the
# microphones `acs_room.monitor` (default source) and `acs_room2.monitor` capture. Every sink's
# `.monitor` records what was played to it (`parec -d acs_spk.monitor`), so a test hears what
# the library played. `acs_mic` and `acs_mic2` are the same two rooms as plain sources: Chromium
# lists no monitor sources as microphones (the browser tests pick them by their descriptions,
# ACS-Mic and ACS-Mic-2).
# The socket sits in a private 0700 folder, so clients need no cookie (auth-anonymous=1).
# Needs Debian's `pulseaudio` package (scripts/setup.sh installs it).
set -euo pipefail
DIR="${ACS_SOUND_DIR:-/tmp/acs-sound-$(id -u)}"
SOCK="$DIR/pulse/native"

print_env() {
  echo "export XDG_RUNTIME_DIR='$DIR'"
  echo "export PULSE_SERVER='unix:$SOCK'"
}

running() {
  [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null && [ -S "$SOCK" ] &&
    XDG_RUNTIME_DIR="$DIR" PULSE_SERVER="unix:$SOCK" pactl info >/dev/null 2>&1
}

case "${1:-}" in
  start)
    if running; then print_env; exit 0; fi
    command -v pulseaudio >/dev/null || { echo "pulseaudio is not installed (run scripts/setup.sh)" >&2; exit 1; }
    mkdir -p "$DIR" && chmod 700 "$DIR"
    rm -rf "$DIR/pulse" "$DIR/pid"
    export XDG_RUNTIME_DIR="$DIR" HOME="$DIR"
    # No daemon config, no autospawn, no X11/dbus/udev: just the modules listed here.
    setsid pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit \
      --use-pid-file=no --log-target=file:"$DIR/server.log" \
      -L 'module-null-sink sink_name=acs_spk rate=48000 sink_properties=device.description=ACS-Speaker' \
      -L 'module-null-sink sink_name=acs_spk2 rate=48000 sink_properties=device.description=ACS-Speaker-2' \
      -L 'module-null-sink sink_name=acs_room rate=48000 sink_properties=device.description=ACS-Room' \
      -L 'module-null-sink sink_name=acs_room2 rate=48000 sink_properties=device.description=ACS-Room-2' \
      -L 'module-remap-source source_name=acs_mic master=acs_room.monitor source_properties=device.description=ACS-Mic' \
      -L 'module-remap-source source_name=acs_mic2 master=acs_room2.monitor source_properties=device.description=ACS-Mic-2' \
      -L 'module-native-protocol-unix auth-anonymous=1' \
      -L 'module-always-sink' \
      </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/pid"
    for _ in $(seq 1 100); do
      if running; then
        pactl set-default-sink acs_spk >/dev/null
        pactl set-default-source acs_room.monitor >/dev/null
        print_env
        exit 0
      fi
      sleep 0.1
    done
    echo "the sound server did not start; its log:" >&2
    cat "$DIR/server.log" >&2 2>/dev/null || true
    exit 1
    ;;
  env)
    print_env
    ;;
  stop)
    if [ -f "$DIR/pid" ]; then
      pid=$(cat "$DIR/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$DIR/pid"
    fi
    ;;
  *)
    echo "usage: $0 start|env|stop" >&2
    exit 2
    ;;
esac
