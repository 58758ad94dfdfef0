#!/usr/bin/env bash
# Tests the installed C library: scripts/install.sh into a temporary prefix, then, from a
# copy of the sample sources in a temporary directory (the repository reachable by no
# include or library path, relative or absolute):
#  - the files, the links and the shared library's SONAME (readelf -d: libacscalling.so.0);
#  - pkg-config: echo_call.c (C99) and two_party.cpp (the C++ wrapper, -Wall -Wextra
#    -Werror -pedantic); echo_call.c again against the static library (libacscalling.a);
#  - CMake: find_package(acscalling) from the prefix, echo_call on acscalling::acscalling,
#    two_party on it too, echo_call on acscalling::acscalling_static;
#  - every compile's -H include trace and every link map name only the prefix, never the
#    repository or cargo's target directory;
#  - then, against a real acscalling-service (tests/run_c_tests_with_service.py starts it,
#    ACSCALLING_SERVICE_BIN as in scripts/test.sh): echo_call built with pkg-config calls
#    8:echo123 and hears its tone back, the static echo_call does the same, and the CMake
#    two_party (C++ wrapper) runs its two-party call.
#
#   ACSCALLING_SERVICE_BIN=target/debug/acscalling-service scripts/install-test.sh
#   ACS_INSTALL_TEST_KEEP=1 keeps the temporary directory.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n=== %s\n' "$*"; }
fail() { echo "install-test: FAIL: $*" >&2; exit 1; }

if [ "${1:-}" = "--run-samples" ]; then
    # Second stage, under tests/run_c_tests_with_service.py (ACS_TEST_* set).
    work=$2
    status=0
    step "echo_call (pkg-config, shared) -> 8:echo123"
    "$work/build-pc/echo_call" --service-url "$ACS_TEST_SERVICE_URL" --token "$ACS_TEST_TOKEN_A" || status=1
    step "echo_call (pkg-config, static libacscalling.a) -> 8:echo123"
    "$work/build-pc/echo_call_static" --service-url "$ACS_TEST_SERVICE_URL" --token "$ACS_TEST_TOKEN_A" || status=1
    step "two_party (CMake, C++ wrapper)"
    "$work/build-cmake/two_party" --service-url "$ACS_TEST_SERVICE_URL" --token-a "$ACS_TEST_TOKEN_A" \
        --token-b "$ACS_TEST_TOKEN_B" || status=1
    exit $status
fi

: "${ACSCALLING_SERVICE_BIN:?set ACSCALLING_SERVICE_BIN to the built acscalling-service (see scripts/test.sh)}"
TARGET_DIR=$(cd "$REPO" && cargo metadata --format-version 1 --no-deps --offline |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
work=$(mktemp -d /tmp/acscalling-install-test.XXXXXX)
if [ -z "${ACS_INSTALL_TEST_KEEP:-}" ]; then
    trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix
lib=$prefix/lib
version=$(sed -n 's/^#define ACS_CALLING_VERSION_STRING "\(.*\)"$/\1/p' "$REPO/include/acscalling.h")
major=${version%%.*}

step "cargo cinstall into $prefix"
start=$(date +%s)
bash "$REPO/scripts/install.sh" --prefix "$prefix"
echo "install took $(( $(date +%s) - start )) s"

step "installed files, links, SONAME"
for f in include/acscalling.h include/acscalling.hpp lib/libacscalling.a lib/pkgconfig/acscalling.pc \
         lib/cmake/acscalling/acscallingConfig.cmake lib/cmake/acscalling/acscallingConfigVersion.cmake \
         lib/cmake/acscalling/acscalling-static-deps.cmake \
         "lib/libacscalling.so.$version"; do
    [ -f "$prefix/$f" ] || fail "missing $f"
done
[ "$(readlink "$lib/libacscalling.so.$major")" = "libacscalling.so.$version" ] || fail "libacscalling.so.$major is not a link to libacscalling.so.$version"
[ "$(readlink -f "$lib/libacscalling.so")" = "$(readlink -f "$lib/libacscalling.so.$version")" ] || fail "libacscalling.so does not lead to libacscalling.so.$version"
cmp -s "$prefix/include/acscalling.h" "$REPO/include/acscalling.h" || fail "the installed header is not the committed include/acscalling.h"
cmp -s "$prefix/include/acscalling.hpp" "$REPO/include/acscalling.hpp" || fail "the installed acscalling.hpp differs from include/acscalling.hpp"
soname=$(readelf -d "$lib/libacscalling.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
echo "SONAME: $soname"
[ "$soname" = "libacscalling.so.$major" ] || fail "SONAME is '$soname', want libacscalling.so.$major"
export PKG_CONFIG_PATH=$lib/pkgconfig
unset PKG_CONFIG_LIBDIR ACSCALLING_LIB_DIR ACSCALLING_PROFILE CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH LIBRARY_PATH LD_LIBRARY_PATH
pc_flags="$(pkg-config --cflags --libs acscalling) $(pkg-config --static --libs acscalling)"
echo "pkg-config: $pc_flags"
[ "$(pkg-config --modversion acscalling)" = "$version" ] || fail "pkg-config version is not $version"
case "$pc_flags" in *"$REPO"*|*"$TARGET_DIR"*) fail "pkg-config flags name the source tree" ;; esac

# The samples, copied away from the repository.
src=$work/src
mkdir -p "$src" "$work/build-pc"
cp "$REPO/examples-c/echo_call.c" "$REPO/examples-c/two_party.cpp" "$src/"
cd "$src"

# Fails when an include trace (-H) or a link map names the repository or the target dir.
only_prefix() {
    local what=$1 file=$2
    if grep -F -e "$REPO" -e "$TARGET_DIR" "$file" >/dev/null; then
        grep -F -e "$REPO" -e "$TARGET_DIR" "$file" | head -5 >&2
        fail "$what uses the source tree"
    fi
    grep -F -q "$prefix/" "$file" || fail "$what does not use the prefix"
}

step "pkg-config: echo_call.c (shared)"
cc -std=c99 -Wall -Wextra -Werror -O1 -g -H $(pkg-config --cflags acscalling) echo_call.c \
    -o "$work/build-pc/echo_call" $(pkg-config --libs acscalling) -Wl,-rpath,"$lib" -pthread \
    -Wl,-Map,"$work/build-pc/echo_call.map" 2>"$work/build-pc/echo_call.h.txt"
only_prefix "echo_call includes" "$work/build-pc/echo_call.h.txt"
only_prefix "echo_call link" "$work/build-pc/echo_call.map"
grep -F -q "$prefix/include/acscalling.h" "$work/build-pc/echo_call.h.txt" || fail "echo_call did not include the installed header"
ldd "$work/build-pc/echo_call" | grep -F "libacscalling.so.$major => $lib/libacscalling.so.$major" ||
    fail "echo_call does not load libacscalling.so.$major from the prefix"

step "pkg-config: two_party.cpp (C++ wrapper, -Wall -Wextra -Werror -pedantic)"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -O1 -g -H $(pkg-config --cflags acscalling) two_party.cpp \
    -o "$work/build-pc/two_party" $(pkg-config --libs acscalling) -Wl,-rpath,"$lib" -pthread \
    -Wl,-Map,"$work/build-pc/two_party.map" 2>"$work/build-pc/two_party.h.txt"
only_prefix "two_party includes" "$work/build-pc/two_party.h.txt"
grep -F -q "$prefix/include/acscalling.hpp" "$work/build-pc/two_party.h.txt" || fail "two_party did not include the installed acscalling.hpp"
only_prefix "two_party link" "$work/build-pc/two_party.map"

step "pkg-config --static: echo_call.c against libacscalling.a"
static_libs=$(pkg-config --static --libs acscalling | sed 's/-lacscalling\b/-l:libacscalling.a/')
cc -std=c99 -Wall -Wextra -Werror -O1 -g $(pkg-config --cflags acscalling) echo_call.c \
    -o "$work/build-pc/echo_call_static" $static_libs -pthread -Wl,-Map,"$work/build-pc/echo_call_static.map"
only_prefix "echo_call_static link" "$work/build-pc/echo_call_static.map"
grep -F -q "$lib/libacscalling.a" "$work/build-pc/echo_call_static.map" || fail "echo_call_static did not link libacscalling.a"
if readelf -d "$work/build-pc/echo_call_static" | grep -q 'NEEDED.*libacscalling'; then
    fail "echo_call_static still needs the shared library"
fi

step "CMake: find_package(acscalling) from the prefix"
cat > "$src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(acscalling_install_test C CXX)
find_package(acscalling 0.1 REQUIRED)
find_package(Threads REQUIRED)
set(CMAKE_CXX_STANDARD 17)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_C_STANDARD 99)
add_compile_options(-Wall -Wextra -Werror)
add_executable(echo_call echo_call.c)
target_link_libraries(echo_call PRIVATE acscalling::acscalling Threads::Threads)
add_executable(two_party two_party.cpp)
target_compile_options(two_party PRIVATE -pedantic)
target_link_libraries(two_party PRIVATE acscalling::acscalling Threads::Threads)
add_executable(echo_call_static echo_call.c)
target_link_libraries(echo_call_static PRIVATE acscalling::acscalling_static Threads::Threads)
message(STATUS "acscalling_DIR=${acscalling_DIR} include=${acscalling_INCLUDE_DIR}")
CMAKE
cmake -S "$src" -B "$work/build-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_EXE_LINKER_FLAGS="-Wl,-Map,link.map" > "$work/build-cmake.log" || { cat "$work/build-cmake.log"; fail "cmake configure"; }
grep "acscalling_DIR=" "$work/build-cmake.log"
grep -F -q "acscalling_DIR=$lib/cmake/acscalling include=$prefix/include" "$work/build-cmake.log" ||
    fail "CMake found acscalling elsewhere than the prefix"
cmake --build "$work/build-cmake" -- VERBOSE=1 > "$work/build-cmake-build.log" || { cat "$work/build-cmake-build.log"; fail "cmake build"; }
only_prefix "CMake compile and link lines" "$work/build-cmake-build.log"
only_prefix "CMake link map" "$work/build-cmake/link.map"
if readelf -d "$work/build-cmake/echo_call_static" | grep -q 'NEEDED.*libacscalling'; then
    fail "CMake echo_call_static still needs the shared library"
fi
ldd "$work/build-cmake/two_party" | grep -F "libacscalling.so.$major => $lib/libacscalling.so.$major" ||
    fail "the CMake two_party does not load libacscalling.so.$major from the prefix"

step "samples against a real service"
cd "$work"
python3 "$REPO/tests/run_c_tests_with_service.py" -- bash "$REPO/scripts/install-test.sh" --run-samples "$work" ||
    fail "a sample failed against the service"
step "install test PASS"
