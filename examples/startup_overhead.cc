// The seed's start-up overhead comparison (section 12): the same 100 tiny
// calls mapped on the process pool and on the thread pool, each timed.
//
//   startup_overhead [target]
//
// Unlike Python's, futured's worker processes are started with the daemon,
// not with the executor, so what the process pool pays here is the trip of
// each call to a worker and back, not process creation.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

namespace {

// Maps the daemon's square(x) (the seed's quick_task) over `numbers` on
// `pool` and returns the seconds it took, executor included.
double TimeSquares(const futured::Client& client, const std::string& pool,
                   const std::vector<int>& numbers) {
  const absl::Time start = absl::Now();
  {
    futured::Executor executor = client.executor(pool);
    std::vector<int> results;
    for (int square : executor.map<int>("square", numbers)) {
      results.push_back(square);
    }
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  // Compare performance for many small tasks.
  std::vector<int> numbers;
  for (int i = 0; i < 100; ++i) numbers.push_back(i);
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));
    const double process_time = TimeSquares(client, "process", numbers);
    const double thread_time = TimeSquares(client, "thread", numbers);
    std::cout << absl::StrFormat("ProcessPoolExecutor took %.4f seconds",
                                 process_time)
              << std::endl;
    std::cout << absl::StrFormat("ThreadPoolExecutor took %.4f seconds",
                                 thread_time)
              << std::endl;
  } catch (const futured::Error& e) {
    std::cerr << "startup_overhead: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
