// Uses the installed futured client library: submit, map, as_completed and
// the error model, against the daemon named by argv[1].
#include <iostream>
#include <string>
#include <vector>

#include "futured/futured.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: outside_project <host:port | unix:/path>\n";
    return 2;
  }
  try {
    futured::Client client(argv[1]);
    futured::Executor executor = client.executor("thread");

    std::cout << "square(7) = " << executor.submit<int>("square", 7).result()
              << "\n";

    std::cout << "map:";
    for (int square : executor.map<int>("square", {1, 2, 3})) {
      std::cout << " " << square;
    }
    std::cout << "\n";

    std::vector<futured::Future<std::string>> downloads;
    for (const char* url : {"http://a", "http://b"}) {
      downloads.push_back(executor.submit<std::string>(
          futured::Call("simulate_download").arg(url).kwarg("seconds", 0)));
    }
    int completed = 0;
    for (const auto& future : futured::as_completed(downloads)) {
      future.result();
      ++completed;
    }
    std::cout << "as_completed: " << completed << " downloads\n";

    try {
      executor.submit("fail", "ValueError", "bad input").result();
    } catch (const futured::TaskError& e) {
      std::cout << "task error: " << e.type() << ": " << e.what() << "\n";
    }
  } catch (const futured::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
