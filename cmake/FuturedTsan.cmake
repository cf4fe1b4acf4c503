# ThreadSanitizer builds (-DFUTURED_SANITIZE=thread, run by .ci/tsan).
#
# Debian's gRPC and abseil are shared libraries built without TSan. gRPC's
# threads synchronize inside it, where TSan cannot see, so a TSan build has
# only the gRPC-free parts: the layers below rpc/, futured-worker, their unit tests
# and tests/tsan. abseil's synchronization is made visible by
# tests/tsan/absl_sync_annotations.cc, linked into every executable of the
# build with futured_tsan_executable().
#
# Headers of uninstrumented libraries must be read as those libraries were
# built: under __SANITIZE_THREAD__ protobuf's map_field.h adds members to
# MapFieldBase, so Struct's layout would differ from libprotobuf's (a crash in
# every Struct access). __SANITIZE_THREAD__ is undefined for all code, and
# _GLIBCXX_TSAN, which it would have set, is kept: with it libstdc++'s
# shared_ptr uses only atomics TSan understands. FUTURED_THREAD_SANITIZER
# tells tests/sanitizer_build.h.
set(FUTURED_TSAN OFF)
if(FUTURED_SANITIZE MATCHES "thread")
  set(FUTURED_TSAN ON)
  add_compile_options(-U__SANITIZE_THREAD__ -D_GLIBCXX_TSAN=1
                      -DFUTURED_THREAD_SANITIZER=1)
  add_library(futured_tsan_absl OBJECT
    ${CMAKE_SOURCE_DIR}/tests/tsan/absl_sync_annotations.cc)
  target_link_libraries(futured_tsan_absl PUBLIC absl::synchronization
    absl::time ${CMAKE_DL_LIBS})
endif()

# futured_tsan_executable(target): in a TSan build, `target` defines abseil's
# synchronization functions itself (annotated for TSan) and exports them, so
# that they take the place of the library's, also for the library's own calls.
function(futured_tsan_executable target)
  if(FUTURED_TSAN)
    target_link_libraries(${target} PRIVATE futured_tsan_absl)
    set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
  endif()
endfunction()
