// The seed's Pattern 1 (section 7): Executor::map over ten items on the
// process pool; results come back in input order.
//
//   map_squares [target]
//
// The daemon's square(x) is the seed's process_item(item).
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

int main(int argc, char** argv) {
  const std::vector<int> items = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));
    std::vector<int> results;
    {
      futured::Executor executor = client.executor("process");
      // Results are returned in the same order as inputs.
      for (int square : executor.map<int>("square", items)) {
        results.push_back(square);
      }
    }
    // As Python prints a list.
    std::cout << "[" << absl::StrJoin(results, ", ") << "]" << std::endl;
  } catch (const futured::Error& e) {
    std::cerr << "map_squares: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
