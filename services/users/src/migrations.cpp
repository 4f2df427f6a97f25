// Applies the embedded migrations.
#include "migrations.hpp"

#include <algorithm>

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
