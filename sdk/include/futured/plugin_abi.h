/* The C boundary between futured and a task plugin (a shared library that
 * futured loads with dlopen, in the daemon and in every worker process).
 *
 * Most plugin authors never use this file directly: futured/plugin.h is a
 * header-only C++ layer on top of it. It is plain C so that the boundary does
 * not depend on the C++ standard library, the compiler or protobuf versions
 * on either side.
 *
 * Values cross the boundary as JSON text (UTF-8), not as protobuf messages:
 * protobuf has no stable binary interface between versions, so a plugin
 * handed a google.protobuf.Value built by another libprotobuf would crash
 * the daemon; JSON text is just bytes. The daemon parses what a plugin
 * returns with protobuf's own JSON parser, so text that is not JSON becomes
 * a task error, never a crash.
 *
 * A plugin exports two functions (FUTURED_PLUGIN in futured/plugin.h defines
 * both):
 *   uint32_t futured_plugin_abi_version(void);
 *       returns FUTURED_PLUGIN_ABI_VERSION as the plugin saw it at build
 *       time. futured calls it first and refuses a plugin whose version
 *       differs from its own, before it touches anything else.
 *   int futured_plugin_register(const futured_registrar* registrar);
 *       calls registrar->add_task once per task; returns 0 on success.
 *
 * Threading: a task function may run on many threads at once (a thread pool)
 * or in another process (a process pool); each call gets its own
 * futured_task_call, valid only until the function returns.
 */
#ifndef FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_ABI_H_
#define FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct or function below changes in any way. */
#define FUTURED_PLUGIN_ABI_VERSION 1u

/* The JSON type a parameter accepts (futured's ParamType). */
enum futured_param_type {
  FUTURED_PARAM_ANY = 0,
  FUTURED_PARAM_NUMBER = 1,
  FUTURED_PARAM_INTEGER = 2, /* a number with no fraction */
  FUTURED_PARAM_STRING = 3,
  FUTURED_PARAM_BOOL = 4,
  FUTURED_PARAM_LIST = 5,
  FUTURED_PARAM_OBJECT = 6
};

/* Log levels for futured_task_call.log and futured_registrar.log. */
enum futured_log_level {
  FUTURED_LOG_DEBUG = 0,
  FUTURED_LOG_INFO = 1,
  FUTURED_LOG_WARNING = 2,
  FUTURED_LOG_ERROR = 3
};

/* One call of a task function. Every pointer is owned by futured and valid
 * only during the call. `host` is opaque: pass it back to the functions. */
typedef struct futured_task_call {
  /* The arguments, bound and checked against the task's parameters: a JSON
   * list with one value per parameter, in parameter order, defaults filled
   * in. Not NUL-terminated. */
  const char* args_json;
  size_t args_json_size;
  /* Microseconds since the Unix epoch when the call's deadline passes; 0 if
   * it has none. */
  int64_t deadline_unix_micros;
  void* host;
  /* Nonzero once the future was cancelled or its deadline passed. In a
   * process pool this stays 0: a task there is stopped by killing its
   * worker process. */
  int (*is_cancelled)(void* host);
  /* Reports progress: a fraction in [0, 1] (clamped) and a short UTF-8
   * message (may be NULL). Cheap; futured coalesces rapid reports. */
  void (*report_progress)(void* host, double fraction, const char* message);
  /* Writes one line to futured's log, naming the task. */
  void (*log)(void* host, int level, const char* message);
  /* Exactly one of these ends the call; the first one called wins. A call
   * that returns without any fails with "PluginError". */
  /* The return value: JSON text of `size` bytes. */
  void (*set_value)(void* host, const char* json, size_t size);
  /* The error the task raised, as Python shows it: `type: message`. */
  void (*set_error)(void* host, const char* type, const char* message);
  /* The task stopped because it was cancelled. */
  void (*set_cancelled)(void* host);
} futured_task_call;

/* A task function. Must not let a C++ exception escape. */
typedef void (*futured_task_function)(const futured_task_call* call,
                                      void* user_data);

/* One parameter, as in a Python signature. */
typedef struct futured_param_def {
  const char* name;
  int type; /* a futured_param_type */
  /* JSON text of the default value, NUL-terminated; NULL if the parameter
   * is required. */
  const char* default_json;
  /* Inclusive bounds for number and integer parameters. */
  int has_min;
  double min;
  int has_max;
  double max;
} futured_param_def;

/* A task to register. futured copies every string; `function` and
 * `user_data` must stay valid as long as the plugin is loaded (futured never
 * unloads a plugin). */
typedef struct futured_task_def {
  const char* name; /* e.g. "primes.count_below" */
  const char* description;
  const futured_param_def* params;
  size_t param_count;
  futured_task_function function;
  void* user_data;
} futured_task_def;

/* Handed to futured_plugin_register; valid only during that call. */
typedef struct futured_registrar {
  uint32_t abi_version; /* futured's FUTURED_PLUGIN_ABI_VERSION */
  void* host;
  /* Registers a task. 0 on success; otherwise futured has recorded why (a
   * taken name, a bad parameter) and will refuse the plugin. */
  int (*add_task)(void* host, const futured_task_def* def);
  void (*log)(void* host, int level, const char* message);
} futured_registrar;

#ifdef __cplusplus
}
#endif

#endif /* FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_ABI_H_ */
