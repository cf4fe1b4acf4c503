// Log lines when stderr is the systemd journal: "<N>message" with the syslog
// priority and no timestamp. A binary of its own: the log decides once, at
// its first line, whether stderr is the journal.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "gtest/gtest.h"

namespace futured {
namespace {

TEST(LogJournalTest, LinesCarrySyslogPrioritiesWhenStderrIsTheJournal) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("futured-log-journal-", getpid()))
                               .string();
  const int file =
      open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(file, 0);
  const int saved_stderr = dup(STDERR_FILENO);
  ASSERT_EQ(dup2(file, STDERR_FILENO), STDERR_FILENO);
  struct stat st;
  ASSERT_EQ(fstat(STDERR_FILENO, &st), 0);
  setenv("JOURNAL_STREAM", absl::StrCat(st.st_dev, ":", st.st_ino).c_str(), 1);

  SetLogLevel(LogLevel::kDebug);
  Log(LogLevel::kError, "an error");
  Log(LogLevel::kWarning, "a warning");
  Log(LogLevel::kInfo, "some news");
  Log(LogLevel::kDebug, "a detail");

  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  close(file);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::filesystem::remove(path);
  EXPECT_EQ(text.str(),
            "<3>an error\n<4>a warning\n<6>some news\n<7>a detail\n");
}

}  // namespace
}  // namespace futured
