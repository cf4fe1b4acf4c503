#include "server/rpc/bearer_tokens.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace futured::server {
namespace {

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kBobToken[] = "bob-token-0123456789ab";

TEST(BearerTokensTest, MapsEachTokenToItsPrincipal) {
  absl::StatusOr<BearerTokens> tokens = BearerTokens::Parse(
      "# futured tokens\n"
      "\n"
      "alice alice-token-0123456789\n"
      "  bob\tbob-token-0123456789ab  \r\n"
      "alice alice-second-token-9876\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 3u);
  EXPECT_EQ(tokens->PrincipalFor(kAliceToken), "alice");
  EXPECT_EQ(tokens->PrincipalFor(kBobToken), "bob");
  EXPECT_EQ(tokens->PrincipalFor("alice-second-token-9876"), "alice");
  EXPECT_EQ(tokens->PrincipalFor("alice-token-012345678"), std::nullopt);
  EXPECT_EQ(tokens->PrincipalFor(""), std::nullopt);
  EXPECT_EQ(tokens->PrincipalFor("ALICE-TOKEN-0123456789"), std::nullopt);
}

// The error of parsing `text`; an OK status if it parsed.
absl::Status ParseError(const std::string& text) {
  return BearerTokens::Parse(text).status();
}

TEST(BearerTokensTest, MalformedLinesAreNamedAndTokensNeverQuoted) {
  const absl::Status three_fields =
      ParseError("# c\nalice alice-token-0123456789 extra\n");
  EXPECT_EQ(three_fields.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(three_fields.message(),
            "line 2: expected 'PRINCIPAL TOKEN', got 3 fields");
  EXPECT_EQ(ParseError("alice\n").message(),
            "line 1: expected 'PRINCIPAL TOKEN', got 1 fields");
  EXPECT_EQ(ParseError("alice short\n").message(),
            "line 1: the token must have 16 to 1024 characters, it has 5");
  EXPECT_EQ(ParseError("al/ice alice-token-0123456789\n").message(),
            "line 1: principal 'al/ice' may hold only letters, digits and . "
            "_ @ -");
  const absl::Status duplicate =
      ParseError("alice alice-token-0123456789\nbob alice-token-0123456789\n");
  EXPECT_EQ(duplicate.message(), "line 2: the same token as line 1");
  EXPECT_EQ(ParseError("# only a comment\n\n").message(),
            "no 'PRINCIPAL TOKEN' line");
  EXPECT_EQ(ParseError("bob bob-token-0123456789\x01z\n").message(),
            "line 1: the token may hold only printable ASCII characters");
}

class BearerTokensFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/bearer_tokens_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/tokens";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(BearerTokensFileTest, LoadsAnOwnerOnlyFile) {
  Write("alice alice-token-0123456789\n", 0600);
  absl::StatusOr<BearerTokens> tokens = BearerTokens::Load(path_);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->PrincipalFor(kAliceToken), "alice");
  Write("alice alice-token-0123456789\n", 0640);  // group-readable is fine
  EXPECT_TRUE(BearerTokens::Load(path_).ok());
}

TEST_F(BearerTokensFileTest, RefusesAWorldReadableFile) {
  Write("alice alice-token-0123456789\n", 0644);
  const absl::Status status = BearerTokens::Load(path_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            path_ +
                " is readable or writable by others (mode 0644); run "
                "chmod o-rwx on it");
}

TEST_F(BearerTokensFileTest, ErrorsNameTheFileAndLine) {
  Write("alice alice-token-0123456789\nbob\n", 0600);
  EXPECT_EQ(BearerTokens::Load(path_).status().message(),
            path_ + ": line 2: expected 'PRINCIPAL TOKEN', got 1 fields");
  EXPECT_EQ(BearerTokens::Load(dir_ + "/missing").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace futured::server
