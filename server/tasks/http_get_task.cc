#include "server/tasks/http_get_task.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/task/utf8.h"
#include "server/tasks/html_title.h"
#include "server/tasks/result_object.h"
#include "server/tasks/value_builders.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;

// Parameter positions.
constexpr size_t kUrl = 0;
constexpr size_t kTimeout = 1;
constexpr size_t kMaxBytes = 2;

constexpr char kAllowedProtocols[] = "http,https";
constexpr long kMaxRedirects = 10;
// How often the transfer loop looks at the cancellation token.
constexpr int kCancelCheckMs = 100;

// The lower-case scheme of `url` as libcurl parses it, or an error.
absl::StatusOr<std::string> SchemeOf(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> parsed(curl_url(),
                                                             curl_url_cleanup);
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory");
  // NON_SUPPORT_SCHEME: an unknown scheme is reported below, by name.
  if (const CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL,
                                        url.c_str(), CURLU_NON_SUPPORT_SCHEME);
      rc != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http.get() url '", url, "' is not a URL: ", curl_url_strerror(rc)));
  }
  char* scheme = nullptr;
  if (curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("http.get() url '", url, "' has no scheme"));
  }
  std::string lower = absl::AsciiStrToLower(scheme);
  curl_free(scheme);
  return lower;
}

absl::Status Validate(const BoundArgs& args) {
  const std::string& url = args.String(kUrl);
  // Without "scheme://" libcurl would guess http; futured does not guess.
  if (!absl::StrContains(url, "://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http.get() url must start with http:// or https://, got '", url, "'"));
  }
  absl::StatusOr<std::string> scheme = SchemeOf(url);
  if (!scheme.ok()) return scheme.status();
  if (*scheme != "http" && *scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("http.get() fetches only http:// and https:// URLs, got "
                     "scheme '",
                     *scheme, "'"));
  }
  return absl::OkStatus();
}

// The body as it arrives, up to a limit; libcurl's write callback. Used
// by the transfer's thread only.
struct Body {
  std::string bytes = {};
  size_t limit = 0;
  bool too_large = false;

  static size_t Write(char* data, size_t size, size_t count, void* self) {
    Body& body = *static_cast<Body*>(self);
    const size_t n = size * count;
    if (body.bytes.size() + n > body.limit) {
      body.too_large = true;
      return CURL_WRITEFUNC_ERROR;
    }
    body.bytes.append(data, n);
    return n;
  }
};

// The Python-like error type for a failed transfer.
const char* ErrorType(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return "TimeoutError";
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "InvalidSchema";
    case CURLE_TOO_MANY_REDIRECTS:
      return "TooManyRedirects";
    case CURLE_FILESIZE_EXCEEDED:
      return "ResponseTooLargeError";
    case CURLE_URL_MALFORMAT:
      return "ValueError";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_USE_SSL_FAILED:
      return "SSLError";
    default:
      return "ConnectionError";
  }
}

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using MultiHandle = std::unique_ptr<CURLM, decltype(&curl_multi_cleanup)>;

// Runs `easy` to completion, or until the token is cancelled (false).
// Returns the transfer's code through `result`.
bool Perform(const TaskContext& ctx, CURL* easy, CURLcode* result) {
  MultiHandle multi(curl_multi_init(), curl_multi_cleanup);
  if (multi == nullptr ||
      curl_multi_add_handle(multi.get(), easy) != CURLM_OK) {
    *result = CURLE_OUT_OF_MEMORY;
    return true;
  }
  bool finished = false;
  while (!finished) {
    if (ctx.IsCancelled()) {
      curl_multi_remove_handle(multi.get(), easy);
      return false;
    }
    int running = 0;
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) {
      *result = CURLE_OUT_OF_MEMORY;
      break;
    }
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi.get(), &queued)) {
      if (message->msg == CURLMSG_DONE) {
        *result = message->data.result;
        finished = true;
      }
    }
    if (!finished) {
      curl_multi_poll(multi.get(), nullptr, 0, kCancelCheckMs, nullptr);
    }
  }
  curl_multi_remove_handle(multi.get(), easy);
  return true;
}

// The transfer's timeout: `timeout` seconds, or less if the Submit deadline
// comes sooner; at least 1 ms (0 would mean "none" to libcurl).
long TimeoutMs(const TaskContext& ctx, double timeout_seconds) {
  absl::Duration timeout = absl::Seconds(timeout_seconds);
  if (ctx.deadline() != absl::InfiniteFuture()) {
    timeout = std::min(timeout, ctx.deadline() - absl::Now());
  }
  return std::max<long>(1, absl::ToInt64Milliseconds(timeout));
}

std::optional<std::string> InfoString(CURL* easy, CURLINFO info) {
  char* text = nullptr;
  if (curl_easy_getinfo(easy, info, &text) != CURLE_OK || text == nullptr) {
    return std::nullopt;
  }
  return ToValidUtf8(text);
}

bool IsHtml(const std::optional<std::string>& content_type) {
  if (!content_type.has_value()) return true;  // untyped: may be HTML
  const std::string lower = absl::AsciiStrToLower(*content_type);
  return absl::StrContains(lower, "text/html") ||
         absl::StrContains(lower, "application/xhtml+xml");
}

Outcome HttpGet(const TaskContext& ctx, const BoundArgs& args) {
  const std::string& url = args.String(kUrl);
  const auto max_bytes = static_cast<size_t>(args.Integer(kMaxBytes));
  EasyHandle easy(curl_easy_init(), curl_easy_cleanup);
  if (easy == nullptr) {
    return TaskError{.type = "MemoryError", .message = "curl_easy_init failed"};
  }
  Body body{.limit = max_bytes};
  char error[CURL_ERROR_SIZE] = "";
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, kAllowedProtocols);
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, kAllowedProtocols);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, kMaxRedirects);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   TimeoutMs(ctx, args.Number(kTimeout)));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(max_bytes));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Body::Write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "futured http.get (libcurl)");

  CURLcode code = CURLE_OK;
  if (!Perform(ctx, e, &code)) return Cancelled{};
  if (body.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return TaskError{.type = "ResponseTooLargeError",
                     .message = absl::StrCat("GET ", url,
                                             ": the response body is larger "
                                             "than max_bytes=",
                                             max_bytes)};
  }
  if (code != CURLE_OK) {
    const std::string cause =
        error[0] != '\0' ? error : curl_easy_strerror(code);
    return TaskError{
        .type = ErrorType(code),
        .message = ToValidUtf8(absl::StrCat("GET ", url, ": ", cause))};
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  std::optional<std::string> content_type =
      InfoString(e, CURLINFO_CONTENT_TYPE);
  std::optional<std::string> title;
  if (IsHtml(content_type)) title = HtmlTitle(body.bytes);
  return ResultObject()
      .Number("status", static_cast<double>(status))
      .String("url", InfoString(e, CURLINFO_EFFECTIVE_URL).value_or(url))
      .OptionalString("content_type", std::move(content_type))
      .Number("bytes", static_cast<double>(body.bytes.size()))
      .OptionalString("title", std::move(title))
      .Build();
}

}  // namespace

TaskSpec HttpGetTaskSpec() {
  // Once per process, before any thread uses libcurl.
  static const bool curl_ready = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)curl_ready;
  return TaskSpec{
      .name = "http.get",
      .description =
          "Fetches an http:// or https:// URL (following redirects) and "
          "returns {status, url, content_type, bytes, title}; an HTTP error "
          "status is a result, a transport failure a task error "
          "(ConnectionError, TimeoutError, ...).",
      .params = {{.name = "url", .type = ParamType::kString},
                 {.name = "timeout",
                  .type = ParamType::kNumber,
                  .default_value = NumberValue(30),
                  .min = 0.001,
                  .max = 3600},
                 {.name = "max_bytes",
                  .type = ParamType::kInteger,
                  .default_value = NumberValue(10 << 20),
                  .min = 0,
                  .max = static_cast<double>(kHttpGetMaxBytesCap)}},
      .function = HttpGet,
      .validate = Validate,
  };
}

}  // namespace futured::server
