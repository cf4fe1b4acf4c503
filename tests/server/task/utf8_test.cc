#include "server/task/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace futured::server {
namespace {

TEST(Utf8Test, KeepsValidText) {
  EXPECT_EQ(ToValidUtf8("plain"), "plain");
  EXPECT_EQ(ToValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x99\x82"),
            "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x99\x82");
  EXPECT_EQ(ToValidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

// U+FFFD, as Python's bytes.decode(errors="replace") writes it.
#define U_FFFD "\xEF\xBF\xBD"

TEST(Utf8Test, ReplacesEveryBadByte) {
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b"),
            "a" U_FFFD "b");
  EXPECT_EQ(ToValidUtf8("\xc3\x28"), U_FFFD "(");     // bad continuation
  EXPECT_EQ(ToValidUtf8("\xc0\xaf"), U_FFFD U_FFFD);  // overlong
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), U_FFFD U_FFFD U_FFFD);  // a surrogate
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"),
            U_FFFD U_FFFD U_FFFD U_FFFD);             // above U+10FFFF
  EXPECT_EQ(ToValidUtf8("\xe2\x82"), U_FFFD U_FFFD);  // cut short
}

TEST(Utf8Test, CutsOnACharacterBoundary) {
  EXPECT_EQ(ToValidUtf8("abcdef", 3), "abc");
  // The euro sign takes 3 bytes: it does not fit in the 2 left.
  EXPECT_EQ(ToValidUtf8("ab\xe2\x82\xac", 4), "ab");
  EXPECT_EQ(ToValidUtf8("ab\xe2\x82\xac", 5), "ab\xe2\x82\xac");
  EXPECT_EQ(ToValidUtf8("", 0), "");
  // A replacement character is cut whole too.
  EXPECT_EQ(ToValidUtf8("ab\xff", 4), "ab");
  EXPECT_EQ(ToValidUtf8("ab\xff", 5), "ab" U_FFFD);
}
#undef U_FFFD

}  // namespace
}  // namespace futured::server
