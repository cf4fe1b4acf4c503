#include "server/pools/process_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "server/os/adopted_children.h"
#include "server/os/child_process.h"
#include "server/task/progress.h"
#include "server/worker/worker_protocol.h"

extern char** environ;

namespace futured::server {
namespace {

// Backoff between failed worker starts: doubles from the first to the last.
constexpr absl::Duration kFirstStartBackoff = absl::Milliseconds(50);
constexpr absl::Duration kLastStartBackoff = absl::Seconds(10);

// How long a shutdown lets idle workers exit on their own before SIGKILL.
constexpr absl::Duration kExitWait = absl::Seconds(1);

// Signals a worker through its pidfd, and the process group it leads, so
// that what a task forked goes too. The group's ID cannot have been reused:
// its leader, the worker, is not reaped yet (only the I/O thread reaps, and
// it signals before it reaps).
void SignalWorker(const ChildProcess& process, int signal_number) {
  process.Signal(signal_number);
  process.SignalGroup(signal_number);
}

pollfd PollIn(int fd) {
  return pollfd{.fd = fd, .events = POLLIN, .revents = 0};
}

// Milliseconds from `now` to `when` for poll(): -1 for never, rounded up.
int PollTimeoutMs(absl::Time now, absl::Time when) {
  if (when == absl::InfiniteFuture()) return -1;
  if (when <= now) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(when - now) + 1, 60'000));
}

}  // namespace

ProcessPool::Shared::Shared()
    : wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ProcessPool::Shared::~Shared() {
  if (wake_fd >= 0) close(wake_fd);
}

void ProcessPool::Shared::Wake() const {
  const uint64_t one = 1;
  // Fails only when the counter is saturated, and then poll() wakes anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd, &one, sizeof(one));
}

ProcessPool::ProcessPool(Options options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  io_thread_ = std::thread(&ProcessPool::IoLoop, this);
}

ProcessPool::~ProcessPool() { Shutdown(absl::ZeroDuration()); }

absl::Status ProcessPool::SubmitAll(std::vector<QueuedTask> tasks) {
  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->stopping) {
      return absl::UnavailableError(
          absl::StrCat("process pool '", name(), "' is shutting down"));
    }
    if (!shared_->broken.empty()) {
      return absl::UnavailableError(
          absl::StrCat("process pool '", name(),
                       "' cannot start workers: ", shared_->broken));
    }
    const int64_t queued =
        static_cast<int64_t>(shared_->queue.size()) + shared_->unstarted;
    if (absl::Status room = QueueRoom("process", name(), queued, tasks.size(),
                                      options_.queue_capacity);
        !room.ok()) {
      return room;
    }
    for (QueuedTask& task : tasks) shared_->queue.push_back(std::move(task));
  }
  shared_->Wake();
  return absl::OkStatus();
}

void ProcessPool::StopAccepting() {
  std::deque<Entry> queued;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->stopping = true;
    queued.swap(shared_->queue);
  }
  CancelAll(queued);
  // Those sent in a batch and not started are withdrawn: they never run.
  const absl::Time now = absl::Now();
  for (const std::shared_ptr<Future>& future : RunningFutures()) {
    future->CancelIfPending(now);
  }
}

bool ProcessPool::Shutdown(absl::Duration grace, absl::Duration stop_wait) {
  if (!io_thread_.joinable()) return true;
  StopAccepting();
  // A running future's cancel callback kills its worker.
  AwaitRunningTasks(grace, stop_wait);
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->exit = true;
  }
  shared_->Wake();
  io_thread_.join();
  return true;
}

bool ProcessPool::AwaitNoneRunning(absl::Duration timeout) {
  absl::MutexLock lock(&shared_->mu);
  return shared_->mu.AwaitWithTimeout(
      absl::Condition(shared_.get(), &Shared::Idle), timeout);
}

std::vector<std::shared_ptr<Future>> ProcessPool::RunningFutures() const {
  absl::MutexLock lock(&shared_->mu);
  std::vector<std::shared_ptr<Future>> running;
  for (const auto& [id, future] : shared_->running) running.push_back(future);
  return running;
}

PoolStats ProcessPool::Stats() const {
  absl::MutexLock lock(&shared_->mu);
  const int64_t sent = static_cast<int64_t>(shared_->running.size());
  return PoolStats{.name = options_.name,
                   .kind = "process",
                   .workers = options_.workers,
                   .queued = static_cast<int64_t>(shared_->queue.size()) +
                             shared_->unstarted,
                   .running = sent - shared_->unstarted,
                   .queue_capacity = options_.queue_capacity,
                   .worker_restarts = shared_->restarts,
                   .in_batches = shared_->unstarted};
}

void ProcessPool::IoLoop() {
  while (true) {
    bool stopping;
    {
      absl::MutexLock lock(&shared_->mu);
      if (shared_->exit) break;
      stopping = shared_->stopping;
    }
    const absl::Time now = absl::Now();
    if (!stopping) StartWorkers(now);
    ScanBatches(now);
    HandleStopRequests(now);
    Dispatch(now);
    EscalateKills(now);
    PollOnce(now, /*starting=*/!stopping);
  }
  EndAllWorkers();
}

void ProcessPool::StartWorkers(absl::Time now) {
  while (static_cast<int>(workers_.size()) < options_.workers &&
         now >= next_start_) {
    absl::StatusOr<std::unique_ptr<Worker>> worker = SpawnWorker();
    if (!worker.ok()) {
      RecordStartFailure(worker.status(), now);
      return;
    }
    workers_.push_back(*std::move(worker));
    PublishWorkerPids();
  }
}

void ProcessPool::PublishWorkerPids() {
  std::vector<int> pids;
  pids.reserve(workers_.size());
  for (const std::unique_ptr<Worker>& worker : workers_) {
    pids.push_back(worker->process.pid());
  }
  absl::MutexLock lock(&shared_->mu);
  shared_->worker_pids = std::move(pids);
}

std::vector<WorkerView> ProcessPool::Workers() const {
  std::vector<WorkerView> workers;
  std::vector<std::shared_ptr<Future>> running;
  {
    absl::MutexLock lock(&shared_->mu);
    for (int pid : shared_->worker_pids) {
      workers.push_back(WorkerView{.pid = pid, .future = nullptr});
    }
    running.reserve(shared_->running.size());
    for (const auto& [id, future] : shared_->running) running.push_back(future);
  }
  // Outside the pool's lock: each future's own lock, briefly.
  for (std::shared_ptr<Future>& future : running) {
    // Most of a long batch has not started: skip those before the copy.
    if (future->state() != FutureState::kRunning) continue;
    const FutureSnapshot snapshot = future->Snapshot();
    if (snapshot.state != FutureState::kRunning) continue;
    for (WorkerView& worker : workers) {
      if (worker.pid == snapshot.worker_pid) worker.future = std::move(future);
    }
  }
  return workers;
}

absl::StatusOr<std::unique_ptr<ProcessPool::Worker>>
ProcessPool::SpawnWorker() {
  absl::StatusOr<std::shared_ptr<TaskSlots>> slots = TaskSlots::Create();
  if (!slots.ok()) return slots.status();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::ErrnoToStatus(errno, "socketpair");
  }
  std::vector<std::string> args = {
      options_.worker_binary, absl::StrCat("--parent_pid=", getpid()),
      absl::StrCat("--memory_limit_bytes=", options_.memory_limit_bytes),
      absl::StrCat("--cpu_limit_seconds=",
                   absl::ToInt64Seconds(
                       absl::Ceil(options_.cpu_limit, absl::Seconds(1)))),
      absl::StrCat("--max_frame_bytes=", options_.max_frame_bytes)};
  for (const std::string& plugin : options_.plugins) {
    args.push_back(absl::StrCat("--plugin=", plugin));
  }
  args.insert(args.end(), options_.worker_flags.begin(),
              options_.worker_flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // The worker gets /dev/null as stdin and stdout, the daemon's stderr for
  // its log lines, its socket on kWorkerChannelFd, its task slots on
  // kWorkerSlotsFd and nothing else.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], kWorkerChannelFd);
  posix_spawn_file_actions_adddup2(&actions, (*slots)->fd(), kWorkerSlotsFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kWorkerSlotsFd + 1);
  // ChildProcess::Spawn: no blocked signals, default dispositions (the
  // daemon blocks SIGTERM and ignores SIGPIPE), and a process group of its
  // own, so that a terminal's Ctrl-C reaches the daemon, which stops its
  // workers itself.
  std::variant<ChildProcess, SpawnError> spawned = ChildProcess::Spawn(
      options_.worker_binary.c_str(), &actions, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (const SpawnError* error = std::get_if<SpawnError>(&spawned)) {
    close(fds[0]);
    if (error->call == SpawnError::Call::kPidfdOpen) {
      return absl::ErrnoToStatus(error->error, "pidfd_open");
    }
    return absl::ErrnoToStatus(
        error->error, absl::StrCat("cannot start ", options_.worker_binary));
  }
  auto worker = std::make_unique<Worker>();
  worker->process = std::get<ChildProcess>(std::move(spawned));
  worker->channel =
      std::make_unique<WorkerChannel>(fds[0], options_.max_frame_bytes);
  worker->slots = *std::move(slots);
  return worker;
}

void ProcessPool::RecordStartFailure(const absl::Status& status,
                                     absl::Time now) {
  ++start_failures_;
  const absl::Duration backoff = std::min(
      kFirstStartBackoff * (int64_t{1} << std::min(start_failures_ - 1, 20)),
      kLastStartBackoff);
  next_start_ = now + backoff;
  Log(LogLevel::kWarning,
      absl::StrCat("process pool '", name(), "': worker start failed (",
                   start_failures_, " in a row): ", status.message(),
                   "; next try in ", absl::FormatDuration(backoff)));
  const bool any_ready = std::any_of(workers_.begin(), workers_.end(),
                                     [](const auto& w) { return w->ready; });
  if (start_failures_ < options_.max_start_failures || any_ready) return;
  std::deque<Entry> queued;
  bool newly_broken;
  {
    absl::MutexLock lock(&shared_->mu);
    newly_broken = shared_->broken.empty();
    shared_->broken = std::string(status.message());
    queued.swap(shared_->queue);
  }
  if (newly_broken) {
    Log(LogLevel::kError,
        absl::StrCat("process pool '", name(),
                     "' has no worker; Submit is UNAVAILABLE until one "
                     "starts"));
  }
  for (Entry& entry : queued) {
    entry.future->Finish(
        TaskError{.type = "BrokenProcessPool",
                  .message = absl::StrCat(
                      "process pool '", name(),
                      "' cannot start workers: ", status.message())},
        absl::Now());
  }
}

void ProcessPool::HandleStopRequests(absl::Time now) {
  std::vector<uint64_t> task_ids;
  {
    absl::MutexLock lock(&shared_->mu);
    task_ids.swap(shared_->stop_requests);
  }
  for (const uint64_t task_id : task_ids) {
    for (const std::unique_ptr<Worker>& worker : workers_) {
      if (worker->sent.empty() || worker->sent.front().task_id != task_id ||
          !worker->sent.front().started || worker->stopping) {
        continue;
      }
      // Unless it has just ended: then its result is on the way, and the
      // worker goes on with its batch.
      if (worker->slots->RequestStop(worker->sent.front().slot)) {
        worker->stopping = true;
        Kill(*worker, SIGTERM, "", now);
      }
    }
  }
}

void ProcessPool::Dispatch(absl::Time now) {
  for (const std::unique_ptr<Worker>& worker : workers_) {
    if (!DispatchTo(*worker, now)) return;
  }
}

bool ProcessPool::DispatchTo(Worker& worker, absl::Time now) {
  // A batch may come back empty when all of it was cancelled in the queue;
  // then the next.
  while (Idle(worker)) {
    std::vector<Entry> batch = TakeBatch(worker);
    if (batch.empty()) return false;
    SendBatch(worker, std::move(batch), now);
  }
  return true;
}

bool ProcessPool::Idle(const Worker& worker) const {
  // Never a worker that has been signalled: it may still answer its
  // stopped task (exec does, having killed its command) before it dies.
  return worker.ready && !worker.batch_open && worker.channel != nullptr &&
         worker.failure.empty() && !worker.stopping;
}

void ProcessPool::EscalateKills(absl::Time now) {
  for (const std::unique_ptr<Worker>& worker : workers_) {
    if (worker->kill_at <= now) {
      SignalWorker(worker->process, SIGKILL);
      worker->kill_at = absl::InfiniteFuture();
    }
  }
}

void ProcessPool::PollOnce(absl::Time now, bool starting) {
  absl::Time wake_at = absl::InfiniteFuture();
  if (starting && static_cast<int>(workers_.size()) < options_.workers) {
    wake_at = next_start_;
  }
  std::vector<pollfd> fds = {PollIn(shared_->wake_fd)};
  for (const std::unique_ptr<Worker>& worker : workers_) {
    wake_at = std::min(wake_at, worker->kill_at);
    if (!worker->sent.empty()) wake_at = std::min(wake_at, next_scan_);
    fds.push_back(PollIn(worker->process.pidfd()));
    // A closed channel polls as -1, which poll() skips.
    fds.push_back(PollIn(worker->channel ? worker->channel->fd() : -1));
  }
  if (poll(fds.data(), fds.size(), PollTimeoutMs(now, wake_at)) <= 0) return;
  if (fds[0].revents != 0) {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(shared_->wake_fd, &count, sizeof(count));
  }
  // Results first, so that a worker that answered and then died is not
  // blamed for its task; then deaths.
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (fds[2 + 2 * i].revents != 0) ReadFromWorker(*workers_[i]);
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (fds[1 + 2 * i].revents != 0) Reap(*workers_[i]);
  }
  if (std::erase_if(workers_, [](const auto& w) { return w->reaped; }) > 0) {
    PublishWorkerPids();
  }
}

void ProcessPool::ReadFromWorker(Worker& worker) {
  if (worker.channel == nullptr) return;
  absl::Status read = worker.channel->ReadSome();
  while (read.ok() && worker.channel != nullptr) {
    internal::WorkerToDaemon message;
    absl::StatusOr<bool> next = worker.channel->Next(&message);
    if (!next.ok()) {
      read = next.status();
      break;
    }
    if (!*next) return;
    HandleMessage(worker, message);
  }
  if (worker.channel == nullptr) return;
  if (!absl::IsOutOfRange(read)) {
    Log(LogLevel::kWarning,
        absl::StrCat("process pool '", name(), "': worker ",
                     worker.process.pid(), ": ", read.message()));
    Kill(worker, SIGKILL,
         absl::StrCat("its messages were rejected (", read.message(), ")"),
         absl::Now());
  }
  // The worker closed its end (it is exiting) or broke the protocol; its
  // pidfd reports the exit.
  worker.channel.reset();
}

void ProcessPool::HandleMessage(Worker& worker,
                                const internal::WorkerToDaemon& message) {
  if (message.has_ready() && !worker.ready) {
    HandleReady(worker);
    return;
  }
  if (message.has_report() && HandleReport(worker, message.report())) return;
  if (message.has_progress()) {
    // One for a task that has just ended (killed, timed out) is stale.
    const internal::TaskProgress& progress = message.progress();
    if (!Advance(worker)) {
      ProtocolError(worker, "its task slots say what cannot be");
      return;
    }
    if (!worker.sent.empty() && worker.sent.front().started &&
        progress.task_id() == worker.sent.front().task_id) {
      worker.sent.front().entry.future->SetProgress(
          MakeProgress(progress.fraction(), progress.message(), absl::Now()));
    }
    return;
  }
  ProtocolError(worker,
                absl::StrCat("it sent an unexpected message (",
                             message.ShortDebugString().substr(0, 200), ")"));
}

void ProcessPool::HandleReady(Worker& worker) {
  worker.ready = true;
  start_failures_ = 0;
  bool was_broken;
  {
    absl::MutexLock lock(&shared_->mu);
    was_broken = !shared_->broken.empty();
    shared_->broken.clear();
  }
  if (was_broken) {
    Log(LogLevel::kInfo,
        absl::StrCat("process pool '", name(), "' has a worker again"));
  }
}

void ProcessPool::ProtocolError(Worker& worker, absl::string_view what) {
  Log(LogLevel::kWarning, absl::StrCat("process pool '", name(), "': worker ",
                                       worker.process.pid(), ": ", what));
  Kill(worker, SIGKILL, std::string(what), absl::Now());
  worker.channel.reset();  // nothing more it sends is believed
}

void ProcessPool::Kill(Worker& worker, int signal_number, std::string failure,
                       absl::Time now) {
  if (!failure.empty() && worker.failure.empty()) {
    worker.failure = std::move(failure);
  }
  SignalWorker(worker.process, signal_number);
  if (signal_number != SIGKILL) {
    worker.kill_at = std::min(worker.kill_at, now + options_.kill_grace);
  }
}

void ProcessPool::Reap(Worker& worker) {
  // Looked at first and reaped after KillLeftovers(): until then its PID
  // still names its process group.
  absl::StatusOr<std::optional<ChildExit>> ended = worker.process.PeekExit();
  ChildExit exit;
  if (!ended.ok()) {
    // Only if someone else reaped it; it is gone all the same.
    Log(LogLevel::kWarning,
        absl::StrCat("process pool '", name(), "': cannot reap worker ",
                     worker.process.pid(), ": ", ended.status().message()));
    exit = ChildExit{.exited = false, .status = 0};
  } else if (!ended->has_value()) {
    return;  // not yet
  } else {
    KillLeftovers(worker);
    exit = worker.process.Reap();
  }
  // What it sent before it died still counts.
  while (worker.channel != nullptr) ReadFromWorker(worker);
  worker.reaped = true;

  const bool exited = exit.exited;
  const std::string death = exit.Describe();
  if (!worker.ready) {
    bool stopping;
    {
      absl::MutexLock lock(&shared_->mu);
      stopping = shared_->stopping;
    }
    if (!stopping) {
      RecordStartFailure(
          absl::UnavailableError(absl::StrCat(options_.worker_binary, " (pid ",
                                              worker.process.pid(), ") ", death,
                                              " before it was ready")),
          absl::Now());
    }
    return;
  }
  {
    // Counted before its future is finished, so that whoever hears of the
    // failure sees the restart in GetStats too.
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->stopping) ++shared_->restarts;
  }
  const bool busy = !worker.sent.empty();
  SettleDeadBatch(worker, exit, death);
  if (!busy && (!exited || exit.status != 0)) {
    Log(LogLevel::kWarning,
        absl::StrCat("process pool '", name(), "': idle worker process ",
                     worker.process.pid(), " ", death));
  }
}

void ProcessPool::KillLeftovers(const Worker& worker) {
  worker.process.SignalGroup(SIGKILL);
  // The daemon adopted what the worker's command left (adopted_children.h).
  const pid_t group = worker.slots->CommandGroup();
  if (group != 0 && KillAdoptedGroup(group)) {
    Log(LogLevel::kWarning,
        absl::StrCat("process pool '", name(), "': worker ",
                     worker.process.pid(),
                     " died before its command; killed the command's "
                     "process group ",
                     group));
  }
}

Outcome ProcessPool::DeathOutcome(const Worker& worker, bool exited, int status,
                                  absl::string_view death) const {
  std::string message = absl::StrCat("worker process ", worker.process.pid(),
                                     " ", death, " while running ",
                                     worker.sent.front().entry.task.spec->name);
  if (!worker.failure.empty()) {
    absl::StrAppend(&message, ": the pool killed it because ", worker.failure);
  } else if (!exited && status == SIGXCPU) {
    absl::StrAppend(&message, ": it used up its CPU-time limit of ",
                    absl::FormatDuration(options_.cpu_limit));
  } else if (!exited && status == SIGKILL && !worker.stopping) {
    absl::StrAppend(&message,
                    " (by the kernel's out-of-memory killer, or by another "
                    "process)");
  }
  // A worker killed to stop its cancelled task died as asked.
  if (worker.stopping) return Cancelled{};
  Log(LogLevel::kWarning,
      absl::StrCat("process pool '", name(), "': ", message));
  return TaskError{.type = "WorkerDiedError", .message = message};
}

void ProcessPool::EndAllWorkers() {
  // Idle workers exit when their socket closes; busy ones (whose tasks
  // outlived Shutdown's waits) are killed.
  const absl::Time now = absl::Now();
  for (const std::unique_ptr<Worker>& worker : workers_) {
    worker->channel.reset();
    if (!worker->sent.empty()) {
      worker->stopping = true;
      Kill(*worker, SIGKILL, "", now);
    }
  }
  const absl::Time deadline = now + kExitWait;
  while (!workers_.empty()) {
    std::vector<pollfd> fds;
    for (const std::unique_ptr<Worker>& worker : workers_) {
      fds.push_back(PollIn(worker->process.pidfd()));
    }
    const int timeout = PollTimeoutMs(absl::Now(), deadline);
    if (timeout == 0) {
      for (const std::unique_ptr<Worker>& worker : workers_) {
        SignalWorker(worker->process, SIGKILL);
      }
    }
    // After SIGKILL every worker dies promptly; wait without a timeout.
    poll(fds.data(), fds.size(), timeout == 0 ? -1 : timeout);
    for (size_t i = 0; i < workers_.size(); ++i) {
      if (fds[i].revents != 0) Reap(*workers_[i]);
    }
    std::erase_if(workers_, [](const auto& w) { return w->reaped; });
    PublishWorkerPids();
  }
}

}  // namespace futured::server
