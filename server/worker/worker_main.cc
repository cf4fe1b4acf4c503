// futured-worker: one worker process of a process pool. The daemon starts it
// (ProcessPool, server/pools/process_pool.h) with its end of a socketpair on
// descriptor 3 and its task slots (server/worker/task_slots.h) on descriptor 4,
// and sends RunTasks frames: batches of tasks. The worker runs them one at a
// time, in order, with the daemon's built-in tasks and the plugins it is
// given (--plugin, once per plugin): it claims each task's slot (skipping
// one the daemon withdrew), runs it, leaves a small quick result in the
// slot and sends any other, and says when the batch is done. It sends
// coalesced TaskProgress frames while a task runs, and exits when the daemon
// closes the socket or dies, or after a task the daemon asked to stop.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/mutex_deadlock_detection.h"
#include "common/repeated_flag.h"
#include "futured/internal/worker.pb.h"
#include "server/task/cancellation_token.h"
#include "server/task/plugin_loader.h"
#include "server/task/task_call.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"
#include "server/tasks/exec_allow_list.h"
#include "server/tasks/termination_request.h"
#include "server/worker/task_slots.h"
#include "server/worker/worker_channel.h"
#include "server/worker/worker_progress.h"
#include "server/worker/worker_protocol.h"
#include "server/worker/worker_user.h"

ABSL_FLAG(int, parent_pid, 0,
          "the daemon's pid; the worker exits at once if its parent differs");
ABSL_FLAG(int64_t, memory_limit_bytes, 0,
          "address-space limit (RLIMIT_AS) of this process; 0: none");
ABSL_FLAG(int64_t, cpu_limit_seconds, 0,
          "CPU seconds each task may use (RLIMIT_CPU); 0: none");
ABSL_FLAG(int64_t, max_frame_bytes, 64 << 20, "largest frame payload");
ABSL_FLAG(std::vector<std::string>, plugin, {},
          "a task plugin to load; once per plugin");
ABSL_FLAG(std::vector<std::string>, exec_allow, {},
          "the programs the exec task may run (the daemon's --exec_allow)");
ABSL_FLAG(absl::Duration, exec_kill_grace, absl::Seconds(1),
          "SIGTERM to an exec command's process group, then SIGKILL after");
ABSL_FLAG(std::string, user, "",
          "the user to become before anything else (the daemon's "
          "--worker_user); empty: stay the daemon's user");

namespace {
// The shortest time between two progress frames of a task.
constexpr absl::Duration kProgressInterval = absl::Milliseconds(50);
}  // namespace

namespace futured::server {
namespace {

void SetLimit(int resource, rlim_t value) {
  const rlimit limit{.rlim_cur = value, .rlim_max = value};
  setrlimit(resource, &limit);
}

// Lets the next task use `seconds` more CPU time than this process has used:
// the kernel sends SIGXCPU (which kills us) when the soft limit is reached.
void AllowCpuSeconds(int64_t seconds) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double used = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                      (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  rlimit limit{};
  getrlimit(RLIMIT_CPU, &limit);
  limit.rlim_cur = static_cast<rlim_t>(std::ceil(used)) + seconds;
  setrlimit(RLIMIT_CPU, &limit);
}

internal::TaskResult RunOne(const TaskRegistry& registry,
                            const internal::RunTask& request,
                            WorkerProgress& progress) {
  internal::TaskResult result;
  result.set_task_id(request.task_id());
  absl::StatusOr<const TaskSpec*> spec = registry.Find(request.function());
  if (!spec.ok()) {
    ToWire(TaskError{.type = "LookupError",
                     .message = std::string(spec.status().message())},
           &result);
    return result;
  }
  const BoundArgs args(std::vector<google::protobuf::Value>(
      request.args().begin(), request.args().end()));
  const absl::Time deadline =
      request.deadline_unix_micros() == 0
          ? absl::InfiniteFuture()
          : absl::FromUnixMicros(request.deadline_unix_micros());
  // Never cancelled: the daemon stops a task here by killing the process.
  const CancellationToken token;
  const TaskContext ctx(token, deadline, PoolKind::kProcess, &progress);
  progress.BeginTask(request.task_id());
  const Outcome outcome = CallTask(**spec, ctx, args);
  progress.EndTask();  // no progress frame after the result
  ToWire(outcome, &result);
  result.set_end_unix_nanos(absl::ToUnixNanos(absl::Now()));
  return result;
}

// Becomes --user, if given, for good. Exits on failure: a worker never runs
// a task with more privileges than it was given.
absl::Status BecomeUserFromFlag() {
  const std::string name = absl::GetFlag(FLAGS_user);
  if (name.empty()) return absl::OkStatus();
  absl::StatusOr<WorkerUser> user = LookUpUser(name);
  if (!user.ok()) return user.status();
  return BecomeUser(*user);
}

// The worker's end of the protocol: runs batches, leaving each task's
// times and small results in its slot and sending the rest. Used by the
// main thread only (progress frames go out from the reporter's thread,
// under the same `send_mu`).
class BatchRunner {
 public:
  BatchRunner(const TaskRegistry& registry, TaskSlots& slots,
              WorkerChannel& channel, absl::Mutex& send_mu,
              WorkerProgress& progress, int64_t cpu_limit_seconds)
      : registry_(registry),
        slots_(slots),
        channel_(channel),
        send_mu_(send_mu),
        progress_(progress),
        cpu_limit_seconds_(cpu_limit_seconds) {}

  // Runs `batch`. False if the worker must exit: the daemon is gone, or it
  // asked a task to stop (the task's result is sent first; then
  // stop_requested()).
  bool Run(const internal::RunTasks& batch) {
    for (const internal::RunTask& task : batch.tasks()) {
      const int64_t start = absl::ToUnixNanos(absl::Now());
      slots_.SetStart(task.slot(), start);
      if (!slots_.Claim(task.slot())) continue;  // withdrawn
      if (cpu_limit_seconds_ > 0) AllowCpuSeconds(cpu_limit_seconds_);
      internal::TaskResult result = RunOne(registry_, task, progress_);
      if (!Settle(task.slot(), start, result)) return false;
    }
    internal::TaskReport done;
    done.set_batch_done(true);
    return Send(done);
  }

  // Whether the daemon asked a task to stop (else Run() failed because the
  // daemon is gone).
  bool stop_requested() const { return stop_requested_; }

 private:
  // Stores or sends the result of the task in `slot` and completes the
  // slot. False if the worker must exit.
  bool Settle(uint32_t slot, int64_t start, internal::TaskResult& result) {
    // A quick small result waits in its slot for the daemon's next look (at
    // the batch's end at the latest); a slow task's is worth a frame now.
    const bool quick = result.end_unix_nanos() - start < kQuickTaskNanos;
    if (quick && slots_.SetResult(slot, result.SerializeAsString(),
                                  result.end_unix_nanos())) {
      // Unless the daemon asked it to stop (and sent SIGTERM, which exec
      // heeds): then the slot cannot say DONE, and the result goes on the
      // socket before the worker exits.
      if (slots_.Complete(slot)) return !StopRequested();
      stop_requested_ = true;
      internal::TaskReport report;
      *report.add_results() = std::move(result);
      Send(report);
      return false;
    }
    internal::TaskReport report;
    *report.add_results() = std::move(result);
    if (!Send(report)) return false;
    slots_.SetResultSent(slot);
    if (!slots_.Complete(slot)) stop_requested_ = true;
    return !StopRequested();
  }

  bool StopRequested() {
    stop_requested_ |= TerminationRequested();
    return stop_requested_;
  }

  bool Send(internal::TaskReport& report) {
    internal::WorkerToDaemon message;
    message.set_allocated_report(&report);
    absl::MutexLock lock(&send_mu_);
    absl::Status sent = channel_.Send(message);
    if (absl::IsResourceExhausted(sent)) {
      // A result is too large for a frame: report that instead.
      for (internal::TaskResult& result : *report.mutable_results()) {
        const uint64_t task_id = result.task_id();
        const int64_t end = result.end_unix_nanos();
        result.Clear();
        result.set_task_id(task_id);
        result.set_end_unix_nanos(end);
        ToWire(TaskError{.type = "ValueError",
                         .message = absl::StrCat("result is too large: ",
                                                 sent.message())},
               &result);
      }
      sent = channel_.Send(message);
    }
    (void)message.release_report();
    return sent.ok();
  }

  // A task that ran at least this long sends its result at once.
  static constexpr int64_t kQuickTaskNanos = 1'000'000;

  const TaskRegistry& registry_;
  TaskSlots& slots_;
  WorkerChannel& channel_;
  absl::Mutex& send_mu_;
  WorkerProgress& progress_;
  const int64_t cpu_limit_seconds_;
  bool stop_requested_ = false;
};

// The built-in tasks' options; an exec command's process group is recorded
// in `slots`, so that the daemon kills it if this worker dies first.
absl::StatusOr<BuiltinTaskOptions> TaskOptionsFromFlags(
    std::shared_ptr<TaskSlots> slots) {
  absl::StatusOr<ExecAllowList> allow =
      ExecAllowList::Create(absl::GetFlag(FLAGS_exec_allow));
  if (!allow.ok()) return allow.status();
  return BuiltinTaskOptions{
      .exec = {.allow = *std::move(allow),
               .kill_grace = absl::GetFlag(FLAGS_exec_kill_grace),
               .group_observer = [slots = std::move(slots)](pid_t group) {
                 slots->SetCommandGroup(group);
               }}};
}

int Serve() {
  const int64_t cpu_limit_seconds = absl::GetFlag(FLAGS_cpu_limit_seconds);
  absl::StatusOr<std::shared_ptr<TaskSlots>> slots =
      TaskSlots::Attach(kWorkerSlotsFd);
  if (!slots.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("futured-worker: ", slots.status().message()));
    return EXIT_FAILURE;
  }
  absl::StatusOr<BuiltinTaskOptions> options = TaskOptionsFromFlags(*slots);
  if (!options.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("futured-worker: ", options.status().message()));
    return EXIT_FAILURE;
  }
  TaskRegistry registry;
  if (absl::Status s = RegisterBuiltinTasks(registry, *std::move(options));
      !s.ok()) {
    Log(LogLevel::kError, absl::StrCat("futured-worker: ", s.message()));
    return EXIT_FAILURE;
  }
  PluginLoader plugins(&registry);
  for (const std::string& path : absl::GetFlag(FLAGS_plugin)) {
    if (absl::Status s = plugins.Load(path); !s.ok()) {
      Log(LogLevel::kError, absl::StrCat("futured-worker: ", s.message()));
      return EXIT_FAILURE;
    }
  }
  WorkerChannel channel(
      kWorkerChannelFd,
      static_cast<size_t>(absl::GetFlag(FLAGS_max_frame_bytes)));
  internal::WorkerToDaemon ready;
  ready.mutable_ready()->set_pid(getpid());
  if (!channel.Send(ready).ok()) return EXIT_FAILURE;
  // Progress frames go out from the reporter's thread while the task runs;
  // the main thread sends only between tasks, after EndTask().
  absl::Mutex send_mu;
  WorkerProgress progress(kProgressInterval,
                          [&](const internal::TaskProgress& report) {
                            internal::WorkerToDaemon message;
                            *message.mutable_progress() = report;
                            absl::MutexLock lock(&send_mu);
                            // A failure shows on the main thread's next send or
                            // read.
                            channel.Send(message).IgnoreError();
                          });

  BatchRunner runner(registry, **slots, channel, send_mu, progress,
                     cpu_limit_seconds);
  while (true) {
    internal::RunTasks batch;
    absl::StatusOr<bool> next = channel.Next(&batch);
    if (!next.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("futured-worker: bad frame from the daemon: ",
                       next.status().message()));
      return EXIT_FAILURE;
    }
    if (!*next) {
      absl::Status read = channel.ReadSome();
      if (absl::IsOutOfRange(read)) return EXIT_SUCCESS;  // daemon closed
      if (!read.ok()) return EXIT_FAILURE;
      continue;
    }
    if (!runner.Run(batch)) {
      // Asked to stop: exec has killed its command; go now.
      DieIfTerminationRequested();
      // Else the daemon is gone or closed the socket (a shutdown).
      return runner.stop_requested() ? EXIT_FAILURE : EXIT_SUCCESS;
    }
  }
}

}  // namespace
}  // namespace futured::server

int main(int argc, char** argv) {
  futured::ConfigureMutexDeadlockDetection();
  // Before absl, which would keep only the last --plugin.
  std::vector<std::string> plugins =
      futured::TakeRepeatedFlag("plugin", &argc, argv);
  absl::ParseCommandLine(argc, argv);
  absl::SetFlag(&FLAGS_plugin, std::move(plugins));
  // SIGTERM lets a running exec command's process group be killed first
  // (server/tasks/termination_request.h); a write to a closed pipe is an
  // error to handle, not death.
  if (!futured::server::InstallTerminationRequestHandler().ok()) {
    return EXIT_FAILURE;
  }
  signal(SIGPIPE, SIG_IGN);
  // Before PR_SET_PDEATHSIG, which a change of user clears, and before any
  // plugin is loaded or task run.
  if (absl::Status s = futured::server::BecomeUserFromFlag(); !s.ok()) {
    futured::Log(futured::LogLevel::kError,
                 absl::StrCat("futured-worker: cannot become --user=",
                              absl::GetFlag(FLAGS_user), ": ", s.message()));
    return EXIT_FAILURE;
  }
  // Die with the daemon (strictly: with the daemon thread that started us),
  // and check that it did not die before this line took effect. SIGTERM, so
  // that a running command's process group dies too; any other task dies at
  // once, as with SIGKILL.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != absl::GetFlag(FLAGS_parent_pid)) return EXIT_FAILURE;
  futured::server::SetLimit(RLIMIT_CORE,
                            0);  // crash() and limits dump no core files
  if (const int64_t bytes = absl::GetFlag(FLAGS_memory_limit_bytes);
      bytes > 0) {
    futured::server::SetLimit(RLIMIT_AS, static_cast<rlim_t>(bytes));
  }
  return futured::server::Serve();
}
