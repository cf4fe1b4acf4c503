#include "server/tasks/sha256_task.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/task_spec_call.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::Describe;
using ::futured::testing::Field;
using ::futured::testing::Kwargs;
using ::futured::testing::Prepare;
using ::futured::testing::RunTask;
using ::futured::testing::Str;
using ::testing::HasSubstr;

// FIPS 180-2 test vectors.
constexpr char kAbcDigest[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptyDigest[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// SHA-256 of one million 'a's.
constexpr char kMillionADigest[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

class Sha256TaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/futured-sha256-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  std::string WriteFile(const std::string& name, const std::string& bytes) {
    const std::string path = absl::StrCat(dir_, "/", name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  Outcome Hash(const google::protobuf::Struct& kwargs) {
    return RunTask(spec_, kwargs, token_);
  }

  const TaskSpec spec_ = Sha256TaskSpec();
  CancellationToken token_;
  std::string dir_;
};

TEST_F(Sha256TaskTest, DataMatchesTheStandardsVectors) {
  Outcome abc = Hash(Kwargs({{"data", Str("abc")}}));
  EXPECT_EQ(Field(abc, "sha256").string_value(), kAbcDigest) << Describe(abc);
  EXPECT_EQ(Field(abc, "bytes").number_value(), 3);
  Outcome empty = Hash(Kwargs({{"data", Str("")}}));
  EXPECT_EQ(Field(empty, "sha256").string_value(), kEmptyDigest);
  EXPECT_EQ(Field(empty, "bytes").number_value(), 0);
}

TEST_F(Sha256TaskTest, FileIsReadInChunks) {
  // Larger than one 1 MiB chunk.
  const std::string path = WriteFile("a.txt", std::string(1000000, 'a'));
  Outcome small = Hash(Kwargs({{"path", Str(path)}}));
  EXPECT_EQ(Field(small, "sha256").string_value(), kMillionADigest)
      << Describe(small);
  const std::string big = WriteFile("big", std::string(3 << 20, 'a'));
  Outcome large = Hash(Kwargs({{"path", Str(big)}}));
  EXPECT_EQ(Field(large, "bytes").number_value(), 3 << 20) << Describe(large);
}

TEST_F(Sha256TaskTest, Base64DataIsBinary) {
  // "\0\xff" and "abc" in base64.
  Outcome binary = Hash(Kwargs({{"data_base64", Str("AP8=")}}));
  EXPECT_EQ(Field(binary, "bytes").number_value(), 2) << Describe(binary);
  Outcome abc = Hash(Kwargs({{"data_base64", Str("YWJj")}}));
  EXPECT_EQ(Field(abc, "sha256").string_value(), kAbcDigest);
}

TEST_F(Sha256TaskTest, ExactlyOneInputOrInvalidArgument) {
  for (const auto& kwargs :
       {Kwargs({}), Kwargs({{"data", Str("a")}, {"path", Str("/etc/hosts")}}),
        Kwargs({{"data", Str("a")}, {"data_base64", Str("YQ==")}})}) {
    absl::StatusOr<BoundArgs> bound = Prepare(spec_, kwargs);
    ASSERT_FALSE(bound.ok()) << kwargs.ShortDebugString();
    EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(bound.status().message(), HasSubstr("exactly one"));
  }
}

TEST_F(Sha256TaskTest, BadInputsAreInvalidArgument) {
  for (const auto& kwargs : {Kwargs({{"path", Str("relative/file")}}),
                             Kwargs({{"data_base64", Str("not base64!")}}),
                             Kwargs({{"data", futured::testing::Num(1)}})}) {
    absl::StatusOr<BoundArgs> bound = Prepare(spec_, kwargs);
    ASSERT_FALSE(bound.ok()) << kwargs.ShortDebugString();
    EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument)
        << bound.status();
  }
}

TEST_F(Sha256TaskTest, MissingFileIsFileNotFoundErrorNamingIt) {
  const std::string path = absl::StrCat(dir_, "/missing");
  Outcome outcome = Hash(Kwargs({{"path", Str(path)}}));
  const auto* error = std::get_if<TaskError>(&outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "FileNotFoundError");
  EXPECT_THAT(error->message, HasSubstr(path));
}

TEST_F(Sha256TaskTest, UnreadableFileIsPermissionError) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads every file";
  const std::string path = WriteFile("secret", "x");
  chmod(path.c_str(), 0);
  Outcome outcome = Hash(Kwargs({{"path", Str(path)}}));
  const auto* error = std::get_if<TaskError>(&outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "PermissionError");
  EXPECT_THAT(error->message, HasSubstr(path));
}

TEST_F(Sha256TaskTest, DirectoryAndFifoAreRefused) {
  Outcome dir = Hash(Kwargs({{"path", Str(dir_)}}));
  ASSERT_TRUE(IsError(dir)) << Describe(dir);
  EXPECT_EQ(std::get<TaskError>(dir).type, "IsADirectoryError");
  // A FIFO with no writer would block a reader forever.
  const std::string fifo = absl::StrCat(dir_, "/fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Outcome pipe = Hash(Kwargs({{"path", Str(fifo)}}));
  ASSERT_TRUE(IsError(pipe)) << Describe(pipe);
  EXPECT_EQ(std::get<TaskError>(pipe).type, "ValueError");
  EXPECT_THAT(std::get<TaskError>(pipe).message,
              HasSubstr("not a regular file"));
}

TEST_F(Sha256TaskTest, CancelledTokenStopsAFile) {
  const std::string path = WriteFile("a.txt", std::string(3 << 20, 'a'));
  token_.Cancel();
  EXPECT_TRUE(IsCancelled(Hash(Kwargs({{"path", Str(path)}}))));
}

}  // namespace
}  // namespace futured::server
