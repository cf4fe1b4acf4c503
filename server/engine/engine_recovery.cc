// Engine::Recover() and Engine::Restore(): the futures a journal brings back
// after a restart, or from a lost node of the cluster.
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/engine/call_fingerprint.h"
#include "server/engine/engine.h"

namespace futured::server {

TaskError Interruption::Error(bool retried) const {
  return TaskError{
      .type = type,
      .message = absl::StrCat(
          what, " stopped while this task was running or about to start; ",
          retried ? "its retry policy runs it again (at least once)"
                  : "it was not run again (at most once)")};
}

absl::StatusOr<RecoveryCounts> Engine::Recover() {
  RecoveryCounts counts;
  if (journal_ == nullptr) return counts;
  const Interruption interruption{.type = "InterruptedError",
                                  .what = "the daemon"};
  const absl::Time now = absl::Now();
  // Per pool, in the order they were accepted.
  std::map<Pool*, std::vector<QueuedTask>> requeue;
  // Done futures without a request ID stay on disk until asked for.
  absl::Status read = journal_->RecoverLeavingDone(
      [&](JournaledFuture& future) {
        RestoreOne(future, now, interruption, requeue, counts);
      },
      [&](const Journal::LeftOnDisk& left) {
        LeaveDone(left);
        ++counts.done;
      });
  if (!read.ok()) return read;
  QueueRestored(requeue, counts);
  return counts;
}

RecoveryCounts Engine::Restore(std::vector<JournaledFuture>& journaled,
                               const Interruption& interruption) {
  RecoveryCounts counts;
  const absl::Time now = absl::Now();
  std::map<Pool*, std::vector<QueuedTask>> requeue;
  for (JournaledFuture& future : journaled) {
    RestoreOne(future, now, interruption, requeue, counts);
  }
  QueueRestored(requeue, counts);
  return counts;
}

void Engine::RestoreOne(JournaledFuture& journaled, absl::Time now,
                        const Interruption& interruption,
                        std::map<Pool*, std::vector<QueuedTask>>& requeue,
                        RecoveryCounts& counts) {
  if (journaled.ending) {
    RestoreDone(journaled);
    ++counts.done;
  } else {
    RestoreUnfinished(journaled, now, interruption, requeue, counts);
  }
}

void Engine::QueueRestored(std::map<Pool*, std::vector<QueuedTask>>& requeue,
                           RecoveryCounts& counts) {
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
}

void Engine::RestoreDone(JournaledFuture& journaled) {
  std::shared_ptr<Future> future = MakeDone(journaled);
  // Not counted in the task metrics: they count what ended since the
  // daemon started, and this one was counted by the daemon it ended in.
  table_.Insert(future, journaled.call.principal);
  RememberRequest(journaled.call, future);
}

void Engine::LeaveDone(const Journal::LeftOnDisk& left) {
  if (table_.InsertOnDisk(left.id, left.principal, left.end_time)) return;
  // An ID too long to keep inline (none that this daemon made): whole.
  absl::StatusOr<JournaledFuture> journaled = journal_->LoadDone(left.id);
  if (journaled.ok() && journaled->ending) RestoreDone(*journaled);
}

absl::StatusOr<std::shared_ptr<Future>> Engine::LoadDone(
    absl::string_view id) const {
  if (journal_ == nullptr) {
    return absl::InternalError(absl::StrCat("future ", id, " is on no disk"));
  }
  absl::StatusOr<JournaledFuture> journaled = journal_->LoadDone(id);
  if (!journaled.ok()) return journaled.status();
  if (!journaled->ending) {
    return absl::DataLossError(absl::StrCat(
        "journal: future ", id, " was done at the start but is not now"));
  }
  return MakeDone(*journaled);
}

std::shared_ptr<Future> Engine::MakeDone(JournaledFuture& journaled) {
  const AcceptedCall& call = journaled.call;
  auto future = std::make_shared<Future>(call.id, call.function, call.pool,
                                         call.submit_time, call.deadline);
  if (call.retry_policy) {
    // For FutureInfo only: no hook, so nothing is retried.
    future->SetRetry(*call.retry_policy, nullptr, journaled.attempt,
                     std::move(journaled.earlier_attempts));
  }
  FutureEnding& ending = *journaled.ending;
  if (ending.start_time)
    future->Start(*ending.start_time, journaled.worker_pid);
  if (IsCancelled(ending.outcome) && !ending.start_time) {
    future->Cancel(ending.end_time);
  } else {
    future->Finish(std::move(ending.outcome), ending.end_time);
  }
  return future;
}

void Engine::RestoreUnfinished(
    JournaledFuture& journaled, absl::Time now,
    const Interruption& interruption,
    std::map<Pool*, std::vector<QueuedTask>>& requeue, RecoveryCounts& counts) {
  const AcceptedCall& call = journaled.call;
  auto future = std::make_shared<Future>(call.id, call.function, call.pool,
                                         call.submit_time, call.deadline);
  JournalEnd(future);
  table_.Insert(future, call.principal);
  RememberRequest(call, future);
  AccountWhenDone(future, call.principal,
                  pending_->Acquire(call.principal).ok());
  auto pool = pools_.find(call.pool);
  absl::StatusOr<const TaskSpec*> spec = registry_->Find(call.function);
  google::protobuf::ListValue args;
  std::optional<Task> task;
  if (pool != pools_.end() && spec.ok() && args.ParseFromString(call.args)) {
    task = Task{.spec = *spec,
                .args = BoundArgs(std::vector<google::protobuf::Value>(
                    args.values().begin(), args.values().end()))};
    ArmRetry(future, call.retry_policy ? &*call.retry_policy : nullptr, *task,
             pool->second.get(), journaled.attempt, journaled.earlier_attempts);
  } else if (call.retry_policy) {
    // Shown in its FutureInfo, never retried: it cannot run here.
    future->SetRetry(*call.retry_policy, nullptr, journaled.attempt,
                     journaled.earlier_attempts);
  }
  if (journaled.state == FutureState::kRunning) {
    const std::optional<RetryPolicy>& policy = call.retry_policy;
    const bool retried =
        task && policy &&
        policy->Retries(interruption.Error(true), journaled.attempt);
    future->Start(journaled.start_time.value_or(now), journaled.worker_pid);
    if (retried && call.deadline != absl::InfiniteFuture()) {
      ScheduleDeadline(future);
    }
    // With `retried`, its retry hook journals the next attempt and queues
    // it after its backoff.
    future->Finish(interruption.Error(retried), now);
    ++(retried ? counts.retried : counts.interrupted);
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
  if (!task) {
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
  requeue[pool->second.get()].push_back(
      QueuedTask{std::move(future), *std::move(task)});
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
