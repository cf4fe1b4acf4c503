#include "server/tasks/html_title.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/tasks/utf8_text.h"

namespace futured::server {
namespace {

TEST(HtmlTitleTest, FindsTheTitleAsBrowsersShowIt) {
  EXPECT_EQ(HtmlTitle("<html><head><title>Hi</title></head></html>"), "Hi");
  EXPECT_EQ(HtmlTitle("<title>\n  A &lt;b&gt; &amp;\tc  </title>"),
            "A <b> & c");
  // Markup inside a title is text (RCDATA).
  EXPECT_EQ(HtmlTitle("<title><b>x</b></title>"), "<b>x</b>");
  // Unclosed, misplaced or upper-case: an HTML5 parser copes.
  EXPECT_EQ(HtmlTitle("<TITLE>Shout"), "Shout");
  EXPECT_EQ(HtmlTitle("<body><p>x</p><title>Late</title></body>"), "Late");
  EXPECT_EQ(HtmlTitle("<title>First</title><title>Second</title>"), "First");
  EXPECT_EQ(HtmlTitle("<title></title>"), "");
}

TEST(HtmlTitleTest, NoTitleIsNullopt) {
  EXPECT_EQ(HtmlTitle(""), std::nullopt);
  EXPECT_EQ(HtmlTitle("<p>title</p>"), std::nullopt);
  EXPECT_EQ(HtmlTitle("<!-- <title>x</title> -->"), std::nullopt);
  EXPECT_EQ(HtmlTitle("<svg><title>icon</title></svg>"), std::nullopt);
}

TEST(HtmlTitleTest, InvalidUtf8ComesOutValid) {
  const std::optional<std::string> title = HtmlTitle("<title>a\xff</title>");
  ASSERT_TRUE(title.has_value());
  EXPECT_EQ(ToValidUtf8(*title), *title);
}

TEST(Utf8TextTest, ReplacesOnlyInvalidBytes) {
  EXPECT_EQ(ToValidUtf8("plain"), "plain");
  EXPECT_EQ(ToValidUtf8("caf\xC3\xA9 \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(ToValidUtf8("a\xFF"
                        "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(ToValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
  EXPECT_EQ(ToValidUtf8("\xED\xA0\x80"),                           // surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ToValidUtf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

}  // namespace
}  // namespace futured::server
