// A test plugin with the right ABI version but no futured_plugin_register.
#include <cstdint>

#include "futured/plugin_abi.h"

extern "C" __attribute__((visibility("default"))) uint32_t
futured_plugin_abi_version(void) {
  return FUTURED_PLUGIN_ABI_VERSION;
}
