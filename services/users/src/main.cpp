// users-service: the HTTP server. Reads the config from the environment,
// builds the app and serves until SIGTERM/SIGINT, then drains and exits 0.
#include <spdlog/spdlog.h>

#include "app_factory.hpp"
#include "common/logging.hpp"

int main() {
  auto config = users::UsersConfig::from_env_or_exit("users-service");
  common::setup_logging(config);
  try {
    auto app = users::create_app(config);
    spdlog::info("database {}", common::redact_url(config.database_url));
    app->run_until_signal();
  } catch (const std::exception& error) {
    spdlog::critical("users-service failed: {}", error.what());
    return 1;
  }
  return 0;
}
