// users-service: the HTTP server. Reads the config from the environment,
// builds the app and serves until SIGTERM/SIGINT, then drains and exits 0.
#include <spdlog/spdlog.h>

#include <iostream>

#include "app_factory.hpp"
#include "common/logging.hpp"

int main() {
  common::Config config;
  try {
    config = common::Config::from_env();
  } catch (const common::ConfigError& error) {
    std::cerr << "users-service: configuration error: " << error.what() << "\n";
    return 2;
  }
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
