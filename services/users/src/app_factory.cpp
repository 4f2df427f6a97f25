#include "app_factory.hpp"

#include "common/db_pool.hpp"
#include "common/health_blueprint.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "routes/index.hpp"
#include "routes/ping.hpp"
#include "routes/static_files.hpp"
#include "routes/users.hpp"
#include "user_repository.hpp"

namespace users {

std::unique_ptr<common::App> create_app(const common::Config& config) {
  auto app = std::make_unique<common::App>(config);
  auto pool = std::make_shared<common::DbPool>(config.database_url, config.db_pool_size,
                                               UserRepository::prepare);
  auto repository = std::make_shared<UserRepository>(*pool);
  app->keep_alive(pool);
  app->keep_alive(repository);
  app->add_observer(std::make_shared<common::AccessLog>(config.log_format == "json"));
  auto metrics = std::make_shared<common::Metrics>();
  app->add_observer(metrics);
  metrics->add_collector(
      [pool](std::string& out) { common::append_pool_metrics(pool->stats(), out); });

  common::App* self = app.get();
  auto readiness = [self, repository]() -> std::string {
    if (self->draining()) return "Shutting down.";
    try {
      repository->ping();
      return {};
    } catch (const std::exception&) {
      return "Database unavailable.";
    }
  };

  app->mount(std::make_shared<PingBlueprint>());
  app->mount(std::make_shared<common::HealthBlueprint>(readiness));
  app->mount(std::make_shared<UsersBlueprint>(*repository));
  app->mount(std::make_shared<IndexBlueprint>(*repository));
  app->mount(std::make_shared<StaticBlueprint>());
  app->mount(std::make_shared<common::MetricsBlueprint>(metrics));
  return app;
}

}  // namespace users
