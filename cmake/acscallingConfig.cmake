# CMake package of libacscalling.
#
#   find_package(acscalling 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE acscalling::acscalling)          # shared library
#   target_link_libraries(app PRIVATE acscalling::acscalling_static)   # static (if built)
#
# Found two ways:
#  - in the source tree: -DCMAKE_PREFIX_PATH=<repo> (this file is <repo>/cmake/). The header
#    is <repo>/include; the library is taken from ACSCALLING_LIB_DIR (CMake or environment
#    variable) or else from cargo's target directory (`cargo metadata`) + /debug, or
#    + /${ACSCALLING_PROFILE} (e.g. release). Build it first: cargo build [--release].
#  - installed (`scripts/install.sh --prefix ...` after cargo cinstall, or
#    `make -C examples-c install PREFIX=...`): <libdir>/cmake/acscalling/.
#
# Sets acscalling_VERSION, acscalling_INCLUDE_DIR, acscalling_LIBRARY_DIR.

cmake_minimum_required(VERSION 3.16)

if(TARGET acscalling::acscalling)
  return()
endif()

get_filename_component(_acs_here "${CMAKE_CURRENT_LIST_DIR}" REALPATH)

if(EXISTS "${_acs_here}/../include/acscalling.h" AND EXISTS "${_acs_here}/../Cargo.toml")
  # Source tree: <repo>/cmake/acscallingConfig.cmake
  get_filename_component(_acs_root "${_acs_here}/.." ABSOLUTE)
  set(_acs_include "${_acs_root}/include")
  if(NOT ACSCALLING_LIB_DIR AND DEFINED ENV{ACSCALLING_LIB_DIR} AND NOT "$ENV{ACSCALLING_LIB_DIR}" STREQUAL "")
    set(ACSCALLING_LIB_DIR "$ENV{ACSCALLING_LIB_DIR}")
  endif()
  if(NOT ACSCALLING_LIB_DIR)
    if(NOT ACSCALLING_PROFILE)
      if(DEFINED ENV{ACSCALLING_PROFILE} AND NOT "$ENV{ACSCALLING_PROFILE}" STREQUAL "")
        set(ACSCALLING_PROFILE "$ENV{ACSCALLING_PROFILE}")
      else()
        set(ACSCALLING_PROFILE debug)
      endif()
    endif()
    find_program(_acs_cargo cargo HINTS "$ENV{HOME}/.cargo/bin")
    set(_acs_target_dir "${_acs_root}/target")
    if(_acs_cargo)
      execute_process(
        COMMAND "${_acs_cargo}" metadata --format-version 1 --no-deps --offline
        WORKING_DIRECTORY "${_acs_root}"
        OUTPUT_VARIABLE _acs_metadata
        ERROR_QUIET
        RESULT_VARIABLE _acs_rc)
      if(_acs_rc EQUAL 0 AND _acs_metadata MATCHES "\"target_directory\":\"([^\"]*)\"")
        set(_acs_target_dir "${CMAKE_MATCH_1}")
      endif()
    endif()
    set(ACSCALLING_LIB_DIR "${_acs_target_dir}/${ACSCALLING_PROFILE}")
  endif()
else()
  # Installed: <libdir>/cmake/acscalling/acscallingConfig.cmake
  get_filename_component(_acs_libdir "${_acs_here}/../.." ABSOLUTE)
  if(EXISTS "${_acs_libdir}/../include/acscalling.h")
    get_filename_component(_acs_include "${_acs_libdir}/../include" ABSOLUTE)
  else()
    get_filename_component(_acs_include "${_acs_libdir}/../../include" ABSOLUTE)
  endif()
  if(NOT ACSCALLING_LIB_DIR)
    set(ACSCALLING_LIB_DIR "${_acs_libdir}")
  endif()
endif()

set(ACSCALLING_LIB_DIR "${ACSCALLING_LIB_DIR}" CACHE PATH "Directory holding libacscalling.so / libacscalling.a")
set(acscalling_INCLUDE_DIR "${_acs_include}")
set(acscalling_LIBRARY_DIR "${ACSCALLING_LIB_DIR}")

set(_acs_shared "${ACSCALLING_LIB_DIR}/${CMAKE_SHARED_LIBRARY_PREFIX}acscalling${CMAKE_SHARED_LIBRARY_SUFFIX}")
set(_acs_static "${ACSCALLING_LIB_DIR}/${CMAKE_STATIC_LIBRARY_PREFIX}acscalling${CMAKE_STATIC_LIBRARY_SUFFIX}")

if(NOT EXISTS "${_acs_include}/acscalling.h")
  set(acscalling_FOUND FALSE)
  set(acscalling_NOT_FOUND_MESSAGE "acscalling.h not found in ${_acs_include}")
  return()
endif()
if(NOT EXISTS "${_acs_shared}" AND NOT EXISTS "${_acs_static}")
  set(acscalling_FOUND FALSE)
  set(acscalling_NOT_FOUND_MESSAGE
      "libacscalling not found in ${ACSCALLING_LIB_DIR}: run `cargo build` (or set ACSCALLING_LIB_DIR)")
  return()
endif()

if(EXISTS "${_acs_shared}")
  add_library(acscalling::acscalling SHARED IMPORTED)
  set_target_properties(acscalling::acscalling PROPERTIES
    IMPORTED_LOCATION "${_acs_shared}"
    # Executables record the soname, libacscalling.so.0 (linked next to libacscalling.so by
    # cargo's build and by the install); the build tree's RPATH finds it.
    IMPORTED_SONAME "libacscalling.so.0"
    INTERFACE_INCLUDE_DIRECTORIES "${_acs_include}")
endif()

if(EXISTS "${_acs_static}")
  include(CMakeFindDependencyMacro)
  find_dependency(Threads)
  # What the archive's native code and the Rust standard library need (`cargo rustc --
  # --print native-static-libs`). Given as -l flags, which CMake keeps after the archive (a
  # bare "m" was dropped from the link line, leaving the archive's libm symbols unresolved).
  # An install by scripts/install.sh writes the list cargo-c put in acscalling.pc's
  # Libs.private into acscalling-static-deps.cmake beside this file.
  set(_acs_static_deps "Threads::Threads;-lasound;-lwebrtc_audio_processing;-lstdc++;-ldl;-lm;-lrt;-lutil;-lgcc_s")
  include("${CMAKE_CURRENT_LIST_DIR}/acscalling-static-deps.cmake" OPTIONAL)
  set(ACSCALLING_STATIC_DEPS "${_acs_static_deps}"
      CACHE STRING "System libraries libacscalling.a needs")
  add_library(acscalling::acscalling_static STATIC IMPORTED)
  set_target_properties(acscalling::acscalling_static PROPERTIES
    IMPORTED_LOCATION "${_acs_static}"
    INTERFACE_INCLUDE_DIRECTORIES "${_acs_include}"
    INTERFACE_LINK_LIBRARIES "${ACSCALLING_STATIC_DEPS}")
  if(NOT TARGET acscalling::acscalling)
    add_library(acscalling::acscalling ALIAS acscalling::acscalling_static)
  endif()
endif()

if(NOT acscalling_FIND_QUIETLY)
  message(STATUS "Found acscalling ${acscalling_VERSION}: ${ACSCALLING_LIB_DIR} (headers ${_acs_include})")
endif()
set(acscalling_FOUND TRUE)
