#!/usr/bin/env bash
# HTML reference of the C API (include/acscalling.h) and the C++ wrapper
# (include/acscalling.hpp) with Doxygen (docs/Doxyfile), into <cargo target dir>/doc-c/html.
# Every exported function, type, field and constant must be documented (the doc comments of
# src/ffi, which cbindgen copies into the header): a warning fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { echo "doxygen not found: run scripts/setup.sh" >&2; exit 1; }
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --offline |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=$TARGET_DIR/doc-c
rm -rf "$out/html"
mkdir -p "$out"
export ACS_DOCS_OUT=$out
export ACS_DOCS_VERSION=$(sed -n 's/^#define ACS_CALLING_VERSION_STRING "\(.*\)"$/\1/p' include/acscalling.h)
if ! doxygen docs/Doxyfile; then
    echo "doxygen failed: document what it names (src/ffi doc comments for the C API)" >&2
    exit 1
fi
echo "C API reference: $out/html/index.html"
