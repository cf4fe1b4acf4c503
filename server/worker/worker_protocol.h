// Conversions between task outcomes and the internal worker protocol
// (proto/futured/internal/worker.proto).
#ifndef FUTURED_SERVER_WORKER_WORKER_PROTOCOL_H_
#define FUTURED_SERVER_WORKER_WORKER_PROTOCOL_H_

#include "futured/internal/worker.pb.h"
#include "server/task/outcome.h"

namespace futured::server {

// Fills the outcome fields of `out` (not its task_id).
void ToWire(const Outcome& outcome, internal::TaskResult* out);

// The outcome a worker reported. A result with no outcome set (which our
// worker never sends) reads as a TaskError "WorkerProtocolError".
Outcome FromWire(const internal::TaskResult& result);

}  // namespace futured::server

#endif  // FUTURED_SERVER_WORKER_WORKER_PROTOCOL_H_
