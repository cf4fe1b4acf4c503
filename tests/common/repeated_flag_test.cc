#include "common/repeated_flag.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured {
namespace {

using ::testing::ElementsAre;

// Runs TakeRepeatedFlag on a copy of `args` and returns what it took; *left
// gets what remains.
std::vector<std::string> Take(std::vector<std::string> args,
                              std::vector<std::string>* left) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(args.size());
  std::vector<std::string> taken =
      TakeRepeatedFlag("plugin", &argc, argv.data());
  left->assign(argv.begin(), argv.begin() + argc);
  EXPECT_EQ(argv[argc], nullptr);
  return taken;
}

TEST(RepeatedFlagTest, TakesEveryFormInOrder) {
  std::vector<std::string> left;
  EXPECT_THAT(Take({"futured", "--plugin=a.so", "--threads=2", "-plugin=b,c.so",
                    "--plugin", "d.so", "--plugins=x"},
                   &left),
              ElementsAre("a.so", "b,c.so", "d.so"));
  EXPECT_THAT(left, ElementsAre("futured", "--threads=2", "--plugins=x"));
}

TEST(RepeatedFlagTest, LeavesATrailingBareFlagAndWhatFollowsDoubleDash) {
  std::vector<std::string> left;
  EXPECT_THAT(Take({"futured", "--", "--plugin=a.so"}, &left), ElementsAre());
  EXPECT_THAT(left, ElementsAre("futured", "--", "--plugin=a.so"));
  EXPECT_THAT(Take({"futured", "--plugin"}, &left), ElementsAre());
  EXPECT_THAT(left, ElementsAre("futured", "--plugin"));
}

}  // namespace
}  // namespace futured
