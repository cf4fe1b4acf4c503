#include "server/tasks/html_title.h"

#include <gumbo.h>

#include <memory>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/task/utf8.h"

namespace futured::server {
namespace {

// Frees a gumbo parse tree.
struct OutputDeleter {
  void operator()(GumboOutput* output) const {
    gumbo_destroy_output(&kGumboDefaultOptions, output);
  }
};

// The first HTML <title> element in document order, or null. Iterative, so
// that a deeply nested page cannot exhaust the stack.
const GumboNode* FindTitle(const GumboNode* root) {
  std::vector<const GumboNode*> stack = {root};
  while (!stack.empty()) {
    const GumboNode* node = stack.back();
    stack.pop_back();
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT) {
      continue;
    }
    if (node->type == GUMBO_NODE_ELEMENT &&
        node->v.element.tag == GUMBO_TAG_TITLE &&
        node->v.element.tag_namespace == GUMBO_NAMESPACE_HTML) {
      return node;
    }
    const GumboVector& children = node->type == GUMBO_NODE_DOCUMENT
                                      ? node->v.document.children
                                      : node->v.element.children;
    // Pushed last to first, so the first child is visited first.
    for (unsigned int i = children.length; i > 0; --i) {
      stack.push_back(static_cast<const GumboNode*>(children.data[i - 1]));
    }
  }
  return nullptr;
}

// "  a \n b " -> "a b": the HTML standard's "strip and collapse ASCII
// whitespace".
std::string CollapseWhitespace(absl::string_view text) {
  return absl::StrJoin(
      absl::StrSplit(text, absl::ByAnyChar(" \t\n\f\r"), absl::SkipEmpty()),
      " ");
}

}  // namespace

std::optional<std::string> HtmlTitle(absl::string_view html) {
  std::unique_ptr<GumboOutput, OutputDeleter> output(gumbo_parse_with_options(
      &kGumboDefaultOptions, html.data(), html.size()));
  if (output == nullptr) return std::nullopt;
  const GumboNode* title = FindTitle(output->document);
  if (title == nullptr) return std::nullopt;
  // <title> holds text only (RCDATA), as one or more text nodes.
  std::string text;
  const GumboVector& children = title->v.element.children;
  for (unsigned int i = 0; i < children.length; ++i) {
    const auto* child = static_cast<const GumboNode*>(children.data[i]);
    if (child->type == GUMBO_NODE_TEXT ||
        child->type == GUMBO_NODE_WHITESPACE) {
      text += child->v.text.text;
    }
  }
  return ToValidUtf8(CollapseWhitespace(text));
}

}  // namespace futured::server
