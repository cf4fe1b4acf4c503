// The seed's real-world example (section 10): five web pages fetched on the
// thread pool, each page's title printed as its fetch completes.
//
//   web_scraper [target [url...]]
//
// The URLs default to the seed's five sites. The daemon's http.get task
// fetches each (libcurl) and parses the page's <title> (gumbo); this program
// only submits and prints.
//
// http.get's result is read as an object with at least "status" (the HTTP
// status) and "title" (null without one); a transport failure is a task
// error, which the seed reports as "error-<type>".
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

namespace {

// What the seed's fetch_and_parse() keeps of a page.
struct Page {
  int status = 0;
  std::optional<std::string> title;
};

// The first `n` characters (code points) of UTF-8 `text`, as Python's
// text[:n].
std::string Prefix(std::string_view text, std::size_t n) {
  std::size_t end = 0;
  for (std::size_t chars = 0; end < text.size(); ++end) {
    const bool starts_char =
        (static_cast<unsigned char>(text[end]) & 0xC0) != 0x80;
    if (starts_char && chars++ == n) break;
  }
  return std::string(text.substr(0, end));
}

}  // namespace

// http.get's result as a Page: the library's extension point for user
// types (futured/value.h).
template <>
struct futured::ValueTraits<Page> {
  static Page FromValue(const futured::Value& value) {
    const auto fields =
        futured::FromValue<std::map<std::string, futured::Value>>(value);
    Page page;
    const auto status = fields.find("status");
    if (status == fields.end()) throw futured::ValueError("no \"status\"");
    page.status = futured::FromValue<int>(status->second);
    if (const auto title = fields.find("title"); title != fields.end()) {
      page.title =
          futured::FromValue<std::optional<std::string>>(title->second);
    }
    return page;
  }
};

int main(int argc, char** argv) {
  // List of websites to scrape: the seed's, or those after the target.
  std::vector<std::string> urls = {
      "https://python.org", "https://github.com", "https://stackoverflow.com",
      "https://news.ycombinator.com", "https://reddit.com"};
  if (argc > 2) urls.assign(argv + 2, argv + argc);
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));

    const absl::Time start_time = absl::Now();
    {
      // The thread pool, because this is an I/O-bound task.
      futured::Executor executor = client.executor("thread");
      std::map<futured::Future<Page>, std::string> future_to_url;
      for (const std::string& url : urls) {
        std::cout << "Fetching " << url << std::endl;
        future_to_url[executor.submit<Page>(
            futured::Call("http.get").kwarg("url", url).kwarg("timeout", 10))] =
            url;
      }
      // Process results as they complete.
      for (const auto& future : futured::as_completed(future_to_url)) {
        const std::string& url = future_to_url.at(future);
        try {
          const Page page = future.result();
          if (page.status == 200) {
            std::cout << "✓ " << url << " - Title: "
                      << Prefix(page.title.value_or("No title found"), 50)
                      << "..." << std::endl;
          } else {
            std::cout << "✗ " << url << " - Error: error-" << page.status
                      << std::endl;
          }
        } catch (const futured::TaskError& e) {
          // The seed turns a failed request into the status "error-<type>".
          std::cout << "✗ " << url << " - Error: error-" << e.type()
                    << std::endl;
        } catch (const futured::Error& e) {
          std::cout << "✗ " << url << " - Exception: " << e.what() << std::endl;
        }
      }
    }
    std::cout << absl::StrFormat(
                     "\nScraped %d websites in %.2f seconds", urls.size(),
                     absl::ToDoubleSeconds(absl::Now() - start_time))
              << std::endl;
  } catch (const futured::Error& e) {
    std::cerr << "web_scraper: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
