# m3_test(NAME SOURCES... LIBS ...): one GoogleTest executable registered with CTest.
# Tests run from the repository root so fixture paths are stable.
function(m3_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "M3_BINARY=${CMAKE_BINARY_DIR}/m3")
endfunction()

# m3_folder_tests(LIBS ... [CLI]): every test_*.cpp of the calling folder as one m3_test; with CLI
# the tests run the m3 binary, so it is built first.
function(m3_folder_tests)
  cmake_parse_arguments(T "CLI" "" "LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.cpp)
  foreach(source ${sources})
    get_filename_component(name ${source} NAME_WE)
    m3_test(${name} SOURCES ${source} LIBS ${T_LIBS})
    if(T_CLI)
      add_dependencies(${name} m3)
    endif()
  endforeach()
endfunction()

# m3_fuzz_target(NAME SOURCE LIBS...): a libFuzzer executable (clang only; built with -DM3_FUZZ=ON).
function(m3_fuzz_target name source)
  if(M3_FUZZ)
    add_executable(${name} ${source})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(${name} PRIVATE ${ARGN})
  endif()
endfunction()
