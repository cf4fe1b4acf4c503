// ProcessPool's batches over the task slots it shares with each worker
// (see process_pool.h): taking a batch from the queue and sending it,
// following its tasks through their slots and the worker's reports, and
// settling what a dead worker's batch left. Everything here runs on the I/O
// thread; the pool's loop, its workers' lives and the protocol are in
// process_pool.cc.
#include <signal.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/frame_codec.h"
#include "server/pools/process_pool.h"
#include "server/worker/worker_protocol.h"

namespace futured::server {
namespace {

// A task's share of a RunTasks frame beyond its own encoding (tag, length).
constexpr size_t kTaskOverheadBytes = 16;

// The message that asks a worker to run `task` (its ID and slot unset).
internal::RunTask ToRunTask(const Task& task, absl::Time deadline) {
  internal::RunTask run;
  run.set_function(task.spec->name);
  for (size_t i = 0; i < task.args.size(); ++i) {
    *run.add_args() = task.args.Get(i);
  }
  if (deadline != absl::InfiniteFuture()) {
    run.set_deadline_unix_micros(absl::ToUnixMicros(deadline));
  }
  return run;
}

}  // namespace

std::vector<ProcessPool::Entry> ProcessPool::TakeBatch(const Worker& worker) {
  std::vector<Entry> batch;
  absl::MutexLock lock(&shared_->mu);
  // A share of a long queue; one task when the queue is no longer than
  // the workers, as without batches.
  int64_t size = std::clamp<int64_t>(
      static_cast<int64_t>(shared_->queue.size()) / options_.workers, 1,
      kMaxBatch);
  if (options_.max_tasks_per_child > 0) {
    size = std::min(size, options_.max_tasks_per_child - worker.tasks_done);
  }
  size = std::min(size, static_cast<int64_t>(shared_->queue.size()));
  batch.reserve(size);
  for (int64_t i = 0; i < size; ++i) {
    batch.push_back(std::move(shared_->queue.front()));
    shared_->queue.pop_front();
  }
  return batch;
}

void ProcessPool::SendBatch(Worker& worker, std::vector<Entry> batch,
                            absl::Time now) {
  internal::RunTasks message;
  size_t bytes = 0;
  std::vector<std::pair<uint64_t, std::shared_ptr<Future>>> sent;
  for (size_t b = 0; b < batch.size(); ++b) {
    Entry& entry = batch[b];
    internal::RunTask run = ToRunTask(entry.task, entry.future->deadline());
    // Several tasks together stay well within a frame; what is left goes
    // back to the queue's front.
    bytes += run.ByteSizeLong() + kTaskOverheadBytes;
    if (!sent.empty() && bytes > options_.max_frame_bytes / 2) {
      Requeue(std::vector<Entry>(std::make_move_iterator(batch.begin() + b),
                                 std::make_move_iterator(batch.end())));
      break;
    }
    const uint32_t slot = worker.next_slot % TaskSlots::kCount;
    worker.slots->Queue(slot);
    // Queued first, so that a Cancel() from now on finds the slot to
    // withdraw. False for a future cancelled (or failed at its deadline)
    // in the queue: it is left out.
    if (!entry.future->SetWithdraw(
            [slots = worker.slots, slot] { return slots->Withdraw(slot); },
            worker.process.pid())) {
      continue;
    }
    ++worker.next_slot;
    const uint64_t task_id = next_task_id_++;
    run.set_task_id(task_id);
    run.set_slot(slot);
    *message.add_tasks() = std::move(run);
    sent.emplace_back(task_id, entry.future);
    worker.sent.push_back(
        Sent{.task_id = task_id, .slot = slot, .entry = std::move(entry)});
  }
  if (sent.empty()) return;
  if (options_.before_dispatch) {
    std::vector<Future*> futures;
    futures.reserve(sent.size());
    for (const auto& [task_id, future] : sent) futures.push_back(future.get());
    options_.before_dispatch(futures, worker.process.pid());
  }
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->running.insert(sent.begin(), sent.end());
    shared_->unstarted += static_cast<int64_t>(sent.size());
  }
  worker.batch_open = true;
  // Look soon, so that a task that runs long shows RUNNING soon.
  scan_interval_ = kFirstScan;
  next_scan_ = std::min(next_scan_, now + kFirstScan);
  absl::Status status = worker.channel->Send(message);
  if (absl::IsResourceExhausted(status)) {
    // Nothing was written, and it was one task: the worker is fine, the
    // call is too large.
    worker.batch_open = false;
    FinishTask(worker,
               TaskError{.type = "ValueError",
                         .message = absl::StrCat("arguments too large for a "
                                                 "worker process: ",
                                                 status.message())},
               now);
  } else if (!status.ok()) {
    // The worker is gone or going; its reaping settles the batch.
    Kill(worker, SIGKILL,
         absl::StrCat("cannot send it the tasks: ", status.message()), now);
  }
}

bool ProcessPool::HandleReport(Worker& worker,
                               const internal::TaskReport& report) {
  for (const internal::TaskResult& result : report.results()) {
    auto it = std::find_if(
        worker.sent.begin(), worker.sent.end(),
        [&](const Sent& sent) { return sent.task_id == result.task_id(); });
    if (it == worker.sent.end() || it->socket_result.has_value()) return false;
    it->socket_result = result;
  }
  if (!report.batch_done()) return Advance(worker);
  if (!worker.batch_open) return false;
  worker.batch_open = false;
  // The worker gets its next batch before this one's futures are settled
  // (their callbacks take time), so that it runs meanwhile. Its tasks take
  // other slots: a batch has at most half of them. Not when the worker is
  // to be recycled, as its count of tasks run is not settled yet.
  const uint64_t next_batch = next_task_id_;
  if (options_.max_tasks_per_child == 0) DispatchTo(worker, absl::Now());
  if (!Advance(worker)) return false;
  // Every task of a batch is settled by its end.
  if (!worker.sent.empty() && worker.sent.front().task_id < next_batch) {
    return false;
  }
  if (options_.max_tasks_per_child > 0 &&
      worker.tasks_done >= options_.max_tasks_per_child) {
    worker.channel.reset();  // the worker reads end-of-file and exits
  }
  return true;
}

bool ProcessPool::Advance(Worker& worker) {
  while (!worker.sent.empty()) {
    Sent& sent = worker.sent.front();
    const uint32_t state = worker.slots->Load(sent.slot);
    if (state == TaskSlots::kQueued) return true;
    if (state == TaskSlots::kWithdrawn) {
      // Its future is done (Cancel() or a deadline withdrew it); the
      // worker will never start it.
      if (sent.socket_result) return false;
      FinishTask(worker, Cancelled{}, absl::Now());
      continue;
    }
    const absl::Time start =
        absl::FromUnixNanos(worker.slots->StartNanos(sent.slot));
    internal::TaskResult result;
    if (sent.socket_result) {
      result = *std::move(sent.socket_result);
    } else if (state == TaskSlots::kDone) {
      std::optional<std::string> bytes = worker.slots->Result(sent.slot);
      if (!bytes) return true;  // sent on the socket, not read yet
      if (!ParseFramePayload(*bytes, &result) ||
          result.task_id() != sent.task_id) {
        return false;
      }
      result.set_end_unix_nanos(worker.slots->EndNanos(sent.slot));
    } else if (state == TaskSlots::kStarted || state == TaskSlots::kStopping) {
      if (!sent.started) MarkStarted(worker, start, /*watch_stop=*/true);
      return true;  // running
    } else {
      return false;
    }
    if (!sent.started) MarkStarted(worker, start, /*watch_stop=*/false);
    FinishTask(worker, FromWire(result),
               absl::FromUnixNanos(result.end_unix_nanos()));
  }
  return true;
}

void ProcessPool::ScanBatches(absl::Time now) {
  if (now < next_scan_) return;
  bool moved = false;
  for (const std::unique_ptr<Worker>& worker : workers_) {
    if (worker->sent.empty() || worker->channel == nullptr) continue;
    const size_t before = worker->sent.size();
    const bool started_before = worker->sent.front().started;
    if (!Advance(*worker)) {
      ProtocolError(*worker, "its task slots say what cannot be");
      continue;
    }
    moved |= worker->sent.size() != before ||
             (!worker->sent.empty() &&
              worker->sent.front().started != started_before);
  }
  scan_interval_ = moved ? kFirstScan : std::min(scan_interval_ * 2, kLastScan);
  next_scan_ = now + scan_interval_;
}

void ProcessPool::MarkStarted(Worker& worker, absl::Time when,
                              bool watch_stop) {
  Sent& sent = worker.sent.front();
  sent.started = true;
  {
    absl::MutexLock lock(&shared_->mu);
    --shared_->unstarted;
  }
  // False if a Cancel() or a deadline found it started (its withdrawal
  // failed) and made it RUNNING or done first; then its token is cancelled,
  // and a callback added below runs at once and stops it.
  sent.entry.future->Start(when, worker.process.pid());
  if (!watch_stop) return;  // it has ended already
  // May run at once (and then takes shared_->mu): no lock is held here.
  sent.cancel_callback = sent.entry.future->token().AddCancelCallback(
      [weak = std::weak_ptr<Shared>(shared_), task_id = sent.task_id] {
        std::shared_ptr<Shared> shared = weak.lock();
        if (shared == nullptr) return;
        {
          absl::MutexLock lock(&shared->mu);
          shared->stop_requests.push_back(task_id);
        }
        shared->Wake();
      });
}

void ProcessPool::FinishTask(Worker& worker, Outcome outcome, absl::Time when) {
  Sent sent = std::move(worker.sent.front());
  worker.sent.pop_front();
  if (sent.started) {
    if (sent.cancel_callback != 0) {
      sent.entry.future->token().RemoveCancelCallback(sent.cancel_callback);
    }
    ++worker.tasks_done;
  }
  // Out of the pool's figures before the future is done, so that whoever
  // hears of its end sees the pool without it.
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->running.erase(sent.task_id);
    if (!sent.started) --shared_->unstarted;
  }
  // A withdrawn task's future is done already, and Finish() leaves it so.
  sent.entry.future->Finish(std::move(outcome), when);
}

void ProcessPool::SettleDeadBatch(Worker& worker, const ChildExit& exit,
                                  absl::string_view death) {
  // What it finished counts (its slots outlive it); the tasks of its batch
  // it never started go back to the queue; the one it had started
  // (normally one at most) died with it.
  Advance(worker);  // up to the first it did not finish, whatever its state
  std::vector<Entry> unstarted;
  while (!worker.sent.empty()) {
    Sent& sent = worker.sent.front();
    const uint32_t state = worker.slots->Load(sent.slot);
    if (state == TaskSlots::kQueued) {
      unstarted.push_back(std::move(sent.entry));
      {
        absl::MutexLock lock(&shared_->mu);
        shared_->running.erase(sent.task_id);
        --shared_->unstarted;
      }
      worker.sent.pop_front();
    } else if (state == TaskSlots::kWithdrawn) {
      FinishTask(worker, Cancelled{}, absl::Now());
    } else {
      if (!sent.started) {
        MarkStarted(worker,
                    absl::FromUnixNanos(worker.slots->StartNanos(sent.slot)),
                    /*watch_stop=*/false);
      }
      FinishTask(worker, DeathOutcome(worker, exit.exited, exit.status, death),
                 absl::Now());
    }
  }
  Requeue(std::move(unstarted));
}

void ProcessPool::Requeue(std::vector<Entry> entries) {
  {
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->stopping) {
      shared_->queue.insert(shared_->queue.begin(),
                            std::make_move_iterator(entries.begin()),
                            std::make_move_iterator(entries.end()));
      return;
    }
  }
  CancelAll(entries);
}

}  // namespace futured::server
