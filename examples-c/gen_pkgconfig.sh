#!/bin/sh
# Generates acscalling.pc from ../acscalling.pc.in.
#   gen_pkgconfig.sh OUTPUT PREFIX LIBDIR INCLUDEDIR
# Leaves OUTPUT untouched when its content would not change (keeps make's timestamps).
# ACSCALLING_LIBS_PRIVATE overrides the system libraries listed for static linking.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 OUTPUT PREFIX LIBDIR INCLUDEDIR" >&2; exit 2; }
out=$1 prefix=$2 libdir=$3 includedir=$4
repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^#define ACS_CALLING_VERSION_STRING "\(.*\)"$/\1/p' "$repo/include/acscalling.h")
[ -n "$version" ] || { echo "$0: no ACS_CALLING_VERSION_STRING in include/acscalling.h" >&2; exit 1; }
# From `cargo rustc --lib --crate-type staticlib -- --print native-static-libs` (Linux).
libs_private=${ACSCALLING_LIBS_PRIVATE:--lasound -lwebrtc_audio_processing -lstdc++ -lpthread -ldl -lm -lrt -lutil -lgcc_s}
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
sed -e "s|@prefix@|$prefix|g" -e "s|@libdir@|$libdir|g" -e "s|@includedir@|$includedir|g" \
    -e "s|@version@|$version|g" -e "s|@libs_private@|$libs_private|g" \
    "$repo/acscalling.pc.in" > "$tmp"
if [ -f "$out" ] && cmp -s "$tmp" "$out"; then rm -f "$tmp"; else mv "$tmp" "$out"; fi
