#include "futured/wait.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/time/time.h"
#include "client_core.h"
#include "future_proxy.h"
#include "info_convert.h"
#include "one_client.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

v1::ReturnWhen ToProto(ReturnWhen return_when) {
  switch (return_when) {
    case ReturnWhen::kFirstCompleted:
      return v1::RETURN_WHEN_FIRST_COMPLETED;
    case ReturnWhen::kFirstException:
      return v1::RETURN_WHEN_FIRST_EXCEPTION;
    case ReturnWhen::kAllCompleted:
      break;
  }
  return v1::RETURN_WHEN_ALL_COMPLETED;
}

// True when a final snapshot says the task raised.
bool Raised(FutureProxy& proxy) {
  try {
    std::optional<v1::FutureInfo> info = proxy.Final();
    return info.has_value() && info->outcome().has_error();
  } catch (const RpcError&) {
    return false;  // Lost: done, but not known to have raised.
  }
}

}  // namespace

std::vector<bool> WaitForProxies(
    const std::vector<std::shared_ptr<FutureProxy>>& proxies,
    absl::Duration timeout, ReturnWhen return_when) {
  std::vector<bool> done(proxies.size(), false);
  ClientCore* client = OneClient(proxies);
  // What is known here already, as Python checks before waiting. A future
  // known done from an earlier Wait has no outcome here: whether it raised
  // only the daemon can tell.
  std::size_t known_done = 0;
  bool raised = false;
  std::vector<bool> ask(proxies.size(), false);
  for (std::size_t i = 0; i < proxies.size(); ++i) {
    if (proxies[i]->KnownDone()) {
      done[i] = true;
      ++known_done;
      raised = raised || Raised(*proxies[i]);
      ask[i] = return_when == ReturnWhen::kFirstException &&
               !proxies[i]->KnownFinal();
    } else {
      ask[i] = true;
    }
  }
  if (known_done == proxies.size()) return done;
  // Even when what is known here settles it, the daemon is asked (without
  // waiting) about the others: as in Python, every future that is done
  // lands in `done`.
  const bool settled =
      (return_when == ReturnWhen::kFirstCompleted && known_done > 0) ||
      (return_when == ReturnWhen::kFirstException && raised);
  if (settled) timeout = absl::ZeroDuration();

  v1::WaitRequest request;
  std::unordered_map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < proxies.size(); ++i) {
    if (!ask[i] || (settled && done[i])) continue;
    index_of.emplace(proxies[i]->id(), i);
    request.add_ids(proxies[i]->id());
  }
  request.set_return_when(ToProto(return_when));
  if (timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() = ToProtoDuration(timeout);
  }
  grpc::ClientContext context;
  client->SetWaitDeadline(&context, timeout);
  v1::WaitResponse response;
  ThrowIfFailed(client->stub().Wait(&context, request, &response));
  for (const std::string& id : response.done()) {
    auto it = index_of.find(id);
    if (it == index_of.end()) continue;
    proxies[it->second]->RecordDone();
    done[it->second] = true;
  }
  return done;
}

}  // namespace futured::internal
