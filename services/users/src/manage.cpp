// manage: the service's command line (Flask's manage.py): migrate,
// recreate_db, seed_db, create_admin. APP_ENV picks the database as for the
// service.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>

#include "common/config.hpp"
#include "migrations.hpp"
#include "passwords.hpp"
#include "user_repository.hpp"

namespace {

void print_applied(const std::vector<std::string>& applied) {
  if (applied.empty()) std::cout << "schema is up to date\n";
  for (const auto& name : applied) std::cout << "applied " << name << "\n";
}

int seed(const common::Config& config) {
  pqxx::connection connection(config.database_url);
  const users::NewUser seeds[] = {{"michael", "michael@realpython.com"},
                                  {"michaelherman", "michael@mherman.org"}};
  for (const auto& user : seeds) {
    bool added = users::UserRepository::add_if_missing(connection, user);
    std::cout << (added ? "added " : "already there: ") << user.email << "\n";
  }
  return 0;
}

// The password comes from ADMIN_PASSWORD or the first line of standard input,
// never from the command line (which any local user can read in ps).
std::optional<std::string> read_admin_password() {
  // A one-thread command line tool: nothing else touches the environment.
  // NOLINTNEXTLINE(concurrency-mt-unsafe)
  if (const char* value = std::getenv("ADMIN_PASSWORD"); value && *value) return value;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int create_admin(const common::Config& config, const std::string& username,
                 const std::string& email) {
  auto validation = users::validate_new_user(username, email);
  if (!validation.user) {
    std::cerr << "manage: " << validation.message << "\n";
    return 1;
  }
  auto password = read_admin_password();
  if (!password || !users::is_acceptable_password(*password)) {
    std::cerr << "manage: give the password (8 to 128 characters, not only spaces) in "
                 "ADMIN_PASSWORD or on standard input\n";
    return 1;
  }
  users::PasswordHasher hasher(config.password_hash_cost);
  auto hash = hasher.hash(*password);
  pqxx::connection connection(config.database_url);
  users::UserRepository::save_admin(connection, *validation.user, hash);
  std::cout << "admin " << validation.user->email << " saved\n";
  return 0;
}

int run(int argc, char** argv) {
  CLI::App cli{"manage: administer the users-service database"};
  cli.require_subcommand(1);
  auto* migrate = cli.add_subcommand("migrate", "apply pending migrations");
  auto* recreate = cli.add_subcommand("recreate_db", "drop all tables and re-apply migrations");
  auto* seed_db = cli.add_subcommand("seed_db", "add the two seed users (idempotent)");
  auto* create_admin_cmd = cli.add_subcommand(
      "create_admin",
      "make an admin (or give an existing user admin rights and a new password); the "
      "password is read from ADMIN_PASSWORD or standard input");
  std::string admin_username;
  std::string admin_email;
  create_admin_cmd->add_option("--username", admin_username, "the admin's username")->required();
  create_admin_cmd->add_option("--email", admin_email, "the admin's email")->required();
  CLI11_PARSE(cli, argc, argv);

  auto config = common::Config::from_env_or_exit("manage");
  std::cout << "database " << common::redact_url(config.database_url) << "\n";
  if (seed_db->parsed()) return seed(config);
  if (create_admin_cmd->parsed()) return create_admin(config, admin_username, admin_email);
  pqxx::connection connection(config.database_url);
  if (migrate->parsed()) print_applied(users::migrate(connection));
  if (recreate->parsed()) print_applied(users::recreate(connection));
  return 0;
}

}  // namespace

// Whatever throws (the command line's set-up included) ends as one line on
// standard error and exit status 1.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& error) {
    std::string what = error.what();
    while (!what.empty() && what.back() == '\n') what.pop_back();
    std::cerr << "manage: " << what << "\n";
    return 1;
  }
}
