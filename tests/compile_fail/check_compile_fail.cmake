# cmake -DBUILD_DIR=<build tree> -DTARGET=<target> -DMESSAGE=<regex> [-DCONFIG=<config>]
#       -P check_compile_fail.cmake
#
# Passes if <target>_control builds and <target> does not, with build output matching MESSAGE.
# Otherwise stops with the build output. See CMakeLists.txt here.
cmake_minimum_required(VERSION 3.21)

foreach(var BUILD_DIR TARGET MESSAGE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_compile_fail.cmake: -D${var}=... is required")
  endif()
endforeach()

set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

function(build target)
  execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target ${target} ${config_args}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  set(build_rc "${rc}" PARENT_SCOPE)
  set(build_output "${out}" PARENT_SCOPE)
endfunction()

build(${TARGET}_control)
if(NOT build_rc EQUAL 0)
  message(FATAL_ERROR "${TARGET}_control, the valid twin of ${TARGET}, does not compile, so the "
                      "failure of ${TARGET} would prove nothing:\n${build_output}")
endif()

build(${TARGET})
if(build_rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not:\n${build_output}")
endif()
if(NOT build_output MATCHES "${MESSAGE}")
  message(FATAL_ERROR "${TARGET} failed to compile, as it must, but its errors do not contain "
                      "\"${MESSAGE}\":\n${build_output}")
endif()
message(STATUS "${TARGET}: fails to compile with \"${MESSAGE}\"; ${TARGET}_control compiles")
