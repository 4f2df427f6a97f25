// Sessions end to end: two users-service replicas behind nginx (prod template)
// on one PostgreSQL. A refresh token rotated on one replica and presented
// again on the other ends the session everywhere; nginx rate-limits
// POST /auth/refresh like the other auth POSTs.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "stack.hpp"
#include "support/http_client.hpp"

namespace {

using nlohmann::json;

e2e::Stack* stack = nullptr;

class TwoReplicas : public ::testing::Test {
 protected:
  // A grace window of 0 s: a reuse is one a second later.
  static void SetUpTestSuite() { stack = new e2e::Stack("", 2, {"REFRESH_TOKEN_GRACE_SECONDS=0"}); }
  static void TearDownTestSuite() {
    delete stack;
    stack = nullptr;
  }
  static support::HttpResponse post(int port, const std::string& path, const json& body,
                                    const std::string& address = "203.0.113.50") {
    return support::http_request(port, "POST", path, body.dump(),
                                 {{"Content-Type", "application/json"}, {"X-Real-IP", address}});
  }
  static support::HttpResponse status(int port, const std::string& token) {
    return support::http_request(port, "GET", "/auth/status", "",
                                 {{"Authorization", "Bearer " + token}});
  }
};

TEST_F(TwoReplicas, RefreshOnOneReuseOnTheOther_EndsTheSessionOnBoth) {
  const int nginx = stack->nginx_port();
  const int one = stack->replica_port(0);
  const int other = stack->replica_port(1);
  auto registered =
      post(nginx, "/auth/register",
           {{"username", "two"}, {"email", "two@e2e.io"}, {"password", "e2e password"}});
  ASSERT_EQ(registered.status, 201) << registered.body;
  std::string first_refresh = registered.json()["refresh_token"];

  auto rotated = post(one, "/auth/refresh", {{"refresh_token", first_refresh}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string access = rotated.json()["auth_token"];
  std::string refresh = rotated.json()["refresh_token"];
  for (int port : {nginx, one, other}) EXPECT_EQ(status(port, access).status, 200);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the grace window
  auto reused = post(other, "/auth/refresh", {{"refresh_token", first_refresh}});
  EXPECT_EQ(reused.status, 401) << reused.body;
  EXPECT_EQ(reused.json()["message"], "Invalid token. Please log in again.");
  for (int port : {nginx, one, other}) {
    auto refused = status(port, access);
    EXPECT_EQ(refused.status, 401) << port << ": " << refused.body;
    EXPECT_EQ(refused.json()["message"], "Token revoked. Please log in again.");
    EXPECT_EQ(post(port, "/auth/refresh", {{"refresh_token", refresh}}).status, 401);
  }
}

TEST_F(TwoReplicas, RefreshThroughNginx_RotatesAndIsRateLimited) {
  const int nginx = stack->nginx_port();
  auto registered =
      post(nginx, "/auth/register",
           {{"username", "rl"}, {"email", "rl@e2e.io"}, {"password", "e2e password"}});
  ASSERT_EQ(registered.status, 201) << registered.body;
  auto rotated =
      post(nginx, "/auth/refresh", {{"refresh_token", registered.json()["refresh_token"]}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(rotated.header("Cache-Control"), "no-store");
  EXPECT_EQ(status(nginx, rotated.json()["auth_token"]).status, 200);
  auto sessions = support::http_request(
      nginx, "GET", "/auth/sessions", "",
      {{"Authorization", "Bearer " + rotated.json()["auth_token"].get<std::string>()}});
  ASSERT_EQ(sessions.status, 200) << sessions.body;
  EXPECT_EQ(sessions.json()["data"]["sessions"].size(), 1u);
  // Guesses at refresh tokens cost nginx's limit like guesses at passwords:
  // nginx keys the limit on the connection's address (loopback here).
  int limited = 0;
  for (int i = 0; i < 40; ++i) {
    auto guess = post(nginx, "/auth/refresh", {{"refresh_token", std::string(43, 'A')}});
    if (guess.status == 429) {
      ++limited;
      EXPECT_EQ(guess.header("Content-Type"), "application/json");
    } else {
      EXPECT_EQ(guess.status, 401) << guess.body;
    }
  }
  EXPECT_GT(limited, 0) << "40 quick POSTs to /auth/refresh and none limited";
}

}  // namespace
