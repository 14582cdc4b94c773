# m3_test(NAME SOURCES... LIBS ...): one GoogleTest executable registered with CTest.
# Tests run from the repository root so fixture paths are stable.
function(m3_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "M3_BINARY=${CMAKE_BINARY_DIR}/m3")
endfunction()
