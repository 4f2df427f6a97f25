// Applies the embedded migrations.
#include "migrations.hpp"

#include <algorithm>
#include <stdexcept>

#include "embedded_files.hpp"

namespace users {
namespace {

constexpr const char* kMigrationsDir = "db/migrations/";
constexpr long long kMigrationLock = 0x75736572;  // "user"

std::vector<EmbeddedFile> migration_files() {
  std::vector<EmbeddedFile> files;
  for (const auto& file : embedded_files()) {
    if (file.path.rfind(kMigrationsDir, 0) == 0) files.push_back(file);
  }
  std::sort(files.begin(), files.end(),
            [](const EmbeddedFile& a, const EmbeddedFile& b) { return a.path < b.path; });
  return files;
}

}  // namespace

std::vector<std::string> migrate(pqxx::connection& connection) {
  std::vector<std::string> applied;
  pqxx::work work(connection);
  work.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
  work.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version text PRIMARY KEY,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& file : migration_files()) {
    std::string version(file.path.substr(std::string_view(kMigrationsDir).size()));
    auto done = work.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", version);
    if (!done.empty()) continue;
    work.exec(std::string(file.content));
    work.exec_params("INSERT INTO schema_migrations (version) VALUES ($1)", version);
    applied.push_back(version);
  }
  work.commit();
  return applied;
}

void grant_app_role(pqxx::connection& connection, const std::string& role) {
  pqxx::work work(connection);
  // Concurrent GRANTs on one object fail ("tuple concurrently updated").
  work.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
  auto exists = work.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role);
  if (exists.empty()) {
    throw std::runtime_error("DATABASE_APP_ROLE names role " + work.quote(role) +
                             ", which does not exist: create it first (LOGIN, no other right)");
  }
  std::string name = work.quote_name(role);
  // Before PostgreSQL 15 every role may create in public: not the service's.
  work.exec("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  work.exec("REVOKE ALL ON SCHEMA public FROM " + name);
  work.exec("GRANT USAGE ON SCHEMA public TO " + name);
  work.exec("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + name);
  work.exec("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + name);
  // The migrations' record is the migrator's: the service may only read it.
  work.exec("REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM " + name);
  work.exec("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + name);
  work.exec("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + name);
  work.commit();
}

std::vector<std::string> recreate(pqxx::connection& connection) {
  {
    pqxx::work work(connection);
    work.exec("DROP SCHEMA IF EXISTS public CASCADE");
    work.exec("CREATE SCHEMA public");
    work.commit();
  }
  return migrate(connection);
}

}  // namespace users
