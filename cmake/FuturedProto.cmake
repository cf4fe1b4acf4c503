# futured_proto_library(NAME PROTO_ROOT ROOT PROTOS a.proto ... [GRPC])
# Generates C++ (and with GRPC, gRPC stubs) for PROTOS, given relative to
# PROTO_ROOT, into the build tree and builds them into static library NAME.
function(futured_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "PROTO_ROOT" "PROTOS;DEPS" ${ARGN})
  set(out_dir "${CMAKE_BINARY_DIR}/gen")
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" base "${proto}")
    set(outputs "${out_dir}/${base}.pb.cc" "${out_dir}/${base}.pb.h")
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs "${out_dir}/${base}.grpc.pb.cc" "${out_dir}/${base}.grpc.pb.h")
      set(plugin_args --grpc_out=${out_dir}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc --cpp_out=${out_dir} ${plugin_args}
              -I ${ARG_PROTO_ROOT} -I ${CMAKE_SOURCE_DIR}/proto
              ${ARG_PROTO_ROOT}/${proto}
      DEPENDS ${ARG_PROTO_ROOT}/${proto}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(FILTER outputs INCLUDE REGEX "\\.cc$")
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC ${out_dir})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
  target_compile_options(${name} PRIVATE -w)
endfunction()
