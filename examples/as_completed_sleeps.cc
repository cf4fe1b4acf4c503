// The seed's Pattern 2 (section 7): five tasks of random length (0.5 to 3
// s) on the thread pool, their results handled in the order they complete.
//
//   as_completed_sleeps [target]
//
// The seed's task(identifier) is the daemon's potentially_failing_task with
// the sleep time drawn here, where its "Task <i> sleeping for ..." line is
// printed.
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

int main(int argc, char** argv) {
  std::mt19937 random(std::random_device{}());
  std::uniform_real_distribution<double> sleep_times(0.5, 3);
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));
    futured::Executor executor = client.executor("thread");
    // Submit 5 tasks.
    std::vector<futured::Future<std::string>> futures;
    for (int i = 0; i < 5; ++i) {
      const double sleep_time = sleep_times(random);
      std::cout << absl::StrFormat("Task %d sleeping for %.2f seconds", i,
                                   sleep_time)
                << std::endl;
      futures.push_back(
          executor.submit<std::string>(futured::Call("potentially_failing_task")
                                           .arg(i)
                                           .kwarg("sleep_time", sleep_time)));
    }
    // Process results in the order they complete.
    for (const auto& future : futured::as_completed(futures)) {
      try {
        std::cout << "Got result: " << future.result() << std::endl;
      } catch (const futured::Error& e) {
        std::cout << "Task generated an exception: " << e.what() << std::endl;
      }
    }
  } catch (const futured::Error& e) {
    std::cerr << "as_completed_sleeps: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
