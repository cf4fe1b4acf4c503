// A test plugin registering one task named DUPLICATE_NAME (a compile
// definition): built once with a built-in task's name and once with the
// example plugin's, so that loading it is a name clash.
#include "futured/plugin.h"

FUTURED_PLUGIN(registry) {
  registry.add(
      {.name = DUPLICATE_NAME,
       .description = "Clashes with another task of this name.",
       .params = {},
       .function = [](futured::plugin::Context&, const futured::plugin::Args&) {
         return futured::plugin::Json();
       }});
}
