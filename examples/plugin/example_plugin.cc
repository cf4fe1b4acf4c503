// An example task plugin: two tasks that futured runs like its built-in
// ones once started with --plugin=<build>/examples/plugin/example_plugin.so.
//
//   primes.count_below(n)  how many primes are below n; reports progress and
//                          stops when cancelled
//   text.word_count(text)  how many whitespace-separated words text has
//
// Built by examples/plugin/CMakeLists.txt; the README's "Writing a task
// plugin" walks through it.
#include <cstdint>
#include <string>

#include "futured/plugin.h"

namespace {

namespace fp = futured::plugin;

bool IsPrime(int64_t n) {
  if (n < 2) return false;
  for (int64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

// Counts by trial division, so that a large n takes a while: long enough to
// watch its progress and to cancel it.
fp::Json CountPrimesBelow(fp::Context& ctx, const fp::Args& args) {
  const int64_t n = args.integer("n");
  constexpr int64_t kReportEvery = 1 << 14;
  int64_t count = 0;
  for (int64_t i = 2; i < n; ++i) {
    if (IsPrime(i)) ++count;
    if (i % kReportEvery == 0) {
      // Cheap to call often: futured keeps the latest report and coalesces.
      ctx.progress(static_cast<double>(i) / static_cast<double>(n),
                   "checked " + std::to_string(i) + " of " + std::to_string(n));
      if (ctx.cancelled()) throw fp::Cancelled();
    }
  }
  return count;
}

fp::Json CountWords(fp::Context& ctx, const fp::Args& args) {
  const std::string& text = args.string("text");
  int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                       c == '\f' || c == '\v';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

FUTURED_PLUGIN(registry) {
  registry.add({
      .name = "primes.count_below",
      .description = "Counts the primes below n by trial division; reports "
                     "progress and stops when cancelled.",
      .params = {{.name = "n",
                  .type = fp::ParamType::kInteger,
                  .min = 0,
                  .max = 1e15}},
      .function = CountPrimesBelow,
  });
  registry.add({
      .name = "text.word_count",
      .description = "Counts the whitespace-separated words of a text.",
      .params = {{.name = "text", .type = fp::ParamType::kString}},
      .function = CountWords,
  });
}
