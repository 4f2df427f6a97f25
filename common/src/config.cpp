// Parses and validates the environment into a Config.
#include "common/config.hpp"

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace common {
namespace {

std::optional<std::string> non_empty(const Config::Lookup& lookup, const std::string& name) {
  auto value = lookup(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

long long parse_int(const std::string& name, const std::string& text, long long min,
                    long long max) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    throw ConfigError(name + " must be an integer between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got '" + text + "'");
  }
  return value;
}

AppEnv parse_env(const std::string& text) {
  if (text == "development") return AppEnv::development;
  if (text == "testing") return AppEnv::testing;
  if (text == "production") return AppEnv::production;
  throw ConfigError("APP_ENV must be development, testing or production, got '" + text + "'");
}

bool is_libpq_url(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

std::string required_url(const Config::Lookup& lookup, const std::string& name, AppEnv env) {
  auto url = non_empty(lookup, name);
  if (!url) {
    throw ConfigError(name + " is required when APP_ENV=" + to_string(env) +
                      " (a libpq URI such as postgresql://user@host:5432/users_dev)");
  }
  if (!is_libpq_url(*url)) {
    throw ConfigError(name + " must be a libpq URI starting with postgresql:// or postgres://");
  }
  return *url;
}

}  // namespace

std::string to_string(AppEnv env) {
  switch (env) {
    case AppEnv::development:
      return "development";
    case AppEnv::testing:
      return "testing";
    case AppEnv::production:
      return "production";
  }
  return "unknown";
}

std::string redact_url(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto authority_start = scheme_end + 3;
  auto at = url.find('@', authority_start);
  auto slash = url.find('/', authority_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  auto colon = url.find(':', authority_start);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Config Config::from_lookup(const Lookup& lookup) {
  Config config;
  if (auto env = non_empty(lookup, "APP_ENV")) config.app_env = parse_env(*env);

  config.database_url = config.app_env == AppEnv::testing
                            ? required_url(lookup, "DATABASE_TEST_URL", config.app_env)
                            : required_url(lookup, "DATABASE_URL", config.app_env);

  if (auto host = non_empty(lookup, "HOST")) config.host = *host;
  if (auto port = non_empty(lookup, "PORT")) config.port = parse_int("PORT", *port, 0, 65535);

  int cores = static_cast<int>(std::thread::hardware_concurrency());
  config.threads = cores > 0 ? cores : 1;
  if (auto threads = non_empty(lookup, "THREADS")) {
    config.threads = parse_int("THREADS", *threads, 1, 256);
  }
  config.db_pool_size = config.threads;
  if (auto pool = non_empty(lookup, "DB_POOL_SIZE")) {
    config.db_pool_size = parse_int("DB_POOL_SIZE", *pool, 1, 1000);
  }

  config.log_level = config.app_env == AppEnv::development ? "debug" : "info";
  if (auto level = non_empty(lookup, "LOG_LEVEL")) {
    static const char* const levels[] = {"trace", "debug",    "info", "warn",
                                         "error", "critical", "off"};
    bool known = false;
    for (const char* l : levels) known = known || *level == l;
    if (!known) {
      throw ConfigError(
          "LOG_LEVEL must be one of trace, debug, info, warn, error, critical, off, "
          "got '" +
          *level + "'");
    }
    config.log_level = *level;
  }
  if (auto format = non_empty(lookup, "LOG_FORMAT")) {
    if (*format != "text" && *format != "json") {
      throw ConfigError("LOG_FORMAT must be text or json, got '" + *format + "'");
    }
    config.log_format = *format;
  }

  if (auto max_body = non_empty(lookup, "MAX_BODY_BYTES")) {
    config.max_body_bytes =
        static_cast<std::size_t>(parse_int("MAX_BODY_BYTES", *max_body, 1, 1LL << 30));
  }

  if (auto key = non_empty(lookup, "SECRET_KEY")) {
    config.secret_key = *key;
  } else if (config.app_env == AppEnv::production) {
    throw ConfigError("SECRET_KEY is required when APP_ENV=production");
  } else {
    config.secret_key = "secret";
  }
  return config;
}

Config Config::from_env() {
  return from_lookup([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  });
}

Config Config::from_env_or_exit(const char* program) {
  try {
    return from_env();
  } catch (const ConfigError& error) {
    std::cerr << program << ": configuration error: " << error.what() << "\n";
    std::exit(2);
  }
}

}  // namespace common
