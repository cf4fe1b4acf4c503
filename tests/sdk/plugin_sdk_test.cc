// The header-only plugin SDK (sdk/include/futured/plugin.h, plugin_json.h),
// without futured: its JSON, and the C-boundary call that keeps every
// exception on the plugin's side.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "futured/plugin.h"
#include "gtest/gtest.h"

namespace futured::plugin {
namespace {

TEST(PluginJsonTest, DumpsCompactJson) {
  EXPECT_EQ(Json().dump(), "null");
  EXPECT_EQ(Json(3).dump(), "3");
  EXPECT_EQ(Json(-2.5).dump(), "-2.5");
  EXPECT_EQ(Json(1e300).dump(), "1e+300");
  EXPECT_EQ(Json(true).dump(), "true");
  EXPECT_EQ(Json("a\"b\\c\n\x01").dump(), "\"a\\\"b\\\\c\\n\\u0001\"");
  EXPECT_EQ(Json(Json::Array{1, "x", nullptr}).dump(), "[1,\"x\",null]");
  EXPECT_EQ(Json(Json::Object{{"b", 2}, {"a", Json::Array{}}}).dump(),
            "{\"a\":[],\"b\":2}");
  EXPECT_THROW(Json(std::nan("")).dump(), std::invalid_argument);
}

TEST(PluginJsonTest, ParsesWhatItDumpsAndUnicodeEscapes) {
  const Json value = Json::parse(
      " {\"n\": -12.5e1, \"s\": \"\\u00e9\\ud83d\\ude42\\/\", \"l\": [true, "
      "false, null, {}]} ");
  EXPECT_EQ(value["n"].as_number(), -125);
  EXPECT_EQ(value["s"].as_string(), "\xc3\xa9\xf0\x9f\x99\x82/");
  EXPECT_EQ(value["l"][0].as_bool(), true);
  EXPECT_TRUE(value["l"][2].is_null());
  EXPECT_EQ(Json::parse(value.dump()), value);
}

TEST(PluginJsonTest, RejectsWhatIsNotJson) {
  for (const char* text :
       {"", "{", "[1,]", "01", "1.", "\"\\x\"", "\"\\ud800\"", "nul", "1 2",
        "{\"a\" 1}", "\"\x01\"", "1e999"}) {
    EXPECT_THROW(Json::parse(text), std::invalid_argument) << text;
  }
  EXPECT_THROW(Json::parse(std::string(600, '[') + std::string(600, ']')),
               std::invalid_argument);
}

TEST(PluginJsonTest, AccessorsRaisePythonStyleErrors) {
  const Json value = Json::parse("{\"x\": 1.5, \"l\": [1]}");
  try {
    value["x"].as_integer();
    FAIL();
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "TypeError");
  }
  try {
    value["missing"];
    FAIL();
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "KeyError");
  }
  try {
    value["l"][5];
    FAIL();
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "IndexError");
  }
  EXPECT_THROW(value["x"].as_string(), TaskError);
}

// A fake futured side of one call: records what the plugin hands back.
struct FakeHost {
  std::string args = "[]";
  bool cancelled = false;
  std::string value;
  std::string error_type;
  std::string error_message;
  bool set_cancelled = false;
  std::vector<double> progress;

  futured_task_call Call() {
    return futured_task_call{
        .args_json = args.data(),
        .args_json_size = args.size(),
        .deadline_unix_micros = 0,
        .host = this,
        .is_cancelled = [](void* h) { return Of(h).cancelled ? 1 : 0; },
        .report_progress = [](void* h, double f,
                              const char*) { Of(h).progress.push_back(f); },
        .log = [](void*, int, const char*) {},
        .set_value = [](void* h, const char* json,
                        size_t size) { Of(h).value.assign(json, size); },
        .set_error =
            [](void* h, const char* type, const char* message) {
              Of(h).error_type = type;
              Of(h).error_message = message;
            },
        .set_cancelled = [](void* h) { Of(h).set_cancelled = true; },
    };
  }
  static FakeHost& Of(void* h) { return *static_cast<FakeHost*>(h); }
};

// Calls `function` through the C boundary as futured would.
FakeHost CallThroughBoundary(TaskFunction function, std::string args = "[]",
                             std::vector<Param> params = {}) {
  internal::RegisteredTask task{.task = {.name = "t",
                                         .description = "",
                                         .params = std::move(params),
                                         .function = std::move(function)},
                                .defaults = {},
                                .param_defs = {}};
  FakeHost host;
  host.args = std::move(args);
  const futured_task_call call = host.Call();
  internal::CallTask(&call, &task);
  return host;
}

TEST(PluginCallTest, ReturnsTheValueAsJsonAndReadsArgumentsByName) {
  const FakeHost host = CallThroughBoundary(
      [](Context& ctx, const Args& args) -> Json {
        ctx.progress(0.5, "half");
        return Json::Object{{"sum", args.integer("a") + args.integer("b")}};
      },
      "[2, 3]", {{.name = "a"}, {.name = "b"}});
  EXPECT_EQ(host.value, "{\"sum\":5}");
  EXPECT_EQ(host.progress, std::vector<double>{0.5});
}

TEST(PluginCallTest, NothingThrownCrossesTheBoundary) {
  FakeHost host = CallThroughBoundary([](Context&, const Args&) -> Json {
    throw TaskError("ValueError", "bad n");
  });
  EXPECT_EQ(host.error_type, "ValueError");
  EXPECT_EQ(host.error_message, "bad n");
  host = CallThroughBoundary(
      [](Context&, const Args&) -> Json { throw std::out_of_range("boom"); });
  EXPECT_EQ(host.error_type, "RuntimeError");
  EXPECT_EQ(host.error_message, "boom");
  host = CallThroughBoundary([](Context&, const Args&) -> Json { throw 42; });
  EXPECT_EQ(host.error_type, "RuntimeError");
  host = CallThroughBoundary(
      [](Context&, const Args&) -> Json { return std::nan(""); });
  EXPECT_EQ(host.error_type, "RuntimeError");  // not JSON: never sent
  EXPECT_TRUE(host.value.empty());
  host = CallThroughBoundary(
      [](Context&, const Args& args) -> Json { return args["nope"]; });
  EXPECT_EQ(host.error_type, "KeyError");
}

TEST(PluginCallTest, CancelledIsReportedAsCancelled) {
  const FakeHost host =
      CallThroughBoundary([](Context& ctx, const Args&) -> Json {
        if (!ctx.cancelled()) throw Cancelled();
        return 1;
      });
  EXPECT_TRUE(host.set_cancelled);
  EXPECT_TRUE(host.value.empty());
}

}  // namespace
}  // namespace futured::plugin
