#include "app_factory.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "account_changes.hpp"
#include "account_recovery.hpp"
#include "authenticator.hpp"
#include "common/database.hpp"
#include "common/health_blueprint.hpp"
#include "common/logging.hpp"
#include "common/metrics.hpp"
#include "login_limiter.hpp"
#include "mail_outbox.hpp"
#include "mail_sender.hpp"
#include "passwords.hpp"
#include "routes/account_pages.hpp"
#include "routes/api_docs.hpp"
#include "routes/auth.hpp"
#include "routes/index.hpp"
#include "routes/ping.hpp"
#include "routes/sessions.hpp"
#include "routes/static_files.hpp"
#include "routes/swagger_ui.hpp"
#include "routes/users.hpp"
#include "session_tokens.hpp"
#include "sessions.hpp"
#include "user_repository.hpp"
#include "wal_archive_status.hpp"

namespace users {

std::unique_ptr<common::App> create_app(const UsersConfig& config) {
  auto app = std::make_unique<common::App>(config);
  auto statements = UserRepository::statements();
  for (auto& statement : Sessions::statements()) statements.push_back(std::move(statement));
  for (auto& statement : LoginLimiter::statements()) statements.push_back(std::move(statement));
  for (auto& statement : WalArchiveStatus::statements()) statements.push_back(std::move(statement));
  for (auto& statement : MailOutboxStatus::statements()) statements.push_back(std::move(statement));
  // Each loop owns its connections: DB_POOL_SIZE shared among THREADS loops.
  auto pool = std::make_shared<common::Database>(
      config.database_url, std::move(statements),
      std::max(1, config.db_pool_size / std::max(1, config.threads)),
      std::chrono::milliseconds(config.db_request_timeout_ms));
  auto repository = std::make_shared<UserRepository>(*pool);
  auto limiter = std::make_shared<LoginLimiter>(*pool, config.login_max_failures);
  // One hasher for every route that hashes: its bound on hashes in flight
  // (memory) holds for the whole process.
  auto hasher = std::make_shared<PasswordHasher>(
      config.password_hash_cost, default_hash_concurrency(config),
      std::chrono::milliseconds(config.password_hash_queue_timeout_ms));
  spdlog::info("password hashes: at most {} at once ({} cost, {} MiB each), queued up to {} ms",
               hasher->concurrency(), config.password_hash_cost,
               PasswordHasher::memory_per_hash(config.password_hash_cost) >> 20,
               config.password_hash_queue_timeout_ms);
  auto tokens = std::make_shared<TokenCodec>(config.secret_key, config.token_expiration_seconds);
  // A session idle longer than any of its tokens can live holds none.
  auto sessions = std::make_shared<Sessions>(
      *pool, config.refresh_token_ttl_seconds,
      std::max(config.refresh_token_ttl_seconds, config.token_expiration_seconds) + 60,
      config.refresh_token_grace_seconds);
  auto session_tokens = std::make_shared<SessionTokens>(*tokens, *sessions);
  auto authenticator = std::make_shared<Authenticator>(*tokens, *repository);
  const Authenticator* admin_guard =
      config.require_admin_for_writes ? authenticator.get() : nullptr;
  const Authenticator* read_guard = config.require_auth_for_reads ? authenticator.get() : nullptr;
  app->keep_alive(pool);
  app->on_each_loop([database = pool.get()] { database->open_on_this_loop(); });
  app->keep_alive(repository);
  app->keep_alive(sessions);
  app->keep_alive(session_tokens);
  app->keep_alive(limiter);
  app->keep_alive(hasher);
  app->keep_alive(tokens);
  app->keep_alive(authenticator);
  app->add_observer(std::make_shared<common::AccessLog>(config.log_format == "json"));
  auto metrics = std::make_shared<common::Metrics>();
  app->add_observer(metrics);
  metrics->add_collector(
      [pool](std::string& out) { common::append_pool_metrics(pool->stats(), out); });
  metrics->add_collector([hasher](std::string& out) {
    out += "# HELP password_hash_computations_total Argon2id hashes and verifications computed.\n";
    out += "# TYPE password_hash_computations_total counter\n";
    out += "password_hash_computations_total " + std::to_string(hasher->computations()) + "\n";
  });
  metrics->add_collector([self = app.get()](std::string& out) {
    out += "# HELP open_connections Client connections open now.\n";
    out += "# TYPE open_connections gauge\n";
    out += "open_connections " + std::to_string(self->open_connections()) + "\n";
  });
  auto archive = std::make_shared<WalArchiveStatus>(*pool);
  metrics->add_collector([archive](std::string& out) { archive->append_metrics(out); });
  // With mail off nothing is queued: neither the sender nor the outbox's
  // metrics (whose query a scrape would otherwise pay for nothing).
  if (config.mail.enabled) {
    auto outbox = std::make_shared<MailOutboxStatus>(*pool);
    metrics->add_collector([outbox](std::string& out) { outbox->append_metrics(out); });
    auto sender = std::make_shared<MailSender>(config.database_url, config.mail);
    sender->start();
    app->keep_alive(sender);
    metrics->add_collector([sender](std::string& out) { sender->append_metrics(out); });
    spdlog::info("mail: sending through {} as {}", config.mail.smtp_url, config.mail.from);
  } else {
    spdlog::info("mail is off: SMTP_URL is not set, nothing is sent");
  }

  common::App* self = app.get();
  auto readiness = [self, repository, pool]() -> std::string {
    if (self->draining()) return "Shutting down.";
    try {
      repository->ping();
      // Every loop has its connections: none would answer 503 for want of one.
      if (!pool->all_connected(std::chrono::seconds(1))) return "Database connections coming up.";
      return {};
    } catch (const std::exception&) {
      return "Database unavailable.";
    }
  };

  app->mount(std::make_shared<PingBlueprint>());
  app->mount(std::make_shared<common::HealthBlueprint>(readiness));
  auto changes = std::make_shared<AccountChanges>();
  app->keep_alive(changes);
  metrics->add_collector([changes](std::string& out) { changes->append_metrics(out); });
  auto recovery = std::make_shared<AccountRecovery>(config, *repository, *limiter, *hasher);
  app->keep_alive(recovery);
  app->mount(std::make_shared<UsersBlueprint>(*repository, *authenticator, *limiter, *changes,
                                              *recovery, admin_guard, read_guard));
  app->mount(std::make_shared<IndexBlueprint>(*repository, admin_guard));
  app->mount(std::make_shared<AuthBlueprint>(config, *repository, *sessions, *session_tokens,
                                             *authenticator, *hasher, *limiter, *changes,
                                             *recovery));
  app->mount(std::make_shared<SessionsBlueprint>(*sessions, *repository, *authenticator));
  app->mount(std::make_shared<AccountPagesBlueprint>(*recovery));
  app->mount(std::make_shared<StaticBlueprint>());
  app->mount(std::make_shared<common::MetricsBlueprint>(metrics));
  app->mount(std::make_shared<ApiDocsBlueprint>());
  app->mount(std::make_shared<SwaggerUiBlueprint>());
  return app;
}

}  // namespace users
