// Drives the daemon the way grpcurl does, with no .proto file at hand: lists
// services over grpc.reflection.v1alpha, builds a fresh DescriptorPool from
// the file descriptors the server returns for each listed service, and calls
// a method of every one of them (Executor, Health, ServerReflection itself)
// as raw bytes through grpc::GenericStub, converting the messages from and
// to JSON with dynamic messages; with and without --auth_tokens_file.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/channel.h"
#include "futured/client.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/raw_stream_call.h"
#include "tests/integration/temp_dir.h"

namespace futured::testing {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::DynamicMessageFactory;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::Message;
using ::google::protobuf::MethodDescriptor;
using ::google::protobuf::ServiceDescriptor;
using ::google::protobuf::SimpleDescriptorDatabase;
using ::grpc::reflection::v1alpha::ServerReflection;
using ::grpc::reflection::v1alpha::ServerReflectionRequest;
using ::grpc::reflection::v1alpha::ServerReflectionResponse;

constexpr absl::Duration kRpcDeadline = absl::Seconds(30);
// Every file a chain of dependencies can name is fetched at most once, so
// this bounds the dependency walk far above the handful of files involved.
constexpr int kMaxDescriptorFetches = 64;

void SetDeadline(grpc::ClientContext& context, absl::Duration from_now) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + from_now));
}

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// One ServerReflectionInfo stream, used as grpcurl uses it: write one
// request, read its one answer. Blocking; owned by one test thread.
class ReflectionClient {
 public:
  explicit ReflectionClient(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(ServerReflection::NewStub(channel)) {
    SetDeadline(context_, kRpcDeadline);
    stream_ = stub_->ServerReflectionInfo(&context_);
  }
  ~ReflectionClient() { Close().IgnoreError(); }

  ReflectionClient(const ReflectionClient&) = delete;
  ReflectionClient& operator=(const ReflectionClient&) = delete;

  absl::StatusOr<std::vector<std::string>> ListServices() {
    ServerReflectionRequest request;
    request.set_list_services("*");
    absl::StatusOr<ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return response.status();
    if (!response->has_list_services_response()) {
      return absl::InternalError("list_services got another kind of answer");
    }
    std::vector<std::string> names;
    for (const auto& service : response->list_services_response().service()) {
      names.push_back(service.name());
    }
    return names;
  }

  absl::StatusOr<std::vector<FileDescriptorProto>> FilesContainingSymbol(
      const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    return AskForFiles(request);
  }

  absl::StatusOr<std::vector<FileDescriptorProto>> FileByName(
      const std::string& filename) {
    ServerReflectionRequest request;
    request.set_file_by_filename(filename);
    return AskForFiles(request);
  }

  // Half-closes the stream and returns its final status. Idempotent.
  absl::Status Close() {
    if (stream_ != nullptr) {
      stream_->WritesDone();
      final_status_ = FromGrpc(stream_->Finish());
      stream_.reset();
    }
    return final_status_;
  }

 private:
  absl::StatusOr<ServerReflectionResponse> Ask(
      const ServerReflectionRequest& request) {
    if (stream_ == nullptr) return absl::FailedPreconditionError("closed");
    if (!stream_->Write(request)) {
      return absl::UnavailableError("reflection stream refused a write");
    }
    ServerReflectionResponse response;
    if (!stream_->Read(&response)) {
      return absl::UnavailableError("reflection stream ended without answer");
    }
    if (response.has_error_response()) {
      return absl::Status(
          static_cast<absl::StatusCode>(response.error_response().error_code()),
          response.error_response().error_message());
    }
    return response;
  }

  absl::StatusOr<std::vector<FileDescriptorProto>> AskForFiles(
      const ServerReflectionRequest& request) {
    absl::StatusOr<ServerReflectionResponse> response = Ask(request);
    if (!response.ok()) return response.status();
    if (!response->has_file_descriptor_response()) {
      return absl::InternalError("expected a file_descriptor_response");
    }
    std::vector<FileDescriptorProto> files;
    for (const std::string& bytes :
         response->file_descriptor_response().file_descriptor_proto()) {
      FileDescriptorProto file;
      if (!file.ParseFromString(bytes)) {
        return absl::DataLossError("unparsable FileDescriptorProto");
      }
      files.push_back(std::move(file));
    }
    return files;
  }

  std::unique_ptr<ServerReflection::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<ServerReflectionRequest,
                                           ServerReflectionResponse>>
      stream_;
  absl::Status final_status_;
};

// The files fetched so far, by name, and how each was obtained.
struct FetchedFiles {
  std::map<std::string, FileDescriptorProto> by_name;
  std::vector<std::string> from_generated_pool;  // well-known-type fallbacks
};

// Fetches every file that `files` depends on, transitively, from the server
// by filename. A google/protobuf/*.proto file the server cannot give is taken
// from this binary's generated pool (allowed for well-known types only).
absl::Status FetchMissingDependencies(ReflectionClient& reflection,
                                      FetchedFiles& files) {
  for (int fetches = 0; fetches < kMaxDescriptorFetches; ++fetches) {
    std::string missing;
    for (const auto& [name, file] : files.by_name) {
      for (const std::string& dependency : file.dependency()) {
        if (!files.by_name.contains(dependency)) {
          missing = dependency;
          break;
        }
      }
      if (!missing.empty()) break;
    }
    if (missing.empty()) return absl::OkStatus();

    absl::StatusOr<std::vector<FileDescriptorProto>> fetched =
        reflection.FileByName(missing);
    if (fetched.ok()) {
      for (FileDescriptorProto& file : *fetched) {
        std::string name = file.name();
        files.by_name.emplace(std::move(name), std::move(file));
      }
    }
    if (files.by_name.contains(missing)) continue;

    if (!absl::StartsWith(missing, "google/protobuf/")) {
      return absl::NotFoundError(absl::StrCat(
          "server reflection cannot give dependency ", missing, ": ",
          fetched.ok() ? "not in its answer" : fetched.status().ToString()));
    }
    const google::protobuf::FileDescriptor* well_known =
        DescriptorPool::generated_pool()->FindFileByName(missing);
    if (well_known == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("well-known file ", missing, " is nowhere"));
    }
    FileDescriptorProto file;
    well_known->CopyTo(&file);
    files.by_name.emplace(missing, std::move(file));
    files.from_generated_pool.push_back(missing);
  }
  return absl::ResourceExhaustedError("dependency walk did not end");
}

// `json` parsed as a `type` message, serialized into a ByteBuffer.
absl::StatusOr<grpc::ByteBuffer> JsonToBytes(DynamicMessageFactory& factory,
                                             const Descriptor& type,
                                             std::string_view json) {
  std::unique_ptr<Message> message(factory.GetPrototype(&type)->New());
  google::protobuf::util::Status parsed =
      google::protobuf::util::JsonStringToMessage(std::string(json),
                                                  message.get());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request JSON: ", parsed.ToString()));
  }
  std::string bytes;
  if (!message->SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize the request");
  }
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// `buffer` parsed as a `type` message into *message, printed as JSON with
// the proto field names, as grpcurl prints it.
absl::StatusOr<std::string> BytesToJson(DynamicMessageFactory& factory,
                                        const Descriptor& type,
                                        const grpc::ByteBuffer& buffer,
                                        std::unique_ptr<Message>* message) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) {
    return absl::DataLossError("cannot read the reply bytes");
  }
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  message->reset(factory.GetPrototype(&type)->New());
  if (!(*message)->ParseFromString(bytes)) {
    return absl::DataLossError("reply does not parse as the output type");
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  google::protobuf::util::Status printed =
      google::protobuf::util::MessageToJsonString(**message, &json, options);
  if (!printed.ok()) {
    return absl::InternalError(
        absl::StrCat("reply JSON: ", printed.ToString()));
  }
  return json;
}

std::string PathOf(const MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

// Calls unary `method` with a request parsed from `request_json` and
// returns the reply printed as JSON; `response` receives the parsed reply.
// The messages are dynamic ones from `factory`, the call a raw-bytes
// generic call.
absl::StatusOr<std::string> CallWithJson(grpc::GenericStub& stub,
                                         DynamicMessageFactory& factory,
                                         const MethodDescriptor& method,
                                         std::string_view request_json,
                                         std::unique_ptr<Message>* response) {
  absl::StatusOr<grpc::ByteBuffer> request_bytes =
      JsonToBytes(factory, *method.input_type(), request_json);
  if (!request_bytes.ok()) return request_bytes.status();

  // Lives until the callback has run; leaked, never freed under gRPC's feet,
  // if that somehow takes longer than the call's own deadline allows.
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
  };
  auto call = std::make_unique<Call>();
  SetDeadline(call->context, kRpcDeadline);
  call->request = *std::move(request_bytes);
  Call* raw = call.get();
  stub.UnaryCall(&raw->context, PathOf(method), grpc::StubOptions(),
                 &raw->request, &raw->response, [raw](grpc::Status status) {
                   raw->status = std::move(status);
                   raw->done.Notify();
                 });
  if (!call->done.WaitForNotificationWithTimeout(kRpcDeadline +
                                                 absl::Seconds(30))) {
    call->context.TryCancel();
    call.release();  // the callback may still use it
    return absl::DeadlineExceededError("callback never ran");
  }
  if (!call->status.ok()) return FromGrpc(call->status);
  return BytesToJson(factory, *method.output_type(), call->response, response);
}

// Calls bidi-streaming `method` (at `path_override` if given) with one
// request: writes it, half-closes, reads one reply and returns it as JSON
// (or the call's failure). Raw bytes on a completion queue owned by this
// call.
absl::StatusOr<std::string> CallStreamWithJson(
    grpc::GenericStub& stub, DynamicMessageFactory& factory,
    const MethodDescriptor& method, std::string_view request_json,
    const std::string& path_override = "") {
  absl::StatusOr<grpc::ByteBuffer> request =
      JsonToBytes(factory, *method.input_type(), request_json);
  if (!request.ok()) return request.status();
  RawStreamResult result = RawStreamCall(
      stub, path_override.empty() ? PathOf(method) : path_override, *request,
      kRpcDeadline, /*max_replies=*/1);
  if (!result.status.ok()) return FromGrpc(result.status);
  if (result.replies.empty()) {
    return absl::UnavailableError("the stream ended without a reply");
  }
  const grpc::ByteBuffer& reply = result.replies.front();
  std::unique_ptr<Message> message;
  return BytesToJson(factory, *method.output_type(), reply, &message);
}

// Returns the message-typed field `name` of `message`, or null.
const Message* SubMessage(const Message& message, const std::string& name) {
  const FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr ||
      field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
      field->is_repeated() ||
      !message.GetReflection()->HasField(message, field)) {
    return nullptr;
  }
  return &message.GetReflection()->GetMessage(message, field);
}

TEST(ReflectionTest, ListsServicesAndCallsExecutorFromReflectionDataAlone) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::shared_ptr<grpc::Channel> channel = (*daemon)->NewChannel();

  // grpcurl list
  ReflectionClient reflection(channel);
  absl::StatusOr<std::vector<std::string>> services = reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* expected : {"futured.v1.Executor", "grpc.health.v1.Health",
                               "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services->begin(), services->end(), expected),
              services->end())
        << "service " << expected << " not listed";
  }

  // The files that define the service, then whatever they import.
  absl::StatusOr<std::vector<FileDescriptorProto>> containing =
      reflection.FilesContainingSymbol("futured.v1.Executor");
  ASSERT_TRUE(containing.ok()) << containing.status();
  ASSERT_FALSE(containing->empty());
  FetchedFiles files;
  for (FileDescriptorProto& file : *containing) {
    std::string name = file.name();
    files.by_name.emplace(std::move(name), std::move(file));
  }
  EXPECT_TRUE(files.by_name.contains("futured/v1/executor.proto"));
  ASSERT_TRUE(FetchMissingDependencies(reflection, files).ok());
  EXPECT_TRUE(files.by_name.contains("futured/v1/future.proto"));
  for (const std::string& name : files.from_generated_pool) {
    std::cout << "well-known file from the generated pool: " << name << "\n";
  }
  EXPECT_TRUE(reflection.Close().ok());

  // A fresh pool fed only by those files: no fallback to the generated pool.
  SimpleDescriptorDatabase database;
  for (const auto& [name, file] : files.by_name) {
    ASSERT_TRUE(database.Add(file)) << name;
  }
  DescriptorPool pool(&database);
  const ServiceDescriptor* executor =
      pool.FindServiceByName("futured.v1.Executor");
  ASSERT_NE(executor, nullptr);
  ASSERT_NE(executor, DescriptorPool::generated_pool()->FindServiceByName(
                          "futured.v1.Executor"));
  const MethodDescriptor* submit = executor->FindMethodByName("Submit");
  const MethodDescriptor* result = executor->FindMethodByName("Result");
  ASSERT_NE(submit, nullptr);
  ASSERT_NE(result, nullptr);

  // grpcurl describe futured.v1.Executor.Submit
  EXPECT_EQ(submit->input_type()->full_name(), "futured.v1.SubmitRequest");
  const FieldDescriptor* function_field =
      submit->input_type()->FindFieldByName("function");
  ASSERT_NE(function_field, nullptr);
  EXPECT_EQ(function_field->type(), FieldDescriptor::TYPE_STRING);
  EXPECT_FALSE(submit->client_streaming());
  EXPECT_FALSE(submit->server_streaming());

  // grpcurl -d '{"function":"square","args":[7]}' ... Executor/Submit
  DynamicMessageFactory factory(&pool);
  grpc::GenericStub generic(channel);
  std::unique_ptr<Message> submitted;
  absl::StatusOr<std::string> submit_json =
      CallWithJson(generic, factory, *submit,
                   R"({"function":"square","args":[7]})", &submitted);
  ASSERT_TRUE(submit_json.ok()) << submit_json.status();
  std::cout << "Submit -> " << *submit_json << "\n";
  const FieldDescriptor* id_field =
      submitted->GetDescriptor()->FindFieldByName("id");
  ASSERT_NE(id_field, nullptr);
  const std::string id =
      submitted->GetReflection()->GetString(*submitted, id_field);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(
      absl::StrContains(*submit_json, absl::StrCat("\"id\":\"", id, "\"")))
      << *submit_json;

  // grpcurl -d '{"id":"<id>","timeout":"10s"}' ... Executor/Result
  std::unique_ptr<Message> info;
  absl::StatusOr<std::string> result_json = CallWithJson(
      generic, factory, *result,
      absl::StrCat(R"({"id":")", id, R"(","timeout":"10s"})"), &info);
  ASSERT_TRUE(result_json.ok()) << result_json.status();
  std::cout << "Result -> " << *result_json << "\n";
  EXPECT_TRUE(absl::StrContains(*result_json, "\"outcome\":{\"value\":49}"))
      << *result_json;
  EXPECT_TRUE(
      absl::StrContains(*result_json, "\"state\":\"FUTURE_STATE_FINISHED\""))
      << *result_json;

  // The same answer read through the dynamic type rather than the text.
  const Message* outcome = SubMessage(*info, "outcome");
  ASSERT_NE(outcome, nullptr) << *result_json;
  const Message* value = SubMessage(*outcome, "value");
  ASSERT_NE(value, nullptr) << *result_json;
  const FieldDescriptor* number =
      value->GetDescriptor()->FindFieldByName("number_value");
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(value->GetReflection()->GetDouble(*value, number), 49.0);

  absl::StatusOr<int> wait_status = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
      << "wait status " << *wait_status;
}

constexpr char kToken[] = "reflection-test-token-0123456789";

// What grpcurl does for `grpcurl <addr> <service>/<method>`: ask reflection
// for the file containing the service (FileContainingSymbol) and then for
// every file it imports, into `files`.
absl::Status FetchFilesOfService(ReflectionClient& reflection,
                                 const std::string& service,
                                 FetchedFiles& files) {
  absl::StatusOr<std::vector<FileDescriptorProto>> containing =
      reflection.FilesContainingSymbol(service);
  if (!containing.ok()) return containing.status();
  if (containing->empty()) {
    return absl::NotFoundError(absl::StrCat("no file holds ", service));
  }
  for (FileDescriptorProto& file : *containing) {
    std::string name = file.name();
    files.by_name.emplace(std::move(name), std::move(file));
  }
  return FetchMissingDependencies(reflection, files);
}

// Every service that `list` names is described by reflection and called
// through that description alone, as grpcurl calls it; with tokens on,
// health and reflection need no token and the Executor does.
class EveryServiceTest : public ::testing::TestWithParam<bool> {};

TEST_P(EveryServiceTest, EveryListedServiceIsDescribedAndCalled) {
  const bool with_tokens = GetParam();
  TempDir dir;
  const std::string tokens =
      dir.Write("tokens", absl::StrCat("tester ", kToken, "\n"));
  DaemonProcess::Options options;
  if (with_tokens) options.flags = {"--auth_tokens_file=" + tokens};
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  // No token: what a load balancer's probe or a plain grpcurl sends.
  std::shared_ptr<grpc::Channel> anonymous = (*daemon)->NewChannel();
  ClientOptions with_token;
  with_token.credentials.bearer_token = kToken;
  std::shared_ptr<grpc::Channel> authorized =
      with_tokens ? NewChannel((*daemon)->address(), with_token) : anonymous;

  // grpcurl asks grpc.reflection.v1 first and falls back to v1alpha only
  // when the server answers UNIMPLEMENTED.
  grpc::GenericStub open_stub(anonymous);
  {
    DynamicMessageFactory generated;
    const ServiceDescriptor* v1alpha =
        DescriptorPool::generated_pool()->FindServiceByName(
            "grpc.reflection.v1alpha.ServerReflection");
    ASSERT_NE(v1alpha, nullptr);
    // v1's messages are v1alpha's, field for field.
    absl::StatusOr<std::string> v1_answer = CallStreamWithJson(
        open_stub, generated, *v1alpha->method(0), R"({"list_services":""})",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    EXPECT_EQ(v1_answer.status().code(), absl::StatusCode::kUnimplemented)
        << v1_answer.status();
  }

  ReflectionClient reflection(anonymous);
  absl::StatusOr<std::vector<std::string>> services = reflection.ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  ASSERT_GE(services->size(), 3u);
  FetchedFiles files;
  for (const std::string& service : *services) {
    absl::Status fetched = FetchFilesOfService(reflection, service, files);
    ASSERT_TRUE(fetched.ok())
        << "grpcurl describe " << service << ": " << fetched;
  }
  EXPECT_TRUE(reflection.Close().ok());
  SimpleDescriptorDatabase database;
  for (const auto& [name, file] : files.by_name) {
    ASSERT_TRUE(database.Add(file)) << name;
  }
  DescriptorPool pool(&database);
  DynamicMessageFactory factory(&pool);
  grpc::GenericStub authorized_stub(authorized);

  for (const std::string& name : *services) {
    SCOPED_TRACE(name);
    const ServiceDescriptor* service = pool.FindServiceByName(name);
    ASSERT_NE(service, nullptr) << "reflection's files lack " << name;
    auto method = [&](const std::string& method_name) {
      const MethodDescriptor* found = service->FindMethodByName(method_name);
      EXPECT_NE(found, nullptr) << method_name;
      return found;
    };
    std::unique_ptr<Message> reply;
    if (name == "grpc.health.v1.Health") {
      const MethodDescriptor* check = method("Check");
      ASSERT_NE(check, nullptr);
      for (const char* request :
           {"{}", R"({"service":"futured.v1.Executor"})"}) {
        absl::StatusOr<std::string> json =
            CallWithJson(open_stub, factory, *check, request, &reply);
        ASSERT_TRUE(json.ok()) << request << ": " << json.status();
        EXPECT_EQ(*json, R"({"status":"SERVING"})") << request;
      }
    } else if (name == "grpc.reflection.v1alpha.ServerReflection") {
      const MethodDescriptor* info = method("ServerReflectionInfo");
      ASSERT_NE(info, nullptr);
      absl::StatusOr<std::string> json = CallStreamWithJson(
          open_stub, factory, *info, R"({"list_services":"*"})");
      ASSERT_TRUE(json.ok()) << json.status();
      EXPECT_TRUE(absl::StrContains(*json, R"("name":"futured.v1.Executor")"))
          << *json;
    } else if (name == "futured.v1.Executor") {
      const MethodDescriptor* submit = method("Submit");
      const MethodDescriptor* result = method("Result");
      ASSERT_TRUE(submit != nullptr && result != nullptr);
      const char* square = R"({"function":"square","args":[7]})";
      absl::StatusOr<std::string> json =
          CallWithJson(open_stub, factory, *submit, square, &reply);
      if (with_tokens) {
        EXPECT_EQ(json.status().code(), absl::StatusCode::kUnauthenticated)
            << json.status();
      }
      json = CallWithJson(authorized_stub, factory, *submit, square, &reply);
      ASSERT_TRUE(json.ok()) << json.status();
      const std::string id = reply->GetReflection()->GetString(
          *reply, reply->GetDescriptor()->FindFieldByName("id"));
      json = CallWithJson(
          authorized_stub, factory, *result,
          absl::StrCat(R"({"id":")", id, R"(","timeout":"10s"})"), &reply);
      ASSERT_TRUE(json.ok()) << json.status();
      EXPECT_TRUE(absl::StrContains(*json, R"("outcome":{"value":49})"))
          << *json;
      // grpcurl prints proto field names, as the README shows them.
      EXPECT_TRUE(absl::StrContains(*json, R"("submit_time":")")) << *json;
    } else {
      ADD_FAILURE() << "a listed service this test does not call: " << name;
    }
  }

  absl::StatusOr<int> wait_status = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
      << "wait status " << *wait_status;
}

INSTANTIATE_TEST_SUITE_P(Authentication, EveryServiceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WithTokens" : "WithoutTokens";
                         });

}  // namespace
}  // namespace futured::testing
