// A test plugin, written against the raw C boundary, whose tasks hand back
// what a careless plugin might: text that is not JSON, no result at all, an
// error whose text is not UTF-8, two results. futured must turn each into a
// task outcome and never crash.
#include <cstring>

#include "futured/plugin_abi.h"

namespace {

void InvalidJson(const futured_task_call* call, void*) {
  const char text[] = "{not json";
  call->set_value(call->host, text, std::strlen(text));
}

void NoResult(const futured_task_call* call, void*) {}

void BadUtf8Error(const futured_task_call* call, void*) {
  call->set_error(call->host,
                  "Bad\xff"
                  "Type",
                  "message \xc3\x28 here");
}

void TwoResults(const futured_task_call* call, void*) {
  call->set_value(call->host, "1", 1);
  call->set_value(call->host, "2", 1);
  call->set_error(call->host, "ValueError", "too late");
}

int Add(const futured_registrar* r, const char* name,
        futured_task_function function) {
  const futured_task_def def = {name, "misbehaves", nullptr,
                                0,    function,     nullptr};
  return r->add_task(r->host, &def);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) uint32_t
futured_plugin_abi_version(void) {
  return FUTURED_PLUGIN_ABI_VERSION;
}

extern "C" __attribute__((visibility("default"))) int futured_plugin_register(
    const futured_registrar* registrar) {
  if (Add(registrar, "bad.invalid_json", InvalidJson) != 0 ||
      Add(registrar, "bad.no_result", NoResult) != 0 ||
      Add(registrar, "bad.bad_utf8_error", BadUtf8Error) != 0 ||
      Add(registrar, "bad.two_results", TwoResults) != 0) {
    return 1;
  }
  return 0;
}
