// Config from the environment: every variable, good and bad.
#include "common/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace {

using common::AppEnv;
using common::Config;
using common::ConfigError;

Config load(std::map<std::string, std::string> vars) {
  return Config::from_lookup([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string error_of(std::map<std::string, std::string> vars) {
  try {
    load(std::move(vars));
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

const std::string kUrl = "postgresql://u@localhost:5432/users_dev";

TEST(Config, Defaults_DevelopmentWithDatabaseUrl) {
  auto config = load({{"DATABASE_URL", kUrl}});
  EXPECT_EQ(config.app_env, AppEnv::development);
  EXPECT_EQ(config.database_url, kUrl);
  EXPECT_EQ(config.host, "0.0.0.0");
  EXPECT_EQ(config.port, 5000);
  EXPECT_GE(config.threads, 1);
  EXPECT_EQ(config.db_pool_size, config.threads);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.log_format, "text");
  EXPECT_EQ(config.max_body_bytes, 1048576u);
  EXPECT_EQ(config.secret_key, "secret");
}

TEST(Config, Testing_UsesDatabaseTestUrl) {
  auto config = load({{"APP_ENV", "testing"},
                      {"DATABASE_URL", kUrl},
                      {"DATABASE_TEST_URL", "postgres://u@h/users_test"}});
  EXPECT_EQ(config.database_url, "postgres://u@h/users_test");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_NE(error_of({{"APP_ENV", "testing"}, {"DATABASE_URL", kUrl}}).find("DATABASE_TEST_URL"),
            std::string::npos);
}

TEST(Config, Production_RequiresSecretKey) {
  EXPECT_NE(error_of({{"APP_ENV", "production"}, {"DATABASE_URL", kUrl}}).find("SECRET_KEY"),
            std::string::npos);
  auto config = load({{"APP_ENV", "production"}, {"DATABASE_URL", kUrl}, {"SECRET_KEY", "k"}});
  EXPECT_EQ(config.secret_key, "k");
  EXPECT_EQ(config.app_env, AppEnv::production);
}

TEST(Config, AllVariables_AreRead) {
  auto config = load({{"DATABASE_URL", kUrl},
                      {"HOST", "127.0.0.1"},
                      {"PORT", "8081"},
                      {"THREADS", "3"},
                      {"DB_POOL_SIZE", "7"},
                      {"LOG_LEVEL", "warn"},
                      {"LOG_FORMAT", "json"},
                      {"MAX_BODY_BYTES", "2048"},
                      {"SECRET_KEY", "s"}});
  EXPECT_EQ(config.host, "127.0.0.1");
  EXPECT_EQ(config.port, 8081);
  EXPECT_EQ(config.threads, 3);
  EXPECT_EQ(config.db_pool_size, 7);
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.log_format, "json");
  EXPECT_EQ(config.max_body_bytes, 2048u);
  EXPECT_EQ(config.secret_key, "s");
}

TEST(Config, PoolSize_DefaultsToThreads) {
  EXPECT_EQ(load({{"DATABASE_URL", kUrl}, {"THREADS", "5"}}).db_pool_size, 5);
}

TEST(Config, BadValues_AreOneLineErrorsNamingTheVariable) {
  const std::map<std::string, std::map<std::string, std::string>> cases = {
      {"APP_ENV", {{"APP_ENV", "staging"}, {"DATABASE_URL", kUrl}}},
      {"DATABASE_URL", {{"DATABASE_URL", "mysql://x"}}},
      {"PORT", {{"DATABASE_URL", kUrl}, {"PORT", "http"}}},
      {"PORT", {{"DATABASE_URL", kUrl}, {"PORT", "70000"}}},
      {"PORT", {{"DATABASE_URL", kUrl}, {"PORT", "-1"}}},
      {"THREADS", {{"DATABASE_URL", kUrl}, {"THREADS", "0"}}},
      {"THREADS", {{"DATABASE_URL", kUrl}, {"THREADS", "2x"}}},
      {"DB_POOL_SIZE", {{"DATABASE_URL", kUrl}, {"DB_POOL_SIZE", "none"}}},
      {"LOG_LEVEL", {{"DATABASE_URL", kUrl}, {"LOG_LEVEL", "verbose"}}},
      {"LOG_FORMAT", {{"DATABASE_URL", kUrl}, {"LOG_FORMAT", "xml"}}},
      {"MAX_BODY_BYTES", {{"DATABASE_URL", kUrl}, {"MAX_BODY_BYTES", "1MB"}}},
  };
  for (const auto& [variable, vars] : cases) {
    std::string message = error_of(vars);
    EXPECT_NE(message.find(variable), std::string::npos) << variable << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NE(error_of({}).find("DATABASE_URL"), std::string::npos);
}

TEST(Config, RedactUrl_HidesThePassword) {
  EXPECT_EQ(common::redact_url("postgresql://bob:hunter2@db:5432/x"),
            "postgresql://bob:***@db:5432/x");
  EXPECT_EQ(common::redact_url("postgresql://bob@db/x"), "postgresql://bob@db/x");
}

}  // namespace
