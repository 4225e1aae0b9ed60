# molt_add_module(<name> SOURCES <files...> [VERSION <vsn>]
#                 [OUTPUT_DIRECTORY <dir>])
#
# Build a molt module: a shared object <name>.so that exports one
# descriptor (MOLT_DEFINE_MODULE) and links nothing; molt_send & co. are
# resolved against moltd when it is loaded. With VERSION the target is
# <name>-<vsn> and the file <dir>/<name>-<vsn>/<name>.so, so several
# versions of one module can be built side by side.
#
# Inside the molt tree the headers come from the source; outside, from the
# installed molt-module.pc (pkg-config) or MOLT_INCLUDE_DIR.
function(molt_add_module name)
  cmake_parse_arguments(M "" "VERSION;OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT M_SOURCES)
    message(FATAL_ERROR "molt_add_module(${name}): no SOURCES")
  endif()
  set(target ${name})
  if(NOT M_OUTPUT_DIRECTORY)
    set(M_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  set(dir ${M_OUTPUT_DIRECTORY})
  if(M_VERSION)
    set(target ${name}-${M_VERSION})
    set(dir ${M_OUTPUT_DIRECTORY}/${name}-${M_VERSION})
  endif()
  add_library(${target} MODULE ${M_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name} SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY ${dir}
    C_VISIBILITY_PRESET hidden)
  if(TARGET molt_runtime)
    target_include_directories(${target} PRIVATE
      $<TARGET_PROPERTY:molt_runtime,INTERFACE_INCLUDE_DIRECTORIES>)
  elseif(MOLT_INCLUDE_DIR)
    target_include_directories(${target} PRIVATE ${MOLT_INCLUDE_DIR})
  else()
    find_package(PkgConfig REQUIRED)
    if(NOT TARGET PkgConfig::MOLT_MODULE)
      pkg_check_modules(MOLT_MODULE REQUIRED IMPORTED_TARGET GLOBAL molt-module)
    endif()
    target_link_libraries(${target} PRIVATE PkgConfig::MOLT_MODULE)
  endif()
endfunction()
