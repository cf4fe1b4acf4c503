#include "tests/integration/raw_stream_call.h"

#include <memory>

#include "absl/time/clock.h"

namespace futured::testing {

RawStreamResult RawStreamCall(grpc::GenericStub& stub, const std::string& path,
                              const grpc::ByteBuffer& request,
                              absl::Duration timeout, int max_replies) {
  grpc::CompletionQueue queue;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // The context's deadline ends the call, so every wait ends by then.
  auto await = [&queue] {
    void* tag = nullptr;
    bool ok = false;
    return queue.Next(&tag, &ok) && ok;
  };
  void* const tag = &context;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
      stub.PrepareCall(&context, path, &queue);
  RawStreamResult result;
  call->StartCall(tag);
  bool ok = await();
  if (ok) {
    call->Write(request, tag);
    ok = await();
  }
  if (ok) {
    call->WritesDone(tag);
    ok = await();
  }
  for (int i = 0; ok && i < max_replies; ++i) {
    grpc::ByteBuffer reply;
    call->Read(&reply, tag);
    ok = await();
    if (ok) result.replies.push_back(std::move(reply));
  }
  call->Finish(&result.status, tag);
  await();
  queue.Shutdown();
  void* drained_tag = nullptr;
  bool drained_ok = false;
  while (queue.Next(&drained_tag, &drained_ok)) {
  }
  return result;
}

}  // namespace futured::testing
