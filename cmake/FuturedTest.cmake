# futured_unit_test(name LIBS lib... [WORKER]): a GoogleTest executable from
# name.cc in the calling folder, linked with the libraries it tests, its
# tests discovered for ctest. WORKER: the test starts the futured-worker
# binary, whose path it gets as FUTURED_WORKER_BINARY. In a TSan build the
# test defines abseil's synchronization annotated (cmake/FuturedTsan.cmake).
function(futured_unit_test name)
  cmake_parse_arguments(PARSE_ARGV 1 test "WORKER" "" "LIBS")
  add_executable(${name} ${name}.cc)
  target_link_libraries(${name} PRIVATE ${test_LIBS} GTest::gtest_main
    GTest::gmock)
  if(test_WORKER)
    target_compile_definitions(${name} PRIVATE
      FUTURED_WORKER_BINARY="$<TARGET_FILE:futured-worker>")
    add_dependencies(${name} futured-worker)
  endif()
  futured_tsan_executable(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 120)
endfunction()
