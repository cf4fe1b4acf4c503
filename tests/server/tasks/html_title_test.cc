#include "server/tasks/html_title.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/task/utf8.h"

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

}  // namespace
}  // namespace futured::server
