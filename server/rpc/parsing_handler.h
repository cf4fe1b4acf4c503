// Method handlers that answer a request protobuf cannot parse with
// INVALID_ARGUMENT saying why, where gRPC's own answer UNIMPLEMENTED with an
// empty message.
#ifndef FUTURED_SERVER_RPC_PARSING_HANDLER_H_
#define FUTURED_SERVER_RPC_PARSING_HANDLER_H_

#include <functional>
#include <memory>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/impl/codegen/server_callback_handlers.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/message_allocator.h"
#include "grpcpp/support/server_callback.h"
#include "server/rpc/proto_convert.h"

namespace futured::server::rpc {

// Parses `payload` (consumed, may be null) into *request as gRPC's own
// deserializer does, at the same cost. When protobuf refuses it:
// INVALID_ARGUMENT naming the type and, where the bytes show it, why
// (invalid UTF-8 in a string field, messages nested deeper than protobuf's
// limit of 100, malformed bytes). Thread-safe.
absl::Status ParseRequest(grpc_byte_buffer* payload,
                          google::protobuf::Message& request);

namespace parsing_internal {

// The refusal of the request whose reactor is being made on this thread,
// or null. A handler below sets it around gRPC's RunHandler, which calls
// the reactor getter synchronously; the getter reads it.
class RejectionScope {
 public:
  explicit RejectionScope(const absl::Status* rejection);
  ~RejectionScope();
  RejectionScope(const RejectionScope&) = delete;
  RejectionScope& operator=(const RejectionScope&) = delete;

  static const absl::Status* Current();

 private:
  const absl::Status* const previous_;
};

// A stream that ends with `status` before writing anything.
template <typename Response>
class RejectedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectedStream(const absl::Status& status) {
    this->Finish(ToGrpcStatus(status));
  }
  void OnDone() override { delete this; }
};

inline void* ArenaAlloc(grpc_call* call, size_t size) {
  return grpc::g_core_codegen_interface->grpc_call_arena_alloc(call, size);
}

}  // namespace parsing_internal

// The handler of one unary callback method: gRPC's CallbackUnaryHandler,
// with the request parsed by ParseRequest. A request that does not parse is
// answered with its INVALID_ARGUMENT and never reaches `get_reactor`.
// Install with grpc::Service::MarkMethodCallback in place of the generated
// handler. Thread-safe, as gRPC's.
template <class Request, class Response>
class ParsingUnaryHandler final : public grpc::internal::MethodHandler {
 public:
  using GetReactor = std::function<grpc::ServerUnaryReactor*(
      grpc::CallbackServerContext*, const Request*, Response*)>;

  explicit ParsingUnaryHandler(GetReactor get_reactor)
      : inner_([get_reactor = std::move(get_reactor)](
                   grpc::CallbackServerContext* context, const Request* request,
                   Response* response) -> grpc::ServerUnaryReactor* {
          if (const absl::Status* rejection =
                  parsing_internal::RejectionScope::Current()) {
            grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
            reactor->Finish(ToGrpcStatus(*rejection));
            return reactor;
          }
          return get_reactor(context, request, response);
        }) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* payload,
                    grpc::Status* status, void** handler_data) override {
    // In the call's arena, as gRPC's DefaultMessageHolder; Release() (at the
    // call's end) destroys it.
    auto* holder =
        new (parsing_internal::ArenaAlloc(call, sizeof(Holder))) Holder();
    *handler_data = holder;
    holder->rejection = ParseRequest(payload, *holder->request());
    *status = grpc::Status::OK;  // a refusal is answered by RunHandler
    return holder->request();
  }

  void RunHandler(const HandlerParameter& param) override {
    const auto* holder = static_cast<const Holder*>(param.internal_data);
    parsing_internal::RejectionScope scope(
        holder->rejection.ok() ? nullptr : &holder->rejection);
    inner_.RunHandler(param);
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() {
      this->set_request(&request_);
      this->set_response(&response_);
    }
    void Release() override { this->~Holder(); }

    absl::Status rejection;

   private:
    Request request_;
    Response response_;
  };

  grpc::internal::CallbackUnaryHandler<Request, Response> inner_;
};

// The same for a server-streaming callback method (gRPC's
// CallbackServerStreamingHandler).
template <class Request, class Response>
class ParsingServerStreamingHandler final
    : public grpc::internal::MethodHandler {
 public:
  using GetReactor = std::function<grpc::ServerWriteReactor<Response>*(
      grpc::CallbackServerContext*, const Request*)>;

  explicit ParsingServerStreamingHandler(GetReactor get_reactor)
      : inner_([get_reactor = std::move(get_reactor)](
                   grpc::CallbackServerContext* context, const Request* request)
                   -> grpc::ServerWriteReactor<Response>* {
          if (const absl::Status* rejection =
                  parsing_internal::RejectionScope::Current()) {
            return new parsing_internal::RejectedStream<Response>(*rejection);
          }
          return get_reactor(context, request);
        }) {}

  void* Deserialize(grpc_call* call, grpc_byte_buffer* payload,
                    grpc::Status* status, void** handler_data) override {
    // In the call's arena, as gRPC's; its writer destroys it.
    auto* request =
        new (parsing_internal::ArenaAlloc(call, sizeof(Request))) Request();
    absl::Status parsed = ParseRequest(payload, *request);
    // Only a refusal is allocated; RunHandler frees it.
    *handler_data = parsed.ok() ? nullptr : new absl::Status(std::move(parsed));
    *status = grpc::Status::OK;
    return request;
  }

  void RunHandler(const HandlerParameter& param) override {
    std::unique_ptr<const absl::Status> rejection(
        static_cast<const absl::Status*>(param.internal_data));
    parsing_internal::RejectionScope scope(rejection.get());
    inner_.RunHandler(param);
  }

 private:
  grpc::internal::CallbackServerStreamingHandler<Request, Response> inner_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_PARSING_HANDLER_H_
