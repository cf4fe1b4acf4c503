// How a journal stores a future's retry policy and its earlier attempts:
// as bytes (futured.internal protos), the same in every store.
#ifndef FUTURED_SERVER_STORE_JOURNAL_CODEC_H_
#define FUTURED_SERVER_STORE_JOURNAL_CODEC_H_

#include <optional>
#include <string>
#include <vector>

#include "server/future/retry_policy.h"

namespace futured::server {

std::string SerializePolicy(const RetryPolicy& policy);
// Unset for bytes that are no policy.
std::optional<RetryPolicy> ParsePolicy(const std::string& bytes);

std::string SerializeAttempts(const std::vector<AttemptError>& attempts);
// Unset for bytes that are no attempts.
std::optional<std::vector<AttemptError>> ParseAttempts(
    const std::string& bytes);

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_JOURNAL_CODEC_H_
