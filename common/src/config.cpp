// Parses and validates the server's settings from the environment.
#include "common/config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/client_address.hpp"
#include "common/config_values.hpp"
#include "common/text.hpp"

namespace common {
namespace env {

std::optional<std::string> non_empty(const Config::Lookup& lookup, const std::string& name) {
  auto value = lookup(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::string shown(const std::string& value) {
  std::string out = value.substr(0, 64);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return value.size() > 64 ? out + "..." : out;
}

long long parse_int(const std::string& name, const std::string& text, long long min,
                    long long max) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value < min || value > max) {
    throw ConfigError(name + " must be an integer between " + std::to_string(min) + " and " +
                      std::to_string(max) + ", got '" + shown(text) + "'");
  }
  return value;
}

bool parse_bool(const std::string& name, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw ConfigError(name + " must be true or false, got '" + shown(text) + "'");
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item(trim(std::string_view(text).substr(start, comma - start), " "));
    if (!item.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

}  // namespace env

namespace {

using env::non_empty;
using env::parse_bool;
using env::parse_int;
using env::shown;

bool is_valid_host(const std::string& host) {
  in6_addr address{};
  if (::inet_pton(AF_INET, host.c_str(), &address) == 1) return true;
  if (::inet_pton(AF_INET6, host.c_str(), &address) == 1) return true;
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.back() == '.') return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return host.find("..") == std::string::npos;
}

AppEnv parse_env(const std::string& text) {
  if (text == "development") return AppEnv::development;
  if (text == "testing") return AppEnv::testing;
  if (text == "production") return AppEnv::production;
  throw ConfigError("APP_ENV must be development, testing or production, got '" + shown(text) +
                    "'");
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
  std::string out = url;
  // user:password@ in the authority
  auto scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    auto authority_start = scheme_end + 3;
    auto at = out.find('@', authority_start);
    auto slash = out.find('/', authority_start);
    auto colon = out.find(':', authority_start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash) &&
        colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... among the query parameters
  auto query = out.find('?');
  for (auto pos = query; pos != std::string::npos; pos = out.find('&', pos + 1)) {
    if (out.compare(pos + 1, 9, "password=") != 0) continue;
    auto value_start = pos + 10;
    auto value_end = out.find('&', value_start);
    out.replace(value_start,
                (value_end == std::string::npos ? out.size() : value_end) - value_start, "***");
  }
  return out;
}

Config Config::from_lookup(const Lookup& lookup) {
  Config config;
  // Unset means production: development's defaults (a known signing key,
  // debug logs) must be asked for, never fallen into.
  if (auto env = non_empty(lookup, "APP_ENV")) config.app_env = parse_env(*env);

  config.database_url = config.app_env == AppEnv::testing
                            ? required_url(lookup, "DATABASE_TEST_URL", config.app_env)
                            : required_url(lookup, "DATABASE_URL", config.app_env);

  if (auto host = non_empty(lookup, "HOST")) {
    if (!is_valid_host(*host)) {
      throw ConfigError("HOST must be an IP address or a host name, got '" + shown(*host) + "'");
    }
    config.host = *host;
  }
  if (auto port = non_empty(lookup, "PORT")) {
    config.port = static_cast<int>(parse_int("PORT", *port, 0, 65535));
  }

  int cores = static_cast<int>(std::thread::hardware_concurrency());
  config.threads = cores > 0 ? cores : 1;
  if (auto threads = non_empty(lookup, "THREADS")) {
    config.threads = static_cast<int>(parse_int("THREADS", *threads, 1, 256));
  }
  config.db_pool_size = config.threads;
  if (auto pool = non_empty(lookup, "DB_POOL_SIZE")) {
    config.db_pool_size = static_cast<int>(parse_int("DB_POOL_SIZE", *pool, 1, 1000));
  }
  if (auto timeout = non_empty(lookup, "DB_REQUEST_TIMEOUT_MS")) {
    config.db_request_timeout_ms =
        static_cast<int>(parse_int("DB_REQUEST_TIMEOUT_MS", *timeout, 10, 600000));
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
          shown(*level) + "'");
    }
    config.log_level = *level;
  }
  if (auto format = non_empty(lookup, "LOG_FORMAT")) {
    if (*format != "text" && *format != "json") {
      throw ConfigError("LOG_FORMAT must be text or json, got '" + shown(*format) + "'");
    }
    config.log_format = *format;
  }

  if (auto max_body = non_empty(lookup, "MAX_BODY_BYTES")) {
    config.max_body_bytes =
        static_cast<std::size_t>(parse_int("MAX_BODY_BYTES", *max_body, 1, 1LL << 30));
  }

  // The HTTP edge's limits; defaults near nginx's (large_client_header_buffers 4 8k).
  if (auto value = non_empty(lookup, "MAX_REQUEST_LINE_BYTES")) {
    config.max_request_line_bytes =
        static_cast<std::size_t>(parse_int("MAX_REQUEST_LINE_BYTES", *value, 64, 1LL << 20));
  }
  if (auto value = non_empty(lookup, "MAX_HEADER_BYTES")) {
    config.max_header_bytes =
        static_cast<std::size_t>(parse_int("MAX_HEADER_BYTES", *value, 256, 1LL << 24));
  }
  if (auto value = non_empty(lookup, "MAX_HEADER_FIELDS")) {
    config.max_header_fields =
        static_cast<std::size_t>(parse_int("MAX_HEADER_FIELDS", *value, 1, 10000));
  }
  if (auto value = non_empty(lookup, "KEEPALIVE_TIMEOUT")) {
    config.keepalive_timeout_seconds =
        static_cast<int>(parse_int("KEEPALIVE_TIMEOUT", *value, 1, 3600));
  }
  if (auto value = non_empty(lookup, "MAX_CONNECTIONS")) {
    config.max_connections = static_cast<int>(parse_int("MAX_CONNECTIONS", *value, 1, 1000000));
  }

  if (auto value = non_empty(lookup, "SECURITY_HEADERS")) {
    config.security_headers = parse_bool("SECURITY_HEADERS", *value);
  }

  if (auto proxies = lookup("TRUSTED_PROXIES")) {  // set but empty: trust no proxy
    config.trusted_proxies = env::split_list(*proxies);
    try {
      AddressSet check(config.trusted_proxies);
    } catch (const std::invalid_argument& error) {
      throw ConfigError("TRUSTED_PROXIES must list IP addresses or CIDR blocks: " +
                        shown(error.what()));
    }
  }
  return config;
}

Config::Lookup environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    // Read once at start-up, before any thread runs or the environment changes.
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

Config Config::from_env() {
  return from_lookup(environment());
}

[[noreturn]] void exit_for_config_error(const char* program, const ConfigError& error) {
  std::cerr << program << ": configuration error: " << error.what() << "\n";
  std::exit(2);  // NOLINT(concurrency-mt-unsafe): at start-up, no other thread yet
}

}  // namespace common
