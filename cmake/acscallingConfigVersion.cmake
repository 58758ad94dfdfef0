# Version check of the acscalling CMake package: the version is read from the header
# (ACS_CALLING_VERSION_STRING, which equals Cargo.toml). Compatible when the major versions
# match and the package is not older than requested; before 1.0 the minor must match too.

get_filename_component(_acsv_here "${CMAKE_CURRENT_LIST_DIR}" REALPATH)
set(_acsv_header "")
foreach(_acsv_candidate "${_acsv_here}/../include/acscalling.h"
                        "${_acsv_here}/../../../include/acscalling.h"
                        "${_acsv_here}/../../../../include/acscalling.h")
  if(NOT _acsv_header AND EXISTS "${_acsv_candidate}")
    set(_acsv_header "${_acsv_candidate}")
  endif()
endforeach()

if(NOT _acsv_header)
  set(PACKAGE_VERSION "unknown")
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
  return()
endif()

file(STRINGS "${_acsv_header}" _acsv_line REGEX "^#define ACS_CALLING_VERSION_STRING \"[^\"]*\"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" PACKAGE_VERSION "${_acsv_line}")

if(NOT PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
elseif(PACKAGE_VERSION VERSION_LESS PACKAGE_FIND_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  string(REGEX MATCH "^([0-9]+)\\.([0-9]+)" _ "${PACKAGE_VERSION}")
  set(_acsv_major "${CMAKE_MATCH_1}")
  set(_acsv_minor "${CMAKE_MATCH_2}")
  if(NOT _acsv_major STREQUAL PACKAGE_FIND_VERSION_MAJOR)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  elseif(_acsv_major STREQUAL "0" AND NOT _acsv_minor STREQUAL PACKAGE_FIND_VERSION_MINOR)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_VERSION VERSION_EQUAL PACKAGE_FIND_VERSION)
      set(PACKAGE_VERSION_EXACT TRUE)
    endif()
  endif()
endif()
