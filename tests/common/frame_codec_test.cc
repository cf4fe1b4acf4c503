#include "common/frame_codec.h"

#include <string>

#include "absl/status/status.h"
#include "futured/internal/worker.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured {
namespace {

using ::futured::internal::RunTask;
using ::futured::internal::WorkerToDaemon;
using ::testing::HasSubstr;

constexpr size_t kLimit = 1024;

RunTask SampleTask(uint64_t id) {
  RunTask task;
  task.set_task_id(id);
  task.set_function("factorial");
  task.add_args()->set_number_value(20);
  return task;
}

std::string Encode(const RunTask& task) {
  std::string frame;
  EXPECT_TRUE(EncodeFrame(task, kLimit, &frame).ok());
  return frame;
}

// A header announcing `length` payload bytes.
std::string Header(uint32_t length) {
  return std::string{static_cast<char>(length >> 24),
                     static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length)};
}

TEST(FrameCodecTest, RoundTripsSeveralFramesFromOneBuffer) {
  const std::string bytes = Encode(SampleTask(1)) + Encode(SampleTask(2));
  FrameDecoder decoder(kLimit);
  decoder.Append(bytes);
  RunTask task;
  ASSERT_TRUE(*decoder.Next(&task));
  EXPECT_EQ(task.task_id(), 1u);
  EXPECT_EQ(task.function(), "factorial");
  ASSERT_TRUE(*decoder.Next(&task));
  EXPECT_EQ(task.task_id(), 2u);
  EXPECT_FALSE(*decoder.Next(&task));
  EXPECT_TRUE(decoder.AtEndOfStream().ok());
}

TEST(FrameCodecTest, ReassemblesAFrameArrivingOneByteAtATime) {
  const std::string bytes = Encode(SampleTask(7)) + Encode(SampleTask(8));
  FrameDecoder decoder(kLimit);
  std::vector<uint64_t> ids;
  for (char c : bytes) {
    decoder.Append(std::string(1, c));
    RunTask task;
    absl::StatusOr<bool> next = decoder.Next(&task);
    ASSERT_TRUE(next.ok()) << next.status();
    if (*next) ids.push_back(task.task_id());
  }
  EXPECT_THAT(ids, ::testing::ElementsAre(7, 8));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameCodecTest, EmptyMessageIsAValidZeroLengthFrame) {
  std::string frame;
  ASSERT_TRUE(EncodeFrame(WorkerToDaemon(), kLimit, &frame).ok());
  EXPECT_EQ(frame, Header(0));
  FrameDecoder decoder(kLimit);
  decoder.Append(frame);
  WorkerToDaemon message;
  EXPECT_TRUE(*decoder.Next(&message));
}

TEST(FrameCodecTest, TruncatedFrameWaitsThenFailsAtEndOfStream) {
  const std::string frame = Encode(SampleTask(3));
  FrameDecoder decoder(kLimit);
  decoder.Append(frame.substr(0, frame.size() - 2));
  RunTask task;
  EXPECT_FALSE(*decoder.Next(&task));
  const absl::Status end = decoder.AtEndOfStream();
  EXPECT_EQ(end.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(end.message(), HasSubstr("stream ended inside a frame"));
}

TEST(FrameCodecTest, TruncatedHeaderFailsAtEndOfStream) {
  FrameDecoder decoder(kLimit);
  decoder.Append(Header(5).substr(0, 3));
  RunTask task;
  EXPECT_FALSE(*decoder.Next(&task));
  EXPECT_EQ(decoder.AtEndOfStream().code(), absl::StatusCode::kDataLoss);
}

TEST(FrameCodecTest, OversizedLengthIsRejectedBeforeItsPayloadArrives) {
  FrameDecoder decoder(kLimit);
  decoder.Append(Header(0xFFFFFFFFu));  // 4 GiB announced, nothing sent
  RunTask task;
  absl::StatusOr<bool> next = decoder.Next(&task);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(next.status().message(), HasSubstr("over the limit of 1024"));
  // The stream cannot be trusted again, even with good frames after it.
  decoder.Append(Encode(SampleTask(4)));
  EXPECT_FALSE(decoder.Next(&task).ok());
  EXPECT_FALSE(decoder.AtEndOfStream().ok());
}

TEST(FrameCodecTest, GarbagePayloadIsDataLoss) {
  // Field 1 with wire type 7, which does not exist.
  const std::string garbage = "\x0f\xff\xff\xff";
  FrameDecoder decoder(kLimit);
  decoder.Append(Header(garbage.size()) + garbage);
  RunTask task;
  absl::StatusOr<bool> next = decoder.Next(&task);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(next.status().message(),
              HasSubstr("is not a valid futured.internal.RunTask"));
}

TEST(FrameCodecTest, EncodeRefusesAMessageOverTheLimit) {
  RunTask task = SampleTask(5);
  task.set_function(std::string(2 * kLimit, 'x'));
  std::string out = "kept";
  const absl::Status status = EncodeFrame(task, kLimit, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out, "kept");
}

}  // namespace
}  // namespace futured
