// The seed's second example (section 6): four large factorials computed in
// parallel by the daemon's process pool through Executor::map, results
// printed in input order.
//
//   process_factorials [target]
//
// The daemon's factorial(n) returns n! as a decimal string; the seed's
// compute_factorial() text "Factorial of <n> is <n!>" is built here, and
// its "Computing factorial of <n>..." lines are printed as the inputs are
// handed to map.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/daemon_target.h"
#include "futured/futured.h"

int main(int argc, char** argv) {
  // Large numbers to make computation take time.
  const std::vector<int> numbers = {100000, 110000, 120000, 130000};
  try {
    futured::Client client(futured::examples::DaemonTarget(argc, argv));
    const absl::Time start_time = absl::Now();
    {
      futured::Executor executor = client.executor("process");
      for (int number : numbers) {
        std::cout << "Computing factorial of " << number << "..." << std::endl;
      }
      // Map is a convenient alternative to submit.
      std::size_t i = 0;
      for (const std::string& digits :
           executor.map<std::string>("factorial", numbers)) {
        const int number = numbers[i++];
        const std::string result =
            absl::StrCat("Factorial of ", number, " is ", digits);
        std::cout << absl::StrFormat(
                         "Result for %d: %s... (computed in %.2f seconds)",
                         number, result.substr(0, 30),
                         absl::ToDoubleSeconds(absl::Now() - start_time))
                  << std::endl;
      }
    }
    std::cout << absl::StrFormat(
                     "Total time: %.2f seconds",
                     absl::ToDoubleSeconds(absl::Now() - start_time))
              << std::endl;
  } catch (const futured::Error& e) {
    std::cerr << "process_factorials: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
