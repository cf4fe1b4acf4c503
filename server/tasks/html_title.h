// The title of an HTML document, found by a real HTML5 parser (gumbo).
#ifndef FUTURED_SERVER_TASKS_HTML_TITLE_H_
#define FUTURED_SERVER_TASKS_HTML_TITLE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace futured::server {

// The text of the document's first HTML <title> element (not an SVG one),
// with entities decoded and ASCII whitespace stripped and collapsed as
// browsers show it (document.title); nullopt when it has none. `html` is
// UTF-8 (invalid bytes come out as U+FFFD). Parses the whole document, so
// its cost grows with the size. Pure function; thread-safe.
std::optional<std::string> HtmlTitle(absl::string_view html);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_HTML_TITLE_H_
