// The gRPC layer's view of a caller: CallerPrincipal from a call's metadata
// (no TLS here: the certificate path is covered by
// tests/integration/auth_test.cc), and which --listen addresses are local.
#include "server/rpc/caller.h"

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/rpc/bearer_tokens.h"
#include "server/rpc/server_security.h"

namespace futured::server::rpc {
namespace {

constexpr char kAliceToken[] = "alice-token-0123456789";

CallerPolicy TokenPolicy() {
  absl::StatusOr<BearerTokens> tokens =
      BearerTokens::Parse(std::string("alice ") + kAliceToken + "\n");
  if (!tokens.ok()) std::abort();
  return CallerPolicy{
      .tokens = std::make_shared<const BearerTokens>(*std::move(tokens))};
}

absl::StatusOr<std::string> Principal(const std::string& authorization,
                                      const CallerPolicy& policy) {
  ClientMetadata metadata;
  if (!authorization.empty()) {
    metadata.emplace("authorization", authorization);
  }
  return CallerPrincipal(metadata, nullptr, policy);
}

TEST(CallerTest, WithoutAPolicyEveryCallIsTheAnonymousPrincipal) {
  EXPECT_FALSE(CallerPolicy().enabled());
  absl::StatusOr<std::string> principal = Principal("", CallerPolicy());
  ASSERT_TRUE(principal.ok());
  EXPECT_EQ(*principal, "");
}

TEST(CallerTest, ABearerTokenNamesItsPrincipal) {
  EXPECT_EQ(*Principal(std::string("Bearer ") + kAliceToken, TokenPolicy()),
            "alice");
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(*Principal(std::string("bearer ") + kAliceToken, TokenPolicy()),
            "alice");
}

TEST(CallerTest, MissingMalformedOrUnknownTokensAreUnauthenticated) {
  for (const std::string& header :
       {std::string(), std::string("Basic ") + kAliceToken,
        std::string(kAliceToken), std::string("Bearer nope-0123456789abcdef"),
        std::string("Bearer ")}) {
    absl::StatusOr<std::string> principal = Principal(header, TokenPolicy());
    EXPECT_EQ(principal.status().code(), absl::StatusCode::kUnauthenticated)
        << "'" << header << "'";
  }
}

TEST(CallerTest, ClientCertificatesNeedAnAuthenticatedPeer) {
  const CallerPolicy policy{.client_certificates = true};
  EXPECT_TRUE(policy.enabled());
  EXPECT_EQ(Principal("", policy).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(ListenAddressTest, LoopbackAndUnixSocketsAreLocal) {
  for (const char* local :
       {"127.0.0.1:50051", "127.0.0.2:1", "localhost:50051", "[::1]:50051",
        "unix:/run/futured/futured.sock", "unix-abstract:futured"}) {
    EXPECT_TRUE(IsLocalListenAddress(local)) << local;
  }
  for (const char* exposed :
       {"0.0.0.0:50051", "[::]:50051", "192.168.1.5:50051",
        "futured.example:50051", ":50051"}) {
    EXPECT_FALSE(IsLocalListenAddress(exposed)) << exposed;
  }
}

}  // namespace
}  // namespace futured::server::rpc
