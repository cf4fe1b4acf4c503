#include "server/daemon/dashboard_json.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/daemon/dashboard_figures.h"
#include "server/engine/future_table.h"

namespace futured::server {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kQuotedPrefix = 40;  // of a bad value, in an error

Value Str(absl::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

Value Num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}

Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

Value Null() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

Value Object(Struct s) {
  Value v;
  *v.mutable_struct_value() = std::move(s);
  return v;
}

Value List(std::vector<Value> items) {
  Value v;
  ListValue* list = v.mutable_list_value();
  for (Value& item : items) *list->add_values() = std::move(item);
  return v;
}

Value Time(absl::Time t) {
  return Str(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
}

Value OptionalTime(const std::optional<absl::Time>& t) {
  return t.has_value() ? Time(*t) : Null();
}

std::string Render(const Struct& document) {
  std::string json;
  // Struct holds only JSON's own types: it always converts.
  (void)google::protobuf::util::MessageToJsonString(document, &json);
  return json;
}

std::string Quoted(absl::string_view value) {
  return absl::StrCat("'", value.substr(0, kQuotedPrefix),
                      value.size() > kQuotedPrefix ? "...'" : "'");
}

Struct FutureFields(const FutureSnapshot& s, absl::Time now) {
  Struct f;
  auto& fields = *f.mutable_fields();
  fields["id"] = Str(s.id);
  fields["function"] = Str(s.function);
  fields["pool"] = Str(s.pool);
  fields["status"] = Str(FutureStatus(s));
  fields["submit_time"] = Time(s.submit_time);
  fields["start_time"] = OptionalTime(s.start_time);
  fields["end_time"] = OptionalTime(s.end_time);
  fields["deadline"] =
      s.deadline == absl::InfiniteFuture() ? Null() : Time(s.deadline);
  fields["worker_pid"] = s.worker_pid > 0 ? Num(s.worker_pid) : Null();
  if (s.start_time.has_value()) {
    const absl::Time end = s.end_time.value_or(now);
    fields["run_seconds"] =
        Num(std::max(0.0, absl::ToDoubleSeconds(end - *s.start_time)));
  } else {
    fields["run_seconds"] = Null();
  }
  if (s.progress.has_value()) {
    Struct p;
    (*p.mutable_fields())["fraction"] = Num(s.progress->fraction);
    (*p.mutable_fields())["message"] = Str(s.progress->message);
    (*p.mutable_fields())["update_time"] = Time(s.progress->update_time);
    fields["progress"] = Object(std::move(p));
  } else {
    fields["progress"] = Null();
  }
  fields["attempt"] = Num(s.attempt);
  fields["max_attempts"] = Num(s.max_attempts);
  std::vector<Value> earlier;
  for (const AttemptError& attempt : s.earlier_attempts) {
    Struct a;
    auto& af = *a.mutable_fields();
    af["attempt"] = Num(attempt.attempt);
    af["type"] = Str(attempt.error.type);
    af["message"] = Str(attempt.error.message);
    af["end_time"] = Time(attempt.end_time);
    earlier.push_back(Object(std::move(a)));
  }
  fields["earlier_attempts"] = List(std::move(earlier));
  fields["value"] = Null();
  fields["error"] = Null();
  if (s.outcome.has_value()) {
    if (const auto* value = std::get_if<Value>(&*s.outcome)) {
      fields["value"] = *value;
    } else if (const auto* error = std::get_if<TaskError>(&*s.outcome)) {
      Struct e;
      (*e.mutable_fields())["type"] = Str(error->type);
      (*e.mutable_fields())["message"] = Str(error->message);
      if (error->details.kind_case() != Value::KIND_NOT_SET) {
        (*e.mutable_fields())["details"] = error->details;
      }
      fields["error"] = Object(std::move(e));
    }
  }
  return f;
}

Value PoolJson(const PoolFigures& pool, absl::Time now) {
  Struct p;
  auto& fields = *p.mutable_fields();
  fields["name"] = Str(pool.stats.name);
  fields["kind"] = Str(pool.stats.kind);
  fields["workers"] = Num(static_cast<double>(pool.stats.workers));
  fields["queued"] = Num(static_cast<double>(pool.stats.queued));
  fields["running"] = Num(static_cast<double>(pool.stats.running));
  fields["queue_capacity"] =
      Num(static_cast<double>(pool.stats.queue_capacity));
  fields["worker_restarts"] =
      Num(static_cast<double>(pool.stats.worker_restarts));
  std::vector<Value> workers;
  for (size_t i = 0; i < pool.workers.size(); ++i) {
    const WorkerFigures& worker = pool.workers[i];
    Struct w;
    auto& wf = *w.mutable_fields();
    wf["index"] = Num(static_cast<double>(i));
    wf["pid"] = worker.pid > 0 ? Num(worker.pid) : Null();
    wf["busy"] = Bool(worker.busy);
    wf["task"] = worker.task.has_value()
                     ? Object(FutureFields(*worker.task, now))
                     : Null();
    workers.push_back(Object(std::move(w)));
  }
  fields["worker_list"] = List(std::move(workers));
  return Object(std::move(p));
}

Value FunctionJson(const FunctionStats& function) {
  Struct f;
  auto& fields = *f.mutable_fields();
  fields["name"] = Str(function.name);
  fields["finished"] = Num(static_cast<double>(function.finished));
  fields["failed"] = Num(static_cast<double>(function.failed));
  fields["cancelled"] = Num(static_cast<double>(function.cancelled));
  fields["runs"] = Num(static_cast<double>(function.run_count));
  for (const auto& [name, q] :
       {std::pair{"p50", 0.5}, std::pair{"p90", 0.9}, std::pair{"p99", 0.99}}) {
    const std::optional<double> seconds = RunTimeQuantile(function, q);
    fields[absl::StrCat(name, "_seconds")] =
        seconds.has_value() ? Num(*seconds) : Null();
  }
  std::vector<Value> buckets;
  int64_t below = 0;
  for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
    Struct b;
    (*b.mutable_fields())["le"] = Num(kRunTimeBuckets[i]);
    (*b.mutable_fields())["runs"] =
        Num(static_cast<double>(function.run_time_buckets[i] - below));
    below = function.run_time_buckets[i];
    buckets.push_back(Object(std::move(b)));
  }
  Struct inf;
  (*inf.mutable_fields())["le"] = Null();  // +Inf
  (*inf.mutable_fields())["runs"] =
      Num(static_cast<double>(function.run_count - below));
  buckets.push_back(Object(std::move(inf)));
  fields["run_time_histogram"] = List(std::move(buckets));
  return Object(std::move(f));
}

}  // namespace

std::string FutureStatus(const FutureSnapshot& snapshot) {
  switch (snapshot.state) {
    case FutureState::kPending:
      return "pending";
    case FutureState::kRunning:
      return "running";
    case FutureState::kCancelled:
      return "cancelled";
    case FutureState::kFinished:
      return snapshot.outcome.has_value() && IsError(*snapshot.outcome)
                 ? "failed"
                 : "finished";
  }
  return "unknown";
}

std::string OverviewJson(const OverviewFigures& figures) {
  Struct document;
  auto& fields = *document.mutable_fields();
  fields["principal"] = Str(figures.principal);
  fields["sees_all"] = Bool(figures.sees_all);
  fields["version"] = Str(figures.version);
  fields["start_time"] = Time(figures.start_time);
  fields["now"] = Time(figures.now);
  fields["futures_in_table"] = Num(static_cast<double>(figures.futures));
  if (figures.journal) {
    Struct journal;
    auto& j = *journal.mutable_fields();
    j["path"] = Str(figures.journal->path);
    j["commits"] = Num(static_cast<double>(figures.journal->commits));
    j["records"] = Num(static_cast<double>(figures.journal->records));
    j["failed_commits"] =
        Num(static_cast<double>(figures.journal->failed_commits));
    j["commit_seconds"] =
        Num(absl::ToDoubleSeconds(figures.journal->commit_time));
    j["file_bytes"] = Num(static_cast<double>(figures.journal->file_bytes));
    *fields["journal"].mutable_struct_value() = std::move(journal);
  }
  std::vector<Value> pools;
  for (const PoolFigures& pool : figures.pools) {
    pools.push_back(PoolJson(pool, figures.now));
  }
  fields["pools"] = List(std::move(pools));
  std::vector<Value> functions;
  for (const FunctionStats& function : figures.functions) {
    functions.push_back(FunctionJson(function));
  }
  fields["functions"] = List(std::move(functions));
  std::vector<Value> throughput;
  for (const ThroughputHistory::Rate& rate : figures.throughput) {
    Struct r;
    (*r.mutable_fields())["time"] = Time(rate.end);
    (*r.mutable_fields())["per_second"] = Num(rate.per_second);
    throughput.push_back(Object(std::move(r)));
  }
  fields["throughput"] = List(std::move(throughput));
  return Render(document);
}

std::string FutureJson(const FutureSnapshot& snapshot, absl::Time now) {
  return Render(FutureFields(snapshot, now));
}

std::string FutureJson(
    const FutureSnapshot& snapshot, absl::Time now,
    const absl::StatusOr<google::protobuf::ListValue>& args) {
  Struct f = FutureFields(snapshot, now);
  auto& fields = *f.mutable_fields();
  if (args.ok()) {
    *fields["args"].mutable_list_value() = *args;
  } else {
    fields["args_unknown"] = Str(args.status().message());
  }
  return Render(f);
}

std::string FutureListJson(const std::vector<FutureSnapshot>& snapshots,
                           size_t scanned, absl::Time now) {
  Struct document;
  std::vector<Value> futures;
  futures.reserve(snapshots.size());
  for (const FutureSnapshot& snapshot : snapshots) {
    futures.push_back(Object(FutureFields(snapshot, now)));
  }
  auto& fields = *document.mutable_fields();
  fields["futures"] = List(std::move(futures));
  fields["matched"] = Num(static_cast<double>(snapshots.size()));
  fields["scanned"] = Num(static_cast<double>(scanned));
  return Render(document);
}

std::string ErrorJson(absl::string_view message) {
  Struct document;
  (*document.mutable_fields())["error"] = Str(message);
  return Render(document);
}

bool FutureFilter::Matches(const FutureSnapshot& snapshot) const {
  return (status.empty() || FutureStatus(snapshot) == status) &&
         (function.empty() || snapshot.function == function);
}

absl::StatusOr<FutureFilter> ParseFutureFilter(absl::string_view state,
                                               absl::string_view function,
                                               absl::string_view limit) {
  FutureFilter filter;
  const std::string status = absl::AsciiStrToLower(
      state.substr(0, std::min(state.size(), kQuotedPrefix + 1)));
  if (!state.empty()) {
    if (status != "pending" && status != "running" && status != "finished" &&
        status != "failed" && status != "cancelled") {
      return absl::InvalidArgumentError(
          absl::StrCat("state ", Quoted(state),
                       " is not one of pending, running, finished, failed, "
                       "cancelled"));
    }
    filter.status = status;
  }
  if (function.size() > kMaxFunctionNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "function name is longer than ", kMaxFunctionNameBytes, " bytes"));
  }
  filter.function = std::string(function);
  if (!limit.empty()) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(limit, &n) || n < 1 ||
        n > static_cast<int64_t>(kMaxFutureListLimit)) {
      return absl::InvalidArgumentError(
          absl::StrCat("limit ", Quoted(limit), " is not a number from 1 to ",
                       kMaxFutureListLimit));
    }
    filter.limit = static_cast<size_t>(n);
  }
  return filter;
}

bool IsWellFormedFutureId(absl::string_view id) {
  return !id.empty() && id.size() <= FutureTable::kMaxIdSize &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '-';
         });
}

}  // namespace futured::server
