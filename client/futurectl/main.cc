// futurectl: Python's concurrent.futures from the shell, against a running
// futured daemon.
//
//   futurectl submit simulate_download '["http://example.com"]' --kwargs
//   '{"seconds":1}' futurectl result <id> --timeout 5s futurectl map square
//   '[1,2,3]'
//
// Output is one JSON document per line on stdout, with grpcurl's field names;
// diagnostics go to stderr; the exit code says how the command ended (see
// kExitCodes below and exit_code.h).
#include <algorithm>
#include <cstddef>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "batch_commands.h"
#include "command_context.h"
#include "credential_args.h"
#include "daemon_commands.h"
#include "duration_arg.h"
#include "exit_code.h"
#include "future_commands.h"
#include "futured/client.h"
#include "futured/wait.h"
#include "json_args.h"

namespace futured::ctl {
namespace {

constexpr char kDefaultTarget[] = "127.0.0.1:50051";
// The deadline of a call that does not wait for a task, without --timeout.
constexpr absl::Duration kDefaultCallTimeout = absl::Seconds(30);

constexpr char kExitCodes[] = R"(Exit codes:
  0  ok
  1  usage: bad flags, duration or JSON
  2  a task failed (result; map stops at the first failing input)
  3  timed out: --timeout passed first (the futures go on, but map cancels)
  4  the future was cancelled (result, map)
  5  the daemon is unreachable, shutting down or not serving
  6  the daemon refused the call: NOT_FOUND, INVALID_ARGUMENT, ...)";

// Accepts what ParseDurationArg accepts.
CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (ParseDurationArg(text).has_value()) return "";
        return "not a duration (e.g. 2.5, 500ms, 1m, inf): " + text;
      },
      "DURATION");
}

// submit's retry policy flags, as given; empty or unset when not.
struct RetryArgs {
  int max_attempts = 0;
  std::vector<std::string> retry_on;
  std::string backoff;
  std::string max_backoff;
  std::optional<double> multiplier;
  std::optional<double> jitter;
};

void AddRetryOptions(CLI::App* submit, RetryArgs& args) {
  submit
      ->add_option("--retry-on,--retry_on", args.retry_on,
                   "error types whose attempt runs again, comma-separated "
                   "(e.g. WorkerDiedError,ValueError); sets a retry policy")
      ->delimiter(',');
  submit->add_option("--max-attempts,--max_attempts", args.max_attempts,
                     "attempts in all, the first included (1-100; default 3)");
  submit
      ->add_option("--backoff", args.backoff,
                   "the wait before the second attempt (default 1s)")
      ->check(DurationValidator());
  submit
      ->add_option("--max-backoff,--max_backoff", args.max_backoff,
                   "the longest wait between attempts (default 60s)")
      ->check(DurationValidator());
  submit->add_option("--backoff-multiplier,--backoff_multiplier",
                     args.multiplier,
                     "each wait is this times the one before (default 2)");
  submit->add_option("--jitter", args.jitter,
                     "the random share of each wait, 0 to 1 (default 0.5)");
}

// The policy the flags ask for; unset when no retry flag was given (the
// daemon checks the values and says which is out of bounds).
std::optional<RetryPolicy> RetryPolicyOf(const RetryArgs& args) {
  if (args.retry_on.empty() && args.max_attempts == 0 && args.backoff.empty() &&
      args.max_backoff.empty() && !args.multiplier && !args.jitter) {
    return std::nullopt;
  }
  RetryPolicy policy;
  if (args.max_attempts != 0) policy.max_attempts = args.max_attempts;
  policy.retry_on = args.retry_on;
  if (!args.backoff.empty()) {
    policy.initial_backoff = ParseDurationArg(args.backoff).value();
  }
  if (!args.max_backoff.empty()) {
    policy.max_backoff = ParseDurationArg(args.max_backoff).value();
  } else {
    // --backoff alone may ask for more than the default maximum.
    policy.max_backoff = std::max(policy.max_backoff, policy.initial_backoff);
  }
  if (args.multiplier) policy.multiplier = *args.multiplier;
  if (args.jitter) policy.jitter = *args.jitter;
  return policy;
}

const std::map<std::string, ReturnWhen>& ReturnWhenNames() {
  static const auto* names = new std::map<std::string, ReturnWhen>{
      {"FIRST_COMPLETED", ReturnWhen::kFirstCompleted},
      {"FIRST_EXCEPTION", ReturnWhen::kFirstException},
      {"ALL_COMPLETED", ReturnWhen::kAllCompleted},
  };
  return *names;
}

// IDs as the positional arguments of `command`.
void AddIds(CLI::App* command, std::vector<std::string>& ids) {
  command->add_option("ids", ids, "future IDs")->required();
}

int Run(int argc, char** argv) {
  CLI::App app(
      "Python's concurrent.futures from the shell: calls a futured "
      "daemon and prints its answers as JSON lines.",
      "futurectl");
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();  // global flags also after the subcommand

  std::string target = kDefaultTarget;
  app.add_option("--target", target,
                 "the daemon: host:port or unix:/path/to.sock; several nodes: "
                 "host:port,host:port or dns:///name:port")
      ->envname("FUTURED_TARGET")
      ->capture_default_str();
  std::string timeout_text;
  app.add_option("--timeout", timeout_text,
                 "how long result, wait, as-completed and map wait (default: "
                 "forever), and the deadline of every other call (default: "
                 "30s); e.g. 2.5, 500ms, 1m")
      ->check(DurationValidator());

  CredentialArgs credential_args;
  AddCredentialOptions(app, credential_args);

  std::vector<std::string> ids;
  std::string id;

  SubmitArgs submit_args;
  std::string task_timeout_text;
  CLI::App* submit = app.add_subcommand(
      "submit", "queue a call of FUNCTION and print its future's id");
  submit
      ->add_option("function", submit_args.function, "a name from `functions`")
      ->required();
  submit
      ->add_option("args", submit_args.args_json,
                   "positional arguments, a JSON list")
      ->capture_default_str();
  submit
      ->add_option("--kwargs", submit_args.kwargs_json,
                   "keyword arguments, a JSON object")
      ->capture_default_str();
  submit->add_option("--pool", submit_args.pool, "thread, process, ...")
      ->capture_default_str();
  submit
      ->add_option("--task-timeout", task_timeout_text,
                   "the daemon fails the task with TimeoutError when this "
                   "passes, queued or running")
      ->check(DurationValidator());
  submit->add_option("--request-id,--request_id", submit_args.request_id,
                     "makes a retry safe: the same call with the same ID "
                     "prints the first one's future ID and runs nothing");
  RetryArgs retry_args;
  AddRetryOptions(submit, retry_args);

  CLI::App* status =
      app.add_subcommand("status", "print futures without waiting");
  AddIds(status, ids);

  CLI::App* result = app.add_subcommand(
      "result", "wait for a future and print it with its outcome");
  result->add_option("id", id, "a future ID")->required();
  bool show_progress = false;
  result->add_flag("--progress", show_progress,
                   "follow the task's progress meanwhile: a bar on stderr "
                   "when it is a terminal, else JSON lines there");

  CLI::App* cancel = app.add_subcommand(
      "cancel", "cancel futures (running ones are told to stop)");
  AddIds(cancel, ids);

  ReturnWhen return_when = ReturnWhen::kAllCompleted;
  CLI::App* wait_command = app.add_subcommand(
      "wait", "wait until RETURN_WHEN holds; print the done and not-done IDs");
  AddIds(wait_command, ids);
  wait_command
      ->add_option("--return-when", return_when,
                   "FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED")
      ->transform(CLI::CheckedTransformer(ReturnWhenNames(), CLI::ignore_case))
      ->capture_default_str();

  CLI::App* as_completed_command =
      app.add_subcommand("as-completed", "print each future as it completes");
  AddIds(as_completed_command, ids);

  MapArgs map_args;
  std::string inputs_text;
  CLI::App* map = app.add_subcommand(
      "map", "call FUNCTION on each input; print the outcomes in input order");
  map->add_option("function", map_args.function, "a name from `functions`")
      ->required();
  map->add_option("inputs", inputs_text,
                  "a JSON list, or - for one JSON value per line on stdin")
      ->required();
  map->add_option("--pool", map_args.pool, "thread, process, ...")
      ->capture_default_str();
  map->add_flag("--spread", map_args.spread_inputs,
                "a list input is the call's positional arguments");
  map->add_option("--buffersize", map_args.buffersize,
                  "calls in flight at most")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  CLI::App* release =
      app.add_subcommand("release", "make the daemon forget done futures");
  AddIds(release, ids);

  CLI::App* functions =
      app.add_subcommand("functions", "print the registered task functions");
  CLI::App* stats =
      app.add_subcommand("stats", "print the daemon's pool and table figures");

  std::string service;
  CLI::App* health = app.add_subcommand(
      "health", "grpc.health.v1 Check; exit 0 only when SERVING");
  health->add_option("--service", service,
                     "a service name, e.g. futured.v1.Executor (default: the "
                     "server as a whole)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints the help (exit 0) or the error.
    return app.exit(e) == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }

  // --timeout (DurationValidator checked it) bounds calls and waits alike;
  // without it, calls get kDefaultCallTimeout and waits have no limit. Plain
  // Durations, not an optional: g++ 12 -O2 saw a maybe-uninitialized optional.
  const absl::Duration timeout =
      timeout_text.empty()
          ? absl::InfiniteDuration()
          : ParseDurationArg(timeout_text).value_or(absl::InfiniteDuration());
  const absl::Duration call_timeout =
      timeout_text.empty() ? kDefaultCallTimeout : timeout;
  if (!task_timeout_text.empty()) {
    submit_args.task_timeout = ParseDurationArg(task_timeout_text);
  }
  submit_args.retry = RetryPolicyOf(retry_args);
  ClientOptions client_options{.call_timeout = call_timeout};
  try {
    client_options.credentials = LoadCredentials(credential_args);
  } catch (const std::exception& e) {
    std::cerr << "futurectl: " << e.what() << std::endl;
    return static_cast<int>(ExitCode::kUsage);
  }
  const Client client(target, client_options);
  const CommandContext context{
      .client = client,
      .client_options = client_options,
      .call_timeout = call_timeout,
      .wait_timeout = timeout,
      .out = std::cout,
  };
  ExitCode code = ExitCode::kOk;
  try {
    if (*submit) {
      code = Submit(context, submit_args);
    } else if (*status) {
      code = Status(context, ids);
    } else if (*result) {
      code = Result(context, id, show_progress);
    } else if (*cancel) {
      code = Cancel(context, ids);
    } else if (*wait_command) {
      code = Wait(context, ids, return_when);
    } else if (*as_completed_command) {
      code = AsCompleted(context, ids);
    } else if (*map) {
      map_args.inputs = inputs_text == "-"
                            ? ReadJsonLines(std::cin, "stdin")
                            : ParseJsonList(inputs_text, "INPUTS");
      code = Map(context, map_args);
    } else if (*release) {
      code = Release(context, ids);
    } else if (*functions) {
      code = Functions(context);
    } else if (*stats) {
      code = Stats(context);
    } else if (*health) {
      code = Health(context, service);
    }
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "futurectl: " << e.what() << std::endl;
    code = ExitCodeForError(e);
  }
  return static_cast<int>(code);
}

}  // namespace
}  // namespace futured::ctl

int main(int argc, char** argv) { return futured::ctl::Run(argc, argv); }
