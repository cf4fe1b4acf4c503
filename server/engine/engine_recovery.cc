// Engine::Recover(): the futures a journal brings back after a restart.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/engine/call_fingerprint.h"
#include "server/engine/engine.h"

namespace futured::server {
namespace {

TaskError Interrupted() {
  return TaskError{
      .type = "InterruptedError",
      .message =
          "the daemon stopped while this task was running; it was not "
          "run again (at most once)"};
}

}  // namespace

absl::StatusOr<RecoveryCounts> Engine::Recover() {
  RecoveryCounts counts;
  if (journal_ == nullptr) return counts;
  absl::StatusOr<std::vector<JournaledFuture>> journaled = journal_->Recover();
  if (!journaled.ok()) return journaled.status();
  return Restore(*journaled, Interrupted());
}

RecoveryCounts Engine::Restore(std::vector<JournaledFuture>& journaled,
                               const TaskError& interrupted) {
  RecoveryCounts counts;
  const absl::Time now = absl::Now();
  // Per pool, in the order they were accepted.
  std::map<Pool*, std::vector<QueuedTask>> requeue;
  for (JournaledFuture& future : journaled) {
    if (future.ending) {
      RestoreDone(future);
      ++counts.done;
    } else {
      RestoreUnfinished(future, now, interrupted, requeue, counts);
    }
  }
  for (auto& [pool, tasks] : requeue) {
    std::vector<std::shared_ptr<Future>> futures;
    futures.reserve(tasks.size());
    for (const QueuedTask& task : tasks) futures.push_back(task.future);
    const absl::Status queued = pool->SubmitAll(std::move(tasks));
    if (queued.ok()) {
      counts.requeued += static_cast<int64_t>(futures.size());
      continue;
    }
    counts.refused += static_cast<int64_t>(futures.size());
    for (const std::shared_ptr<Future>& future : futures) {
      future->Finish(TaskError{.type = "RuntimeError",
                               .message = absl::StrCat(
                                   "not queued again after the restart: ",
                                   queued.message())},
                     absl::Now());
    }
  }
  return counts;
}

void Engine::RestoreDone(JournaledFuture& journaled) {
  const AcceptedCall& call = journaled.call;
  auto future = std::make_shared<Future>(call.id, call.function, call.pool,
                                         call.submit_time, call.deadline);
  FutureEnding& ending = *journaled.ending;
  if (ending.start_time)
    future->Start(*ending.start_time, journaled.worker_pid);
  if (IsCancelled(ending.outcome) && !ending.start_time) {
    future->Cancel(ending.end_time);
  } else {
    future->Finish(std::move(ending.outcome), ending.end_time);
  }
  // Not counted in the task metrics: they count what ended since the
  // daemon started, and this one was counted by the daemon it ended in.
  table_.Insert(future, call.principal);
  RememberRequest(call, future);
}

void Engine::RestoreUnfinished(
    JournaledFuture& journaled, absl::Time now, const TaskError& interrupted,
    std::map<Pool*, std::vector<QueuedTask>>& requeue, RecoveryCounts& counts) {
  const AcceptedCall& call = journaled.call;
  auto future = std::make_shared<Future>(call.id, call.function, call.pool,
                                         call.submit_time, call.deadline);
  JournalEnd(future);
  table_.Insert(future, call.principal);
  RememberRequest(call, future);
  AccountWhenDone(future, call.principal,
                  pending_->Acquire(call.principal).ok());
  if (journaled.state == FutureState::kRunning) {
    // Where a retry policy decides whether it runs again (at least once).
    future->Start(journaled.start_time.value_or(now), journaled.worker_pid);
    future->Finish(interrupted, now);
    ++counts.interrupted;
    return;
  }
  if (call.deadline <= now) {
    future->FailAndStop(
        TaskError{.type = "TimeoutError",
                  .message = absl::StrCat(
                      "task ", call.function,
                      " did not finish before its deadline (it passed while "
                      "the daemon was down)")},
        now);
    ++counts.timed_out;
    return;
  }
  auto pool = pools_.find(call.pool);
  absl::StatusOr<const TaskSpec*> spec = registry_->Find(call.function);
  google::protobuf::ListValue args;
  if (pool == pools_.end() || !spec.ok() || !args.ParseFromString(call.args)) {
    future->Finish(
        TaskError{.type = "LookupError",
                  .message = absl::StrCat(
                      "not run after the restart: function '", call.function,
                      "' or pool '", call.pool, "' is no longer configured")},
        now);
    ++counts.refused;
    return;
  }
  if (call.deadline != absl::InfiniteFuture()) ScheduleDeadline(future);
  std::vector<google::protobuf::Value> values(args.values().begin(),
                                              args.values().end());
  requeue[pool->second.get()].push_back(
      QueuedTask{std::move(future),
                 Task{.spec = *spec, .args = BoundArgs(std::move(values))}});
}

void Engine::RememberRequest(const AcceptedCall& call,
                             const std::shared_ptr<Future>& future) {
  if (call.request_id.empty()) return;
  google::protobuf::ListValue list;
  if (!list.ParseFromString(call.args)) return;
  const BoundArgs args(std::vector<google::protobuf::Value>(
      list.values().begin(), list.values().end()));
  requests_
      .StartOnce(
          RequestKey{.principal = call.principal,
                     .request_id = call.request_id},
          CallFingerprint(call.function, call.pool, args, call.timeout),
          [](absl::string_view) -> absl::StatusOr<std::shared_ptr<Future>> {
            return absl::NotFoundError("recovering");
          },
          [&]() -> absl::StatusOr<std::shared_ptr<Future>> { return future; })
      .IgnoreError();
}

}  // namespace futured::server
