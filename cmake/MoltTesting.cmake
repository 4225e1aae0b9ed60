# Helpers for the Check suites (STYLE.md §7).
#
# molt_add_suite(<component> <suite> SOURCES <files...> LIBS <targets...>)
# builds tests/<component>/<suite>_test.c (plus SOURCES) into one executable
# molt_<component>_<suite>_test, registered in CTest as <component>.<suite>.
# The test file defines `Suite *<suite>_suite(void)`; tests/support/check_main.c
# provides main() and runs it with srunner_run_all(sr, CK_ENV).
function(molt_add_suite component suite)
  cmake_parse_arguments(S "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  set(exe molt_${component}_${suite}_test)
  add_executable(${exe} ${suite}_test.c ${S_SOURCES}
    ${PROJECT_SOURCE_DIR}/tests/support/check_main.c)
  target_compile_definitions(${exe} PRIVATE MOLT_SUITE_FN=${suite}_suite
    MOLT_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/fixtures"
    MOLT_BUILD_DIR="${PROJECT_BINARY_DIR}"
    MOLT_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(${exe} PRIVATE molt_test_support ${S_LIBS} PkgConfig::CHECK)
  add_test(NAME ${component}.${suite} COMMAND ${exe})
  if(NOT S_TIMEOUT)
    set(S_TIMEOUT 300)
  endif()
  set_tests_properties(${component}.${suite} PROPERTIES TIMEOUT ${S_TIMEOUT}
    ENVIRONMENT "MOLT_BUILD_DIR=${PROJECT_BINARY_DIR};MOLT_FIXTURES_DIR=${PROJECT_SOURCE_DIR}/fixtures")
endfunction()
