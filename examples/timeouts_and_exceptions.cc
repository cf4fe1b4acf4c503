// The seed's Pattern 3 (section 7): three tasks on the thread pool; one
// succeeds, one raises ValueError, and one (6 s) is waited for at most 3 s.
//
//   timeouts_and_exceptions [target]
//
// The daemon's potentially_failing_task(task_id, fail=false, sleep_time=2)
// is the seed's function; its "Starting task <id>" line is printed here as
// each is submitted. As in Python, a timed-out result() leaves the task
// running, and leaving the executor's scope waits for it.
//
// The seed's third task sleeps 5 s, but its result(timeout=3) is called
// about 2 s in, when the first result arrives, so it runs out at the very
// moment the task ends: a coin toss between "Task timed out" and success.
// Here it sleeps 6 s, so that the timeout the seed means to show happens
// every time.
#include <iostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

namespace {

futured::Future<std::string> Start(futured::Executor& executor,
                                   const futured::Call& call, int task_id) {
  std::cout << "Starting task " << task_id << std::endl;
  return executor.submit<std::string>(call);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string task = "potentially_failing_task";
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));
    futured::Executor executor = client.executor("thread");
    // Create some tasks - one will fail, one will timeout.
    const std::vector<futured::Future<std::string>> futures = {
        Start(executor, futured::Call(task).arg(1), 1),
        Start(executor, futured::Call(task).arg(2).kwarg("fail", true), 2),
        Start(executor, futured::Call(task).arg(3).kwarg("sleep_time", 6), 3),
    };
    for (const auto& future : futures) {
      try {
        // Wait for 3 seconds max.
        const std::string result = future.result(absl::Seconds(3));
        std::cout << "Success: " << result << std::endl;
      } catch (const futured::TimeoutError&) {
        std::cout << "Task timed out" << std::endl;
      } catch (const futured::Error& e) {
        std::cout << "Task failed with error: " << e.what() << std::endl;
      }
    }
  } catch (const futured::Error& e) {
    std::cerr << "timeouts_and_exceptions: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
