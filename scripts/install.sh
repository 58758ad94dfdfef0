#!/usr/bin/env bash
# Installs libacscalling as a C library into a prefix:
#
#   scripts/install.sh --prefix /usr/local [--destdir DIR] [--libdir DIR] [cargo cinstall options]
#
# 1. `cargo cinstall --release` (cargo-c; scripts/setup.sh installs it) with the
#    [package.metadata.capi] of Cargo.toml: <prefix>/include/acscalling.h (the committed
#    header) and acscalling.hpp (the C++ wrapper), <libdir>/libacscalling.so.0.1.0 with the
#    links libacscalling.so.0 (its soname) and libacscalling.so, <libdir>/libacscalling.a,
#    <libdir>/pkgconfig/acscalling.pc.
# 2. The CMake package beside it: <libdir>/cmake/acscalling/acscallingConfig.cmake and
#    acscallingConfigVersion.cmake (the same files as cmake/ of the source tree; installed,
#    they find the header and libraries relative to themselves), so that
#    find_package(acscalling) with CMAKE_PREFIX_PATH=<prefix> gives acscalling::acscalling
#    and acscalling::acscalling_static.
#
# libdir defaults to <prefix>/lib (not cargo-c's Debian multiarch lib/<triple>). cargo-c
# builds into <cargo target dir>/<host triple>/release (it always passes --target), so the
# first install compiles the library once more in release mode; later ones are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local libdir="" destdir=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --libdir) libdir=$2; shift 2 ;;
        --libdir=*) libdir=${1#*=}; shift ;;
        --destdir) destdir=$2; shift 2 ;;
        --destdir=*) destdir=${1#*=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done
libdir=${libdir:-$prefix/lib}
case "$prefix" in /*) ;; *) echo "$0: --prefix must be absolute" >&2; exit 2 ;; esac
case "$libdir" in /*) ;; *) libdir=$prefix/$libdir ;; esac

command -v cargo-cinstall >/dev/null || { echo "cargo-c not found: run scripts/setup.sh" >&2; exit 1; }
dest=()
[ -n "$destdir" ] && dest=(--destdir "$destdir")
cargo cinstall --release --locked -p acscalling --prefix "$prefix" --libdir "$libdir" \
    --includedir "$prefix/include" "${dest[@]}" "${args[@]}"

cmake_dir="$destdir$libdir/cmake/acscalling"
install -d "$cmake_dir"
install -m 644 cmake/acscallingConfig.cmake cmake/acscallingConfigVersion.cmake "$cmake_dir/"
echo "installed the CMake package in $cmake_dir"
