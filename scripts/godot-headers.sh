#!/usr/bin/env bash
# Puts Godot 3.2's GDNative C headers (godot_headers/) under target/godot-headers and prints
# their directory. They are third-party files, so they are fetched here, never committed:
# from the `gdnative-sys` crate 0.9.3 (the godot-rust release whose headers are Godot 3.2's
# GDNative API 1.2, matching Debian 12's godot3 3.2.3), taken from cargo's registry cache
# when a build already downloaded it, else from crates.io, checked against its sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.9.3
SHA256=97911fe633877345ce7788cf19febb322dc7a7ffd585098fea7e5cef11edf7f2
DEST=target/godot-headers
DIR="$DEST/gdnative-sys-$VERSION/godot_headers"
if [ -f "$DIR/gdnative_api_struct.gen.h" ]; then echo "$PWD/$DIR"; exit 0; fi
mkdir -p "$DEST"
CRATE="$DEST/gdnative-sys-$VERSION.crate"
cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/gdnative-sys-$VERSION.crate 2>/dev/null | head -1 || true)
if [ -n "$cached" ]; then
  cp "$cached" "$CRATE"
else
  # crates.io's download API redirects to static.crates.io; ask the CDN directly when the
  # API host is not reachable (this machine reaches only the registries).
  curl -sSfL -o "$CRATE" "https://crates.io/api/v1/crates/gdnative-sys/$VERSION/download" 2>/dev/null ||
    curl -sSfL -o "$CRATE" "https://static.crates.io/crates/gdnative-sys/gdnative-sys-$VERSION.crate"
fi
echo "$SHA256  $CRATE" | sha256sum -c --quiet - >&2 || { echo "gdnative-sys $VERSION: checksum mismatch" >&2; rm -f "$CRATE"; exit 1; }
tar -xzf "$CRATE" -C "$DEST" "gdnative-sys-$VERSION/godot_headers"
echo "$PWD/$DIR"
