// users-service: the HTTP server. Reads the config from the environment,
// builds the app and serves until SIGTERM/SIGINT, then drains and exits 0.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "app_factory.hpp"
#include "common/logging.hpp"

namespace {

// The lines still queued get this long to be written. A stdout that nobody
// reads must not hold the exit: the log thread, stuck in write(2), cannot be
// joined, so the process ends without the exit handlers that would join it.
int finish(int code) {
  if (!common::drain_logging(std::chrono::seconds(1))) std::_Exit(code);
  return code;
}

}  // namespace

int main() {
  auto config = users::UsersConfig::from_env_or_exit("users-service");
  common::setup_logging(config);
  try {
    auto app = users::create_app(config);
    spdlog::info("database {}", common::redact_url(config.database_url));
    app->run_until_signal();
  } catch (const std::exception& error) {
    spdlog::critical("users-service failed: {}", error.what());
    return finish(1);
  }
  return finish(0);
}
