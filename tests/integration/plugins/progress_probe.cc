// A test plugin whose task reports one known progress and then waits to be
// cancelled, so that tests can see that exact report in both pools; and one
// that reports in a tight loop, to show the reports are coalesced.
#include <chrono>
#include <cstdint>
#include <string>

#include "futured/plugin.h"

namespace fp = futured::plugin;

FUTURED_PLUGIN(registry) {
  registry.add({
      .name = "probe.report_and_wait",
      .description = "Reports progress (fraction, message), then sleeps "
                     "until cancelled or `seconds` pass.",
      .params = {{.name = "fraction", .type = fp::ParamType::kNumber},
                 {.name = "message", .type = fp::ParamType::kString},
                 {.name = "seconds",
                  .type = fp::ParamType::kNumber,
                  .default_value = 600}},
      .function = [](fp::Context& ctx, const fp::Args& args) -> fp::Json {
        ctx.progress(args.number("fraction"), args.string("message"));
        const auto wait = std::chrono::duration<double>(args.number("seconds"));
        if (!ctx.sleep_for(wait)) throw fp::Cancelled();
        return "done";
      },
  });
  registry.add({
      .name = "probe.report_many",
      .description = "Reports progress `count` times in a tight loop, the "
                     "last one (1, \"last\"), and returns count.",
      .params = {{.name = "count", .type = fp::ParamType::kInteger, .min = 1}},
      .function = [](fp::Context& ctx, const fp::Args& args) -> fp::Json {
        const int64_t count = args.integer("count");
        for (int64_t i = 1; i < count; ++i) {
          ctx.progress(static_cast<double>(i) / count, std::to_string(i));
        }
        ctx.progress(1, "last");
        return count;
      },
  });
}
