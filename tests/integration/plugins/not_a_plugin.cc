// A shared library that is no futured plugin: it loads, but exports neither
// futured_plugin_abi_version nor futured_plugin_register.
extern "C" __attribute__((visibility("default"))) int not_a_plugin_answer(
    void) {
  return 42;
}
