# Installation of the client library: headers under include/futured/, the
# static library and, since it is static, a private copy of the generated
# futured.v1 code (futured::client_proto) built from the same sources as
# futured_proto, so that the installed package carries what it needs while
# in-tree targets keep linking futured_proto alone; an exported CMake
# package (find_package(futured) -> futured::client) and futured.pc.
include(CMakePackageConfigHelpers)

get_target_property(futured_proto_sources futured_proto SOURCES)
add_library(futured_client_proto STATIC ${futured_proto_sources})
add_dependencies(futured_client_proto futured_proto)
set_target_properties(futured_client_proto PROPERTIES EXPORT_NAME client_proto)
target_include_directories(futured_client_proto
  PRIVATE $<BUILD_INTERFACE:${CMAKE_BINARY_DIR}/gen>)
target_link_libraries(futured_client_proto PUBLIC protobuf::libprotobuf gRPC::grpc++)
target_compile_options(futured_client_proto PRIVATE -w)

install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/futured
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS futured_client futured_client_proto EXPORT futuredTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

set(futured_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/futured)
install(EXPORT futuredTargets NAMESPACE futured:: DESTINATION ${futured_cmake_dir})
configure_package_config_file(
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/futuredConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/futuredConfig.cmake
  INSTALL_DESTINATION ${futured_cmake_dir})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/futuredConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/futuredConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/futuredConfigVersion.cmake
  DESTINATION ${futured_cmake_dir})

configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/futured.pc.in
  ${CMAKE_CURRENT_BINARY_DIR}/futured.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/futured.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
