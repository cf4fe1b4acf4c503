// The engine with a real SQLite journal: what Submit accepts is recovered by
// the next engine on the same state directory.
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/engine/engine.h"
#include "server/engine/timer_queue.h"
#include "server/store/sqlite_journal.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

RepeatedPtrField<Value> Args(std::initializer_list<double> numbers) {
  RepeatedPtrField<Value> args;
  for (double n : numbers) args.Add()->set_number_value(n);
  return args;
}

// The real journal, with the callbacks of some commits held back until
// Release(): of every Accept() (the answer to a Submit waits there) unless
// told otherwise, and of the next Start() once told to (a pool's dispatch
// waits there).
class HeldJournal final : public Journal {
 public:
  HeldJournal(std::unique_ptr<Journal> journal, bool hold_accepts)
      : journal_(std::move(journal)), hold_accepts_(hold_accepts) {}

  void HoldNextStart() {
    absl::MutexLock lock(&mu_);
    hold_next_start_ = true;
  }

  absl::Status Recover(Recovered each) override {
    return journal_->Recover(each);
  }
  void Accept(std::vector<AcceptedCall> calls, Committed committed) override {
    journal_->Accept(std::move(calls), hold_accepts_
                                           ? Held(std::move(committed))
                                           : std::move(committed));
  }
  void Start(std::vector<std::string> ids, absl::Time start_time,
             int worker_pid, Started started) override {
    bool hold = false;
    {
      absl::MutexLock lock(&mu_);
      std::swap(hold, hold_next_start_);
    }
    journal_->Start(std::move(ids), start_time, worker_pid,
                    hold ? HeldStart(std::move(started)) : std::move(started));
  }
  void Unstart(std::vector<std::string> ids) override {
    journal_->Unstart(std::move(ids));
  }
  void End(std::string id, FutureState state, FutureEnding ending,
           Committed committed) override {
    journal_->End(std::move(id), state, std::move(ending),
                  std::move(committed));
  }
  void Retry(std::string id, int attempt, std::vector<AttemptError> earlier,
             Committed committed) override {
    journal_->Retry(std::move(id), attempt, std::move(earlier),
                    std::move(committed));
  }
  void Forget(std::vector<std::string> ids) override {
    journal_->Forget(std::move(ids));
  }
  absl::StatusOr<AcceptedCall> FindCall(absl::string_view id) const override {
    return journal_->FindCall(id);
  }
  void Close() override { journal_->Close(); }
  JournalStats Stats() const override { return journal_->Stats(); }

  // Waits until `n` commits are held back. True if they are.
  bool AwaitHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    auto held = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return held_.size() >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&held), absl::Seconds(60));
  }

  // Runs the held-back callbacks.
  void Release() {
    std::vector<absl::AnyInvocable<void() &&>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    for (auto& callback : held) std::move(callback)();
  }

 private:
  // `committed`, to be held back once its commit is done.
  Committed Held(Committed committed) {
    return
        [this, committed = std::move(committed)](absl::Status status) mutable {
          absl::MutexLock lock(&mu_);
          held_.push_back([committed = std::move(committed), status]() mutable {
            std::move(committed)(status);
          });
        };
  }

  Started HeldStart(Started started) {
    return [this, started = std::move(started)](
               absl::StatusOr<std::vector<std::string>> lost) mutable {
      absl::MutexLock lock(&mu_);
      held_.push_back(
          [started = std::move(started), lost = std::move(lost)]() mutable {
            std::move(started)(std::move(lost));
          });
    };
  }

  const std::unique_ptr<Journal> journal_;
  const bool hold_accepts_;
  absl::Mutex mu_;
  bool hold_next_start_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::AnyInvocable<void() &&>> held_ ABSL_GUARDED_BY(mu_);
};

class EngineJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok());
    char dir[] = "/tmp/futured_engine_journal.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A journal and an engine on it, with `threads` threads.
  void Open(int threads) {
    absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
        SqliteJournal::Open({.dir = dir_});
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
    engine_ = std::make_unique<Engine>(
        EngineOptions{.pools = {ThreadPool::Options{.name = "thread",
                                                    .workers = threads}},
                      .journal = journal_.get()},
        &registry_, &timers_);
  }

  // The engine first, which closes the journal as it shuts down.
  void Close() {
    engine_.reset();
    journal_.reset();
  }

  // Submit() and wait for its answer.
  absl::StatusOr<std::shared_ptr<Future>> Submit(const std::string& function,
                                                 double x) {
    return Submit(function, Args({x}), std::nullopt);
  }
  absl::StatusOr<std::shared_ptr<Future>> Submit(
      const std::string& function, const RepeatedPtrField<Value>& args,
      std::optional<RetryPolicy> retry) {
    absl::StatusOr<PreparedCall> call =
        engine_->Prepare(function, args, Struct(), "");
    if (!call.ok()) return call.status();
    if (retry) call->retry = std::make_shared<const RetryPolicy>(*retry);
    absl::Notification answered;
    absl::StatusOr<std::shared_ptr<Future>> result;
    engine_->Submit(RequestKey{.principal = "alice", .request_id = ""}, *call,
                    std::nullopt,
                    [&](absl::StatusOr<std::shared_ptr<Future>> future) {
                      result = std::move(future);
                      answered.Notify();
                    });
    answered.WaitForNotification();
    return result;
  }

  // Polls until `future` is in `state` at attempt `attempt`; false after
  // 30 s.
  static bool AwaitAttempt(const Future& future, FutureState state,
                           int attempt) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      const FutureSnapshot now = future.Snapshot();
      if (now.state == state && now.attempt == attempt) return true;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return false;
  }

  // Shuts the engine down, as a stop does, and opens the next one on the
  // same journal; the futures it recovers are counted in `counts`.
  void Restart(RecoveryCounts& counts) {
    engine_->Shutdown(absl::ZeroDuration());
    Close();
    ASSERT_NO_FATAL_FAILURE(Open(1));
    absl::StatusOr<RecoveryCounts> recovered = engine_->Recover();
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    counts = *recovered;
  }

  static bool AwaitDone(Future& future) {
    absl::Notification done;
    future.AddDoneCallback([&done] { done.Notify(); });
    return done.WaitForNotificationWithTimeout(absl::Seconds(60));
  }

  std::string dir_;
  TaskRegistry registry_;
  TimerQueue timers_;
  std::unique_ptr<SqliteJournal> journal_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineJournalTest, AFinishedFutureIsFoundAgainByTheNextEngine) {
  ASSERT_NO_FATAL_FAILURE(Open(2));
  absl::StatusOr<std::shared_ptr<Future>> future = Submit("square", 6);
  ASSERT_TRUE(future.ok()) << future.status();
  ASSERT_TRUE(AwaitDone(**future));
  const std::string id = (*future)->id();
  const JournalStats stats = *engine_->JournalStatistics();
  EXPECT_GE(stats.records, 3);  // accepted, started, ended
  Close();

  ASSERT_NO_FATAL_FAILURE(Open(2));
  absl::StatusOr<RecoveryCounts> counts = engine_->Recover();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->done, 1);
  absl::StatusOr<std::shared_ptr<Future>> found = engine_->Find(id, "alice");
  ASSERT_TRUE(found.ok()) << found.status();
  const std::optional<FutureEnding> ending = (*found)->Ending();
  ASSERT_TRUE(ending.has_value());
  EXPECT_EQ(std::get<Value>(ending->outcome).number_value(), 36);
  EXPECT_EQ(engine_->Find(id, "bob").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EngineJournalTest, ManySubmitsFromManyThreadsAreAllRecovered) {
  ASSERT_NO_FATAL_FAILURE(Open(4));
  constexpr int kThreads = 4;
  constexpr int kEach = 50;
  std::vector<std::string> ids[kThreads];
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          absl::StatusOr<std::shared_ptr<Future>> f = Submit("square", i);
          if (f.ok() && AwaitDone(**f)) ids[t].push_back((*f)->id());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  Close();
  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<RecoveryCounts> counts = engine_->Recover();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->done, kThreads * kEach);
  for (const auto& list : ids) {
    ASSERT_EQ(list.size(), static_cast<size_t>(kEach));
    for (const std::string& id : list) {
      absl::StatusOr<std::shared_ptr<Future>> found =
          engine_->Find(id, "alice");
      ASSERT_TRUE(found.ok()) << id;
      EXPECT_TRUE((*found)->done());
    }
  }
}

TEST_F(EngineJournalTest, WhatTheStopCancelsComesBackPendingOrInterrupted) {
  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<std::shared_ptr<Future>> sleeping = Submit("sleep", 3600);
  ASSERT_TRUE(sleeping.ok()) << sleeping.status();
  absl::StatusOr<std::shared_ptr<Future>> queued = Submit("square", 3);
  ASSERT_TRUE(queued.ok()) << queued.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*sleeping)->state() != FutureState::kRunning &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ((*sleeping)->state(), FutureState::kRunning);
  const std::string sleeping_id = (*sleeping)->id();
  const std::string queued_id = (*queued)->id();
  engine_->Shutdown(absl::ZeroDuration());
  // Neither is shown cancelled: the stop is not their end.
  EXPECT_FALSE((*sleeping)->done());
  EXPECT_FALSE((*queued)->done());
  sleeping->reset();
  queued->reset();
  Close();

  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<RecoveryCounts> counts = engine_->Recover();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->interrupted, 1);
  EXPECT_EQ(counts->requeued, 1);
  absl::StatusOr<std::shared_ptr<Future>> interrupted =
      engine_->Find(sleeping_id, "alice");
  ASSERT_TRUE(interrupted.ok());
  ASSERT_TRUE(AwaitDone(**interrupted));
  EXPECT_EQ(std::get<TaskError>((*interrupted)->Ending()->outcome).type,
            "InterruptedError");
  absl::StatusOr<std::shared_ptr<Future>> ran =
      engine_->Find(queued_id, "alice");
  ASSERT_TRUE(ran.ok());
  ASSERT_TRUE(AwaitDone(**ran));
  EXPECT_EQ(std::get<Value>((*ran)->Ending()->outcome).number_value(), 9);
}

// A task whose start cannot be recorded (the disk is full) must not run: run
// unrecorded, it could run again after a crash.
TEST_F(EngineJournalTest,
       ATaskWhoseStartCannotBeRecordedFailsInsteadOfRunning) {
  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<std::shared_ptr<Future>> sleeping = Submit("sleep", 3600);
  ASSERT_TRUE(sleeping.ok()) << sleeping.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((*sleeping)->state() != FutureState::kRunning &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ((*sleeping)->state(), FutureState::kRunning);
  absl::StatusOr<std::shared_ptr<Future>> queued = Submit("square", 3);
  ASSERT_TRUE(queued.ok()) << queued.status();
  // The write-ahead log cannot grow any more: a full disk to the writer
  // (EFBIG, with SIGXFSZ ignored).
  struct sigaction ignore {
  }, old{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &old);
  rlimit saved{};
  getrlimit(RLIMIT_FSIZE, &saved);
  rlimit limit = saved;
  limit.rlim_cur = std::filesystem::file_size(dir_ + "/futured.db-wal");
  setrlimit(RLIMIT_FSIZE, &limit);
  (*sleeping)->Cancel(absl::Now());  // frees the thread for the square
  const bool done = AwaitDone(**queued);
  setrlimit(RLIMIT_FSIZE, &saved);
  sigaction(SIGXFSZ, &old, nullptr);
  ASSERT_TRUE(done);
  const FutureEnding ending = *(*queued)->Ending();
  ASSERT_TRUE(std::holds_alternative<TaskError>(ending.outcome))
      << "the task ran unrecorded";
  const auto& error = std::get<TaskError>(ending.outcome);
  EXPECT_EQ(error.type, "OSError");
  EXPECT_THAT(error.message,
              ::testing::HasSubstr("the journal could not record its start"));
  EXPECT_FALSE(ending.start_time.has_value());
}

// A Submit retried with the same request ID before the first one's record is
// committed gets the ID only once it is: never an ID a crash could lose.
TEST_F(EngineJournalTest,
       ARetriedRequestIdIsAnsweredOnlyOnceTheFirstIsDurable) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> sqlite =
      SqliteJournal::Open({.dir = dir_});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  HeldJournal held(*std::move(sqlite), /*hold_accepts=*/true);
  engine_ = std::make_unique<Engine>(
      EngineOptions{.pools = {ThreadPool::Options{.name = "thread"}},
                    .journal = &held},
      &registry_, &timers_);
  const RequestKey key{.principal = "alice", .request_id = "order-1"};
  struct Answer {
    absl::Notification given;
    absl::StatusOr<std::shared_ptr<Future>> future;
  };
  Answer first, retry;
  auto submit = [&](Answer& answer) {
    absl::StatusOr<PreparedCall> call =
        engine_->Prepare("square", Args({4}), Struct(), "");
    ASSERT_TRUE(call.ok()) << call.status();
    engine_->Submit(key, *call, std::nullopt,
                    [&answer](absl::StatusOr<std::shared_ptr<Future>> f) {
                      answer.future = std::move(f);
                      answer.given.Notify();
                    });
  };
  submit(first);
  ASSERT_TRUE(held.AwaitHeld(1));
  submit(retry);
  EXPECT_FALSE(first.given.HasBeenNotified());
  EXPECT_FALSE(retry.given.HasBeenNotified())
      << "the retry got an ID that is not durable yet";
  held.Release();
  ASSERT_TRUE(first.given.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(retry.given.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(first.future.ok()) << first.future.status();
  ASSERT_TRUE(retry.future.ok()) << retry.future.status();
  EXPECT_EQ((*retry.future)->id(), (*first.future)->id());
  ASSERT_TRUE(AwaitDone(**first.future));
  engine_.reset();
}

// A stop puts back what a pool recorded as started ahead of running it, so
// that it runs after the restart instead of failing as interrupted.
TEST_F(EngineJournalTest, WhatWasRecordedStartedButNeverRanIsPendingAgain) {
  absl::StatusOr<std::unique_ptr<SqliteJournal>> sqlite =
      SqliteJournal::Open({.dir = dir_});
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  auto held =
      std::make_unique<HeldJournal>(*std::move(sqlite), /*hold_accepts=*/false);
  engine_ = std::make_unique<Engine>(
      EngineOptions{
          .pools = {ThreadPool::Options{.name = "thread", .workers = 2}},
          .journal = held.get()},
      &registry_, &timers_);
  // The first sleep's dispatch waits in the hook while three more queue up;
  // then one thread runs it and the other records the three as started in
  // one batch and runs the first of them: two are recorded, never run.
  held->HoldNextStart();
  std::vector<std::shared_ptr<Future>> sleeps;
  absl::StatusOr<std::shared_ptr<Future>> first = Submit("sleep", 3600);
  ASSERT_TRUE(first.ok()) << first.status();
  sleeps.push_back(*first);
  ASSERT_TRUE(held->AwaitHeld(1));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::shared_ptr<Future>> more = Submit("sleep", 3600);
    ASSERT_TRUE(more.ok()) << more.status();
    sleeps.push_back(*more);
  }
  held->Release();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while ((sleeps[0]->state() != FutureState::kRunning ||
          sleeps[1]->state() != FutureState::kRunning) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(sleeps[1]->state(), FutureState::kRunning);
  engine_->Shutdown(absl::ZeroDuration());
  sleeps.clear();
  engine_.reset();
  held.reset();

  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<RecoveryCounts> counts = engine_->Recover();
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->interrupted, 2);
  EXPECT_EQ(counts->requeued, 2) << "recorded as started, never run";
}

RepeatedPtrField<Value> Strings(std::initializer_list<std::string> values) {
  RepeatedPtrField<Value> args;
  for (const std::string& v : values) args.Add()->set_string_value(v);
  return args;
}

// A failed attempt waiting out its backoff when the daemon stops comes back
// at its next attempt, with the earlier attempt's error.
TEST_F(EngineJournalTest, ARetryIsJournaledWithItsAttemptAndEarlierErrors) {
  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<std::shared_ptr<Future>> failing =
      Submit("fail", Strings({"ValueError", "no luck"}),
             RetryPolicy{.max_attempts = 2,
                         .retry_on = {"ValueError"},
                         .initial_backoff = absl::Hours(1),
                         .max_backoff = absl::Hours(1)});
  ASSERT_TRUE(failing.ok()) << failing.status();
  ASSERT_TRUE(AwaitAttempt(**failing, FutureState::kPending, 2));
  const std::string id = (*failing)->id();
  failing->reset();
  RecoveryCounts counts;
  ASSERT_NO_FATAL_FAILURE(Restart(counts));
  EXPECT_EQ(counts.requeued, 1);
  absl::StatusOr<std::shared_ptr<Future>> found = engine_->Find(id, "alice");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(AwaitDone(**found));
  const FutureSnapshot done = (*found)->Snapshot();
  EXPECT_EQ(std::get<TaskError>(*done.outcome).type, "ValueError");
  EXPECT_EQ(done.attempt, 2);
  EXPECT_EQ(done.max_attempts, 2);
  ASSERT_EQ(done.earlier_attempts.size(), 1u);
  EXPECT_EQ(done.earlier_attempts[0].attempt, 1);
  EXPECT_EQ(done.earlier_attempts[0].error.message, "no luck");

  // And once done, as the next engine shows it.
  ASSERT_NO_FATAL_FAILURE(Restart(counts));
  EXPECT_EQ(counts.done, 1);
  found = engine_->Find(id, "alice");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ((*found)->Snapshot().attempt, 2);
  EXPECT_EQ((*found)->Snapshot().earlier_attempts.size(), 1u);
}

// Running at the stop, with a policy that retries InterruptedError: it runs
// again after the restart, until its attempts are used up (at least once,
// at most max_attempts times).
TEST_F(EngineJournalTest, APolicyRetryingInterruptedErrorRunsItAgain) {
  ASSERT_NO_FATAL_FAILURE(Open(1));
  absl::StatusOr<std::shared_ptr<Future>> sleeping =
      Submit("sleep", Args({3600}),
             RetryPolicy{.max_attempts = 2,
                         .retry_on = {"InterruptedError"},
                         .initial_backoff = absl::ZeroDuration(),
                         .max_backoff = absl::ZeroDuration()});
  ASSERT_TRUE(sleeping.ok()) << sleeping.status();
  ASSERT_TRUE(AwaitAttempt(**sleeping, FutureState::kRunning, 1));
  const std::string id = (*sleeping)->id();
  sleeping->reset();

  RecoveryCounts counts;
  ASSERT_NO_FATAL_FAILURE(Restart(counts));
  EXPECT_EQ(counts.retried, 1);
  EXPECT_EQ(counts.interrupted, 0);
  absl::StatusOr<std::shared_ptr<Future>> found = engine_->Find(id, "alice");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(AwaitAttempt(**found, FutureState::kRunning, 2));
  const FutureSnapshot running = (*found)->Snapshot();
  ASSERT_EQ(running.earlier_attempts.size(), 1u);
  EXPECT_EQ(running.earlier_attempts[0].error.type, "InterruptedError");
  found->reset();

  // Its last attempt interrupted too: now it fails.
  ASSERT_NO_FATAL_FAILURE(Restart(counts));
  EXPECT_EQ(counts.retried, 0);
  EXPECT_EQ(counts.interrupted, 1);
  found = engine_->Find(id, "alice");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(AwaitDone(**found));
  const FutureSnapshot done = (*found)->Snapshot();
  EXPECT_EQ(std::get<TaskError>(*done.outcome).type, "InterruptedError");
  EXPECT_EQ(done.attempt, 2);
}

}  // namespace
}  // namespace futured::server
