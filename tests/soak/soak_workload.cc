#include "tests/soak/soak_workload.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/soak/process_census.h"

namespace futured::soak {
namespace {

using futured::v1::FutureInfo;
using futured::v1::SubmitRequest;

// Every call waits at most this long: an answer must come well before.
constexpr absl::Duration kCallDeadline = absl::Seconds(120);
// A task that runs until it is cancelled or timed out.
constexpr double kLongSeconds = 60;

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
}

std::string Text(const grpc::Status& status) {
  return absl::StrCat("code ", status.error_code(), ": ",
                      status.error_message());
}

SubmitRequest Call(const std::string& function, const std::string& pool,
                   std::vector<google::protobuf::Value> args) {
  SubmitRequest request;
  request.set_function(function);
  request.set_pool(pool);
  for (auto& arg : args) *request.add_args() = std::move(arg);
  return request;
}

google::protobuf::Value Number(double x) {
  google::protobuf::Value value;
  value.set_number_value(x);
  return value;
}

google::protobuf::Value String(const std::string& s) {
  google::protobuf::Value value;
  value.set_string_value(s);
  return value;
}

// "FINISHED", "CANCELLED" or the error's type.
std::string EndingName(const FutureInfo& info) {
  if (info.state() == futured::v1::FUTURE_STATE_CANCELLED) return "CANCELLED";
  if (info.outcome().has_error()) return info.outcome().error().type();
  return "FINISHED";
}

Ending EndingOf(const FutureInfo& info) {
  if (info.state() == futured::v1::FUTURE_STATE_CANCELLED) {
    return Ending::kCancelled;
  }
  return info.outcome().has_error() ? Ending::kFailed : Ending::kFinished;
}

}  // namespace

void Tally::Ended(const std::string& function, Ending ending,
                  const std::string& label) {
  absl::MutexLock lock(&mu_);
  ++by_function_[function][static_cast<int>(ending)];
  ++by_label_[label];
  ++futures_;
}

void Tally::Violation(const std::string& what) {
  absl::MutexLock lock(&mu_);
  if (violations_.size() < 100) violations_.push_back(what);
}

std::map<std::string, std::array<int64_t, 3>> Tally::by_function() const {
  absl::MutexLock lock(&mu_);
  return by_function_;
}

std::map<std::string, int64_t> Tally::by_label() const {
  absl::MutexLock lock(&mu_);
  return by_label_;
}

std::vector<std::string> Tally::violations() const {
  absl::MutexLock lock(&mu_);
  return violations_;
}

int64_t Tally::futures() const {
  absl::MutexLock lock(&mu_);
  return futures_;
}

void KillTargets::Add(const std::string& id) {
  absl::MutexLock lock(&mu_);
  ids_.push_back(id);
}

void KillTargets::Remove(const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = std::find(ids_.begin(), ids_.end(), id);
  if (it == ids_.end()) return;
  *it = ids_.back();
  ids_.pop_back();
}

std::string KillTargets::Pick(std::mt19937_64& rng) {
  absl::MutexLock lock(&mu_);
  if (ids_.empty()) return "";
  return ids_[std::uniform_int_distribution<size_t>(0, ids_.size() - 1)(rng)];
}

SoakClient::SoakClient(std::shared_ptr<grpc::Channel> channel, Tally* tally,
                       KillTargets* targets, uint64_t seed)
    : stub_(futured::v1::Executor::NewStub(std::move(channel))),
      tally_(tally),
      targets_(targets),
      rng_(seed),
      seed_(seed) {}

void SoakClient::RunOne() {
  const std::string pool = std::uniform_int_distribution<int>(0, 1)(rng_) == 0
                               ? "thread"
                               : "process";
  switch (std::uniform_int_distribution<int>(0, 99)(rng_) / 10) {
    case 0:
    case 1:
      return Quick(pool);
    case 2:
      return std::uniform_int_distribution<int>(0, 1)(rng_) == 0 ? Fail(pool)
                                                                 : Retry(pool);
    case 3:
      return CancelOne(pool);
    case 4:
      return TimeOut(pool);
    case 5:
      return Crash(pool);
    case 6:
    case 7:
      return Killable();
    case 8:
      return std::uniform_int_distribution<int>(0, 1)(rng_) == 0 ? MapSome(pool)
                                                                 : Batch(pool);
    default:
      return RunEcho(pool);
  }
}

std::string SoakClient::Submit(const SubmitRequest& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::SubmitResponse response;
  grpc::Status status = stub_->Submit(&context, request, &response);
  if (!status.ok()) {
    tally_->Violation(absl::StrCat("Submit ", request.ShortDebugString(),
                                   " refused: ", Text(status)));
    return "";
  }
  return response.id();
}

bool SoakClient::Await(const std::string& id, const std::string& op,
                       FutureInfo* info) {
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::ResultRequest request;
  request.set_id(id);
  grpc::Status status = stub_->Result(&context, request, info);
  if (!status.ok() || !info->done()) {
    tally_->Violation(absl::StrCat(op, ": Result of ", id, " answered ",
                                   Text(status), " done=", info->done()));
    return false;
  }
  // Final means final: a second look shows the same ending at the same time.
  grpc::ClientContext again_context;
  SetDeadline(&again_context);
  futured::v1::GetFutureRequest get;
  get.set_id(id);
  FutureInfo again;
  status = stub_->GetFuture(&again_context, get, &again);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND)
    return true;  // expired
  if (!status.ok() || again.state() != info->state() ||
      EndingName(again) != EndingName(*info) ||
      again.end_time().seconds() != info->end_time().seconds() ||
      again.end_time().nanos() != info->end_time().nanos()) {
    tally_->Violation(absl::StrCat(
        op, ": future ", id, " ended as ", info->ShortDebugString(),
        " then showed ", again.ShortDebugString(), " ", Text(status)));
  }
  return true;
}

void SoakClient::Check(const FutureInfo& info, const std::string& op,
                       const std::vector<std::string>& allowed) {
  const std::string ending = EndingName(info);
  tally_->Ended(info.function(), EndingOf(info),
                absl::StrCat(op, "/", info.pool(), " ", ending));
  if (std::find(allowed.begin(), allowed.end(), ending) == allowed.end()) {
    tally_->Violation(absl::StrCat(op, ": future ", info.id(), " ended ",
                                   ending, ": ", info.ShortDebugString()));
  }
}

// The process pool's futures may also meet the fault injector, or a worker
// it killed, at any time: WorkerDiedError is then their honest ending.
std::vector<std::string> Allowed(const std::string& pool,
                                 std::vector<std::string> endings) {
  if (pool == "process") endings.push_back("WorkerDiedError");
  return endings;
}

void SoakClient::Quick(const std::string& pool) {
  const bool echo = std::uniform_int_distribution<int>(0, 1)(rng_) == 0;
  const std::string id = Submit(echo ? Call("echo", pool, {String("soak")})
                                     : Call("square", pool, {Number(7)}));
  FutureInfo info;
  if (id.empty() || !Await(id, "quick", &info)) return;
  Check(info, "quick", Allowed(pool, {"FINISHED"}));
  if (EndingName(info) == "FINISHED" &&
      (echo ? info.outcome().value().string_value() != "soak"
            : info.outcome().value().number_value() != 49)) {
    tally_->Violation(
        absl::StrCat("quick: wrong value ", info.ShortDebugString()));
  }
}

void SoakClient::Fail(const std::string& pool) {
  const std::string id =
      Submit(Call("fail", pool, {String("ValueError"), String("soak")}));
  FutureInfo info;
  if (id.empty() || !Await(id, "fail", &info)) return;
  Check(info, "fail", Allowed(pool, {"ValueError"}));
}

void SoakClient::CancelOne(const std::string& pool) {
  const std::string id = Submit(Call("sleep", pool, {Number(kLongSeconds)}));
  if (id.empty()) return;
  // Now at once (most likely queued or just started), or after a moment.
  if (std::uniform_int_distribution<int>(0, 1)(rng_) == 1) {
    absl::SleepFor(
        absl::Milliseconds(std::uniform_int_distribution<int>(1, 200)(rng_)));
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::CancelRequest request;
  request.set_id(id);
  futured::v1::CancelResponse response;
  grpc::Status status = stub_->Cancel(&context, request, &response);
  if (!status.ok()) {
    tally_->Violation(
        absl::StrCat("cancel: Cancel of ", id, ": ", Text(status)));
  }
  FutureInfo info;
  if (!Await(id, "cancel", &info)) return;
  Check(info, "cancel", Allowed(pool, {"CANCELLED"}));
}

void SoakClient::TimeOut(const std::string& pool) {
  SubmitRequest request = Call("sleep", pool, {Number(kLongSeconds)});
  const int ms = std::uniform_int_distribution<int>(10, 300)(rng_);
  request.mutable_timeout()->set_nanos(ms * 1000000);
  const std::string id = Submit(request);
  FutureInfo info;
  if (id.empty() || !Await(id, "timeout", &info)) return;
  Check(info, "timeout", Allowed(pool, {"TimeoutError"}));
}

void SoakClient::Crash(const std::string& pool) {
  static const char* const kKinds[] = {"segv", "abort", "exit"};
  const std::string kind =
      kKinds[std::uniform_int_distribution<int>(0, 2)(rng_)];
  const std::string id = Submit(Call("crash", pool, {String(kind)}));
  FutureInfo info;
  if (id.empty() || !Await(id, "crash", &info)) return;
  // In a thread pool crash() refuses to take the daemon down.
  Check(info, "crash",
        pool == "process" ? std::vector<std::string>{"WorkerDiedError"}
                          : std::vector<std::string>{"RuntimeError"});
}

void SoakClient::Killable() {
  const bool burn = std::uniform_int_distribution<int>(0, 1)(rng_) == 0;
  const std::string id =
      Submit(burn ? Call("burn_cpu", "process", {Number(0.2)})
                  : Call("sleep", "process", {Number(0.4)}));
  if (id.empty()) return;
  targets_->Add(id);
  FutureInfo info;
  const bool answered = Await(id, "killable", &info);
  targets_->Remove(id);
  if (answered) Check(info, "killable", {"FINISHED", "WorkerDiedError"});
}

void SoakClient::MapSome(const std::string& pool) {
  constexpr int kInputs = 16;
  futured::v1::MapRequest request;
  request.set_function("square");
  request.set_pool(pool);
  for (int i = 0; i < kInputs; ++i) *request.add_inputs() = Number(i);
  grpc::ClientContext context;
  SetDeadline(&context);
  auto reader = stub_->Map(&context, request);
  futured::v1::MapResponse response;
  int next = 0;
  const std::vector<std::string> allowed = Allowed(pool, {"FINISHED"});
  while (reader->Read(&response)) {
    for (const auto& item : response.items()) {
      if (item.index() != next) {
        tally_->Violation(absl::StrCat("map: item ", item.index(),
                                       " came where ", next, " was due"));
      }
      FutureInfo info;  // an item as a done future, for Check()
      info.set_id(absl::StrCat("map item ", item.index()));
      info.set_function("square");
      info.set_pool(pool);
      info.set_state(item.outcome().has_cancelled()
                         ? futured::v1::FUTURE_STATE_CANCELLED
                         : futured::v1::FUTURE_STATE_FINISHED);
      *info.mutable_outcome() = item.outcome();
      Check(info, "map", allowed);
      if (!item.outcome().has_error() &&
          item.outcome().value().number_value() != next * next) {
        tally_->Violation(absl::StrCat("map: item ", next, " is ",
                                       item.outcome().ShortDebugString()));
      }
      ++next;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() || next != kInputs) {
    tally_->Violation(absl::StrCat("map: ", next, " of ", kInputs,
                                   " items, then ", Text(status)));
  }
}

void SoakClient::RunEcho(const std::string& pool) {
  grpc::ClientContext context;
  SetDeadline(&context);
  FutureInfo info;
  grpc::Status status =
      stub_->Run(&context, Call("echo", pool, {Number(5)}), &info);
  if (!status.ok() || !info.done()) {
    tally_->Violation(absl::StrCat("run: ", Text(status)));
    return;
  }
  Check(info, "run", Allowed(pool, {"FINISHED"}));
}

void SoakClient::Batch(const std::string& pool) {
  constexpr int kCalls = 8;
  futured::v1::SubmitBatchRequest request;
  for (int i = 0; i < kCalls; ++i) {
    *request.add_requests() = Call("echo", pool, {Number(i)});
  }
  futured::v1::SubmitBatchResponse response;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status status = stub_->SubmitBatch(&context, request, &response);
    if (!status.ok()) {
      tally_->Violation(absl::StrCat("batch: SubmitBatch ", Text(status)));
      return;
    }
  }
  futured::v1::AsCompletedRequest completed;
  for (const auto& result : response.results()) {
    if (result.code() != 0) {
      tally_->Violation(absl::StrCat("batch: item refused ", result.message()));
      continue;
    }
    completed.add_ids(result.id());
  }
  grpc::ClientContext context;
  SetDeadline(&context);
  auto reader = stub_->AsCompleted(&context, completed);
  futured::v1::AsCompletedResponse message;
  std::map<std::string, int> seen;
  while (reader->Read(&message)) {
    for (const FutureInfo& info : message.futures()) {
      if (++seen[info.id()] == 1)
        Check(info, "batch", Allowed(pool, {"FINISHED"}));
    }
  }
  grpc::Status status = reader->Finish();
  for (const std::string& id : completed.ids()) {
    if (seen[id] != 1) {
      tally_->Violation(absl::StrCat("batch: ", id, " completed ", seen[id],
                                     " times; stream ended ", Text(status)));
    }
  }
}

void SoakClient::Retry(const std::string& pool) {
  SubmitRequest request = Call("square", pool, {Number(3)});
  request.set_request_id(absl::StrCat("soak-", seed_, "-", ++counter_));
  const std::string id = Submit(request);
  if (id.empty()) return;
  const std::string again = Submit(request);
  if (again != id) {
    tally_->Violation(absl::StrCat("retry: a retried Submit answered ", again,
                                   ", the first ", id));
  }
  FutureInfo info;
  if (!Await(id, "retry", &info)) return;
  Check(info, "retry", Allowed(pool, {"FINISHED"}));
  if (Submit(request) != id) {
    tally_->Violation(absl::StrCat("retry: a retry after the end of ", id,
                                   " started another future"));
  }
}

bool KillOneWorker(futured::v1::Executor::Stub& stub, KillTargets& targets,
                   pid_t daemon, std::mt19937_64& rng) {
  const std::string id = targets.Pick(rng);
  if (id.empty()) return false;
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::GetFutureRequest request;
  request.set_id(id);
  FutureInfo info;
  if (!stub.GetFuture(&context, request, &info).ok() ||
      info.state() != futured::v1::FUTURE_STATE_RUNNING ||
      info.worker_pid() <= 0) {
    return false;
  }
  // Through a pidfd opened before the parent check: the signal reaches that
  // process, a daemon's child, even if the PID were reused meanwhile.
  const int pidfd =
      static_cast<int>(syscall(SYS_pidfd_open, info.worker_pid(), 0));
  if (pidfd < 0) return false;
  bool sent = false;
  if (IsChildOf(info.worker_pid(), daemon)) {
    sent = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
  }
  close(pidfd);
  return sent;
}

}  // namespace futured::soak
