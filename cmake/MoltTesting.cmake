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

# molt_add_fuzzer(<name> SOURCES <files...> LIBS <targets...> [RUNS n] [CORPUS dir])
# builds a libFuzzer target fuzz_<name> when MOLT_FUZZ is ON (clang only) and
# registers ctest entry fuzz.<name>, running it for RUNS iterations (default
# 20000) from the seed corpus dir if given. Run longer by hand:
#   build-san/fuzz_<name> -max_total_time=600 CORPUS_DIR
function(molt_add_fuzzer name)
  cmake_parse_arguments(F "" "RUNS;CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT MOLT_FUZZ)
    return()
  endif()
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(STATUS "fuzzer ${name} skipped: MOLT_FUZZ needs clang")
    return()
  endif()
  if(NOT F_RUNS)
    set(F_RUNS 20000)
  endif()
  add_executable(fuzz_${name} ${F_SOURCES})
  target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_${name} PRIVATE ${F_LIBS})
  set(corpus_args)
  if(F_CORPUS)
    # copy the seeds: libFuzzer writes new inputs into its corpus dir
    set(work ${CMAKE_CURRENT_BINARY_DIR}/fuzz_${name}_corpus)
    add_test(NAME fuzz.${name}
      COMMAND sh -c "rm -rf '${work}' && cp -R '${F_CORPUS}' '${work}' && '$<TARGET_FILE:fuzz_${name}>' -runs=${F_RUNS} -seed=1 '${work}'")
  else()
    add_test(NAME fuzz.${name} COMMAND fuzz_${name} -runs=${F_RUNS} -seed=1)
  endif()
  set_tests_properties(fuzz.${name} PROPERTIES TIMEOUT 300)
endfunction()
