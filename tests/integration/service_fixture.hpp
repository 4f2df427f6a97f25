// One throwaway PostgreSQL and one in-process app per test binary (a
// GoogleTest environment), so the cluster starts once, not once per test;
// every ServiceTest starts from an empty users table.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "app_factory.hpp"
#include "common/logging.hpp"
#include "migrations.hpp"
#include "support/http_client.hpp"
#include "support/pg_cluster.hpp"

namespace fixture {

struct Service {
  std::unique_ptr<support::PgCluster> cluster;
  std::unique_ptr<common::App> app;
  std::string database_url;
};

inline Service& service() {
  static Service instance;
  return instance;
}

// The configuration the brief's environment gives the app: testing, the
// cluster's database, loopback, an ephemeral port, two worker threads;
// `overrides` sets (or adds) variables for a differently configured app.
inline users::UsersConfig testing_config(const std::string& url,
                                         const std::map<std::string, std::string>& overrides = {}) {
  return users::UsersConfig::from_lookup(
      [&](const std::string& name) -> std::optional<std::string> {
        if (auto it = overrides.find(name); it != overrides.end()) return it->second;
        if (name == "APP_ENV") return "testing";
        if (name == "DATABASE_TEST_URL") return url;
        if (name == "HOST") return "127.0.0.1";
        if (name == "PORT") return "0";
        if (name == "THREADS") return "2";
        if (name == "LOG_LEVEL") {
          // TEST_LOG_LEVEL=info shows the app's log lines when a test needs a look.
          const char* level = std::getenv("TEST_LOG_LEVEL");
          return level ? level : "error";
        }
        return std::nullopt;
      });
}

class Environment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto& s = service();
    s.cluster = std::make_unique<support::PgCluster>();
    s.cluster->create_database("users_test");
    s.database_url = s.cluster->url("users_test");
    pqxx::connection connection(s.database_url);
    users::migrate(connection);
    auto config = testing_config(s.database_url);
    common::setup_logging(config);  // as main() does: quiet below LOG_LEVEL
    s.app = users::create_app(config);
    s.app->start();
  }
  void TearDown() override {
    auto& s = service();
    s.app.reset();
    s.cluster.reset();
  }
};

// Runs `sql` in its own transaction on a fresh connection.
inline pqxx::result execute(const std::string& sql) {
  pqxx::connection connection(service().database_url);
  pqxx::work work(connection);
  auto result = work.exec(sql);
  work.commit();
  return result;
}

// A client address of its own for each call, in 198.<block>.x.y (X-Real-IP
// from loopback, a trusted proxy by default): the login limit one test
// provokes never reaches another. Each test binary takes its own block, as
// the limiter's counts live in the shared database.
inline std::string fresh_address(int block) {
  static std::atomic<int> next{1};
  int n = next++;
  return "198." + std::to_string(block) + "." + std::to_string(n / 250) + "." +
         std::to_string(n % 250 + 1);
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A JSON error body as the contract gives it: {"status":"fail","message":...}.
inline void expect_fail(const support::HttpResponse& response, int status,
                        const std::string& message) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << response.body;
  EXPECT_EQ(body.value("status", ""), "fail") << response.body;
  EXPECT_EQ(body.value("message", ""), message) << response.body;
}

class ServiceTest : public ::testing::Test {
 protected:
  // CASCADE: the tables that point at users (account_tokens, sessions) are
  // emptied with it.
  void SetUp() override { execute("TRUNCATE users RESTART IDENTITY CASCADE"); }

  static int port() { return service().app->port(); }
  static long long user_count() {
    return execute("SELECT count(*) FROM users")[0][0].as<long long>();
  }

  static support::HttpResponse get(const std::string& path) {
    return support::http_request(port(), "GET", path);
  }
  static support::HttpResponse post(const std::string& path, const std::string& body,
                                    const support::Headers& headers) {
    return support::http_request(port(), "POST", path, body, headers);
  }
  static support::HttpResponse post_json(const std::string& path, const std::string& body) {
    return post(path, body, {{"Content-Type", "application/json"}});
  }
  static support::HttpResponse post_form(const std::string& body) {
    return post("/", body, {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  static support::HttpResponse add_user(const std::string& username, const std::string& email) {
    return post_json("/users", nlohmann::json{{"username", username}, {"email", email}}.dump());
  }
};

}  // namespace fixture
