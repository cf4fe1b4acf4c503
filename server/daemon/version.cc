#include "server/daemon/version.h"

#include "absl/base/config.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/stubs/common.h"
#include "grpcpp/grpcpp.h"

#ifdef FUTURED_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

// Set by server/CMakeLists.txt on this file only, at configure time.
#ifndef FUTURED_VERSION
#error "FUTURED_VERSION must be defined by the build"
#endif

namespace futured::server {

namespace {

std::string Allocator() {
#ifdef FUTURED_JEMALLOC
  const char* version = nullptr;
  size_t size = sizeof(version);
  if (mallctl("version", &version, &size, nullptr, 0) == 0) {
    return absl::StrCat("jemalloc ", version);
  }
  return "jemalloc";
#else
  return "the C library's malloc";
#endif
}

}  // namespace

const char* Version() { return FUTURED_VERSION; }

std::string VersionText() {
  const std::string commit = FUTURED_GIT_COMMIT;
  return absl::StrCat(
      "futured ", FUTURED_VERSION,
      commit.empty() ? "" : absl::StrCat(" (git ", commit, ")"), "\n",
      "built with ", FUTURED_COMPILER, ", ", FUTURED_BUILD_TYPE, "; gRPC ",
      grpc::Version(), ", protobuf ",
      google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION),
      ", abseil ", ABSL_LTS_RELEASE_VERSION, "; allocator: ", Allocator(),
      "\n");
}

}  // namespace futured::server
