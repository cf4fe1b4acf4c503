// One call of any method as raw bytes on a grpc::GenericStub, on a
// completion queue of its own: what a test needs to send what the generated
// stubs cannot (bytes protobuf refuses, messages of services it resolved by
// reflection).
#ifndef FUTURED_TESTS_INTEGRATION_RAW_STREAM_CALL_H_
#define FUTURED_TESTS_INTEGRATION_RAW_STREAM_CALL_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace futured::testing {

struct RawStreamResult {
  grpc::Status status;
  std::vector<grpc::ByteBuffer> replies;
};

// Calls `path` (e.g. "/futured.v1.Executor/Submit") as a stream: writes
// `request`, half-closes, reads at most `max_replies` replies, finishes.
// Unary, server-streaming and bidi methods alike. The deadline `timeout`
// from now ends the call, so it never blocks longer. Thread-compatible.
RawStreamResult RawStreamCall(grpc::GenericStub& stub, const std::string& path,
                              const grpc::ByteBuffer& request,
                              absl::Duration timeout, int max_replies);

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_RAW_STREAM_CALL_H_
