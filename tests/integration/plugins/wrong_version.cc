// A test plugin built as if against another SDK: its ABI version is not
// this futured's. futured must refuse it before calling anything else.
#include <cstdint>

#include "futured/plugin_abi.h"

extern "C" __attribute__((visibility("default"))) uint32_t
futured_plugin_abi_version(void) {
  return FUTURED_PLUGIN_ABI_VERSION + 1;
}

// Never called: the version check comes first. Registering nothing, it
// would make the plugin load if the check were missing.
extern "C" __attribute__((visibility("default"))) int futured_plugin_register(
    const futured_registrar* registrar) {
  return 0;
}
