#include "bench/echo_floor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/echo.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::bench {
namespace {

constexpr absl::string_view kListening = "echo listening on ";

class EchoService final : public Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const google::protobuf::Value* request,
                                 google::protobuf::Value* response) override {
    *response = *request;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

int RunEchoServer(const std::string& listen) {
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    std::fprintf(stderr, "echo server: cannot listen on %s\n", listen.c_str());
    return 1;
  }
  std::string address = listen;
  if (absl::EndsWith(listen, ":0")) {
    address = absl::StrCat(listen.substr(0, listen.size() - 1), port);
  }
  std::printf("%s%s\n", std::string(kListening).c_str(), address.c_str());
  std::fflush(stdout);
  server->Wait();
  return 0;
}

absl::StatusOr<std::unique_ptr<EchoServerProcess>> EchoServerProcess::Start(
    const std::string& binary, const std::string& listen) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  std::string listen_flag = absl::StrCat("--listen=", listen);
  std::string binary_copy = binary;
  std::string server_flag = "--echo_server";
  char* argv[] = {binary_copy.data(), server_flag.data(), listen_flag.data(),
                  nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
      _exit(127);
    }
    if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(127);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  std::unique_ptr<EchoServerProcess> process(new EchoServerProcess());
  process->pid_ = pid;
  std::string line;
  char c = 0;
  while (line.size() < 4096 && read(fds[0], &c, 1) == 1 && c != '\n') {
    line.push_back(c);
  }
  close(fds[0]);
  absl::string_view rest = line;
  if (!absl::ConsumePrefix(&rest, kListening)) {
    return absl::UnavailableError(
        absl::StrCat("echo server did not start: '", line, "'"));
  }
  process->address_ = std::string(rest);
  return process;
}

EchoServerProcess::~EchoServerProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

absl::StatusOr<EchoFigures> MeasureEcho(const std::string& address, int calls) {
  std::unique_ptr<Echo::Stub> stub = Echo::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  google::protobuf::Value request;
  request.set_number_value(1);
  EchoFigures figures;
  const absl::Time start = absl::Now();
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    google::protobuf::Value response;
    const absl::Time before = absl::Now();
    grpc::Status status = stub->Echo(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(
          absl::StrCat("echo call failed: ", status.error_message()));
    }
    figures.latencies.Add(absl::Now() - before);
  }
  figures.calls_per_second = calls / absl::ToDoubleSeconds(absl::Now() - start);
  return figures;
}

}  // namespace futured::bench
