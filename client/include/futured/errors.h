// The client library's one error model: exceptions, as Python's
// concurrent.futures raises them.
//
//   futured::Error            base of everything below (a std::runtime_error)
//   ├─ futured::TaskError     the task raised; carries the remote type, message
//   │                         and details. what() is the message, as Python's
//   │                         str(e); type() is e.g. "ValueError".
//   ├─ futured::TimeoutError  a wait ran out of time (Future::result/exception
//   │                         with a timeout, as_completed, map). The future
//   │                         keeps running. A task that the daemon stopped
//   │                         for its own Submit timeout is a TaskError whose
//   │                         type() is "TimeoutError", not this.
//   ├─ futured::CancelledError the future was cancelled (result, exception).
//   ├─ futured::RpcError      the call itself failed: daemon unreachable,
//   │                         unknown future ID (NOT_FOUND), shutting down
//   │                         (UNAVAILABLE), ...; status() has the gRPC code
//   │                         as an absl::Status.
//   ├─ futured::ValueError    a value does not convert to or from the C++
//   │                         type asked for (see value.h), bad JSON, or an
//   │                         argument out of range (map's buffersize 0).
//   └─ futured::RuntimeError  the executor is shut down: submit, map and
//                             run after shutdown(), as Python's RuntimeError
//                             "cannot schedule new futures after shutdown".
//
// Calls on a Future, Executor or Client throw only these (and std::bad_alloc).
// Exceptions are copyable values; they are thread-compatible.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_ERRORS_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_ERRORS_H_

#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"

namespace futured {

// Base of every error the library throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A task ended by raising an error: Python's exception re-raised by result().
class TaskError : public Error {
 public:
  TaskError(std::string type, std::string message,
            google::protobuf::Value details = {});

  // The remote exception's type name, e.g. "ValueError".
  const std::string& type() const { return type_; }
  // The remote message; also what().
  const std::string& message() const { return message_; }
  // Structured details; a null Value (kind not set) when the task gave none.
  const google::protobuf::Value& details() const { return details_; }

 private:
  std::string type_;
  std::string message_;
  google::protobuf::Value details_;
};

// A wait ran out of time before the future (or futures) were done.
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// The future was cancelled, so it has no result.
class CancelledError : public Error {
 public:
  using Error::Error;
};

// A call to the daemon failed (transport or status), not the task.
class RpcError : public Error {
 public:
  explicit RpcError(absl::Status status);

  const absl::Status& status() const { return status_; }
  absl::StatusCode code() const { return status_.code(); }

 private:
  absl::Status status_;
};

// A value does not fit the C++ type asked for (value.h), text is not JSON,
// or an argument is out of range (Python's ValueError).
class ValueError : public Error {
 public:
  using Error::Error;
};

// The executor cannot take the call: it is shut down (Python's
// RuntimeError from submit or map after shutdown).
class RuntimeError : public Error {
 public:
  using Error::Error;
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_ERRORS_H_
