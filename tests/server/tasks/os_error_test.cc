#include "server/tasks/os_error.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::testing::HasSubstr;

TEST(OsErrorTest, NamesTheErrorAsPythonDoes) {
  EXPECT_EQ(OsError(ENOENT, "x").type, "FileNotFoundError");
  EXPECT_EQ(OsError(EACCES, "x").type, "PermissionError");
  EXPECT_EQ(OsError(EPERM, "x").type, "PermissionError");
  EXPECT_EQ(OsError(EISDIR, "x").type, "IsADirectoryError");
  EXPECT_EQ(OsError(ENOTDIR, "x").type, "NotADirectoryError");
  EXPECT_EQ(OsError(EPIPE, "x").type, "BrokenPipeError");
  EXPECT_EQ(OsError(EIO, "x").type, "OSError");
}

TEST(OsErrorTest, MessageSaysWhatFailedAndWhy) {
  const TaskError error = OsError(EACCES, "cannot open /secret");
  EXPECT_THAT(error.message, HasSubstr("cannot open /secret: "));
  EXPECT_THAT(error.message, HasSubstr("Permission denied"));
}

}  // namespace
}  // namespace futured::server
