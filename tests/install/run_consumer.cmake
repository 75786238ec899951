# Driver of the install tests (see CMakeLists.txt here), run as cmake -P:
#
#   MODE=cmake_install     cmake --install SAMBA_BINARY_DIR into a fresh SAMBA_PREFIX
#   MODE=find_package      configure, build and run consumer/ against SAMBA_PREFIX
#   MODE=add_subdirectory  ... with samba's source tree added as a subdirectory
#   MODE=fetch_content     ... with samba's source tree made available by FetchContent
#
# Each consumer mode gets a fresh build tree WORK_DIR/<mode>, configured with the generator and
# compiler of the build that registered the test. Any failing step stops the test with the step's
# full output.
cmake_minimum_required(VERSION 3.21)

foreach(var MODE SAMBA_SOURCE_DIR SAMBA_BINARY_DIR SAMBA_PREFIX WORK_DIR GENERATOR CXX_COMPILER
            CTEST_COMMAND)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

# Runs a command; on failure, stops with what it printed.
function(run_step what)
  string(REPLACE ";" " " command_line "${ARGN}")
  message(STATUS "${what}: ${command_line}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${command_line}\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "cmake_install")
  file(REMOVE_RECURSE "${SAMBA_PREFIX}")
  set(config_args)
  if(CONFIG)
    set(config_args --config "${CONFIG}")
  endif()
  run_step("cmake --install" "${CMAKE_COMMAND}" --install "${SAMBA_BINARY_DIR}" --prefix "${SAMBA_PREFIX}"
           ${config_args})
  # The umbrella header and the package files, where find_package and #include look for them.
  file(GLOB_RECURSE config_files "${SAMBA_PREFIX}/*/sambaConfig.cmake")
  if(NOT EXISTS "${SAMBA_PREFIX}/include/samba/samba.hpp" OR NOT config_files)
    message(FATAL_ERROR "cmake --install: samba/samba.hpp or sambaConfig.cmake missing from ${SAMBA_PREFIX}:\n"
                        "${step_output}")
  endif()
  return()
endif()

set(build_dir "${WORK_DIR}/${MODE}")
file(REMOVE_RECURSE "${build_dir}")

# The parent build's toolchain and packages, handed over in an initial cache (values may hold
# spaces and lists); Debug, as the consumer is compiled for its checks, not for speed.
set(init_cache "${WORK_DIR}/${MODE}-init.cmake")
file(WRITE "${init_cache}" "# Written by run_consumer.cmake\n")
function(cache_entry name value)
  file(APPEND "${init_cache}" "set(${name} [==[${value}]==] CACHE STRING \"\")\n")
endfunction()

cache_entry(CMAKE_CXX_COMPILER "${CXX_COMPILER}")
cache_entry(CMAKE_BUILD_TYPE Debug)
cache_entry(SAMBA_CONSUME "${MODE}")
cache_entry(SAMBA_SOURCE_DIR "${SAMBA_SOURCE_DIR}")
# This build found Oniguruma and utf8proc: the consumer must then get samba::tokenizer too.
cache_entry(SAMBA_EXPECT_TOKENIZER "${EXPECT_TOKENIZER}")
foreach(var MAKE_PROGRAM TOOLCHAIN_FILE CXX_FLAGS)
  if(NOT "${${var}}" STREQUAL "")
    cache_entry(CMAKE_${var} "${${var}}")
  endif()
endforeach()
string(REPLACE "|" ";" package_dirs "${PACKAGE_DIRS}")  # <package>_DIR=<dir>|...
foreach(package_dir IN LISTS package_dirs)
  string(REGEX MATCH "^([^=]+)=(.*)$" _ "${package_dir}")
  cache_entry(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
endforeach()
string(REPLACE "|" ";" prefix_path "${PREFIX_PATH}")
if(MODE STREQUAL "find_package")
  list(PREPEND prefix_path "${SAMBA_PREFIX}")  # the prefix just installed comes first
endif()
cache_entry(CMAKE_PREFIX_PATH "${prefix_path}")
# No package registries, so a stale samba registered elsewhere cannot answer (checked below).
cache_entry(CMAKE_FIND_USE_PACKAGE_REGISTRY OFF)
cache_entry(CMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY OFF)

set(configure_args -C "${init_cache}" -S "${CMAKE_CURRENT_LIST_DIR}/consumer" -B "${build_dir}"
    -G "${GENERATOR}")
if(GENERATOR_PLATFORM)
  list(APPEND configure_args -A "${GENERATOR_PLATFORM}")
endif()
if(GENERATOR_TOOLSET)
  list(APPEND configure_args -T "${GENERATOR_TOOLSET}")
endif()

run_step("configure (${MODE})" "${CMAKE_COMMAND}" ${configure_args})
if(MODE STREQUAL "find_package")
  file(STRINGS "${build_dir}/CMakeCache.txt" samba_dir REGEX "^samba_DIR:")
  string(REGEX REPLACE "^samba_DIR:[A-Z]+=" "" samba_dir "${samba_dir}")
  file(REAL_PATH "${samba_dir}" samba_dir)
  file(REAL_PATH "${SAMBA_PREFIX}" prefix)
  string(FIND "${samba_dir}/" "${prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "find_package found samba in ${samba_dir}, not in the installed prefix "
                        "${prefix}:\n${step_output}")
  endif()
endif()
run_step("build (${MODE})" "${CMAKE_COMMAND}" --build "${build_dir}" --config Debug)
run_step("run (${MODE})" "${CTEST_COMMAND}" --test-dir "${build_dir}" -C Debug
         --output-on-failure --no-tests=error)
message(STATUS "${step_output}")
