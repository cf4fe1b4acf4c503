// The seed's first example (sections 1 and 6): three simulated downloads of
// two seconds each, first one after another (about 6 s), then submitted
// together to the daemon's thread pool and collected with as_completed
// (about 2 s).
//
//   downloads [target]     target: host:port or unix:/path (default: see
//                          examples/daemon_target.h)
//
// The daemon runs simulate_download(url, seconds=2), which sleeps and
// returns "Content from <url>"; the "Downloading ..." lines, printed by the
// task in Python, are printed here as each call is submitted.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

namespace {

// Submits a download of `url` to `executor`, announcing it as the seed's
// download_webpage() does.
futured::Future<std::string> SubmitDownload(futured::Executor& executor,
                                            const std::string& url) {
  std::cout << "Downloading " << url << "..." << std::endl;
  return executor.submit<std::string>("simulate_download", url);
}

double SecondsSince(absl::Time start) {
  return absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> urls = {
      "http://example.com", "http://python.org", "http://github.com"};
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));

    // Sequential processing: each download waits for the one before.
    {
      futured::Executor executor = client.executor("thread");
      std::vector<std::string> results;
      for (const std::string& url : urls) {
        results.push_back(SubmitDownload(executor, url).result());
      }
      std::cout << "All downloads complete" << std::endl;
    }

    // Using the thread pool: all three at once.
    const absl::Time start_time = absl::Now();
    {
      futured::Executor executor = client.executor("thread");
      std::map<futured::Future<std::string>, std::string> future_to_url;
      for (const std::string& url : urls) {
        future_to_url[SubmitDownload(executor, url)] = url;
      }
      // Process results as they complete.
      for (const auto& future : futured::as_completed(future_to_url)) {
        const std::string& url = future_to_url.at(future);
        try {
          const std::string data = future.result();
          std::cout << absl::StrFormat("Downloaded %s in %.2f seconds", url,
                                       SecondsSince(start_time))
                    << std::endl;
        } catch (const futured::Error& e) {
          std::cout << url << " generated an exception: " << e.what()
                    << std::endl;
        }
      }
    }
    std::cout << absl::StrFormat("Total time: %.2f seconds",
                                 SecondsSince(start_time))
              << std::endl;
  } catch (const futured::Error& e) {
    std::cerr << "downloads: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
