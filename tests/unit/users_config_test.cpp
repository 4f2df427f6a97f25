// The users service's settings (users_config.hpp): its own variables, good
// and bad, read with the server's through one lookup. The server's
// variables themselves: config_test.cpp.
#include "users_config.hpp"

#include <gtest/gtest.h>

#include <string>

#include "settings_vars.hpp"

namespace {

using common::AppEnv;
using settings_vars::dev;
using settings_vars::kProdKey;
using settings_vars::kTestUrl;
using settings_vars::kUrl;
using settings_vars::Vars;
using users::UsersConfig;

const auto load = settings_vars::load<UsersConfig>;
const auto expect_refused = settings_vars::expect_refused<UsersConfig>;

// --- the server's half --------------------------------------------------------------

TEST(UsersConfig, TheServersVariables_AreReadAndCheckedToo) {
  auto config = load(dev({{"PORT", "8081"}, {"THREADS", "3"}, {"SECRET_KEY", "s"}}));
  EXPECT_EQ(config.port, 8081);
  EXPECT_EQ(config.threads, 3);
  EXPECT_EQ(config.database_url, kUrl);
  EXPECT_EQ(config.secret_key, "s");
  expect_refused(dev({{"PORT", "http"}}), "PORT");
}

// --- APP_ENV -------------------------------------------------------------------------

TEST(UsersConfig, NoAppEnv_IsProduction) {
  // Development's known signing key must be asked for: without APP_ENV the
  // service wants production's SECRET_KEY.
  expect_refused({{"DATABASE_URL", kUrl}}, "SECRET_KEY");
  auto config = load({{"DATABASE_URL", kUrl}, {"SECRET_KEY", kProdKey}});
  EXPECT_EQ(config.app_env, AppEnv::production);
  EXPECT_EQ(config.password_hash_cost, "interactive");
}

// --- SECRET_KEY ----------------------------------------------------------------------------

TEST(UsersConfig, SecretKey_DefaultsToSecretOutsideProduction) {
  EXPECT_EQ(load(dev()).secret_key, "secret");
  EXPECT_EQ(load({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", kTestUrl}}).secret_key, "secret");
}

TEST(UsersConfig, SecretKey_IsRequiredInProduction) {
  expect_refused(dev({{"APP_ENV", "production"}}), "SECRET_KEY");
  expect_refused(dev({{"APP_ENV", "production"}, {"SECRET_KEY", ""}}), "SECRET_KEY");
  EXPECT_EQ(load(dev({{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey}})).secret_key, kProdKey);
}

TEST(UsersConfig, SecretKey_ShorterThan32BytesIsRefusedInProduction) {
  expect_refused(dev({{"APP_ENV", "production"}, {"SECRET_KEY", "k3y"}}), "SECRET_KEY");
  expect_refused(dev({{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey.substr(1)}}),
                 "SECRET_KEY");
  EXPECT_EQ(load(dev({{"SECRET_KEY", "k3y"}})).secret_key, "k3y");  // development may
}

TEST(UsersConfig, SecretKey_IsReadInDevelopment) {
  EXPECT_EQ(load(dev({{"SECRET_KEY", "mine"}})).secret_key, "mine");
}

// --- authentication --------------------------------------------------------------------

TEST(UsersConfig, AuthDefaults) {
  auto config = load(dev());
  EXPECT_EQ(config.token_expiration_seconds, 3600);
  EXPECT_FALSE(config.require_admin_for_writes);
  EXPECT_EQ(config.password_hash_cost, "interactive");
  EXPECT_EQ(config.login_max_failures, 10);
  EXPECT_FALSE(config.require_auth_for_reads);
  EXPECT_EQ(config.password_hash_concurrency, 0);  // from the cgroup at start-up
  EXPECT_EQ(config.password_hash_queue_timeout_ms, 2000);
  EXPECT_EQ(load({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", kTestUrl}}).password_hash_cost,
            "min");
}

TEST(UsersConfig, AuthVariables_AreRead) {
  auto config = load(dev({{"TOKEN_EXPIRATION_SECONDS", "5"},
                          {"REQUIRE_ADMIN_FOR_WRITES", "true"},
                          {"PASSWORD_HASH_COST", "moderate"},
                          {"LOGIN_MAX_FAILURES", "3"},
                          {"REQUIRE_AUTH_FOR_READS", "true"},
                          {"PASSWORD_HASH_CONCURRENCY", "2"},
                          {"PASSWORD_HASH_QUEUE_TIMEOUT_MS", "250"}}));
  EXPECT_TRUE(config.require_auth_for_reads);
  EXPECT_EQ(config.password_hash_concurrency, 2);
  EXPECT_EQ(config.password_hash_queue_timeout_ms, 250);
  EXPECT_EQ(config.token_expiration_seconds, 5);
  EXPECT_TRUE(config.require_admin_for_writes);
  EXPECT_EQ(config.password_hash_cost, "moderate");
  EXPECT_EQ(config.login_max_failures, 3);
  EXPECT_FALSE(load(dev({{"REQUIRE_ADMIN_FOR_WRITES", "0"}})).require_admin_for_writes);
}

TEST(UsersConfig, BadAuthVariables_AreRefused) {
  expect_refused(dev({{"TOKEN_EXPIRATION_SECONDS", "0"}}), "TOKEN_EXPIRATION_SECONDS");
  expect_refused(dev({{"TOKEN_EXPIRATION_SECONDS", "1h"}}), "TOKEN_EXPIRATION_SECONDS");
  expect_refused(dev({{"REQUIRE_ADMIN_FOR_WRITES", "yes"}}), "REQUIRE_ADMIN_FOR_WRITES");
  expect_refused(dev({{"PASSWORD_HASH_COST", "max"}}), "PASSWORD_HASH_COST");
  expect_refused(dev({{"LOGIN_MAX_FAILURES", "-1"}}), "LOGIN_MAX_FAILURES");
  expect_refused(dev({{"REQUIRE_AUTH_FOR_READS", "on"}}), "REQUIRE_AUTH_FOR_READS");
  expect_refused(dev({{"PASSWORD_HASH_CONCURRENCY", "0"}}), "PASSWORD_HASH_CONCURRENCY");
  expect_refused(dev({{"PASSWORD_HASH_QUEUE_TIMEOUT_MS", "2s"}}), "PASSWORD_HASH_QUEUE_TIMEOUT_MS");
  // A line break in a service variable gives one line too.
  expect_refused(dev({{"TOKEN_EXPIRATION_SECONDS", "5\n5"}}), "TOKEN_EXPIRATION_SECONDS");
}

// --- account recovery ---------------------------------------------------------------

const Vars kMail = {{"SMTP_URL", "smtp://127.0.0.1:2525"},
                    {"MAIL_FROM", "users@example.com"},
                    {"PUBLIC_BASE_URL", "https://users.example.com"}};

Vars dev_with_mail(Vars extra = {}) {
  for (const auto& [name, value] : kMail) extra.emplace(name, value);
  return dev(std::move(extra));
}

TEST(UsersConfig, AccountRecoveryDefaults) {
  auto config = load(dev());
  EXPECT_EQ(config.password_reset_ttl_seconds, 1800);
  EXPECT_EQ(config.email_verification_ttl_seconds, 86400);
  EXPECT_FALSE(config.require_verified_email);
}

TEST(UsersConfig, AccountRecoveryVariables_AreRead) {
  auto config = load(dev_with_mail({{"PASSWORD_RESET_TTL_SECONDS", "60"},
                                    {"EMAIL_VERIFICATION_TTL_SECONDS", "3600"},
                                    {"REQUIRE_VERIFIED_EMAIL", "true"}}));
  EXPECT_EQ(config.password_reset_ttl_seconds, 60);
  EXPECT_EQ(config.email_verification_ttl_seconds, 3600);
  EXPECT_TRUE(config.require_verified_email);
}

TEST(UsersConfig, BadAccountRecoveryVariables_AreRefused) {
  expect_refused(dev({{"PASSWORD_RESET_TTL_SECONDS", "0"}}), "PASSWORD_RESET_TTL_SECONDS");
  expect_refused(dev({{"PASSWORD_RESET_TTL_SECONDS", "30m"}}), "PASSWORD_RESET_TTL_SECONDS");
  expect_refused(dev({{"EMAIL_VERIFICATION_TTL_SECONDS", "2592001"}}),
                 "EMAIL_VERIFICATION_TTL_SECONDS");
  expect_refused(dev_with_mail({{"REQUIRE_VERIFIED_EMAIL", "yes"}}), "REQUIRE_VERIFIED_EMAIL");
  // Without mail nobody could ever verify: refused at start-up, not at login.
  expect_refused(dev({{"REQUIRE_VERIFIED_EMAIL", "true"}}), "REQUIRE_VERIFIED_EMAIL");
}

}  // namespace
