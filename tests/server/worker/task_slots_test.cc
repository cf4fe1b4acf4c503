#include "server/worker/task_slots.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace futured::server {
namespace {

// The daemon's side and a worker's side of the same slots: a second mapping
// of the memfd, as the worker has after exec.
class TaskSlotsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::shared_ptr<TaskSlots>> daemon = TaskSlots::Create();
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *daemon;
    absl::StatusOr<std::shared_ptr<TaskSlots>> worker =
        TaskSlots::Attach(dup(daemon_->fd()));
    ASSERT_TRUE(worker.ok()) << worker.status();
    worker_ = *worker;
  }

  std::shared_ptr<TaskSlots> daemon_;
  std::shared_ptr<TaskSlots> worker_;
};

TEST_F(TaskSlotsTest, StartFree) {
  for (uint32_t slot = 0; slot < TaskSlots::kCount; ++slot) {
    ASSERT_EQ(worker_->Load(slot), TaskSlots::kFree) << slot;
  }
  EXPECT_EQ(daemon_->CommandGroup(), 0);
}

TEST_F(TaskSlotsTest, TheDaemonSeesTheCommandGroupTheWorkerRecorded) {
  worker_->SetCommandGroup(4242);
  EXPECT_EQ(daemon_->CommandGroup(), 4242);
  // Beside the slots, not in one.
  for (uint32_t slot = 0; slot < TaskSlots::kCount; ++slot) {
    ASSERT_EQ(daemon_->Load(slot), TaskSlots::kFree) << slot;
  }
  worker_->SetCommandGroup(0);
  EXPECT_EQ(daemon_->CommandGroup(), 0);
}

TEST_F(TaskSlotsTest, AWorkerClaimsAQueuedSlotAndThenTheDaemonCannotWithdraw) {
  daemon_->Queue(3);
  EXPECT_EQ(worker_->Load(3), TaskSlots::kQueued);
  EXPECT_TRUE(worker_->Claim(3));
  EXPECT_FALSE(daemon_->Withdraw(3));
  EXPECT_EQ(daemon_->Load(3), TaskSlots::kStarted);
  EXPECT_TRUE(worker_->Complete(3));
  EXPECT_EQ(daemon_->Load(3), TaskSlots::kDone);
  // Ended: a stop request finds nothing to stop.
  EXPECT_FALSE(daemon_->RequestStop(3));
}

TEST_F(TaskSlotsTest, AWithdrawnSlotIsNeverClaimed) {
  daemon_->Queue(5);
  EXPECT_TRUE(daemon_->Withdraw(5));
  EXPECT_FALSE(worker_->Claim(5));
  EXPECT_EQ(worker_->Load(5), TaskSlots::kWithdrawn);
  EXPECT_FALSE(daemon_->Withdraw(5));  // once
}

TEST_F(TaskSlotsTest, AStopRequestMakesCompleteFail) {
  daemon_->Queue(0);
  ASSERT_TRUE(worker_->Claim(0));
  EXPECT_TRUE(daemon_->RequestStop(0));
  EXPECT_FALSE(worker_->Complete(0));
  EXPECT_EQ(daemon_->Load(0), TaskSlots::kStopping);
}

TEST_F(TaskSlotsTest, ANotStartedSlotCannotBeStopped) {
  daemon_->Queue(1);
  EXPECT_FALSE(daemon_->RequestStop(1));
  EXPECT_TRUE(worker_->Claim(1));
}

TEST_F(TaskSlotsTest, SlotNumbersWrapAroundTheCount) {
  daemon_->Queue(TaskSlots::kCount + 2);
  EXPECT_EQ(worker_->Load(2), TaskSlots::kQueued);
  EXPECT_TRUE(worker_->Claim(2));
}

TEST_F(TaskSlotsTest, QueueReusesADoneSlot) {
  daemon_->Queue(9);
  ASSERT_TRUE(worker_->Claim(9));
  ASSERT_TRUE(worker_->Complete(9));
  daemon_->Queue(9);
  EXPECT_TRUE(daemon_->Withdraw(9));
}

TEST_F(TaskSlotsTest, TheDaemonSeesTheTimesAndResultTheWorkerLeft) {
  daemon_->Queue(7);
  worker_->SetStart(7, 1000);
  ASSERT_TRUE(worker_->Claim(7));
  EXPECT_EQ(daemon_->StartNanos(7), 1000);
  ASSERT_TRUE(worker_->SetResult(7, "encoded result", 2000));
  ASSERT_TRUE(worker_->Complete(7));
  EXPECT_EQ(daemon_->EndNanos(7), 2000);
  EXPECT_EQ(daemon_->Result(7), "encoded result");
}

TEST_F(TaskSlotsTest, AResultTooLargeIsRefusedAndGoesOnTheSocket) {
  daemon_->Queue(8);
  ASSERT_TRUE(worker_->Claim(8));
  EXPECT_FALSE(
      worker_->SetResult(8, std::string(TaskSlots::kResultBytes + 1, 'x'), 1));
  EXPECT_TRUE(
      worker_->SetResult(8, std::string(TaskSlots::kResultBytes, 'x'), 1));
  worker_->SetResultSent(8);
  ASSERT_TRUE(worker_->Complete(8));
  EXPECT_EQ(daemon_->Result(8), std::nullopt);
}

TEST_F(TaskSlotsTest, TheResultsOutliveTheWorkersMapping) {
  daemon_->Queue(4);
  ASSERT_TRUE(worker_->Claim(4));
  ASSERT_TRUE(worker_->SetResult(4, "kept", 3));
  ASSERT_TRUE(worker_->Complete(4));
  worker_.reset();  // as when the worker dies
  EXPECT_EQ(daemon_->Load(4), TaskSlots::kDone);
  EXPECT_EQ(daemon_->Result(4), "kept");
}

// posix_spawn hands the worker its socket on 3 and then the slots on 4: a
// slots descriptor of 3 would be overwritten first. So it is above both,
// even when they are free here.
TEST(TaskSlotsCreateTest, ItsDescriptorIsAboveTheOnesAWorkerIsGiven) {
  int saved[2] = {-1, -1};
  for (int fd : {3, 4}) {
    saved[fd - 3] = fcntl(fd, F_DUPFD_CLOEXEC, 100);  // -1 if not open
    close(fd);
  }
  absl::StatusOr<std::shared_ptr<TaskSlots>> slots = TaskSlots::Create();
  for (int fd : {3, 4}) {
    if (saved[fd - 3] >= 0) {
      dup2(saved[fd - 3], fd);
      close(saved[fd - 3]);
    }
  }
  ASSERT_TRUE(slots.ok()) << slots.status();
  EXPECT_GT((*slots)->fd(), kWorkerSlotsFd);
}

TEST(TaskSlotsAttachTest, RefusesADescriptorTooSmall) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  EXPECT_FALSE(TaskSlots::Attach(fds[0]).ok());  // and closes it
}

}  // namespace
}  // namespace futured::server
