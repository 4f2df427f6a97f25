// The server's configuration read from the environment, like the Flask
// config classes: one struct, validated once at start-up. A service keeps
// its own settings next to it (services/users: users_config.hpp).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace common {

enum class AppEnv { development, testing, production };

// Thrown for a missing or malformed variable; the message is one line that
// names the variable, fit to print before exiting with code 2.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Config {
  AppEnv app_env = AppEnv::production;  // development and testing must be asked for
  std::string database_url;             // DATABASE_URL, or DATABASE_TEST_URL in testing
  std::string host = "0.0.0.0";
  int port = 5000;
  int threads = 1;
  int db_pool_size = 1;
  // DB_REQUEST_TIMEOUT_MS: a call's whole wait for the database (its queues
  // and its batch in flight); beyond, 503 and the connection is replaced.
  int db_request_timeout_ms = 3000;
  std::string log_level = "debug";
  std::string log_format = "text";  // text | json
  std::size_t max_body_bytes = 1048576;
  std::size_t max_request_line_bytes = 8192;  // 414 beyond
  std::size_t max_header_bytes = 32768;       // 431 beyond (the whole header section)
  std::size_t max_header_fields = 100;        // 431 beyond
  int keepalive_timeout_seconds = 65;         // an idle keep-alive connection is closed after
  int max_connections = 0;                    // open client connections; 0: from the fd limit
  // Peers whose X-Real-IP is believed (IP addresses or CIDR blocks).
  std::vector<std::string> trusted_proxies = {"127.0.0.1", "::1"};
  // SECURITY_HEADERS: the service adds X-Content-Type-Options, X-Frame-Options,
  // Referrer-Policy and a Content-Security-Policy to every response (a
  // handler's own value wins). Off behind the project's nginx, which adds them.
  bool security_headers = true;

  // Looks variables up through `lookup` so tests need not touch the real
  // environment; from_env() uses getenv.
  using Lookup = std::function<std::optional<std::string>(const std::string&)>;
  static Config from_lookup(const Lookup& lookup);
  static Config from_env();
};

// The process environment as a Lookup (getenv).
Config::Lookup environment();

// Prints "<program>: configuration error: ..." and exits with code 2.
[[noreturn]] void exit_for_config_error(const char* program, const ConfigError& error);

std::string to_string(AppEnv env);

// The URL with any password replaced by "***", for log lines.
std::string redact_url(const std::string& url);

}  // namespace common
