#include "server/utf8.h"

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

TEST(Utf8Test, ReplacesEveryBadByte) {
  EXPECT_EQ(ToValidUtf8("a\xff"
                        "b"),
            "a?b");
  EXPECT_EQ(ToValidUtf8("\xc3\x28"), "?(");            // bad continuation
  EXPECT_EQ(ToValidUtf8("\xc0\xaf"), "??");            // overlong
  EXPECT_EQ(ToValidUtf8("\xed\xa0\x80"), "???");       // a surrogate
  EXPECT_EQ(ToValidUtf8("\xf4\x90\x80\x80"), "????");  // above U+10FFFF
  EXPECT_EQ(ToValidUtf8("\xe2\x82"), "??");            // cut short
}

TEST(Utf8Test, CutsOnACharacterBoundary) {
  EXPECT_EQ(ToValidUtf8("abcdef", 3), "abc");
  // The euro sign takes 3 bytes: it does not fit in the 2 left.
  EXPECT_EQ(ToValidUtf8("ab\xe2\x82\xac", 4), "ab");
  EXPECT_EQ(ToValidUtf8("ab\xe2\x82\xac", 5), "ab\xe2\x82\xac");
  EXPECT_EQ(ToValidUtf8("", 0), "");
}

}  // namespace
}  // namespace futured::server
