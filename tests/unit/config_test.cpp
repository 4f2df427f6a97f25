// The server's Config from the environment (common/config.hpp): every
// variable, good and bad, through from_lookup so the real environment is
// never touched. The users service's own settings: users_config_test.cpp.
#include "common/config.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "settings_vars.hpp"

namespace {

using common::AppEnv;
using common::Config;
using settings_vars::dev;
using settings_vars::kProdKey;
using settings_vars::kTestUrl;
using settings_vars::kUrl;
using settings_vars::Vars;

const auto load = settings_vars::load<Config>;
const auto expect_refused = settings_vars::expect_refused<Config>;

// --- APP_ENV -------------------------------------------------------------------

TEST(Config, NoAppEnv_IsProduction) {
  auto config = load({{"DATABASE_URL", kUrl}, {"SECRET_KEY", kProdKey}});
  EXPECT_EQ(config.app_env, AppEnv::production);
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(load({{"DATABASE_URL", kUrl}, {"SECRET_KEY", kProdKey}, {"APP_ENV", ""}}).app_env,
            AppEnv::production);
}

TEST(Config, Development_HasItsDefaults) {
  auto config = load(dev());
  EXPECT_EQ(config.app_env, AppEnv::development);
  EXPECT_EQ(config.database_url, kUrl);
  EXPECT_EQ(config.host, "0.0.0.0");
  EXPECT_EQ(config.port, 5000);
  EXPECT_GE(config.threads, 1);
  EXPECT_EQ(config.db_pool_size, config.threads);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.log_format, "text");
  EXPECT_EQ(config.max_body_bytes, 1048576u);
}

TEST(Config, Threads_DefaultToHardwareConcurrency) {
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(load(dev()).threads, cores > 0 ? cores : 1);
}

TEST(Config, EachAppEnvValue_IsRead) {
  EXPECT_EQ(load(dev({{"APP_ENV", "development"}})).app_env, AppEnv::development);
  EXPECT_EQ(load({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", kTestUrl}}).app_env,
            AppEnv::testing);
  EXPECT_EQ(load(dev({{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey}})).app_env,
            AppEnv::production);
}

TEST(Config, UnknownAppEnv_IsRefused) {
  for (const char* value : {"staging", "Production", "prod", "test", " testing"}) {
    expect_refused(dev({{"APP_ENV", value}}), "APP_ENV");
  }
}

TEST(Config, AppEnvToString_RoundTrips) {
  EXPECT_EQ(common::to_string(AppEnv::development), "development");
  EXPECT_EQ(common::to_string(AppEnv::testing), "testing");
  EXPECT_EQ(common::to_string(AppEnv::production), "production");
}

// --- database URLs ----------------------------------------------------------------

TEST(Config, DatabaseUrl_IsRequiredInDevelopment) {
  expect_refused({{"APP_ENV", "development"}}, "DATABASE_URL");
  expect_refused({{"APP_ENV", "development"}, {"DATABASE_URL", ""}}, "DATABASE_URL");
  // The test URL does not stand in for it.
  expect_refused({{"APP_ENV", "development"}, {"DATABASE_TEST_URL", kTestUrl}}, "DATABASE_URL");
  expect_refused({}, "DATABASE_URL");  // production, the default
}

TEST(Config, DatabaseUrl_IsRequiredInProduction) {
  expect_refused({{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey}}, "DATABASE_URL");
  expect_refused(
      {{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey}, {"DATABASE_TEST_URL", kTestUrl}},
      "DATABASE_URL");
}

TEST(Config, Testing_UsesDatabaseTestUrlAndIgnoresDatabaseUrl) {
  auto config =
      load({{"APP_ENV", "testing"}, {"DATABASE_URL", kUrl}, {"DATABASE_TEST_URL", kTestUrl}});
  EXPECT_EQ(config.database_url, kTestUrl);
  EXPECT_EQ(load({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", kTestUrl}}).database_url, kTestUrl);
}

TEST(Config, Testing_RequiresDatabaseTestUrl) {
  expect_refused({{"APP_ENV", "testing"}, {"DATABASE_URL", kUrl}}, "DATABASE_TEST_URL");
  expect_refused({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", ""}}, "DATABASE_TEST_URL");
}

TEST(Config, BothLibpqSchemes_AreAccepted) {
  EXPECT_EQ(load(dev({{"DATABASE_URL", "postgres://u@h/db"}})).database_url, "postgres://u@h/db");
  EXPECT_EQ(
      load(dev({{"DATABASE_URL", "postgresql://u:p@h:5433/db?sslmode=disable"}})).database_url,
      "postgresql://u:p@h:5433/db?sslmode=disable");
}

TEST(Config, NonLibpqUrl_IsRefused) {
  for (const char* url : {"mysql://u@h/db", "http://h/db", "localhost:5432/db",
                          "host=localhost dbname=x", "postgresql:/h/db", "POSTGRES"}) {
    expect_refused({{"DATABASE_URL", url}}, "DATABASE_URL");
  }
  expect_refused({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", "sqlite:///x.db"}},
                 "DATABASE_TEST_URL");
}

// --- HOST and PORT ------------------------------------------------------------------

TEST(Config, HostAndPort_AreRead) {
  auto config = load(dev({{"HOST", "127.0.0.1"}, {"PORT", "8081"}}));
  EXPECT_EQ(config.host, "127.0.0.1");
  EXPECT_EQ(config.port, 8081);
}

TEST(Config, PortBounds_AreAccepted) {
  EXPECT_EQ(load(dev({{"PORT", "0"}})).port, 0);  // any free port
  EXPECT_EQ(load(dev({{"PORT", "1"}})).port, 1);
  EXPECT_EQ(load(dev({{"PORT", "65535"}})).port, 65535);
}

TEST(Config, PortOutOfRangeOrGarbage_IsRefused) {
  for (const char* value : {"65536", "70000", "-1", "http", "80x", "8.0", " 80", "80 ", "+80",
                            "0x50", "99999999999999999999"}) {
    expect_refused(dev({{"PORT", value}}), "PORT");
  }
}

// A HOST that cannot be an address or a host name is a start-up error that
// names HOST, not a bind failure later ("Failed to get IPv4 addresses").
TEST(Config, MalformedHost_IsRefused) {
  for (const char* host : {"bad host!", "a/b", "host:5000"}) {
    expect_refused(dev({{"HOST", host}}), "HOST");
  }
}

// --- THREADS and DB_POOL_SIZE ---------------------------------------------------------

TEST(Config, Threads_AreRead) {
  EXPECT_EQ(load(dev({{"THREADS", "1"}})).threads, 1);
  EXPECT_EQ(load(dev({{"THREADS", "3"}})).threads, 3);
}

TEST(Config, ThreadsZeroNegativeOrGarbage_AreRefused) {
  for (const char* value : {"0", "-2", "2x", "two", "1.5", "100000"}) {
    expect_refused(dev({{"THREADS", value}}), "THREADS");
  }
}

TEST(Config, PoolSize_DefaultsToThreads) {
  EXPECT_EQ(load(dev({{"THREADS", "5"}})).db_pool_size, 5);
  EXPECT_EQ(load(dev({{"THREADS", "1"}})).db_pool_size, 1);
}

TEST(Config, PoolSize_OverridesTheDefault) {
  auto config = load(dev({{"THREADS", "2"}, {"DB_POOL_SIZE", "7"}}));
  EXPECT_EQ(config.threads, 2);
  EXPECT_EQ(config.db_pool_size, 7);
}

TEST(Config, PoolSizeZeroOrGarbage_IsRefused) {
  for (const char* value : {"0", "-1", "none", "4 "}) {
    expect_refused(dev({{"DB_POOL_SIZE", value}}), "DB_POOL_SIZE");
  }
}

TEST(Config, DbRequestTimeout_DefaultsTo3000AndIsRead) {
  EXPECT_EQ(load(dev()).db_request_timeout_ms, 3000);
  EXPECT_EQ(load(dev({{"DB_REQUEST_TIMEOUT_MS", "250"}})).db_request_timeout_ms, 250);
}

TEST(Config, DbRequestTimeoutOutOfRangeOrGarbage_IsRefused) {
  for (const char* value : {"0", "9", "-5", "3s", "600001", "1e3"}) {
    expect_refused(dev({{"DB_REQUEST_TIMEOUT_MS", value}}), "DB_REQUEST_TIMEOUT_MS");
  }
}

// --- logging ---------------------------------------------------------------------------

TEST(Config, LogLevel_DefaultsToDebugInDevelopmentAndInfoOtherwise) {
  EXPECT_EQ(load(dev()).log_level, "debug");
  EXPECT_EQ(load({{"APP_ENV", "testing"}, {"DATABASE_TEST_URL", kTestUrl}}).log_level, "info");
  EXPECT_EQ(load(dev({{"APP_ENV", "production"}, {"SECRET_KEY", kProdKey}})).log_level, "info");
}

TEST(Config, EveryLogLevel_IsAccepted) {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(load(dev({{"LOG_LEVEL", level}})).log_level, level);
  }
}

TEST(Config, UnknownLogLevel_IsRefused) {
  for (const char* level : {"verbose", "INFO", "fatal", "5"}) {
    expect_refused(dev({{"LOG_LEVEL", level}}), "LOG_LEVEL");
  }
}

TEST(Config, LogFormat_TextOrJson) {
  EXPECT_EQ(load(dev()).log_format, "text");
  EXPECT_EQ(load(dev({{"LOG_FORMAT", "text"}})).log_format, "text");
  EXPECT_EQ(load(dev({{"LOG_FORMAT", "json"}})).log_format, "json");
  for (const char* format : {"xml", "JSON", "logfmt"}) {
    expect_refused(dev({{"LOG_FORMAT", format}}), "LOG_FORMAT");
  }
}

// --- MAX_BODY_BYTES ----------------------------------------------------------------------

TEST(Config, MaxBodyBytes_IsRead) {
  EXPECT_EQ(load(dev({{"MAX_BODY_BYTES", "2048"}})).max_body_bytes, 2048u);
  EXPECT_EQ(load(dev({{"MAX_BODY_BYTES", "1"}})).max_body_bytes, 1u);
  EXPECT_EQ(load(dev({{"MAX_BODY_BYTES", "1073741824"}})).max_body_bytes, 1073741824u);
}

TEST(Config, MaxBodyBytesZeroOrGarbage_IsRefused) {
  for (const char* value : {"0", "-1", "1MB", "1e6", "1073741825", "99999999999999999999999"}) {
    expect_refused(dev({{"MAX_BODY_BYTES", value}}), "MAX_BODY_BYTES");
  }
}

// --- the HTTP edge's limits ----------------------------------------------------------------

TEST(Config, HttpLimits_DefaultNearNginx) {
  auto config = load(dev());
  EXPECT_EQ(config.max_request_line_bytes, 8192u);
  EXPECT_EQ(config.max_header_bytes, 32768u);
  EXPECT_EQ(config.max_header_fields, 100u);
}

TEST(Config, HttpLimits_AreRead) {
  auto config = load(dev({{"MAX_REQUEST_LINE_BYTES", "4096"},
                          {"MAX_HEADER_BYTES", "65536"},
                          {"MAX_HEADER_FIELDS", "50"}}));
  EXPECT_EQ(config.max_request_line_bytes, 4096u);
  EXPECT_EQ(config.max_header_bytes, 65536u);
  EXPECT_EQ(config.max_header_fields, 50u);
}

TEST(Config, HttpLimitsZeroOrGarbage_AreRefused) {
  for (const char* name : {"MAX_REQUEST_LINE_BYTES", "MAX_HEADER_BYTES", "MAX_HEADER_FIELDS"}) {
    for (const char* value : {"0", "-1", "8k", "99999999999999999999999"}) {
      expect_refused(dev({{name, value}}), name);
    }
  }
}

TEST(Config, ConnectionLimits_DefaultsReadAndRefused) {
  auto defaults = load(dev());
  EXPECT_EQ(defaults.keepalive_timeout_seconds, 65);  // nginx's keepalive_timeout
  EXPECT_EQ(defaults.max_connections, 0);             // 0: from the descriptor limit
  auto config = load(dev({{"KEEPALIVE_TIMEOUT", "5"}, {"MAX_CONNECTIONS", "300"}}));
  EXPECT_EQ(config.keepalive_timeout_seconds, 5);
  EXPECT_EQ(config.max_connections, 300);
  for (const char* name : {"KEEPALIVE_TIMEOUT", "MAX_CONNECTIONS"}) {
    for (const char* value : {"0", "-1", "65s", "99999999999999999999999"}) {
      expect_refused(dev({{name, value}}), name);
    }
  }
}

// --- TRUSTED_PROXIES -----------------------------------------------------------

TEST(Config, TrustedProxies_DefaultToLoopback) {
  EXPECT_EQ(load(dev()).trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
}

TEST(Config, TrustedProxies_AreRead) {
  EXPECT_EQ(load(dev({{"TRUSTED_PROXIES", "10.0.0.0/8, ::1"}})).trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "::1"}));
  EXPECT_TRUE(load(dev({{"TRUSTED_PROXIES", ""}})).trusted_proxies.empty());
}

TEST(Config, BadTrustedProxies_AreRefused) {
  expect_refused(dev({{"TRUSTED_PROXIES", "nginx"}}), "TRUSTED_PROXIES");
  expect_refused(dev({{"TRUSTED_PROXIES", "10.0.0.0/33"}}), "TRUSTED_PROXIES");
}

// --- all together ----------------------------------------------------------------------

TEST(Config, AllVariables_AreRead) {
  auto config = load(dev({{"HOST", "127.0.0.1"},
                          {"PORT", "8081"},
                          {"THREADS", "3"},
                          {"DB_POOL_SIZE", "7"},
                          {"LOG_LEVEL", "warn"},
                          {"LOG_FORMAT", "json"},
                          {"MAX_BODY_BYTES", "2048"}}));
  EXPECT_EQ(config.host, "127.0.0.1");
  EXPECT_EQ(config.port, 8081);
  EXPECT_EQ(config.threads, 3);
  EXPECT_EQ(config.db_pool_size, 7);
  EXPECT_EQ(config.log_level, "warn");
  EXPECT_EQ(config.log_format, "json");
  EXPECT_EQ(config.max_body_bytes, 2048u);
}

// A value with a line break must not turn the one-line start-up error into
// several lines (or let the value forge a second log line).
TEST(Config, ValueWithALineBreak_GivesAOneLineError) {
  const std::vector<std::pair<std::string, Vars>> cases = {
      {"PORT", dev({{"PORT", "80\n80"}})},
      {"APP_ENV", dev({{"APP_ENV", "prod\nuction"}})},
      {"LOG_LEVEL", dev({{"LOG_LEVEL", "info\r\nerror"}})},
      {"THREADS", dev({{"THREADS", "2\n"}})},
  };
  for (const auto& [variable, vars] : cases) {
    SCOPED_TRACE(variable);
    expect_refused(vars, variable);
  }
}

// --- redact_url ------------------------------------------------------------------------

TEST(RedactUrl, PasswordInTheAuthority_IsHidden) {
  EXPECT_EQ(common::redact_url("postgresql://bob:hunter2@db:5432/x"),
            "postgresql://bob:***@db:5432/x");
  EXPECT_EQ(common::redact_url("postgres://bob:hunter2@db"), "postgres://bob:***@db");
  EXPECT_EQ(common::redact_url("postgresql://:hunter2@db/x"), "postgresql://:***@db/x");
}

TEST(RedactUrl, UrlWithoutPassword_IsUnchanged) {
  for (const char* url : {"postgresql://bob@db/x", "postgresql://db:5432/x", "postgresql:///x",
                          "postgresql://bob@[::1]:5432/x", "not a url"}) {
    EXPECT_EQ(common::redact_url(url), url);
  }
}

// libpq also takes the password as a query parameter.
TEST(RedactUrl, PasswordQueryParameter_IsHidden) {
  std::string redacted =
      common::redact_url("postgresql://bob@db/x?sslmode=disable&password=hunter2");
  EXPECT_EQ(redacted.find("hunter2"), std::string::npos) << redacted;
}

// --- SECURITY_HEADERS ------------------------------------------------------------

TEST(Config, SecurityHeaders_OnByDefaultAndTurnedOffByFalseOr0) {
  EXPECT_TRUE(load(dev()).security_headers);
  EXPECT_TRUE(load(dev({{"SECURITY_HEADERS", "true"}})).security_headers);
  EXPECT_FALSE(load(dev({{"SECURITY_HEADERS", "false"}})).security_headers);
  EXPECT_FALSE(load(dev({{"SECURITY_HEADERS", "0"}})).security_headers);
  expect_refused(dev({{"SECURITY_HEADERS", "off"}}), "SECURITY_HEADERS");
}

}  // namespace
