#include "server/task/task_call.h"

#include <exception>
#include <new>

#include "absl/strings/str_cat.h"

namespace futured::server {

Outcome CallTask(const TaskSpec& spec, const TaskContext& ctx,
                 const BoundArgs& args) {
  try {
    return spec.function(ctx, args);
  } catch (const std::bad_alloc& e) {
    return TaskError{
        .type = "MemoryError",
        .message = absl::StrCat("task ", spec.name, " ran out of memory (",
                                e.what(), ")")};
  } catch (const std::exception& e) {
    return TaskError{.type = "RuntimeError", .message = e.what()};
  } catch (...) {
    return TaskError{.type = "RuntimeError", .message = "unknown exception"};
  }
}

}  // namespace futured::server
