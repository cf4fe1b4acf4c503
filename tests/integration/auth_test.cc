// Authentication, TLS and ownership against the real daemon: bearer tokens
// from --auth_tokens_file, TLS (--tls_cert/--tls_key), mutual TLS
// (--tls_client_ca), futures invisible to other principals, health open
// and reflection closed without credentials, --max_pending_per_principal.
// The test PKI is tests/integration/testdata (see make-certs.sh there).

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futured/channel.h"
#include "futured/client.h"
#include "futured/credentials.h"
#include "futured/errors.h"
#include "futured/executor.h"
#include "futured/future.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/integration/program_run.h"
#include "tests/integration/temp_dir.h"

namespace futured::testing {
namespace {

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kBobToken[] = "bob-token-0123456789ab";
// A well-formed ID that no future has.
constexpr char kUnknownId[] = "00000000-0000-4000-8000-000000000000";

std::string TestData(const std::string& name) {
  return std::string(FUTURED_TESTDATA_DIR) + "/" + name;
}

std::string Pem(const std::string& name) {
  return ReadCredentialFile(TestData(name));
}

// An owner-only token file for alice and bob, and alice's token alone (for
// futurectl --token-file); removed with the object.
class TokenFile {
 public:
  const std::string& path() const { return path_; }
  const std::string& alice_path() const { return alice_path_; }

 private:
  TempDir dir_;
  const std::string path_ = dir_.Write(
      "tokens", absl::StrCat("# test principals\n", "alice ", kAliceToken, "\n",
                             "bob ", kBobToken, "\n"));
  const std::string alice_path_ =
      dir_.Write("alice.token", absl::StrCat(kAliceToken, "\n"));
};

ClientOptions WithToken(const std::string& token) {
  ClientOptions options;
  options.call_timeout = absl::Seconds(30);
  options.credentials.bearer_token = token;
  return options;
}

TlsOptions TrustTestCa() { return TlsOptions{.root_certs_pem = Pem("ca.pem")}; }

TlsOptions ClientCertificate(const std::string& name) {
  TlsOptions tls = TrustTestCa();
  tls.client_cert_pem = Pem(name + ".pem");
  tls.client_key_pem = Pem(name + ".key");
  return tls;
}

// Raw futured.v1 calls on a channel with `options`' credentials.
std::unique_ptr<ExecutorCalls> CallsWith(const DaemonProcess& daemon,
                                         const ClientOptions& options) {
  return std::make_unique<ExecutorCalls>(NewChannel(daemon.address(), options));
}

grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         grpc::health::v1::HealthCheckResponse* response) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(30));
  return stub->Check(&context, grpc::health::v1::HealthCheckRequest(),
                     response);
}

// list_services over grpc.reflection.v1alpha; the stream's final status.
grpc::Status ListServices(const std::shared_ptr<grpc::Channel>& channel,
                          std::vector<std::string>* names) {
  using ::grpc::reflection::v1alpha::ServerReflection;
  auto stub = ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(30));
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  if (stream->Write(request) && stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names->push_back(service.name());
    }
  }
  stream->WritesDone();
  return stream->Finish();
}

class AuthTest : public ::testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> flags) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start({.flags = std::move(flags)});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }
  void StartWithTokens(std::vector<std::string> flags = {}) {
    flags.push_back("--auth_tokens_file=" + tokens_.path());
    StartDaemon(std::move(flags));
  }
  std::vector<std::string> TlsFlags() const {
    return {"--tls_cert=" + TestData("server.pem"),
            "--tls_key=" + TestData("server.key")};
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
    ASSERT_TRUE(wait_status.ok()) << wait_status.status();
    EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
        << "wait status " << *wait_status;
  }

  absl::StatusOr<ProgramResult> Futurectl(std::vector<std::string> args,
                                          std::vector<std::string> env = {}) {
    args.insert(args.begin(),
                {FUTURECTL_BINARY, "--target", daemon_->address()});
    // Clear what the test's own environment might set, unless `env` sets it.
    for (const char* name :
         {"FUTURED_TOKEN", "FUTURED_TOKEN_FILE", "FUTURED_TLS_CA",
          "FUTURED_TLS_CERT", "FUTURED_TLS_KEY"}) {
      const std::string prefix = absl::StrCat(name, "=");
      if (std::none_of(env.begin(), env.end(), [&](const std::string& e) {
            return absl::StartsWith(e, prefix);
          })) {
        env.push_back(prefix);
      }
    }
    return RunProgram(args, {.env = std::move(env)});
  }

  TokenFile tokens_;
  std::unique_ptr<DaemonProcess> daemon_;
};

// --- bearer tokens ---

TEST_F(AuthTest, EveryExecutorCallWithoutATokenIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  auto calls = CallsWith(*daemon_, ClientOptions());
  std::string id;
  grpc::Status status = calls->Submit(CallOf("square", {NumberValue(3)}), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "Bearer"))
      << StatusText(status);
  v1::FutureInfo info;
  EXPECT_EQ(calls->GetFuture(kUnknownId, &info).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ListFunctionsResponse functions;
  EXPECT_EQ(calls->ListFunctions(&functions).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::GetStatsResponse stats;
  EXPECT_EQ(calls->GetStats(&stats).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::MapRequest map;
  map.set_function("square");
  *map.add_inputs() = NumberValue(2);
  std::vector<v1::MapItem> items;
  EXPECT_EQ(calls->Map(map, &items).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(items.empty());
}

TEST_F(AuthTest, AWrongTokenIsUnauthenticated) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  for (const std::string& token :
       {std::string("not-a-token-0123456789"), std::string(kAliceToken) + "x",
        std::string(kAliceToken).substr(1)}) {
    auto calls = CallsWith(*daemon_, WithToken(token));
    std::string id;
    grpc::Status status =
        calls->Submit(CallOf("square", {NumberValue(3)}), &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << StatusText(status);
    EXPECT_EQ(status.error_message(), "invalid bearer token");
  }
  // Another scheme is refused too.
  auto stub = daemon_->NewStub();
  grpc::ClientContext context;
  SetDeadline(&context);
  context.AddMetadata("authorization", std::string("Basic ") + kAliceToken);
  v1::ListFunctionsResponse functions;
  EXPECT_EQ(
      stub->ListFunctions(&context, v1::ListFunctionsRequest(), &functions)
          .error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthTest, AGoodTokenWorksThroughTheClientLibrary) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  Client client(daemon_->address(), WithToken(kAliceToken));
  Executor executor = client.executor();
  Future<double> square = executor.submit<double>("square", 7);
  EXPECT_EQ(square.result(absl::Seconds(60)), 49);
  EXPECT_FALSE(client.functions().empty());
  // Without the token the same calls fail with RpcError UNAUTHENTICATED.
  Client anonymous(daemon_->address());
  try {
    anonymous.functions();
    ADD_FAILURE() << "functions() without a token succeeded";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kUnauthenticated) << e.what();
  }
}

// Health and reflection are open: a probe has no token, and grpcurl reads
// Health's descriptor through reflection before it calls Health/Check.
// (reflection_test.cc calls every listed service through reflection with
// tokens on.)
TEST_F(AuthTest, HealthAndReflectionNeedNoToken) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  grpc::health::v1::HealthCheckResponse health;
  grpc::Status status = HealthCheck(daemon_->NewChannel(), &health);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  for (const ClientOptions& options : {ClientOptions{}, WithToken(kBobToken)}) {
    std::vector<std::string> services;
    status = ListServices(NewChannel(daemon_->address(), options), &services);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    EXPECT_NE(
        std::find(services.begin(), services.end(), "futured.v1.Executor"),
        services.end());
  }
}

// Every RPC that takes future IDs answers bob about alice's futures as about
// an ID that never existed: NOT_FOUND, the same message.
TEST_F(AuthTest, APrincipalCannotSeeAnothersFutures) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  auto alice = CallsWith(*daemon_, WithToken(kAliceToken));
  auto bob = CallsWith(*daemon_, WithToken(kBobToken));
  std::string running;
  ASSERT_TRUE(
      alice->Submit(CallOf("sleep", {NumberValue(3600)}), &running).ok());
  std::string done;
  ASSERT_TRUE(alice->Submit(CallOf("square", {NumberValue(5)}), &done).ok());
  ASSERT_TRUE(alice->AwaitState(done, v1::FUTURE_STATE_FINISHED).ok());

  // What bob hears for `id`, with the ID replaced by <id>, is what he hears
  // for an ID that never existed.
  auto expect_not_found = [&](const std::string& rpc, const std::string& id,
                              const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << rpc << " " << id << ": " << StatusText(status);
    EXPECT_EQ(status.error_message(), absl::StrCat("future ", id, " not found"))
        << rpc;
  };
  for (const std::string& id : {running, done, std::string(kUnknownId)}) {
    v1::FutureInfo info;
    expect_not_found("GetFuture", id, bob->GetFuture(id, &info));
    v1::ResultRequest result;
    result.set_id(id);
    *result.mutable_timeout() = DurationProto(absl::Seconds(1));
    expect_not_found("Result", id, bob->Result(result, &info));
    v1::CancelResponse cancel;
    expect_not_found("Cancel", id, bob->Cancel(id, &cancel));
    v1::WaitRequest wait;
    wait.add_ids(id);
    v1::WaitResponse wait_response;
    expect_not_found("Wait", id, bob->Wait(wait, &wait_response));
    v1::AsCompletedRequest as_completed;
    as_completed.add_ids(id);
    std::vector<v1::FutureInfo> completed;
    expect_not_found("AsCompleted", id,
                     bob->AsCompleted(as_completed, &completed));
    EXPECT_TRUE(completed.empty());
    v1::ReleaseResponse release;
    expect_not_found("Release", id, bob->Release({id}, &release));

    grpc::ClientContext progress_context;
    SetDeadline(&progress_context);
    v1::FollowProgressRequest progress;
    progress.set_id(id);
    auto progress_stream =
        bob->stub().FollowProgress(&progress_context, progress);
    v1::FutureInfo ignored;
    EXPECT_FALSE(progress_stream->Read(&ignored));
    expect_not_found("FollowProgress", id, progress_stream->Finish());

    grpc::ClientContext watch_context;
    SetDeadline(&watch_context);
    auto watch = bob->stub().Watch(&watch_context);
    v1::WatchRequest follow;
    follow.add_ids(id);
    ASSERT_TRUE(watch->Write(follow));
    v1::WatchResponse heard;
    ASSERT_TRUE(watch->Read(&heard));
    ASSERT_EQ(heard.errors_size(), 1) << heard.DebugString();
    EXPECT_EQ(heard.futures_size(), 0);
    EXPECT_EQ(heard.errors(0).code(), static_cast<int>(grpc::NOT_FOUND));
    EXPECT_EQ(heard.errors(0).message(),
              absl::StrCat("future ", id, " not found"));
    watch->WritesDone();
    EXPECT_TRUE(watch->Finish().ok());
  }
  // Bob's Cancel did nothing; alice's futures are as they were, and hers to
  // cancel and release.
  v1::FutureInfo info;
  ASSERT_TRUE(alice->GetFuture(running, &info).ok());
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING);
  v1::CancelResponse cancel;
  ASSERT_TRUE(alice->Cancel(running, &cancel).ok());
  v1::ReleaseResponse release;
  ASSERT_TRUE(alice->Release({done}, &release).ok());
  EXPECT_EQ(release.released(), 1);
}

// Request IDs are each principal's own: bob reusing alice's request ID starts
// a future of his own, and learns nothing of hers.
TEST_F(AuthTest, RequestIdsAreKeptPerPrincipal) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  auto alice = CallsWith(*daemon_, WithToken(kAliceToken));
  auto bob = CallsWith(*daemon_, WithToken(kBobToken));
  v1::SubmitRequest call = CallOf("square", {NumberValue(5)});
  call.set_request_id("job-1");
  std::string alices;
  ASSERT_TRUE(alice->Submit(call, &alices).ok());
  std::string bobs;
  ASSERT_TRUE(bob->Submit(call, &bobs).ok());
  EXPECT_NE(bobs, alices);
  // A different call under the same ID is bob's own business too.
  v1::SubmitRequest other = CallOf("square", {NumberValue(6)});
  other.set_request_id("job-2");
  std::string bobs_other;
  ASSERT_TRUE(bob->Submit(other, &bobs_other).ok());
  std::string alices_other;
  other.set_request_id("job-2");
  *other.mutable_args(0) = NumberValue(7);
  ASSERT_TRUE(alice->Submit(other, &alices_other).ok());
  EXPECT_NE(alices_other, bobs_other);
  // Each retry answers its own principal's first future.
  std::string again;
  ASSERT_TRUE(alice->Submit(call, &again).ok());
  EXPECT_EQ(again, alices);
  ASSERT_TRUE(bob->Submit(call, &again).ok());
  EXPECT_EQ(again, bobs);
}

TEST_F(AuthTest, FuturectlTakesTheTokenFromTheEnvironmentOrAFile) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  absl::StatusOr<ProgramResult> anonymous = Futurectl({"functions"});
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->exit_code, 6) << anonymous->err;
  EXPECT_TRUE(absl::StrContains(anonymous->err, "UNAUTHENTICATED"))
      << anonymous->err;

  absl::StatusOr<ProgramResult> from_env =
      Futurectl({"submit", "square", "[6]"},
                {absl::StrCat("FUTURED_TOKEN=", kAliceToken)});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  ASSERT_EQ(from_env->exit_code, 0) << from_env->err;
  const std::string id = from_env->out.substr(
      from_env->out.find(":\"") + 2,
      from_env->out.rfind('"') - from_env->out.find(":\"") - 2);

  absl::StatusOr<ProgramResult> from_file = Futurectl(
      {"--token-file", tokens_.alice_path(), "result", id, "--timeout", "60s"});
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  EXPECT_EQ(from_file->exit_code, 0) << from_file->err;
  EXPECT_TRUE(absl::StrContains(from_file->out, "\"value\":36"))
      << from_file->out;

  // Bob's token: alice's future is not found (exit 6).
  absl::StatusOr<ProgramResult> as_bob =
      Futurectl({"status", id}, {absl::StrCat("FUTURED_TOKEN=", kBobToken)});
  ASSERT_TRUE(as_bob.ok()) << as_bob.status();
  EXPECT_EQ(as_bob->exit_code, 6) << as_bob->err;
  EXPECT_TRUE(absl::StrContains(as_bob->err, "not found")) << as_bob->err;

  absl::StatusOr<ProgramResult> health = Futurectl({"health"});
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->exit_code, 0) << health->err;
}

TEST_F(AuthTest, ABadTokenFileStopsTheDaemonNamingTheLine) {
  const std::string bad = tokens_.path() + ".bad";
  std::ofstream(bad) << "alice " << kAliceToken << "\nbob\n";
  chmod(bad.c_str(), 0600);
  absl::StatusOr<ProgramResult> run = RunProgram(
      {FUTURED_BINARY, "--listen=127.0.0.1:0", "--auth_tokens_file=" + bad});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_TRUE(absl::StrContains(
      run->err, "--auth_tokens_file: " + bad +
                    ": line 2: expected 'PRINCIPAL TOKEN', got 1 fields"))
      << run->err;
  chmod(bad.c_str(), 0644);
  std::ofstream(bad) << "alice " << kAliceToken << "\n";
  run = RunProgram(
      {FUTURED_BINARY, "--listen=127.0.0.1:0", "--auth_tokens_file=" + bad});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_TRUE(absl::StrContains(run->err, "readable or writable by others"))
      << run->err;
  unlink(bad.c_str());
}

// --- the per-principal limit ---

TEST_F(AuthTest, PendingLimitPerPrincipalIsResourceExhaustedUntilOneFinishes) {
  ASSERT_NO_FATAL_FAILURE(
      StartWithTokens({"--max_pending_per_principal=2", "--threads=4"}));
  auto alice = CallsWith(*daemon_, WithToken(kAliceToken));
  auto bob = CallsWith(*daemon_, WithToken(kBobToken));
  std::string first, second, refused;
  ASSERT_TRUE(alice->Submit(CallOf("sleep", {NumberValue(3600)}), &first).ok());
  ASSERT_TRUE(
      alice->Submit(CallOf("sleep", {NumberValue(3600)}), &second).ok());
  grpc::Status status =
      alice->Submit(CallOf("sleep", {NumberValue(3600)}), &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(
      status.error_message(),
      "principal 'alice' has 2 futures pending; at most 2 allowed "
      "(--max_pending_per_principal)"))
      << StatusText(status);

  // SubmitBatch refuses the item; Map and Run the call.
  v1::SubmitBatchRequest batch;
  *batch.add_requests() = CallOf("square", {NumberValue(2)});
  v1::SubmitBatchResponse batch_response;
  grpc::ClientContext batch_context;
  SetDeadline(&batch_context);
  ASSERT_TRUE(
      alice->stub().SubmitBatch(&batch_context, batch, &batch_response).ok());
  ASSERT_EQ(batch_response.results_size(), 1);
  EXPECT_EQ(batch_response.results(0).code(),
            static_cast<int>(grpc::RESOURCE_EXHAUSTED));
  v1::MapRequest map;
  map.set_function("square");
  *map.add_inputs() = NumberValue(2);
  std::vector<v1::MapItem> items;
  EXPECT_EQ(alice->Map(map, &items).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  grpc::ClientContext run_context;
  SetDeadline(&run_context);
  v1::FutureInfo run_info;
  EXPECT_EQ(
      alice->stub()
          .Run(&run_context, CallOf("square", {NumberValue(2)}), &run_info)
          .error_code(),
      grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Bob has a count of his own.
  std::string bobs;
  ASSERT_TRUE(bob->Submit(CallOf("square", {NumberValue(4)}), &bobs).ok());

  // Once one of alice's futures is done, she may submit again.
  v1::CancelResponse cancel;
  ASSERT_TRUE(alice->Cancel(first, &cancel).ok());
  ASSERT_TRUE(alice->AwaitState(first, v1::FUTURE_STATE_CANCELLED).ok());
  std::string third;
  status = alice->Submit(CallOf("square", {NumberValue(3)}), &third);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  ASSERT_TRUE(alice->Cancel(second, &cancel).ok());
}

// --- TLS and mutual TLS ---

TEST_F(AuthTest, TlsWithTokensWorksWithTheClientLibraryAndFuturectl) {
  std::vector<std::string> flags = TlsFlags();
  ASSERT_NO_FATAL_FAILURE(StartWithTokens(flags));
  ClientOptions options = WithToken(kAliceToken);
  options.credentials.tls = TrustTestCa();
  Client client(daemon_->address(), options);
  EXPECT_EQ(
      client.executor().submit<double>("square", 9).result(absl::Seconds(60)),
      81);

  // A plaintext client cannot talk to a TLS daemon.
  ClientOptions plaintext = WithToken(kAliceToken);
  plaintext.call_timeout = absl::Seconds(5);
  Client plain(daemon_->address(), plaintext);
  try {
    plain.functions();
    ADD_FAILURE() << "a plaintext call to a TLS daemon succeeded";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kUnavailable) << e.what();
  }

  absl::StatusOr<ProgramResult> ctl =
      Futurectl({"--tls-ca", TestData("ca.pem"), "map", "square", "[1,2]"},
                {absl::StrCat("FUTURED_TOKEN=", kAliceToken)});
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  EXPECT_EQ(ctl->exit_code, 0) << ctl->err;
  EXPECT_EQ(Lines(ctl->out).size(), 2u) << ctl->out;
  absl::StatusOr<ProgramResult> health =
      Futurectl({"health"}, {"FUTURED_TLS_CA=" + TestData("ca.pem")});
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->exit_code, 0) << health->err;
}

TEST_F(AuthTest, MutualTlsNamesThePrincipalByTheCertificate) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca=" + TestData("ca.pem"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon(flags));

  // Without a client certificate the handshake fails.
  ClientOptions no_cert;
  no_cert.call_timeout = absl::Seconds(5);
  no_cert.credentials.tls = TrustTestCa();
  auto anonymous = CallsWith(*daemon_, no_cert);
  v1::ListFunctionsResponse functions;
  grpc::Status status = anonymous->ListFunctions(&functions);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << StatusText(status);

  ClientOptions as_alice;
  as_alice.credentials.tls = ClientCertificate("alice");
  ClientOptions as_bob;
  as_bob.credentials.tls = ClientCertificate("bob");
  auto alice = CallsWith(*daemon_, as_alice);
  auto bob = CallsWith(*daemon_, as_bob);
  std::string id;
  status = alice->Submit(CallOf("square", {NumberValue(8)}), &id);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_TRUE(alice->AwaitState(id, v1::FUTURE_STATE_FINISHED).ok());
  v1::FutureInfo info;
  status = bob->GetFuture(id, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);

  // Reflection and health with a certificate.
  std::vector<std::string> services;
  status = ListServices(NewChannel(daemon_->address(), as_bob), &services);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(
      HealthCheck(NewChannel(daemon_->address(), as_bob), &health).ok());

  absl::StatusOr<ProgramResult> ctl = Futurectl(
      {"--tls-ca", TestData("ca.pem"), "--tls-cert", TestData("alice.pem"),
       "--tls-key", TestData("alice.key"), "result", id, "--timeout", "60s"});
  ASSERT_TRUE(ctl.ok()) << ctl.status();
  EXPECT_EQ(ctl->exit_code, 0) << ctl->err;
  EXPECT_TRUE(absl::StrContains(ctl->out, "\"value\":64")) << ctl->out;
  absl::StatusOr<ProgramResult> no_cert_ctl =
      Futurectl({"--tls-ca", TestData("ca.pem"), "functions"});
  ASSERT_TRUE(no_cert_ctl.ok()) << no_cert_ctl.status();
  EXPECT_EQ(no_cert_ctl->exit_code, 5) << no_cert_ctl->err;
}

TEST_F(AuthTest, WithMutualTlsAndTokensTheTokenNamesThePrincipal) {
  std::vector<std::string> flags = TlsFlags();
  flags.push_back("--tls_client_ca=" + TestData("ca.pem"));
  ASSERT_NO_FATAL_FAILURE(StartWithTokens(flags));
  ClientOptions cert_only;
  cert_only.credentials.tls = ClientCertificate("alice");
  v1::ListFunctionsResponse functions;
  EXPECT_EQ(
      CallsWith(*daemon_, cert_only)->ListFunctions(&functions).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  // alice's certificate with bob's token is bob.
  ClientOptions cert_and_bob_token = WithToken(kBobToken);
  cert_and_bob_token.credentials.tls = ClientCertificate("alice");
  ClientOptions bob_everything = WithToken(kBobToken);
  bob_everything.credentials.tls = ClientCertificate("bob");
  std::string id;
  grpc::Status status = CallsWith(*daemon_, cert_and_bob_token)
                            ->Submit(CallOf("square", {NumberValue(2)}), &id);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  v1::FutureInfo info;
  status = CallsWith(*daemon_, bob_everything)->GetFuture(id, &info);
  EXPECT_TRUE(status.ok()) << StatusText(status);
}

// Runs futured on `listen` until it says it serves (at most 60 s), stops it
// with SIGTERM and returns what it wrote on stderr.
std::string StartUpLog(const std::string& listen) {
  // The shell waits for the listening line, which futured prints after its
  // start-up log lines, so the log is complete when it is read.
  const char kScript[] = R"(
    dir=$(mktemp -d) || exit 2
    "$0" --listen="$1" >"$dir/out" 2>"$dir/err" &
    pid=$!
    for i in $(seq 600); do
      grep -q 'futured listening' "$dir/out" && break
      sleep 0.1
    done
    kill -TERM "$pid"; wait "$pid"
    cat "$dir/err"; rm -r "$dir")";
  absl::StatusOr<ProgramResult> run =
      RunProgram({"/bin/sh", "-c", kScript, FUTURED_BINARY, listen});
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? run->out : "";
}

TEST(AuthStartUpTest, ANonLoopbackAddressWithoutAuthenticationIsWarnedAbout) {
  const std::string exposed = StartUpLog("0.0.0.0:0");
  EXPECT_TRUE(absl::StrContains(exposed, "WARNING listening on 0.0.0.0:"))
      << exposed;
  EXPECT_TRUE(absl::StrContains(exposed, "with no authentication")) << exposed;
  const std::string loopback = StartUpLog("127.0.0.1:0");
  EXPECT_TRUE(absl::StrContains(loopback, "no authentication")) << loopback;
  EXPECT_FALSE(absl::StrContains(loopback, "WARNING listening on")) << loopback;
}

}  // namespace
}  // namespace futured::testing
