// manage: the service's command line (Flask's manage.py): migrate,
// recreate_db, seed_db. APP_ENV picks the database as for the service.
#include <CLI/CLI.hpp>
#include <iostream>
#include <pqxx/pqxx>

#include "common/config.hpp"
#include "common/db_pool.hpp"
#include "migrations.hpp"
#include "user_repository.hpp"

namespace {

void print_applied(const std::vector<std::string>& applied) {
  if (applied.empty()) std::cout << "schema is up to date\n";
  for (const auto& name : applied) std::cout << "applied " << name << "\n";
}

int seed(const common::Config& config) {
  common::DbPool pool(config.database_url, 1, users::UserRepository::prepare);
  users::UserRepository repository(pool);
  const users::NewUser seeds[] = {{"michael", "michael@realpython.com"},
                                  {"michaelherman", "michael@mherman.org"}};
  for (const auto& user : seeds) {
    bool added = repository.add_if_missing(user);
    std::cout << (added ? "added " : "already there: ") << user.email << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"manage: administer the users-service database"};
  cli.require_subcommand(1);
  auto* migrate = cli.add_subcommand("migrate", "apply pending migrations");
  auto* recreate = cli.add_subcommand("recreate_db", "drop all tables and re-apply migrations");
  auto* seed_db = cli.add_subcommand("seed_db", "add the two seed users (idempotent)");
  CLI11_PARSE(cli, argc, argv);

  auto config = common::Config::from_env_or_exit("manage");
  std::cout << "database " << common::redact_url(config.database_url) << "\n";
  try {
    if (seed_db->parsed()) return seed(config);
    pqxx::connection connection(config.database_url);
    if (migrate->parsed()) print_applied(users::migrate(connection));
    if (recreate->parsed()) print_applied(users::recreate(connection));
    return 0;
  } catch (const std::exception& error) {
    std::string what = error.what();
    while (!what.empty() && what.back() == '\n') what.pop_back();
    std::cerr << "manage: " << what << "\n";
    return 1;
  }
}
