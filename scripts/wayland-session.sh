#!/usr/bin/env bash
# A private headless Wayland session for the screen-sharing tests (feature `wayland`):
# a session D-Bus, sway with the headless backend (one output, HEADLESS-1, filled red by
# swaybg), PipeWire + WirePlumber, and xdg-desktop-portal with xdg-desktop-portal-wlr set up
# to share HEADLESS-1 without asking (chooser_type=none).
#
#   scripts/wayland-session.sh start DIR [COLOR]  # prints the environment to use (also DIR/env)
#   scripts/wayland-session.sh stop DIR           # stops what start started (by pid)
#   scripts/wayland-session.sh build-portal       # the patched portal backend (see below)
#
# xdg-desktop-portal-wlr 0.7.x (Debian 12, 13) refuses to start a screen cast unless the
# compositor offers DMA-BUF frames, which a compositor without a GPU (wlroots' pixman
# renderer, as here) never does ("unable to receive a valid format from wlr_screencopy",
# upstream issue #289), although it can cast shared memory. build-portal builds Debian's
# source of the installed version with that check limited to when a GPU (gbm) is there, into
# $ACS_XDPW_DIR (default /var/cache/acscalling/xdpw); start runs that build when present
# ($XDPW names another binary), else the installed one.
#
# Works as root. Everything lives in DIR (the XDG_RUNTIME_DIR, configs, logs, DIR/pids).
# Needs: sway swaybg pipewire wireplumber xdg-desktop-portal xdg-desktop-portal-wlr dbus
# (scripts/setup.sh installs them).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ "$cmd" = build-portal ] || [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [COLOR] | build-portal" >&2; exit 2; }

stop() {
  [ -f "$dir/pids" ] || return 0
  # Also what the bus activated (document portal, permission store, their fusermount) and
  # what sway spawned (swaybg): the processes started with this session's runtime dir.
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    case "$(cat "$p/comm" 2>/dev/null)" in
    swaybg | xdg-document-po* | xdg-permission-* | fusermount3 | xdg-desktop-por*) ;;
    *) continue ;;
    esac
    tr '\0' '\n' 2>/dev/null <"$p/environ" | grep -qx "XDG_RUNTIME_DIR=$dir/run" &&
      echo "$pid" >>"$dir/pids"
  done
  # Reverse start order: the portal first, the compositor and the bus last.
  for pid in $(tac "$dir/pids"); do kill "$pid" 2>/dev/null || true; done
  alive=""
  for _ in $(seq 50); do
    alive=""
    for pid in $(cat "$dir/pids"); do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for pid in $alive; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$dir/pids"
}

wait_for() { # what, seconds, test command...
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do "$@" && return 0; sleep 0.1; done
  echo "wayland-session: $what did not come up (logs in $dir)" >&2
  for f in "$dir"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  stop
  exit 1
}

has_name() { # is the D-Bus name owned?
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner "string:$1" 2>/dev/null | grep -q 'boolean true'
}

build_portal() {
  local out=${ACS_XDPW_DIR:-/var/cache/acscalling/xdpw}
  local ver
  ver=$(dpkg-query -W -f '${Version}' xdg-desktop-portal-wlr)
  case "$ver" in 0.7.*) ;; *) echo "xdg-desktop-portal-wlr $ver: no patch needed"; return 0 ;; esac
  if [ -x "$out/xdg-desktop-portal-wlr" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$ver" ]; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial"
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$(. /etc/os-release && echo "$VERSION_CODENAME")" >"$tmp/src.sources"
  local o=(-o "Dir::Etc::SourceList=$tmp/src.sources" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$tmp/lists" -o APT::Sandbox::User=root)
  apt-get "${o[@]}" update -qq
  (cd "$tmp" && apt-get "${o[@]}" source --download-only "xdg-desktop-portal-wlr=$ver" >/dev/null 2>&1)
  tar -C "$tmp" -xf "$tmp"/xdg-desktop-portal-wlr_*.orig.tar.*
  local src
  src=$(find "$tmp" -maxdepth 1 -type d -name 'xdg-desktop-portal-wlr-*' | head -1)
  # The one change: DMA-BUF is required only where a GPU could make DMA-BUF buffers.
  sed -i 's/(cast->ctx->state->screencast_version >= 3 \&\&/(cast->ctx->gbm != NULL \&\& cast->ctx->state->screencast_version >= 3 \&\&/' \
    "$src/src/screencast/screencast.c"
  grep -q 'cast->ctx->gbm != NULL && cast->ctx->state->screencast_version' "$src/src/screencast/screencast.c" ||
    { echo "build-portal: the source did not take the patch" >&2; exit 1; }
  meson setup "$src/build" "$src" -Dman-pages=disabled -Dsd-bus-provider=libsystemd >/dev/null
  ninja -C "$src/build" >/dev/null
  mkdir -p "$out"
  install -m 755 "$src/build/xdg-desktop-portal-wlr" "$out/xdg-desktop-portal-wlr"
  echo "$ver" >"$out/version"
  rm -rf "$tmp"
  echo "built $out/xdg-desktop-portal-wlr (xdg-desktop-portal-wlr $ver, SHM screen casts without a GPU)"
}

case "$cmd" in
stop) stop; exit 0 ;;
build-portal) build_portal; exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop DIR [COLOR]" >&2; exit 2 ;;
esac

color=${3:-#ff0000}
mkdir -p "$dir/run"
chmod 700 "$dir/run"
: >"$dir/pids"
export XDG_RUNTIME_DIR="$dir/run"
export XDG_CURRENT_DESKTOP=sway XDG_SESSION_TYPE=wayland
export WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman
unset DISPLAY WAYLAND_DISPLAY

dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1 \
  --address="unix:path=$dir/run/bus" >"$dir/dbus.out"
export DBUS_SESSION_BUS_ADDRESS=$(sed -n 1p "$dir/dbus.out")
sed -n 2p "$dir/dbus.out" >>"$dir/pids"

cat >"$dir/sway.config" <<EOF
output HEADLESS-1 mode 1280x720 bg $color solid_color
default_border none
xwayland disable
EOF
# sway refuses to run as root (it could not drop root): as root, it runs as nobody; the
# other processes stay root (root may connect to nobody's Wayland socket, nobody may not
# use root's session bus, which sway does not need).
as_user=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$dir/run" "$dir/sway.config"
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
"${as_user[@]}" sway -c "$dir/sway.config" >"$dir/sway.log" 2>&1 &
echo $! >>"$dir/pids"
wait_for sway 10 test -S "$dir/run/wayland-1"
export WAYLAND_DISPLAY=wayland-1

pipewire >"$dir/pipewire.log" 2>&1 &
echo $! >>"$dir/pids"
wait_for pipewire 10 test -S "$dir/run/pipewire-0"
wireplumber >"$dir/wireplumber.log" 2>&1 &
echo $! >>"$dir/pids"

cat >"$dir/xdpw.config" <<EOF
[screencast]
output_name=HEADLESS-1
chooser_type=none
max_fps=30
EOF
xdpw=${XDPW:-${ACS_XDPW_DIR:-/var/cache/acscalling/xdpw}/xdg-desktop-portal-wlr}
[ -x "$xdpw" ] || xdpw=/usr/libexec/xdg-desktop-portal-wlr
"$xdpw" -c "$dir/xdpw.config" -l DEBUG >"$dir/xdpw.log" 2>&1 &
echo $! >>"$dir/pids"
wait_for xdg-desktop-portal-wlr 10 has_name org.freedesktop.impl.portal.desktop.wlr
/usr/libexec/xdg-desktop-portal -r >"$dir/portal.log" 2>&1 &
echo $! >>"$dir/pids"
wait_for xdg-desktop-portal 10 has_name org.freedesktop.portal.Desktop

{
  echo "XDG_RUNTIME_DIR=$XDG_RUNTIME_DIR"
  echo "WAYLAND_DISPLAY=$WAYLAND_DISPLAY"
  echo "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS"
  echo "XDG_CURRENT_DESKTOP=$XDG_CURRENT_DESKTOP"
  echo "XDG_SESSION_TYPE=$XDG_SESSION_TYPE"
} | tee "$dir/env"
